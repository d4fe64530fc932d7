#pragma once

#include "RandomSource.h"

#include <atomic>
#include <cstring>

namespace hourglass::test {

// Real OpenSSL randomness that a test can switch off, to prove the engine fails closed.
class SwitchableRandom final : public RandomSource
{
public:
    bool fill(std::uint8_t *out, std::size_t size) override
    {
        if (m_failing.load())
            return false;
        return OpenSslRandom::instance().fill(out, size);
    }
    void setFailing(bool failing) { m_failing.store(failing); }

private:
    std::atomic<bool> m_failing{false};
};

} // namespace hourglass::test
