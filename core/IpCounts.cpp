#include "IpCounts.h"

#include "IpAddress.h"
#include "LinearProbing.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace hourglass {

namespace {

using namespace probing;

IpFamily parse(std::string_view ip, IpCounts::Row4 &v4, IpCounts::Row6 &v6)
{
    v4.count = 0;
    v6.count = 0;
    return parseIp(ip, v4.address, v6.bytes);
}

bool sameAddress(const IpCounts::Row4 &a, const IpCounts::Row4 &b)
{
    return a.address == b.address;
}

bool sameAddress(const IpCounts::Row6 &a, const IpCounts::Row6 &b)
{
    return std::memcmp(a.bytes, b.bytes, sizeof a.bytes) == 0;
}

} // namespace

IpCounts::IpCounts()
{
    probing::randomSeed(m_seed);
}

template<typename Row> std::size_t IpCounts::home(const Row &key, std::size_t rows) const
{
    std::uint64_t hash;
    if constexpr (std::is_same_v<Row, Row4>) {
        hash = fold(std::uint64_t(key.address) ^ m_seed[0], m_seed[1] | 1);
    } else {
        std::uint64_t low, high;
        std::memcpy(&low, key.bytes, 8);
        std::memcpy(&high, key.bytes + 8, 8);
        hash = fold(fold(low ^ m_seed[0], high ^ m_seed[1]), m_seed[0] ^ 0x9e3779b97f4a7c15ULL);
    }
    return homeRow(hash, rows);
}

template<typename Row> std::size_t IpCounts::find(const Table<Row> &table, const Row &key) const
{
    const std::size_t rows = table.rows.size();
    if (rows == 0)
        return rows;
    for (std::size_t i = home(key, rows);; i = nextRow(i, rows)) {
        const Row &row = table.rows[i];
        if (row.count == 0)
            return rows;
        if (sameAddress(row, key))
            return i;
    }
}

template<typename Row> void IpCounts::add(Table<Row> &table, const Row &key)
{
    if (const std::size_t i = find(table, key); i != table.rows.size()) {
        ++table.rows[i].count;
        return;
    }
    // Rows in use at most 7/8 of the table (linear probing stays short); at 7/8 to 7/12 full
    // (growth by half) an IPv4 address costs 9-14 bytes, an IPv6 address 23-35.
    if (overSevenEighths(table.size + 1, table.rows.size()))
        resize(table, std::max(kMinRows, table.rows.size() + table.rows.size() / 2));
    const std::size_t rows = table.rows.size();
    std::size_t i = home(key, rows);
    while (table.rows[i].count != 0)
        i = nextRow(i, rows);
    table.rows[i] = key;
    table.rows[i].count = 1;
    ++table.size;
}

template<typename Row> void IpCounts::remove(Table<Row> &table, const Row &key)
{
    std::size_t hole = find(table, key);
    const std::size_t rows = table.rows.size();
    if (hole == rows || --table.rows[hole].count > 0)
        return;
    // Backward-shift deletion (probing::staysAfterHole).
    for (std::size_t here = nextRow(hole, rows); table.rows[here].count != 0; here = nextRow(here, rows)) {
        const std::size_t wanted = home(table.rows[here], rows);
        if (!staysAfterHole(hole, here, wanted)) {
            table.rows[hole] = table.rows[here];
            hole = here;
        }
    }
    table.rows[hole] = Row{};
    --table.size;
}

template<typename Row> void IpCounts::shrinkIfSparse(Table<Row> &table)
{
    const std::size_t rows = rowsAfterShrink(table.size, table.rows.size());
    if (rows == 0)
        table.rows = {};
    else if (rows != table.rows.size())
        resize(table, rows);
}

template<typename Row> void IpCounts::resize(Table<Row> &table, std::size_t rows)
{
    std::vector<Row> old(rows, Row{});
    old.swap(table.rows);
    for (const Row &row : old) {
        if (row.count == 0)
            continue;
        std::size_t i = home(row, rows);
        while (table.rows[i].count != 0)
            i = nextRow(i, rows);
        table.rows[i] = row;
    }
}

std::size_t IpCounts::count(std::string_view ip) const
{
    Row4 v4;
    Row6 v6;
    switch (parse(ip, v4, v6)) {
    case IpFamily::V4:
        if (const std::size_t i = find(m_v4, v4); i != m_v4.rows.size())
            return m_v4.rows[i].count;
        return 0;
    case IpFamily::V6:
        if (const std::size_t i = find(m_v6, v6); i != m_v6.rows.size())
            return m_v6.rows[i].count;
        return 0;
    case IpFamily::None:
        break;
    }
    const auto it = m_other.find(std::string(ip));
    return it == m_other.end() ? 0 : it->second;
}

void IpCounts::add(std::string_view ip)
{
    Row4 v4;
    Row6 v6;
    switch (parse(ip, v4, v6)) {
    case IpFamily::V4:
        return add(m_v4, v4);
    case IpFamily::V6:
        return add(m_v6, v6);
    case IpFamily::None:
        ++m_other[std::string(ip)];
        return;
    }
}

void IpCounts::remove(std::string_view ip)
{
    Row4 v4;
    Row6 v6;
    switch (parse(ip, v4, v6)) {
    case IpFamily::V4:
        return remove(m_v4, v4);
    case IpFamily::V6:
        return remove(m_v6, v6);
    case IpFamily::None:
        if (auto it = m_other.find(std::string(ip)); it != m_other.end() && --it->second == 0)
            m_other.erase(it);
        return;
    }
}

void IpCounts::reserve(std::size_t addresses)
{
    if (overSevenEighths(addresses, m_v4.rows.size()))
        resize(m_v4, std::max(kMinRows, addresses + addresses / 7 + 1));
}

void IpCounts::shrinkIfSparse()
{
    shrinkIfSparse(m_v4);
    shrinkIfSparse(m_v6);
}

void IpCounts::clear()
{
    m_v4 = {};
    m_v6 = {};
    m_other.clear();
}

} // namespace hourglass
