#include "AnomalyGuard.h"

#include <algorithm>

namespace hourglass::service {

AnomalyGuard::AnomalyGuard(Options options, const Clock &clock,
                           std::function<void(const Blocked &)> onBlocked,
                           std::function<void(const std::string &ip)> onThrottled)
    : m_options(options), m_clock(clock), m_onBlocked(std::move(onBlocked)),
      m_onThrottled(std::move(onThrottled))
{}

AnomalyGuard::Entry &AnomalyGuard::entry(const std::string &ip, TimeMs now)
{
    auto it = m_entries.find(ip);
    if (it != m_entries.end()) {
        m_lru.splice(m_lru.begin(), m_lru, it->second.lru);
        return it->second;
    }
    if (!m_lru.empty() && m_entries.size() >= m_options.maxEntries) {
        // Forget a cold IP that is not blocked right now, so that spraying addresses does not flush
        // a block. Only a few of the coldest are looked at (constant time); if all of those are
        // blocked the coldest goes anyway: the memory bound is hard.
        constexpr int kCandidates = 64;
        auto victim = std::prev(m_lru.end());
        auto candidate = victim;
        for (int i = 0; i < kCandidates; ++i) {
            if (m_entries.find(*candidate)->second.blockedUntilMs <= now) {
                victim = candidate;
                break;
            }
            if (candidate == m_lru.begin())
                break;
            --candidate;
        }
        m_entries.erase(*victim);
        m_lru.erase(victim);
    }
    m_lru.push_front(ip);
    Entry &created = m_entries[ip];
    created.lru = m_lru.begin();
    created.tokens = m_options.createBurst;
    created.tokensAtMs = now;
    return created;
}

TimeMs AnomalyGuard::blockedFor(const std::string &ip)
{
    const TimeMs now = m_clock.nowMs();
    std::lock_guard lock(m_mutex);
    auto it = m_entries.find(ip);
    if (it == m_entries.end() || it->second.blockedUntilMs <= now)
        return 0;
    return it->second.blockedUntilMs - now;
}

void AnomalyGuard::recordFailure(const std::string &ip)
{
    const TimeMs now = m_clock.nowMs();
    Blocked blocked;
    {
        std::lock_guard lock(m_mutex);
        Entry &e = entry(ip, now);
        if (e.failures > 0 && now - e.lastFailureMs >= m_options.resetAfterMs)
            e.failures = 0;
        ++e.failures;
        e.lastFailureMs = now;
        if (m_options.failureThreshold == 0 || e.failures % m_options.failureThreshold != 0)
            return;
        const TimeMs wait = std::min<TimeMs>(
            m_options.maxWaitMs, m_options.waitIncrementMs * (e.failures / m_options.failureThreshold));
        e.blockedUntilMs = now + wait;
        blocked = {ip, e.blockedUntilMs, e.failures};
    }
    if (m_onBlocked)
        m_onBlocked(blocked);
}

AnomalyGuard::Admission AnomalyGuard::admitCreate(const std::string &ip)
{
    const TimeMs now = m_clock.nowMs();
    Admission admission;
    bool newlyThrottled = false;
    {
        std::lock_guard lock(m_mutex);
        Entry &e = entry(ip, now);
        if (e.blockedUntilMs > now) {
            admission.blockedForMs = e.blockedUntilMs - now;
            return admission;
        }
        const double refill =
            double(std::max<TimeMs>(0, now - e.tokensAtMs)) / 1000.0 * m_options.createPerSecond;
        e.tokens = std::min(m_options.createBurst, e.tokens + refill);
        e.tokensAtMs = now;
        if (e.tokens >= 1.0) {
            e.tokens -= 1.0;
            e.throttled = false;
            admission.allowed = true;
            return admission;
        }
        newlyThrottled = !e.throttled;
        e.throttled = true;
    }
    if (newlyThrottled && m_onThrottled)
        m_onThrottled(ip);
    return admission;
}

bool AnomalyGuard::unblock(const std::string &ip)
{
    std::lock_guard lock(m_mutex);
    auto it = m_entries.find(ip);
    if (it == m_entries.end() || it->second.blockedUntilMs <= m_clock.nowMs())
        return false;
    it->second.blockedUntilMs = 0;
    it->second.failures = 0;
    return true;
}

std::vector<AnomalyGuard::Blocked> AnomalyGuard::blocked()
{
    const TimeMs now = m_clock.nowMs();
    std::lock_guard lock(m_mutex);
    std::vector<Blocked> out;
    for (const auto &[ip, e] : m_entries) {
        if (e.blockedUntilMs > now)
            out.push_back({ip, e.blockedUntilMs, e.failures});
    }
    std::sort(out.begin(), out.end(), [](const Blocked &a, const Blocked &b) { return a.ip < b.ip; });
    return out;
}

std::size_t AnomalyGuard::trackedIps() const
{
    std::lock_guard lock(m_mutex);
    return m_entries.size();
}

} // namespace hourglass::service
