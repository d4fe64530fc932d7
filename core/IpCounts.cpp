#include "IpCounts.h"

#include <arpa/inet.h>

#include <cstring>
#include <random>

namespace hourglass {

namespace {

__extension__ typedef unsigned __int128 Wide; // GCC and Clang on 64-bit targets

constexpr std::size_t kMinRows = 16;

// Rows in use at most 7/8 of the table: linear probing stays short, and 24-byte rows at 7/8 to
// 7/12 full (growth by half) cost 27-41 bytes per address.
bool overloaded(std::size_t size, std::size_t rows)
{
    return size * 8 > rows * 7;
}

std::uint64_t fold(std::uint64_t a, std::uint64_t b)
{
    const Wide product = static_cast<Wide>(a) * b;
    return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

} // namespace

IpCounts::IpCounts()
{
    std::random_device device;
    for (std::uint64_t &word : m_seed)
        word = (std::uint64_t(device()) << 32) ^ device();
}

bool IpCounts::parse(std::string_view ip, Key &key)
{
    char text[INET6_ADDRSTRLEN];
    if (ip.empty() || ip.size() >= sizeof text)
        return false;
    std::memcpy(text, ip.data(), ip.size());
    text[ip.size()] = '\0';
    std::memset(key.bytes, 0, sizeof key.bytes);
    if (inet_pton(AF_INET, text, key.bytes) == 1) {
        key.family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, text, key.bytes) == 1) {
        key.family = 6;
        return true;
    }
    return false;
}

bool IpCounts::same(const Row &row, const Key &key)
{
    return row.family == key.family && std::memcmp(row.bytes, key.bytes, sizeof row.bytes) == 0;
}

std::size_t IpCounts::home(const std::uint8_t *bytes, std::uint8_t family) const
{
    std::uint64_t low, high;
    std::memcpy(&low, bytes, 8);
    std::memcpy(&high, bytes + 8, 8);
    const std::uint64_t hash =
        fold(fold(low ^ m_seed[0], high ^ m_seed[1] ^ family), m_seed[0] ^ 0x9e3779b97f4a7c15ULL);
    // The hash scaled to the table: any table size, no modulo.
    return static_cast<std::size_t>((static_cast<Wide>(hash) * m_rows.size()) >> 64);
}

std::size_t IpCounts::find(const Key &key) const
{
    const std::size_t rows = m_rows.size();
    if (rows == 0)
        return rows;
    for (std::size_t i = home(key.bytes, key.family);; i = i + 1 == rows ? 0 : i + 1) {
        const Row &row = m_rows[i];
        if (row.family == 0)
            return rows;
        if (same(row, key))
            return i;
    }
}

std::size_t IpCounts::count(std::string_view ip) const
{
    Key key;
    if (!parse(ip, key)) {
        const auto it = m_other.find(std::string(ip));
        return it == m_other.end() ? 0 : it->second;
    }
    const std::size_t i = find(key);
    return i == m_rows.size() ? 0 : m_rows[i].count;
}

void IpCounts::add(std::string_view ip)
{
    Key key;
    if (!parse(ip, key)) {
        ++m_other[std::string(ip)];
        return;
    }
    if (const std::size_t i = find(key); i != m_rows.size()) {
        ++m_rows[i].count;
        return;
    }
    if (overloaded(m_size + 1, m_rows.size()))
        grow(std::max(kMinRows, m_rows.size() + m_rows.size() / 2));
    const std::size_t rows = m_rows.size();
    std::size_t i = home(key.bytes, key.family);
    while (m_rows[i].family != 0)
        i = i + 1 == rows ? 0 : i + 1;
    Row &row = m_rows[i];
    std::memcpy(row.bytes, key.bytes, sizeof row.bytes);
    row.family = key.family;
    row.count = 1;
    ++m_size;
}

void IpCounts::remove(std::string_view ip)
{
    Key key;
    if (!parse(ip, key)) {
        if (auto it = m_other.find(std::string(ip)); it != m_other.end() && --it->second == 0)
            m_other.erase(it);
        return;
    }
    std::size_t hole = find(key);
    const std::size_t rows = m_rows.size();
    if (hole == rows || --m_rows[hole].count > 0)
        return;
    // Backward-shift deletion: rows after the hole that may not stay behind it (their home is not
    // cyclically in (hole, here]) move into it, so that no probe run is broken and no tombstone
    // is left.
    for (std::size_t here = hole + 1 == rows ? 0 : hole + 1; m_rows[here].family != 0;
         here = here + 1 == rows ? 0 : here + 1) {
        const std::size_t wanted = home(m_rows[here].bytes, m_rows[here].family);
        const bool staysAfterHole =
            hole <= here ? (wanted > hole && wanted <= here) : (wanted > hole || wanted <= here);
        if (!staysAfterHole) {
            m_rows[hole] = m_rows[here];
            hole = here;
        }
    }
    m_rows[hole] = Row{};
    --m_size;
}

void IpCounts::reserve(std::size_t addresses)
{
    if (overloaded(addresses, m_rows.size()))
        grow(std::max(kMinRows, addresses + addresses / 7 + 1));
}

void IpCounts::clear()
{
    m_rows = {};
    m_size = 0;
    m_other.clear();
}

void IpCounts::grow(std::size_t rows)
{
    std::vector<Row> old(rows, Row{});
    old.swap(m_rows);
    for (const Row &row : old) {
        if (row.family == 0)
            continue;
        std::size_t i = home(row.bytes, row.family);
        while (m_rows[i].family != 0)
            i = i + 1 == rows ? 0 : i + 1;
        m_rows[i] = row;
    }
}

} // namespace hourglass
