#pragma once

#include "Clock.h"
#include "Policy.h"
#include "SessionId.h"
#include "TextPool.h"

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <span>
#include <string_view>
#include <vector>

namespace hourglass {

// One session in its user's list.
struct UserEntry
{
    UserEntry(const IdHash &sessionHash, TimeMs created, Area sessionArea)
        : key(sessionHash.bucketHash()), createdMs(created), areaBits(static_cast<std::uint8_t>(sessionArea))
    {}
    Area area() const { return static_cast<Area>(areaBits); }
    bool isOf(const IdHash &hash, TimeMs created) const
    {
        return key == hash.bucketHash() && createdMs == created;
    }

    // The session's ID hash as its 8-byte bucket hash, which picks the shard and the bucket;
    // with the user and the creation time it finds the session. 16 bytes an entry instead of 40;
    // 56 bits of milliseconds span a million years.
    std::uint64_t key;
    TimeMs createdMs : 56;
    TimeMs areaBits : 8;
};
static_assert(sizeof(UserEntry) == 16);

// The engine's per-user index: for each user with a live session, the user's one shared name (the
// text every session of the user holds) and the user's sessions.
//
// A user is one record, allocated from the given memory resource: the name's handle, a count and
// the entries, 16 bytes each, in place (a record of one session is 32 bytes). The records are
// found through an open-addressing table with linear probing of 9 bytes a row: the record's
// address and a byte of its name's hash, so that a probe reads a record only when that byte
// matches. A std::unordered_map<std::string_view, {name, std::vector<UserEntry>}> took a 64-byte
// node, a bucket and a vector allocation per user, each allocation with its allocator header:
// ~60 bytes more per user. Rows are at most 3/4 in use; the table grows by half, and
// shrinkIfSparse() gives the rows of a table under a quarter full back (the owner calls it where
// a rehash holds nobody up, not on every removal). The hash is keyed with a per-table random seed, so that a
// client choosing user names cannot aim them at one run of the table.
//
// The table grows a few rows at a time: when it is full, a table half as large again takes the
// new users, and each user added moves the records of up to kDrainStep rows of the old table
// into it, until the old one is empty and freed. A lookup reads the old table too until then. A
// rehash of the whole table at once held every creation up for as long as it took: 23 ms at
// ~200,000 users (bench/HISTORY.md, session 20), where it made half of the 32-connection create
// p99.
//
// Not thread-safe: the engine guards it with its directory lock. A Ref stays valid until a user
// is added or erased (entries may be added and changed).
class UserDirectory
{
public:
    using Ref = std::size_t;
    static constexpr Ref npos = ~Ref(0);

    explicit UserDirectory(std::pmr::memory_resource *memory = std::pmr::new_delete_resource());
    ~UserDirectory();
    UserDirectory(const UserDirectory &) = delete;
    UserDirectory &operator=(const UserDirectory &) = delete;

    Ref find(std::string_view user) const;
    // The user's record, added with a new name and no entries when the user has none.
    Ref ensure(std::string_view user);
    const SharedText &name(Ref ref) const { return slot(ref)->name; }
    std::span<UserEntry> entries(Ref ref) { return slot(ref)->span(); }
    std::span<const UserEntry> entries(Ref ref) const { return slot(ref)->span(); }
    void add(Ref ref, const UserEntry &entry);
    // Removes the entry at `index` of entries(ref); the user is erased with the last one. A record
    // left with much more room than entries is not moved here (shrinkRecord() does that): a move
    // allocates, and the engine removes entries under locks that validations wait for.
    void removeEntry(Ref ref, std::size_t index);
    // Moves a record with over four entries of room and under a quarter of them used (a user who
    // held many sessions and now holds few) to one half full.
    void shrinkRecord(Ref ref);
    // Erases the user when it has no entries (a record just added and not used).
    void eraseIfEmpty(Ref ref);
    // Sizes the table for this many users at once.
    void reserve(std::size_t users);
    // Under a quarter full, the table is rebuilt half full (an empty one is freed), a growth under
    // way finished first. Refs end.
    void shrinkIfSparse();

    // Rows of the old table scanned per user added while the table grows: enough to empty it
    // before the new one is full (it fills from 1/2 to 3/4 in 3/8 of the old rows' count of
    // additions), and done in about a third of that.
    static constexpr std::size_t kDrainStep = 8;

    std::size_t size() const { return m_size; } // users
    std::size_t rows() const { return m_rows.size(); }
    // Rows of the old table still to be moved while the table grows; 0 otherwise.
    std::size_t draining() const { return m_oldRows.size() - m_drained; }
    // Bytes of the tables and the records (the names aside).
    std::size_t bytes() const
    {
        return (m_rows.size() + m_oldRows.size()) * (sizeof(Record *) + 1) + m_recordBytes;
    }

private:
    struct Record
    {
        SharedText name;
        std::uint32_t count = 0;
        std::uint32_t capacity = 0;

        UserEntry *data() { return reinterpret_cast<UserEntry *>(this + 1); }
        const UserEntry *data() const { return reinterpret_cast<const UserEntry *>(this + 1); }
        std::span<UserEntry> span() { return {data(), count}; }
        std::span<const UserEntry> span() const { return {data(), count}; }
    };
    static_assert(sizeof(Record) == 16 && alignof(UserEntry) <= alignof(Record));

    static std::size_t recordBytes(std::uint32_t capacity)
    {
        return sizeof(Record) + std::size_t(capacity) * sizeof(UserEntry);
    }
    Record *allocate(std::uint32_t capacity);
    void release(Record *record);
    // The user's record moved to one with room for `capacity` entries.
    Record *relocate(Ref ref, std::uint32_t capacity);
    std::uint64_t hashOf(std::string_view user) const;
    Ref find(std::string_view user, std::uint64_t hash) const;
    // The low bits: the row comes from the high ones (probing::homeRow()).
    static std::uint8_t tagOf(std::uint64_t hash) { return std::uint8_t(0x80 | (hash & 0x7f)); }
    // A row of the old table whose record has moved or was erased: a probe goes on past it.
    static constexpr std::uint8_t kGone = 1;
    // Set in a Ref to a row of the old table.
    static constexpr Ref kOld = Ref(1) << 62;

    Record *const &slot(Ref ref) const { return ref & kOld ? m_oldRows[ref & ~kOld] : m_rows[ref]; }
    Record *&slot(Ref ref) { return ref & kOld ? m_oldRows[ref & ~kOld] : m_rows[ref]; }
    // The row of the current table where a user of this hash goes (the user is in neither table).
    std::size_t freeRow(std::uint64_t hash) const;
    void erase(Ref ref);
    // Starts growing into a table of `rows` rows; the current one becomes the old one.
    void beginGrowth(std::size_t rows);
    // Moves the records of up to `maxRows` rows of the old table; frees it when it is empty.
    void drain(std::size_t maxRows);
    // Rehashes into `rows` rows at once, for reserve() and shrinkIfSparse().
    void resize(std::size_t rows);

    std::pmr::memory_resource *m_memory;
    std::vector<Record *> m_rows;
    std::vector<std::uint8_t> m_tags; // 0: empty row, else 0x80 | the hash's low 7 bits
    // The table being emptied into m_rows while the table grows, and how many of its rows have been.
    std::vector<Record *> m_oldRows;
    std::vector<std::uint8_t> m_oldTags; // as m_tags, and kGone
    std::size_t m_drained = 0;
    std::size_t m_size = 0;
    std::size_t m_recordBytes = 0;
    std::uint64_t m_seed[2];
};

} // namespace hourglass
