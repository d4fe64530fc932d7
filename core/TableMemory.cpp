#include "TableMemory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <new>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define HOURGLASS_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define HOURGLASS_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define HOURGLASS_POISON(p, n) ((void)(p), (void)(n))
#define HOURGLASS_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace hourglass {

// At the start of every block; the block's pieces follow.
struct TableMemory::Block
{
    Block *prev = nullptr; // in the size class's available list
    Block *next = nullptr;
    void *freeList = nullptr; // pieces given back (each holds the next one's address)
    char *bump = nullptr;     // the first piece never handed out
    char *end = nullptr;
    std::size_t live = 0;
    bool listed = false; // in the available list
};

namespace {

constexpr std::size_t kHeaderBytes = 64;
static_assert(sizeof(void *) * 8 <= kHeaderBytes);

} // namespace

TableMemory::TableMemory(std::pmr::memory_resource *upstream) : m_upstream(upstream) {}

TableMemory::~TableMemory()
{
    // Whatever the tables still hold goes with them (they are destroyed before this).
    for (SizeClass &c : m_classes) {
        for (Block *b : c.blocks)
            unmap(b, kBlockBytes);
    }
}

TableMemory::Stats TableMemory::stats() const
{
    std::lock_guard lock(m_mutex);
    Stats s;
    s.sizes = m_classes.size();
    for (const SizeClass &c : m_classes)
        s.blocks += c.blocks.size();
    s.pieces = m_pieces;
    s.arrays = m_arrays;
    s.upstreamBytes = m_upstreamBytes;
    return s;
}

std::size_t TableMemory::pieceSize(std::size_t bytes, std::size_t alignment)
{
    // A piece holds the free list's link when given back. Pieces follow one another from a 64-byte
    // header, so a size that is a multiple of the alignment asked for keeps every piece aligned:
    // a session entry of 104 bytes costs 104, not 112 (bench/HISTORY.md, memory).
    const std::size_t unit = std::max(alignment, sizeof(void *));
    return (std::max(bytes, sizeof(void *)) + unit - 1) & ~(unit - 1);
}

TableMemory::SizeClass *TableMemory::sizeClass(std::size_t size, bool add)
{
    for (SizeClass &c : m_classes) {
        if (c.size == size)
            return &c;
    }
    if (!add)
        return nullptr;
    m_classes.emplace_back().size = size;
    return &m_classes.back();
}

std::size_t TableMemory::arrayLength(std::size_t bytes)
{
    return (bytes + kBlockBytes - 1) & ~(kBlockBytes - 1);
}

void *TableMemory::mapAligned(std::size_t bytes)
{
    // Over-map by one block and trim, so that the mapping starts on a 2 MiB boundary: the kernel
    // backs only whole aligned 2 MiB ranges with huge pages.
    const std::size_t length = bytes + kBlockBytes;
    void *raw = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + kBlockBytes - 1) & ~(kBlockBytes - 1);
    if (aligned > start)
        munmap(raw, aligned - start);
    const std::uintptr_t tail = start + length - (aligned + bytes);
    if (tail > 0)
        munmap(reinterpret_cast<void *>(aligned + bytes), tail);
    void *p = reinterpret_cast<void *>(aligned);
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE); // advice only: without huge pages this is still correct memory
#endif
    return p;
}

void TableMemory::unmap(void *p, std::size_t bytes)
{
    HOURGLASS_UNPOISON(p, bytes);
    munmap(p, bytes);
}

TableMemory::Block *TableMemory::newBlock(SizeClass &c)
{
    void *memory = mapAligned(kBlockBytes);
    auto *block = new (memory) Block;
    block->bump = static_cast<char *>(memory) + kHeaderBytes;
    block->end = static_cast<char *>(memory) + kBlockBytes;
    HOURGLASS_POISON(block->bump, std::size_t(block->end - block->bump));
    c.blocks.push_back(block);
    return block;
}

void TableMemory::unlinkAvailable(SizeClass &c, Block *block)
{
    if (block->prev)
        block->prev->next = block->next;
    else
        c.available = block->next;
    if (block->next)
        block->next->prev = block->prev;
    block->prev = block->next = nullptr;
    block->listed = false;
}

void *TableMemory::do_allocate(std::size_t bytes, std::size_t alignment)
{
    if (bytes >= kHugeArray && alignment <= kBlockBytes) {
        void *p = mapAligned(arrayLength(bytes));
        std::lock_guard lock(m_mutex);
        ++m_arrays;
        return p;
    }
    if (bytes > kMaxPiece || alignment > alignof(std::max_align_t)) {
        void *p = m_upstream->allocate(bytes, alignment);
        std::lock_guard lock(m_mutex);
        m_upstreamBytes += bytes;
        return p;
    }
    const std::size_t size = pieceSize(bytes, alignment);
    std::lock_guard lock(m_mutex);
    SizeClass &c = *sizeClass(size, true);
    Block *block = c.available;
    if (!block) {
        if (c.empty) {
            block = std::exchange(c.empty, nullptr);
        } else {
            block = newBlock(c);
        }
        block->next = nullptr;
        block->prev = nullptr;
        block->listed = true;
        c.available = block;
    }
    void *p;
    if (block->freeList) {
        p = block->freeList;
        HOURGLASS_UNPOISON(p, sizeof(void *));
        block->freeList = *static_cast<void **>(p);
    } else {
        p = block->bump;
        block->bump += size;
    }
    HOURGLASS_UNPOISON(p, size);
    ++block->live;
    ++m_pieces;
    if (!block->freeList && block->bump + size > block->end)
        unlinkAvailable(c, block); // full
    return p;
}

void TableMemory::do_deallocate(void *p, std::size_t bytes, std::size_t alignment)
{
    if (!p)
        return;
    if (bytes >= kHugeArray && alignment <= kBlockBytes) {
        unmap(p, arrayLength(bytes));
        std::lock_guard lock(m_mutex);
        --m_arrays;
        return;
    }
    if (bytes > kMaxPiece || alignment > alignof(std::max_align_t)) {
        m_upstream->deallocate(p, bytes, alignment);
        std::lock_guard lock(m_mutex);
        m_upstreamBytes -= bytes;
        return;
    }
    const std::size_t size = pieceSize(bytes, alignment);
    auto *block = reinterpret_cast<Block *>(reinterpret_cast<std::uintptr_t>(p) & ~(kBlockBytes - 1));
    std::lock_guard lock(m_mutex);
    SizeClass *c = sizeClass(size, false);
    assert(c && block->live > 0);
    HOURGLASS_POISON(p, size);
    HOURGLASS_UNPOISON(p, sizeof(void *));
    *static_cast<void **>(p) = block->freeList;
    HOURGLASS_POISON(p, sizeof(void *));
    block->freeList = p;
    --block->live;
    --m_pieces;
    if (block->live == 0) {
        // Empty: kept as the class's spare, or given back to the kernel when there is one already.
        if (block->listed)
            unlinkAvailable(*c, block);
        if (!c->empty) {
            c->empty = block;
        } else {
            std::erase(c->blocks, block);
            unmap(block, kBlockBytes);
        }
        return;
    }
    if (!block->listed) {
        block->prev = nullptr;
        block->next = c->available;
        if (c->available)
            c->available->prev = block;
        c->available = block;
        block->listed = true;
    }
}

bool TableMemory::do_is_equal(const std::pmr::memory_resource &other) const noexcept
{
    return this == &other;
}

} // namespace hourglass
