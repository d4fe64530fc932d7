#include "UserDirectory.h"

#include "LinearProbing.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <new>

namespace hourglass {

namespace {

using namespace probing;

bool overloaded(std::size_t size, std::size_t rows)
{
    return size * 4 > rows * 3;
}

} // namespace

UserDirectory::UserDirectory(std::pmr::memory_resource *memory) : m_memory(memory)
{
    probing::randomSeed(m_seed);
}

UserDirectory::~UserDirectory()
{
    for (const auto *rows : {&m_rows, &m_oldRows}) {
        for (Record *record : *rows) {
            if (record)
                release(record);
        }
    }
}

UserDirectory::Record *UserDirectory::allocate(std::uint32_t capacity)
{
    void *memory = m_memory->allocate(recordBytes(capacity), alignof(Record));
    m_recordBytes += recordBytes(capacity);
    auto *record = new (memory) Record;
    record->capacity = capacity;
    return record;
}

void UserDirectory::release(Record *record)
{
    const std::size_t bytes = recordBytes(record->capacity);
    record->~Record();
    m_memory->deallocate(record, bytes, alignof(Record));
    m_recordBytes -= bytes;
}

std::uint64_t UserDirectory::hashOf(std::string_view user) const
{
    return hashText(user, m_seed);
}

UserDirectory::Ref UserDirectory::find(std::string_view user) const
{
    return m_rows.empty() ? npos : find(user, hashOf(user));
}

UserDirectory::Ref UserDirectory::find(std::string_view user, std::uint64_t hash) const
{
    const std::size_t rows = m_rows.size();
    if (rows == 0)
        return npos;
    const std::uint8_t tag = tagOf(hash);
    for (std::size_t i = homeRow(hash, rows);; i = nextRow(i, rows)) {
        const std::uint8_t rowTag = m_tags[i];
        if (rowTag == 0)
            break;
        if (rowTag == tag && m_rows[i]->name.view() == user)
            return i;
    }
    // While the table grows, a user not moved yet is in the old table (which has no empty row
    // left behind a moved one: a moved or erased record leaves kGone, and the probe goes on).
    const std::size_t oldRows = m_oldRows.size();
    if (oldRows == 0)
        return npos;
    for (std::size_t i = homeRow(hash, oldRows);; i = nextRow(i, oldRows)) {
        const std::uint8_t rowTag = m_oldTags[i];
        if (rowTag == 0)
            return npos;
        if (rowTag == tag && m_oldRows[i]->name.view() == user)
            return kOld | i;
    }
}

std::size_t UserDirectory::freeRow(std::uint64_t hash) const
{
    const std::size_t rows = m_rows.size();
    std::size_t i = homeRow(hash, rows);
    while (m_tags[i] != 0)
        i = nextRow(i, rows);
    return i;
}

UserDirectory::Ref UserDirectory::ensure(std::string_view user)
{
    const std::uint64_t hash = hashOf(user); // once, for the lookup and the insertion
    if (const Ref found = find(user, hash); found != npos)
        return found;
    if (overloaded(m_size + 1, m_rows.size())) {
        drain(m_oldRows.size()); // emptied long before (kDrainStep): at most one old table
        beginGrowth(std::max(kMinRows, m_rows.size() + m_rows.size() / 2));
    }
    drain(kDrainStep);
    const std::size_t i = freeRow(hash);
    SharedText name = SharedText::make(user);
    Record *record = allocate(1);
    record->name = std::move(name);
    m_rows[i] = record;
    m_tags[i] = tagOf(hash);
    ++m_size;
    return i;
}

void UserDirectory::add(Ref ref, const UserEntry &entry)
{
    Record *record = slot(ref);
    if (record->count == record->capacity) {
        // Most users hold one to a few sessions: a record grows by one entry up to four, then by
        // half, instead of doubling (a user with three sessions would carry room for four).
        record = relocate(ref, record->capacity < 4 ? record->capacity + 1
                                                    : record->capacity + record->capacity / 2);
    }
    new (record->data() + record->count) UserEntry(entry);
    ++record->count;
}

void UserDirectory::removeEntry(Ref ref, std::size_t index)
{
    Record *record = slot(ref);
    assert(index < record->count);
    UserEntry *entries = record->data();
    std::memmove(static_cast<void *>(entries + index), entries + index + 1,
                 (record->count - index - 1) * sizeof(UserEntry));
    --record->count;
    if (record->count == 0)
        erase(ref);
}

void UserDirectory::shrinkRecord(Ref ref)
{
    const Record *record = slot(ref);
    if (record->capacity > 4 && record->count * 4 < record->capacity)
        relocate(ref, record->count * 2);
}

UserDirectory::Record *UserDirectory::relocate(Ref ref, std::uint32_t capacity)
{
    Record *&row = slot(ref);
    Record *record = row;
    Record *moved = allocate(capacity);
    moved->name = std::move(record->name);
    moved->count = record->count;
    std::memcpy(static_cast<void *>(moved->data()), record->data(), record->count * sizeof(UserEntry));
    release(record);
    row = moved;
    return moved;
}

void UserDirectory::eraseIfEmpty(Ref ref)
{
    if (slot(ref)->count == 0)
        erase(ref);
}

void UserDirectory::erase(Ref ref)
{
    release(slot(ref));
    --m_size;
    if (ref & kOld) {
        // No backward shift in the old table: it could carry a record to a row already drained.
        m_oldRows[ref & ~kOld] = nullptr;
        m_oldTags[ref & ~kOld] = kGone;
        return;
    }
    const std::size_t rows = m_rows.size();
    std::size_t hole = ref;
    // Backward-shift deletion (probing::staysAfterHole).
    for (std::size_t here = nextRow(hole, rows); m_tags[here] != 0; here = nextRow(here, rows)) {
        const std::size_t wanted = homeRow(hashOf(m_rows[here]->name.view()), rows);
        if (!staysAfterHole(hole, here, wanted)) {
            m_rows[hole] = m_rows[here];
            m_tags[hole] = m_tags[here];
            hole = here;
        }
    }
    m_rows[hole] = nullptr;
    m_tags[hole] = 0;
}

void UserDirectory::beginGrowth(std::size_t rows)
{
    m_oldRows = std::vector<Record *>(rows, nullptr);
    m_oldTags = std::vector<std::uint8_t>(rows, 0);
    m_oldRows.swap(m_rows);
    m_oldTags.swap(m_tags);
    m_drained = 0;
}

void UserDirectory::drain(std::size_t maxRows)
{
    if (m_oldRows.empty())
        return;
    const std::size_t end = std::min(m_oldRows.size(), m_drained + maxRows);
    if (maxRows <= kDrainStep) {
        // Moving a record reads its name (to hash it), a cache miss behind the record's. The
        // records of these rows were fetched at the previous step (below), so their names are
        // asked for all at once here, and the misses overlap instead of following one another.
        for (std::size_t i = m_drained; i < end; ++i) {
            if (m_oldRows[i])
                __builtin_prefetch(m_oldRows[i]->name.get());
        }
        for (std::size_t i = end; i < std::min(m_oldRows.size(), end + maxRows); ++i) {
            if (m_oldRows[i])
                __builtin_prefetch(m_oldRows[i]);
        }
    }
    for (; m_drained < end; ++m_drained) {
        const std::uint8_t tag = m_oldTags[m_drained];
        if (tag == 0 || tag == kGone)
            continue;
        Record *record = m_oldRows[m_drained];
        const std::size_t i = freeRow(hashOf(record->name.view()));
        m_rows[i] = record;
        m_tags[i] = tag;
        m_oldRows[m_drained] = nullptr;
        m_oldTags[m_drained] = kGone;
    }
    if (m_drained == m_oldRows.size()) {
        m_oldRows = {};
        m_oldTags = {};
        m_drained = 0;
    }
}

void UserDirectory::shrinkIfSparse()
{
    const std::size_t rows = rowsAfterShrink(m_size, m_rows.size());
    if (rows == m_rows.size())
        return; // a growth under way goes on with the additions
    // Few users are left (a mass expiry): those still in the old table move with the rehash.
    drain(m_oldRows.size());
    if (rows == 0) {
        m_rows = {};
        m_tags = {};
    } else if (rows != m_rows.size()) {
        resize(rows);
    }
}

void UserDirectory::reserve(std::size_t users)
{
    drain(m_oldRows.size());
    if (overloaded(users, m_rows.size()))
        resize(std::max(kMinRows, users + users / 3 + 1));
}

void UserDirectory::resize(std::size_t rows)
{
    // A growth done at once (the callers finish one under way first).
    beginGrowth(rows);
    drain(m_oldRows.size());
}

} // namespace hourglass
