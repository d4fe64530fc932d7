#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hourglass {

// How many live sessions each client address holds: the per-IP session cap's index.
//
// Addresses are kept in binary in two open-addressing tables with linear probing and no node:
// IPv4 addresses in rows of 8 bytes (the address and its count), IPv6 addresses in rows of 20.
// A std::unordered_map<std::string, count> took a 64-byte allocation and a bucket per address
// (~72 bytes; one address per session is the common case); one table of 24-byte rows for both
// families took 27-41. IPv4 and IPv6 are distinct families ("1.2.3.4" is not "::ffff:1.2.3.4");
// two spellings of one IPv6 address ("::1", "0::1") are one address. Text that is not an address
// (the engine does not require one) is counted by its exact text in a map of its own.
//
// A table grows by half when 7/8 full; shrinkIfSparse() gives the rows of a table under 1/4 full
// back (the owner calls it where a rehash holds nobody up, not on every removal). The probe position comes
// from a hash keyed with a per-table random seed, so that clients who choose their addresses cannot aim them
// at one run of the table. Not thread-safe: the engine guards it with its directory lock.
class IpCounts
{
public:
    IpCounts();

    std::size_t count(std::string_view ip) const;
    void add(std::string_view ip);
    // Forgets the address when its count reaches zero; an address not counted is ignored.
    void remove(std::string_view ip);
    // Sizes the IPv4 table for this many addresses (the common family; IPv6 rows grow on demand).
    void reserve(std::size_t addresses);
    // Each table under a quarter full is rebuilt half full (an empty one is freed).
    void shrinkIfSparse();
    void clear();

    std::size_t size() const { return m_v4.size + m_v6.size + m_other.size(); } // distinct addresses
    // Bytes of the two tables' rows (the text map's nodes aside).
    std::size_t tableBytes() const
    {
        return m_v4.rows.size() * sizeof(Row4) + m_v6.rows.size() * sizeof(Row6);
    }
    std::size_t rows4() const { return m_v4.rows.size(); } // rows of the IPv4 table

    struct Row4
    {
        std::uint32_t address; // as inet_pton wrote it
        std::uint32_t count;   // 0: empty row
    };
    struct Row6
    {
        std::uint8_t bytes[16];
        std::uint32_t count; // 0: empty row
    };
    static_assert(sizeof(Row4) == 8 && sizeof(Row6) == 20);

    template<typename Row> struct Table
    {
        std::vector<Row> rows;
        std::size_t size = 0;
    };

private:
    template<typename Row> std::size_t home(const Row &key, std::size_t rows) const;
    template<typename Row> std::size_t find(const Table<Row> &table, const Row &key) const;
    template<typename Row> void add(Table<Row> &table, const Row &key);
    template<typename Row> void remove(Table<Row> &table, const Row &key);
    template<typename Row> void resize(Table<Row> &table, std::size_t rows);
    template<typename Row> void shrinkIfSparse(Table<Row> &table);

    Table<Row4> m_v4;
    Table<Row6> m_v6;
    std::uint64_t m_seed[2];
    std::unordered_map<std::string, std::size_t> m_other;
};

} // namespace hourglass
