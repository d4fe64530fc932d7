#pragma once

#include "Clock.h"

#include <atomic>

namespace hourglass::test {

// A clock the test moves by hand: every expiry rule is checked at exact instants, no sleeping.
class ManualClock final : public Clock
{
public:
    explicit ManualClock(TimeMs start = 1'700'000'000'000) : m_now(start) {}
    TimeMs nowMs() const override { return m_now.load(); }
    void set(TimeMs t) { m_now.store(t); }
    void advance(TimeMs ms) { m_now.fetch_add(ms); }
    void advanceSeconds(std::int64_t s) { advance(s * kMsPerSecond); }
    void advanceMinutes(std::int64_t m) { advance(m * kMsPerMinute); }

private:
    std::atomic<TimeMs> m_now;
};

} // namespace hourglass::test
