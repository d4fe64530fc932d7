#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <mutex>
#include <vector>

namespace hourglass {

// Memory for the engine's session tables: a million session entries read in random order.
//
// Small objects (up to kMaxPiece bytes: the entries, the per-user records) are carved, one size
// per block, from 2 MiB blocks aligned to 2 MiB and advised for transparent huge pages; arrays of
// at least kHugeArray bytes (row arrays) get mappings of their own with the same advice, rounded up
// to whole 2 MiB blocks so that none of their rows sits on a 4 KiB page (a shard's rows at a million
// sessions are ~1.9 MB: from the upstream resource they cost every lookup a TLB miss, ~10 % of a
// validation); everything else comes from the upstream resource. With 4 KiB pages, 160 MB of entries span
// 40,000 pages and nearly every lookup misses the TLB; with huge pages they span 80. Pieces carry no
// allocator header, and a block that empties is unmapped (one empty block per size is kept for reuse).
//
// Thread-safe: one mutex, held for a few dozen instructions per allocation (a leaf lock: nothing
// else is locked under it). Lookups never allocate.
class TableMemory final : public std::pmr::memory_resource
{
public:
    static constexpr std::size_t kBlockBytes = std::size_t(2) << 20;
    static constexpr std::size_t kMaxPiece = 512;
    static constexpr std::size_t kHugeArray = kBlockBytes / 2; // at most half of it unused

    struct Stats
    {
        std::size_t sizes = 0;         // distinct piece sizes served
        std::size_t blocks = 0;        // mapped 2 MiB blocks of pieces
        std::size_t pieces = 0;        // pieces in use
        std::size_t arrays = 0;        // own mappings of large arrays
        std::size_t upstreamBytes = 0; // bytes in use from the upstream resource
    };

    explicit TableMemory(std::pmr::memory_resource *upstream = std::pmr::new_delete_resource());
    ~TableMemory() override;
    TableMemory(const TableMemory &) = delete;
    TableMemory &operator=(const TableMemory &) = delete;

    Stats stats() const;

private:
    struct Block;
    struct SizeClass
    {
        std::size_t size = 0;
        Block *available = nullptr;  // blocks with a free piece, most recently freed into first
        Block *empty = nullptr;      // at most one block without a piece in use, kept for reuse
        std::vector<Block *> blocks; // every mapped block of this size
    };

    void *do_allocate(std::size_t bytes, std::size_t alignment) override;
    void do_deallocate(void *p, std::size_t bytes, std::size_t alignment) override;
    bool do_is_equal(const std::pmr::memory_resource &other) const noexcept override;

    static std::size_t pieceSize(std::size_t bytes, std::size_t alignment);
    SizeClass *sizeClass(std::size_t size, bool add);
    Block *newBlock(SizeClass &sizeClass);
    void unlinkAvailable(SizeClass &sizeClass, Block *block);
    static std::size_t arrayLength(std::size_t bytes); // the whole 2 MiB blocks mapped for an array
    static void *mapAligned(std::size_t bytes);
    static void unmap(void *p, std::size_t bytes);

    std::pmr::memory_resource *m_upstream;
    mutable std::mutex m_mutex;
    std::vector<SizeClass> m_classes; // a handful: the node sizes of the tables using it
    std::size_t m_pieces = 0;
    std::size_t m_arrays = 0;
    std::size_t m_upstreamBytes = 0;
};

} // namespace hourglass
