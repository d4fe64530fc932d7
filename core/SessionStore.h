#pragma once

#include "SessionRecord.h"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace hourglass {

// One change to persistent state. The engine applies a change in memory and submits it to the
// store under the same lock, so the store sees the changes of one session in the order the
// engine made them.
struct StoreMutation
{
    struct PutSession
    {
        SessionRecord record;
    };
    struct RemoveSession
    {
        IdHash hash;
    };
    struct SetData
    {
        IdHash hash;
        std::string data;
        TimeMs lastActivityMs = 0;
    };
    struct PutAuthRoot
    {
        AuthRootRecord record;
    };
    struct RemoveAuthRoot
    {
        IdHash hash;
    };
    std::variant<PutSession, RemoveSession, SetData, PutAuthRoot, RemoveAuthRoot> change;
};

struct StoreTouch
{
    IdHash hash;
    TimeMs lastActivityMs = 0;
};

// Durable session storage behind the in-memory engine.
//
// submit() only queues and returns a ticket; waitDurable(ticket) blocks until that change (and
// all before it) is durable, which lets a store group-commit many concurrent changes into one
// transaction. Touches are not acknowledged to clients and may be coalesced: losing some can only
// make sessions expire earlier, never later.
class SessionStore
{
public:
    using Ticket = std::uint64_t;

    virtual ~SessionStore() = default;

    virtual std::string describe() const = 0;
    virtual Ticket submit(std::vector<StoreMutation> mutations) = 0;
    // False when the change could not be made durable (I/O error, disk full): the caller must not
    // acknowledge it.
    virtual bool waitDurable(Ticket ticket) = 0;
    virtual void submitTouches(std::vector<StoreTouch> touches) = 0;

    struct LoadResult
    {
        bool ok = true;
        std::string error;
        std::size_t sessions = 0;
        std::size_t authRoots = 0;
    };
    virtual LoadResult load(const std::function<void(SessionRecord &&)> &onSession,
                            const std::function<void(AuthRootRecord &&)> &onAuthRoot) = 0;
};

} // namespace hourglass
