#pragma once

#include "SessionEvent.h"

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace hourglass {

// Thread-safe fan-out of engine events: keeps the most recent events for paging (the Security
// Events page and the admin API) and calls subscribers. Subscribers run on the publishing thread
// after the engine released its locks; they must be quick and must not block (the console
// forwards them through a queued connection and throttles).
class EventHub
{
public:
    using Subscriber = std::function<void(const SessionEvent &)>;
    static constexpr std::size_t kDefaultCapacity = 10000;

    explicit EventHub(std::size_t capacity = kDefaultCapacity);

    void publish(SessionEvent event);
    // Numbers the events, delivers them and keeps them; the vector's events are moved from.
    void publish(std::vector<SessionEvent> &events);

    int subscribe(Subscriber subscriber);
    void unsubscribe(int id);

    // Events with sequence > afterSequence, oldest first, at most limit.
    std::vector<SessionEvent> since(std::uint64_t afterSequence, std::size_t limit) const;
    std::vector<SessionEvent> recent(std::size_t limit) const;
    // The newest kept event's number: since(lastSequence()) never skips one being delivered.
    std::uint64_t lastSequence() const;

private:
    using Subscribers = std::vector<std::pair<int, Subscriber>>;

    mutable std::mutex m_mutex;
    std::size_t m_capacity;
    std::deque<SessionEvent> m_recent;
    std::uint64_t m_lastKept = 0;
    // Replaced, never changed in place: a publisher delivers to the list it took without copying
    // it or holding the lock.
    std::shared_ptr<const Subscribers> m_subscribers = std::make_shared<const Subscribers>();
    int m_nextSubscriberId = 1;
    std::mutex m_deliveryMutex;   // keeps delivery in sequence order across publishing threads
    std::uint64_t m_sequence = 0; // under m_deliveryMutex
};

} // namespace hourglass
