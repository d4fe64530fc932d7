#pragma once

#include <cstddef>
#include <cstdint>

namespace hourglass {

// Source of secret randomness. Returns false when no randomness could be had; callers must then
// fail closed (refuse to issue an identifier) rather than fall back to anything weaker.
class RandomSource
{
public:
    virtual ~RandomSource() = default;
    [[nodiscard]] virtual bool fill(std::uint8_t *out, std::size_t size) = 0;
};

// OpenSSL's CSPRNG (RAND_bytes), seeded from the operating system, drawn in blocks per thread
// (see RandomSource.cpp); a forked child draws afresh.
class OpenSslRandom final : public RandomSource
{
public:
    [[nodiscard]] bool fill(std::uint8_t *out, std::size_t size) override;
    static OpenSslRandom &instance();

private:
    OpenSslRandom();
};

} // namespace hourglass
