#pragma once

#include "Policy.h"
#include "SessionRecord.h"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
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
    // Stores that expire keys by themselves (Redis) use expiresAtMs; the embedded store ignores it.
    struct PutSession
    {
        SessionRecord record;
        TimeMs expiresAtMs = 0;
        std::optional<IdHash> rotatedFrom; // the identifier this one replaces (rotation)
    };
    // createdMs is the session's creation time, part of its key in the embedded store (which keeps
    // sessions in creation order); it never changes during a session's life.
    struct RemoveSession
    {
        IdHash hash;
        TimeMs createdMs = 0;
        std::string user;
        // Ended by logout, rotation or an administrator (not by expiry): a shared store keeps a
        // tombstone until expiresAtMs so that no late write can bring the session back.
        bool revoked = false;
        TimeMs expiresAtMs = 0;
        TimeMs nowMs = 0; // engine time of the removal (expiresAtMs - nowMs = the life it had left)
    };
    struct SetData
    {
        IdHash hash;
        TimeMs createdMs = 0;
        std::string data;
        TimeMs lastActivityMs = 0;
        std::string user;
        TimeMs expiresAtMs = 0;
    };
    // Force logout / password change: sessions of user (in area, or in every area) authenticated
    // at or before notBeforeMs are dead, except `except`. Recorded by shared stores so that the
    // revocation holds even when one of the individual removals is lost; keepForMs bounds how
    // long the record must be kept (the longest sliding lifetime of a session).
    struct RevokeUser
    {
        std::string user;
        std::optional<Area> area;
        std::optional<IdHash> except;
        TimeMs notBeforeMs = 0;
        TimeMs keepForMs = 0;
    };
    struct PutAuthRoot
    {
        AuthRootRecord record;
        TimeMs expiresAtMs = 0;
    };
    struct RemoveAuthRoot
    {
        IdHash hash;
    };
    std::variant<PutSession, RemoveSession, SetData, PutAuthRoot, RemoveAuthRoot, RevokeUser> change;
};

// Tabs of a login flow as text ("tabId:createdMs,…"), as both stores keep them.
std::string encodeAuthTabs(const std::vector<AuthTabRecord> &tabs);
bool decodeAuthTabs(const std::string &text, std::vector<AuthTabRecord> &tabs);

struct StoreTouch
{
    IdHash hash;
    TimeMs createdMs = 0; // see StoreMutation::RemoveSession
    TimeMs lastActivityMs = 0;
    std::string user;
    TimeMs expiresAtMs = 0;
};

// The expiry rules of one area in milliseconds, as a shared store needs them to decide validity
// itself in one round trip.
struct ExpiryRule
{
    TimeMs idleMs = 0;
    TimeMs rememberMeMs = 0;
    bool maxEnabled = false;
    TimeMs maxMs = 0;

    bool operator==(const ExpiryRule &) const = default;
};
using ExpiryRules = std::array<ExpiryRule, kAreas.size()>;

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
    // The same answer without a thread waiting for it: done(durable) is called once, from the
    // store's own thread (or at once, in the caller's, when the answer is already known). done must
    // be quick and must not wait for the store. Stores that cannot do this say so with
    // notifiesDurability() == false; whenDurable() then waits in the caller's thread.
    virtual bool notifiesDurability() const { return false; }
    virtual void whenDurable(Ticket ticket, std::function<void(bool durable)> done)
    {
        done(waitDurable(ticket));
    }
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
    // About how many sessions load() will deliver (0 when unknown), so that the engine can size
    // its indexes once instead of growing them while a million rows arrive.
    virtual std::size_t sessionCountHint() { return 0; }

    // Blocks until everything submitted so far (touches included) is written.
    virtual bool sync() = 0;
    // Degraded: the last write failed or the store cannot be reached; lastError() says why.
    virtual bool degraded() const = 0;
    virtual std::string lastError() const = 0;

    // ---- shared stores (several service nodes) ------------------------------------------------
    //
    // A shared store is the authority on sessions: load() delivers nothing, the engine keeps only
    // the sessions it has seen and asks the store before every decision about one. The embedded
    // store is not shared and never receives these calls.
    virtual bool shared() const { return false; }

    enum class FetchStatus : std::uint8_t
    {
        Live,        // record filled in (touched first when asked)
        Gone,        // never existed, removed, revoked or expired and reclaimed
        Expired,     // existed but past its expiry: removed now
        Unavailable, // the store cannot answer: fail closed
    };
    struct Fetched
    {
        FetchStatus status = FetchStatus::Unavailable;
        SessionRecord record;
    };
    // Validity is decided by the store from rules and now, in one round trip when user (the
    // session's owner, when the caller knows it) is given; touch slides the idle horizon.
    virtual Fetched fetch(const IdHash &hash, const std::string *user, TimeMs now, const ExpiryRules &rules,
                          bool touch);
    // The live sessions of user; nullopt when the store cannot answer.
    virtual std::optional<std::vector<SessionRecord>> fetchUser(const std::string &user, TimeMs now,
                                                                const ExpiryRules &rules);
    enum class AuthFetch : std::uint8_t
    {
        Found,
        Gone,
        Unavailable,
    };
    virtual AuthFetch fetchAuthRoot(const IdHash &hash, AuthRootRecord *record);
    // Sessions per area across every node (index 0 admin, 1 storefront); nullopt when unknown.
    virtual std::optional<std::array<std::uint64_t, kAreas.size()>> sharedCounts();

    // Newest-first page of every node's sessions for the console; nullopt when unavailable.
    struct SharedQuery
    {
        std::string user;
        std::optional<Area> area;
        std::size_t offset = 0;
        std::size_t limit = 100;
    };
    struct SharedPage
    {
        std::size_t total = 0;
        std::vector<SessionRecord> rows;
    };
    virtual std::optional<SharedPage> sharedList(const SharedQuery &query, TimeMs now,
                                                 const ExpiryRules &rules);

    // The configuration every node applies (policy as the configuration file's JSON). version
    // increases with every write; 0 means none written yet.
    struct SharedConfig
    {
        std::uint64_t version = 0;
        std::string json;
    };
    virtual std::optional<SharedConfig> readSharedConfig();
    virtual bool writeSharedConfig(const std::string &json, std::uint64_t *version);
};

} // namespace hourglass
