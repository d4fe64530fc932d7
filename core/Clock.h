#pragma once

#include <cstdint>

namespace hourglass {

// Milliseconds since the Unix epoch. Every expiry decision in the engine reads time through a
// Clock so that tests drive time explicitly instead of sleeping.
using TimeMs = std::int64_t;

constexpr TimeMs kMsPerSecond = 1000;
constexpr TimeMs kMsPerMinute = 60 * kMsPerSecond;

class Clock
{
public:
    virtual ~Clock() = default;
    virtual TimeMs nowMs() const = 0;
};

// Wall clock (CLOCK_REALTIME): session times are persisted and must survive restarts, so a
// monotonic clock is not an option.
class SystemClock final : public Clock
{
public:
    TimeMs nowMs() const override;
    static SystemClock &instance();
};

} // namespace hourglass
