#include "EventHub.h"

#include <algorithm>

namespace hourglass {

EventHub::EventHub(std::size_t capacity) : m_capacity(std::max<std::size_t>(capacity, 1)) {}

void EventHub::publish(SessionEvent event)
{
    std::vector<SessionEvent> events;
    events.push_back(std::move(event));
    publish(events);
}

void EventHub::publish(std::vector<SessionEvent> &events)
{
    if (events.empty())
        return;
    std::lock_guard delivery(m_deliveryMutex);
    std::shared_ptr<const Subscribers> subscribers;
    {
        std::lock_guard lock(m_mutex);
        subscribers = m_subscribers;
    }
    // Sequence numbers are only touched under the delivery lock, which publishers hold in turn.
    for (SessionEvent &event : events) {
        event.sequence = ++m_sequence;
        for (const auto &[id, subscriber] : *subscribers)
            subscriber(event);
    }
    // Kept once delivered: the events are moved, not copied, into the recent ones.
    std::lock_guard lock(m_mutex);
    for (SessionEvent &event : events) {
        m_recent.push_back(std::move(event));
        if (m_recent.size() > m_capacity)
            m_recent.pop_front();
    }
    m_lastKept = m_recent.back().sequence;
}

int EventHub::subscribe(Subscriber subscriber)
{
    std::lock_guard lock(m_mutex);
    const int id = m_nextSubscriberId++;
    auto next = std::make_shared<Subscribers>(*m_subscribers);
    next->emplace_back(id, std::move(subscriber));
    m_subscribers = std::move(next);
    return id;
}

void EventHub::unsubscribe(int id)
{
    std::lock_guard delivery(m_deliveryMutex); // no delivery to id is in progress after this returns
    std::lock_guard lock(m_mutex);
    auto next = std::make_shared<Subscribers>(*m_subscribers);
    std::erase_if(*next, [id](const auto &entry) { return entry.first == id; });
    m_subscribers = std::move(next);
}

std::vector<SessionEvent> EventHub::since(std::uint64_t afterSequence, std::size_t limit) const
{
    std::lock_guard lock(m_mutex);
    std::vector<SessionEvent> out;
    auto it = std::upper_bound(m_recent.begin(), m_recent.end(), afterSequence,
                               [](std::uint64_t seq, const SessionEvent &e) { return seq < e.sequence; });
    for (; it != m_recent.end() && out.size() < limit; ++it)
        out.push_back(*it);
    return out;
}

std::vector<SessionEvent> EventHub::recent(std::size_t limit) const
{
    std::lock_guard lock(m_mutex);
    const std::size_t n = std::min(limit, m_recent.size());
    return {m_recent.end() - static_cast<std::ptrdiff_t>(n), m_recent.end()};
}

std::uint64_t EventHub::lastSequence() const
{
    std::lock_guard lock(m_mutex);
    return m_lastKept;
}

} // namespace hourglass
