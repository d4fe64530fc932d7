#pragma once

#include "LinearProbing.h"
#include "SessionId.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory_resource>
#include <new>
#include <utility>
#include <vector>

namespace hourglass {

// A shard's sessions by ID hash: an open-addressing table with linear probing whose 24-byte rows
// hold 8 bytes of the ID hash, the address of the entry and a hint (below); the entry is allocated
// on its own (from the engine's TableMemory) and never moves while the session lives.
//
// It replaces a std::unordered_map, whose lookup at a million sessions read the bucket, the node
// before the first one of the bucket (the bucket array points there), the node itself and the next
// node (to see where the bucket ends): four cache misses where this table has two, the row and the
// entry (bench/HISTORY.md, where the time goes). The ID hash is SHA-256 output that clients cannot
// choose, so its first 8 bytes are the probe hash as they are; they also tell rows apart without
// reading an entry (entries are compared in full, in constant time, only when they match).
//
// A row also keeps a hint: the address that HintOf()(value) gives, memory the caller reads right
// after a lookup (the engine's slot: its user's name). find() starts fetching it as soon as the
// row is read, beside the entry: at a million sessions each is a cache miss, and read one after
// the other (the row, the entry, then the name the entry points to) they were three misses in a
// row, ~30 % of a validation (bench/HISTORY.md, where the time goes). A hint may go stale (a slot
// restored at start-up gets its name later); find() puts the current one back. A stale hint costs
// one wasted prefetch, never a wrong answer: a prefetch never faults, whatever the address.
// HintOf::kBytes says how much the caller reads from there: up to a cache line, which a hint not
// aligned to one (malloc aligns to 16 bytes) may split over two, so both are fetched. Fetching
// only the first left the second a third miss in a row for the half of the names that cross a
// line (fetching both: -19 ns of ~490 per validation at a million sessions; bench/HISTORY.md, where
// the time goes).
//
// A table grows by half when 7/8 full; erase() never rehashes (a removal holds no one up for
// longer than its probe run) and shrinkIfSparse(), called where a rehash holds nobody up, gives
// the rows of a table under 1/4 full back. Not thread-safe: each shard guards its own.
template<typename Value, typename HintOf> class SessionTable
{
public:
    using value_type = std::pair<const IdHash, Value>;
    // An entry's address: stable until the entry is erased. end() is nullptr.
    using iterator = value_type *;

    explicit SessionTable(std::pmr::memory_resource *memory) : m_memory(memory), m_rows(memory) {}
    ~SessionTable() { clear(); }
    SessionTable(const SessionTable &) = delete;
    SessionTable &operator=(const SessionTable &) = delete;

    std::size_t size() const { return m_size; }
    bool empty() const { return m_size == 0; }
    std::size_t rows() const { return m_rows.size(); }
    // Bytes of the rows and the entries (what the entries point to aside).
    std::size_t bytes() const { return m_rows.size() * sizeof(Row) + m_size * sizeof(value_type); }
    static constexpr iterator end() { return nullptr; }

    // The entry of `hash`, or end(). The row's hint is fetched while the entry is compared.
    iterator find(const IdHash &hash) const
    {
        if (m_rows.empty())
            return nullptr;
        const Row &row = m_rows[rowFor(hash.bucketHash(), hash)];
        if (row.entry) {
            if (const void *hint = HintOf()(row.entry->second); row.hint != hint)
                row.hint = hint;
        }
        return row.entry;
    }

    // Starts fetching the rows where find(hash) begins, so that work done before the find (taking
    // the time) overlaps its cache miss: the home row's line and the next. A row is found on
    // average ~1.9 rows past its home at a shard's load at a million sessions (0.79): in the home
    // row's line half the time, in the next 35 %, further 14 % (a simulation of the probe runs).
    // The next line fetched too: -11 ns per validation at a million sessions, the mean of 18
    // alternating pairs of ~460 ns (a pair's difference varies by ~20 ns; bench/HISTORY.md).
    void prefetch(const IdHash &hash) const
    {
        if (m_rows.empty())
            return;
        const auto home =
            reinterpret_cast<std::uintptr_t>(&m_rows[probing::homeRow(hash.bucketHash(), m_rows.size())]);
        prefetchAt(home);
        prefetchAt(home + kLineBytes); // past the end: never faults
    }

    // The hint find() fetches for `hash` as things stand (nullptr when the table lacks it).
    const void *hintFor(const IdHash &hash) const
    {
        if (m_rows.empty())
            return nullptr;
        const Row &row = m_rows[rowFor(hash.bucketHash(), hash)];
        return row.entry ? row.hint : nullptr;
    }

    // visit(entry) for each entry whose ID hash begins with the 8 bytes `key` (one, but for a
    // 2^-64 chance of two): how the expiry heap's 8-byte keys find their sessions.
    template<typename Visit> void forEachWithKey(std::uint64_t key, Visit visit) const
    {
        const std::size_t rows = m_rows.size();
        if (m_size == 0)
            return;
        for (std::size_t i = probing::homeRow(key, rows); m_rows[i].entry; i = probing::nextRow(i, rows)) {
            if (m_rows[i].key == key)
                visit(m_rows[i].entry);
        }
    }

    // Inserts (hash, value) unless the hash is there; returns the entry and whether it is new.
    // Nothing changes when an allocation fails.
    std::pair<iterator, bool> emplace(const IdHash &hash, Value &&value)
    {
        // One probe finds the hash or the empty row it would go to; a second only after growing.
        const std::uint64_t key = hash.bucketHash();
        std::size_t i = m_rows.empty() ? 0 : rowFor(key, hash);
        if (!m_rows.empty() && m_rows[i].entry)
            return {m_rows[i].entry, false};
        if (probing::overSevenEighths(m_size + 1, m_rows.size())) {
            resize(std::max(probing::kMinRows, m_rows.size() + m_rows.size() / 2));
            i = rowFor(key, hash);
        }
        void *memory = m_memory->allocate(sizeof(value_type), alignof(value_type));
        iterator entry;
        try {
            entry = new (memory) value_type(hash, std::move(value));
        } catch (...) {
            m_memory->deallocate(memory, sizeof(value_type), alignof(value_type));
            throw;
        }
        m_rows[i] = {key, entry, HintOf()(entry->second)};
        ++m_size;
        return {entry, true};
    }

    void erase(iterator entry)
    {
        const std::size_t rows = m_rows.size();
        std::size_t hole = probing::homeRow(entry->first.bucketHash(), rows);
        while (m_rows[hole].entry != entry)
            hole = probing::nextRow(hole, rows);
        release(entry);
        // Backward-shift deletion (probing::staysAfterHole): no tombstones.
        for (std::size_t here = probing::nextRow(hole, rows); m_rows[here].entry;
             here = probing::nextRow(here, rows)) {
            if (!probing::staysAfterHole(hole, here, probing::homeRow(m_rows[here].key, rows))) {
                m_rows[hole] = m_rows[here];
                hole = here;
            }
        }
        m_rows[hole] = {};
        --m_size;
    }

    // Sizes the table for this many entries at once.
    void reserve(std::size_t entries)
    {
        if (probing::overSevenEighths(entries, m_rows.size()))
            resize(std::max(probing::kMinRows, entries + entries / 7 + 1));
    }

    // Under a quarter full, the rows are rebuilt half full (an empty table gives them all back).
    // Entries stay where they are.
    void shrinkIfSparse()
    {
        const std::size_t rows = probing::rowsAfterShrink(m_size, m_rows.size());
        if (rows == 0)
            Rows(m_memory).swap(m_rows);
        else if (rows != m_rows.size())
            resize(rows);
    }

    void clear()
    {
        for (Row &row : m_rows) {
            if (row.entry)
                release(row.entry);
        }
        Rows(m_memory).swap(m_rows);
        m_size = 0;
    }

private:
    struct Row
    {
        std::uint64_t key = 0;              // the ID hash's first 8 bytes (IdHash::bucketHash())
        value_type *entry = nullptr;        // nullptr: an empty row
        mutable const void *hint = nullptr; // HintOf()(entry->second), or stale (find() renews it)
    };
    static_assert(sizeof(Row) == 24);
    using Rows = std::pmr::vector<Row>;

    static constexpr std::size_t kLineBytes = 64; // a cache line on x86-64

    // Prefetches take addresses computed as integers: a null hint (a value without one) or the
    // line past the rows' end is no pointer to offset.
    static void prefetchAt(std::uintptr_t address)
    {
        __builtin_prefetch(reinterpret_cast<const void *>(address));
    }

    // Starts fetching HintOf::kBytes bytes at `hint`: its first line and its last.
    static void prefetchHint(const void *hint)
    {
        static_assert(HintOf::kBytes >= 1 && HintOf::kBytes <= kLineBytes, "two lines at most");
        const auto at = reinterpret_cast<std::uintptr_t>(hint);
        prefetchAt(at);
        prefetchAt(at + (HintOf::kBytes - 1));
    }

    // The row holding `hash` (whose first 8 bytes are `key`), or the empty row where its probe
    // ends. The table has rows. A row whose key matches has its hint prefetched before its entry
    // is compared, so that both are fetched at once.
    std::size_t rowFor(std::uint64_t key, const IdHash &hash) const
    {
        const std::size_t rows = m_rows.size();
        std::size_t i = probing::homeRow(key, rows);
        for (; m_rows[i].entry; i = probing::nextRow(i, rows)) {
            if (m_rows[i].key != key)
                continue;
            prefetchHint(m_rows[i].hint);
            if (m_rows[i].entry->first == hash)
                break;
        }
        return i;
    }

    void release(iterator entry)
    {
        entry->~value_type();
        m_memory->deallocate(entry, sizeof(value_type), alignof(value_type));
    }

    void resize(std::size_t rows)
    {
        Rows fresh(rows, Row{}, m_memory);
        for (const Row &row : m_rows) {
            if (!row.entry)
                continue;
            std::size_t i = probing::homeRow(row.key, rows);
            while (fresh[i].entry)
                i = probing::nextRow(i, rows);
            fresh[i] = row;
        }
        m_rows.swap(fresh);
    }

public:
    // Every entry, in row order: for (auto &[hash, value] : table.entries()). The table must not
    // change while it is walked (the values may).
    class Range
    {
    public:
        class Iterator
        {
        public:
            using iterator_category = std::forward_iterator_tag;
            using value_type = SessionTable::value_type;
            using difference_type = std::ptrdiff_t;
            using pointer = value_type *;
            using reference = value_type &;

            Iterator() = default;
            Iterator(const Row *row, const Row *end) : m_row(row), m_end(end) { skipEmpty(); }
            reference operator*() const { return *m_row->entry; }
            pointer operator->() const { return m_row->entry; }
            Iterator &operator++()
            {
                ++m_row;
                skipEmpty();
                return *this;
            }
            bool operator==(const Iterator &other) const { return m_row == other.m_row; }

        private:
            void skipEmpty()
            {
                while (m_row != m_end && !m_row->entry)
                    ++m_row;
            }
            const Row *m_row = nullptr;
            const Row *m_end = nullptr;
        };

        explicit Range(const Rows &rows) : m_begin(rows.data()), m_end(rows.data() + rows.size()) {}
        Iterator begin() const { return {m_begin, m_end}; }
        Iterator end() const { return {m_end, m_end}; }

    private:
        const Row *m_begin;
        const Row *m_end;
    };
    Range entries() const { return Range(m_rows); }

private:
    std::pmr::memory_resource *m_memory;
    Rows m_rows;
    std::size_t m_size = 0;
};

} // namespace hourglass
