#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string_view>

// What the open-addressing tables with linear probing share (IpCounts, UserDirectory, SessionTable,
// AnomalyGuard): the keyed mixing step and text hash, the scaling of a hash to a row, the
// wrap-around step, when to shrink and the test of backward-shift deletion.
namespace hourglass::probing {

__extension__ typedef unsigned __int128 Wide; // GCC and Clang on 64-bit targets

constexpr std::size_t kMinRows = 16;

// The 128-bit product's halves folded together: the mixing step of a keyed hash.
inline std::uint64_t fold(std::uint64_t a, std::uint64_t b)
{
    const Wide product = static_cast<Wide>(a) * b;
    return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

// A text's hash keyed with a table's secret seed: eight bytes at a time, each folded with the seed
// (as in wyhash), the length last.
inline std::uint64_t hashText(std::string_view text, const std::uint64_t (&seed)[2])
{
    std::uint64_t hash = seed[0];
    const char *p = text.data();
    std::size_t left = text.size();
    for (; left >= 8; p += 8, left -= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        hash = fold(hash ^ word, seed[1]);
    }
    std::uint64_t tail = 0;
    if (left > 0)
        std::memcpy(&tail, p, left);
    hash = fold(hash ^ tail, seed[1] ^ text.size());
    return fold(hash, seed[0] ^ 0x9e3779b97f4a7c15ULL);
}

// Whether `size` entries fill more than 7/8 of `rows`: the load at which the tables that keep
// short probe runs grow (IpCounts, SessionTable, AnomalyGuard).
inline bool overSevenEighths(std::size_t size, std::size_t rows)
{
    return size * 8 > rows * 7;
}

// The hash scaled to a table of `rows`: any table size, no modulo.
inline std::size_t homeRow(std::uint64_t hash, std::size_t rows)
{
    return static_cast<std::size_t>((static_cast<Wide>(hash) * rows) >> 64);
}

inline std::size_t nextRow(std::size_t row, std::size_t rows)
{
    return row + 1 == rows ? 0 : row + 1;
}

// The rows a table of `size` entries in `rows` rows keeps when asked to shrink: none when it is
// empty, twice its entries when it is under a quarter full, else the rows it has. Tables shrink
// only where a rehash holds nobody up, never inside a removal.
inline std::size_t rowsAfterShrink(std::size_t size, std::size_t rows)
{
    if (size == 0)
        return 0;
    return rows > kMinRows && size * 4 < rows ? std::max(kMinRows, size * 2) : rows;
}

// Backward-shift deletion: whether the row at `here`, whose home is `wanted`, may stay behind the
// hole at `hole` (its home is cyclically in (hole, here]); if not, it moves into the hole, so that
// no probe run is broken and no tombstone is left.
inline bool staysAfterHole(std::size_t hole, std::size_t here, std::size_t wanted)
{
    return hole <= here ? (wanted > hole && wanted <= here) : (wanted > hole || wanted <= here);
}

// A table's secret seed, so that clients choosing keys cannot aim them at one run of the table.
inline void randomSeed(std::uint64_t (&seed)[2])
{
    std::random_device device;
    for (std::uint64_t &word : seed)
        word = (std::uint64_t(device()) << 32) ^ device();
}

} // namespace hourglass::probing
