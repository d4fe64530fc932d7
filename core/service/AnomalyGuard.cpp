#include "AnomalyGuard.h"

#include "LinearProbing.h"

#include <algorithm>

namespace hourglass::service {

namespace {

// How many entries an eviction compares: the old list-based guard looked at the 64 coldest.
constexpr std::size_t kCandidates = 64;

} // namespace

AnomalyGuard::AnomalyGuard(Options options, const Clock &clock,
                           std::function<void(const Blocked &)> onBlocked,
                           std::function<void(const std::string &ip)> onThrottled)
    : m_options(options), m_clock(clock), m_onBlocked(std::move(onBlocked)),
      m_onThrottled(std::move(onThrottled))
{
    m_options.maxEntries = std::max<std::size_t>(m_options.maxEntries, 1);
    probing::randomSeed(m_seed);
}

std::uint64_t AnomalyGuard::hashOf(const std::string &ip) const
{
    return probing::hashText(ip, m_seed) | 1; // never 0, the mark of a free row
}

std::size_t AnomalyGuard::find(const std::string &ip, std::uint64_t hash) const
{
    const std::size_t rows = m_rows.size();
    if (rows == 0)
        return npos;
    for (std::size_t i = probing::homeRow(hash, rows);; i = probing::nextRow(i, rows)) {
        const Entry &row = m_rows[i];
        if (row.hash == 0)
            return npos;
        if (row.hash == hash && row.ip == ip)
            return i;
    }
}

AnomalyGuard::Entry &AnomalyGuard::entry(const std::string &ip, TimeMs now)
{
    const std::uint64_t hash = hashOf(ip);
    if (const std::size_t i = find(ip, hash); i != npos) {
        m_rows[i].lastSeenMs = now;
        return m_rows[i];
    }
    if (m_size >= m_options.maxEntries)
        evictOne(now);
    if (probing::overSevenEighths(m_size + 1, m_rows.size())) // then it grows by half
        resize(std::max(probing::kMinRows, m_rows.size() + m_rows.size() / 2));
    const std::size_t rows = m_rows.size();
    std::size_t i = probing::homeRow(hash, rows);
    while (m_rows[i].hash != 0)
        i = probing::nextRow(i, rows);
    Entry &created = m_rows[i];
    created.hash = hash;
    created.ip = ip;
    created.lastSeenMs = now;
    created.tokens = m_options.createBurst;
    created.tokensAtMs = now;
    ++m_size;
    return created;
}

void AnomalyGuard::evictOne(TimeMs now)
{
    // The least recently seen of the next kCandidates entries from the cursor, one that is not
    // blocked if there is one: constant time, and the window moves on, so every entry is looked
    // at in turn. A blocked one goes only when the whole window is blocked: the bound is hard.
    const std::size_t rows = m_rows.size();
    std::size_t victim = npos;
    std::size_t coldestBlocked = npos;
    std::size_t i = m_cursor % rows;
    for (std::size_t seen = 0, looked = 0; seen < kCandidates && looked < rows;
         ++looked, i = probing::nextRow(i, rows)) {
        const Entry &row = m_rows[i];
        if (row.hash == 0)
            continue;
        ++seen;
        std::size_t &best = row.blockedUntilMs > now ? coldestBlocked : victim;
        if (best == npos || row.lastSeenMs < m_rows[best].lastSeenMs)
            best = i;
    }
    m_cursor = i;
    erase(victim != npos ? victim : coldestBlocked);
}

void AnomalyGuard::erase(std::size_t hole)
{
    // Backward-shift deletion (probing::staysAfterHole): no tombstone.
    const std::size_t rows = m_rows.size();
    for (std::size_t here = probing::nextRow(hole, rows); m_rows[here].hash != 0;
         here = probing::nextRow(here, rows)) {
        const std::size_t wanted = probing::homeRow(m_rows[here].hash, rows);
        if (!probing::staysAfterHole(hole, here, wanted)) {
            m_rows[hole] = std::move(m_rows[here]);
            hole = here;
        }
    }
    m_rows[hole] = Entry();
    --m_size;
}

void AnomalyGuard::resize(std::size_t rows)
{
    std::vector<Entry> old(rows);
    old.swap(m_rows);
    for (Entry &row : old) {
        if (row.hash == 0)
            continue;
        std::size_t i = probing::homeRow(row.hash, rows);
        while (m_rows[i].hash != 0)
            i = probing::nextRow(i, rows);
        m_rows[i] = std::move(row);
    }
}

TimeMs AnomalyGuard::blockedFor(const std::string &ip)
{
    const TimeMs now = m_clock.nowMs();
    std::lock_guard lock(m_mutex);
    const std::size_t i = find(ip, hashOf(ip));
    if (i == npos || m_rows[i].blockedUntilMs <= now)
        return 0;
    return m_rows[i].blockedUntilMs - now;
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
    const std::size_t i = find(ip, hashOf(ip));
    if (i == npos || m_rows[i].blockedUntilMs <= m_clock.nowMs())
        return false;
    m_rows[i].blockedUntilMs = 0;
    m_rows[i].failures = 0;
    return true;
}

std::vector<AnomalyGuard::Blocked> AnomalyGuard::blocked()
{
    const TimeMs now = m_clock.nowMs();
    std::lock_guard lock(m_mutex);
    std::vector<Blocked> out;
    for (const Entry &e : m_rows) {
        if (e.hash != 0 && e.blockedUntilMs > now)
            out.push_back({e.ip, e.blockedUntilMs, e.failures});
    }
    std::sort(out.begin(), out.end(), [](const Blocked &a, const Blocked &b) { return a.ip < b.ip; });
    return out;
}

std::size_t AnomalyGuard::trackedIps() const
{
    std::lock_guard lock(m_mutex);
    return m_size;
}

} // namespace hourglass::service
