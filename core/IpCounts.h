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
// Addresses are kept in binary (16 bytes and their family) in one open-addressing table with
// linear probing: 24 bytes a row and no node, where a std::unordered_map<std::string, count>
// took a 64-byte allocation and a bucket per address (~72 bytes; one address per session is the
// common case). IPv4 and IPv6 are distinct families ("1.2.3.4" is not "::ffff:1.2.3.4"); two
// spellings of one IPv6 address ("::1", "0::1") are one address. Text that is not an address
// (the engine does not require one) is counted by its exact text in a map of its own.
//
// The probe position comes from a hash keyed with a per-table random seed, so that clients who
// choose their addresses cannot aim them at one run of the table. Not thread-safe: the engine
// guards it with its directory lock.
class IpCounts
{
public:
    IpCounts();

    std::size_t count(std::string_view ip) const;
    void add(std::string_view ip);
    // Forgets the address when its count reaches zero; an address not counted is ignored.
    void remove(std::string_view ip);
    void reserve(std::size_t addresses);
    void clear();

    std::size_t size() const { return m_size + m_other.size(); } // distinct addresses
    std::size_t capacity() const { return m_rows.size(); }       // rows of the table

private:
    struct Key
    {
        std::uint8_t bytes[16];
        std::uint8_t family; // 0: empty row, 4 or 6
    };
    struct Row
    {
        std::uint8_t bytes[16];
        std::uint32_t count;
        std::uint8_t family; // 0: empty row
    };
    static_assert(sizeof(Row) == 24);

    static bool parse(std::string_view ip, Key &key);
    static bool same(const Row &row, const Key &key);
    std::size_t home(const std::uint8_t *bytes, std::uint8_t family) const;
    std::size_t find(const Key &key) const; // the row holding key, or capacity()
    void grow(std::size_t rows);

    std::vector<Row> m_rows;
    std::size_t m_size = 0;
    std::uint64_t m_seed[2];
    std::unordered_map<std::string, std::size_t> m_other;
};

} // namespace hourglass
