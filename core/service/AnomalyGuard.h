#pragma once

#include "Clock.h"

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace hourglass::service {

// Per-client-IP brute-force and flood protection, after Keycloak's brute force detection:
// every failureThreshold invalid session IDs block the IP for waitIncrement × (failures /
// threshold), at most maxWait; the failure count resets after resetAfter without failures.
// Session creation is rate-limited per IP by a token bucket. Memory is bounded: at most maxEntries
// IPs are tracked; when full, the least recently seen of a window of candidates is forgotten,
// preferring one that is not blocked, so that spraying addresses does not flush a block.
//
// The IPs live in one open-addressing table with linear probing (probing::), each row holding the
// address (inline up to 15 characters: every IPv4 address) and its counters: a lookup reads one
// row (88 bytes; one or two adjacent cache lines). A std::unordered_map with a std::list for
// recency took four to five misses (bucket, node, list node and its neighbours): 4.3 % of the HTTP
// I/O thread under creation load from 50,000 addresses (bench/HISTORY.md).
class AnomalyGuard
{
public:
    struct Options
    {
        std::uint32_t failureThreshold = 30;
        TimeMs waitIncrementMs = 60 * kMsPerSecond;
        TimeMs maxWaitMs = 900 * kMsPerSecond;
        TimeMs resetAfterMs = 12 * 60 * kMsPerMinute;
        double createPerSecond = 20; // sustained session creations per IP
        double createBurst = 100;    // bucket size
        std::size_t maxEntries = 100'000;
    };

    struct Blocked
    {
        std::string ip;
        TimeMs untilMs = 0;
        std::uint32_t failures = 0;
    };

    // onBlocked is called (outside the guard's lock) when an IP becomes blocked; onThrottled when
    // an IP runs out of creation tokens, once per episode (not again until it is allowed again),
    // so that an attacker cannot flood the event log.
    AnomalyGuard(Options options, const Clock &clock, std::function<void(const Blocked &)> onBlocked = {},
                 std::function<void(const std::string &ip)> onThrottled = {});

    // 0 when allowed, else the milliseconds until the block ends.
    TimeMs blockedFor(const std::string &ip);
    void recordFailure(const std::string &ip);
    // Both checks a creation makes, with one lookup: a blocked IP is refused without spending a
    // token, else the token bucket decides (not allowed when the IP is over its rate).
    struct Admission
    {
        TimeMs blockedForMs = 0; // > 0: blocked (allowed is false)
        bool allowed = false;
    };
    Admission admitCreate(const std::string &ip);
    bool unblock(const std::string &ip);
    std::vector<Blocked> blocked();
    std::size_t trackedIps() const;
    const Options &options() const { return m_options; }

private:
    struct Entry
    {
        std::uint64_t hash = 0; // 0: a free row
        std::string ip;
        TimeMs lastSeenMs = 0; // for eviction: the last creation or failure
        TimeMs lastFailureMs = 0;
        TimeMs blockedUntilMs = 0;
        TimeMs tokensAtMs = 0;
        double tokens = 0;
        std::uint32_t failures = 0;
        bool throttled = false;
    };
    static constexpr std::size_t npos = std::size_t(-1);

    std::uint64_t hashOf(const std::string &ip) const;
    std::size_t find(const std::string &ip, std::uint64_t hash) const;
    Entry &entry(const std::string &ip, TimeMs now);
    void evictOne(TimeMs now);
    void erase(std::size_t row);
    void resize(std::size_t rows);

    Options m_options;
    const Clock &m_clock;
    std::function<void(const Blocked &)> m_onBlocked;
    std::function<void(const std::string &)> m_onThrottled;
    mutable std::mutex m_mutex;
    std::vector<Entry> m_rows;
    std::size_t m_size = 0;
    std::size_t m_cursor = 0; // where the next eviction's window starts
    std::uint64_t m_seed[2];
};

} // namespace hourglass::service
