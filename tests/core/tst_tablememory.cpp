// TableMemory: the session tables' memory resource, checked with real mappings.

#include "TableMemory.h"

#include <QtTest>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory_resource>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

using namespace hourglass;

namespace {

// The end of the mapping holding `p`, from /proc/self/maps (0 when none holds it).
std::uintptr_t mappingEnd(const void *p)
{
    const auto address = reinterpret_cast<std::uintptr_t>(p);
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        const std::size_t dash = line.find('-');
        const std::size_t space = line.find(' ');
        if (dash == std::string::npos || space == std::string::npos)
            continue;
        const std::uintptr_t start = std::stoull(line.substr(0, dash), nullptr, 16);
        const std::uintptr_t end = std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16);
        if (address >= start && address < end)
            return end;
    }
    return 0;
}

std::uintptr_t blockOf(const void *p)
{
    return reinterpret_cast<std::uintptr_t>(p) & ~(TableMemory::kBlockBytes - 1);
}

} // namespace

class TestTableMemory : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void piecesOfOneSizeShareAlignedBlocksAndAreReused()
    {
        TableMemory memory;
        constexpr std::size_t kSize = 144; // a session node
        const std::size_t perBlock = (TableMemory::kBlockBytes - 64) / kSize;
        std::vector<void *> pieces;
        for (std::size_t i = 0; i < perBlock + 10; ++i) {
            void *p = memory.allocate(kSize, 8);
            QCOMPARE(reinterpret_cast<std::uintptr_t>(p) % alignof(std::max_align_t), std::uintptr_t(0));
            std::memset(p, int(i & 0xff), kSize); // writable, whole
            pieces.push_back(p);
        }
        std::set<std::uintptr_t> blocks;
        for (void *p : pieces)
            blocks.insert(blockOf(p));
        QCOMPARE(blocks.size(), std::size_t(2)); // a full block, then a second one
        QCOMPARE(memory.stats().blocks, std::size_t(2));
        QCOMPARE(memory.stats().pieces, perBlock + 10);
        // No two pieces overlap.
        std::set<void *> distinct(pieces.begin(), pieces.end());
        QCOMPARE(distinct.size(), pieces.size());
        for (std::size_t i = 0; i < pieces.size(); ++i)
            QCOMPARE(static_cast<unsigned char *>(pieces[i])[kSize - 1],
                     static_cast<unsigned char>(i & 0xff));

        // A piece given back is handed out again before any new memory.
        void *given = pieces[7];
        memory.deallocate(given, kSize, 8);
        QCOMPARE(memory.allocate(kSize, 8), given);

        // Emptied blocks go back to the kernel, but one spare per size is kept.
        for (void *p : pieces)
            memory.deallocate(p, kSize, 8);
        QCOMPARE(memory.stats().pieces, std::size_t(0));
        QCOMPARE(memory.stats().blocks, std::size_t(1));
        void *again = memory.allocate(kSize, 8);
        QVERIFY(blocks.count(blockOf(again)) == 1); // from the spare
        memory.deallocate(again, kSize, 8);
    }

    void sizesDoNotMix()
    {
        TableMemory memory;
        void *a = memory.allocate(144, 8);
        void *b = memory.allocate(48, 8);
        QVERIFY(blockOf(a) != blockOf(b));
        QCOMPARE(memory.stats().blocks, std::size_t(2));
        memory.deallocate(a, 144, 8);
        memory.deallocate(b, 48, 8);
    }

    void piecesArePaddedOnlyToTheAlignmentAskedFor()
    {
        // A session entry is 104 bytes aligned to 8: its pieces lie 104 bytes apart, not 112.
        TableMemory memory;
        void *a = memory.allocate(104, 8);
        void *b = memory.allocate(104, 8);
        QCOMPARE(static_cast<char *>(b) - static_cast<char *>(a), std::ptrdiff_t(104));
        QCOMPARE(reinterpret_cast<std::uintptr_t>(a) % 8, std::uintptr_t(0));
        QCOMPARE(reinterpret_cast<std::uintptr_t>(b) % 8, std::uintptr_t(0));
        // The same size with a 16-byte alignment is a class of its own, padded to 112.
        void *c = memory.allocate(104, 16);
        void *d = memory.allocate(104, 16);
        QCOMPARE(memory.stats().sizes, std::size_t(2));
        QCOMPARE(static_cast<char *>(d) - static_cast<char *>(c), std::ptrdiff_t(112));
        QCOMPARE(reinterpret_cast<std::uintptr_t>(c) % 16, std::uintptr_t(0));
        QCOMPARE(reinterpret_cast<std::uintptr_t>(d) % 16, std::uintptr_t(0));
        // Given back by the same size and alignment, each piece returns to its own class.
        memory.deallocate(b, 104, 8);
        memory.deallocate(d, 104, 16);
        QCOMPARE(memory.allocate(104, 8), b);
        QCOMPARE(memory.allocate(104, 16), d);
        for (void *p : {a, b})
            memory.deallocate(p, 104, 8);
        for (void *p : {c, d})
            memory.deallocate(p, 104, 16);
        QCOMPARE(memory.stats().pieces, std::size_t(0));
    }

    void largeArraysAreMappedAlignedAndOthersGoUpstream()
    {
        TableMemory memory;
        const std::size_t big = TableMemory::kHugeArray + 12'345;
        void *array = memory.allocate(big, 8);
        QCOMPARE(reinterpret_cast<std::uintptr_t>(array) % TableMemory::kBlockBytes, std::uintptr_t(0));
        std::memset(array, 1, big);
        QCOMPARE(memory.stats().arrays, std::size_t(1));
        // Mapped in whole 2 MiB blocks, none of it left to 4 KiB pages: the kernel's map of the
        // process has the array's range end on a block boundary.
        QCOMPARE(mappingEnd(array) % TableMemory::kBlockBytes, std::uintptr_t(0));
        QVERIFY(mappingEnd(array) >= reinterpret_cast<std::uintptr_t>(array) + big);
        void *medium = memory.allocate(100'000, 8);
        QCOMPARE(memory.stats().upstreamBytes, std::size_t(100'000));
        QCOMPARE(memory.stats().blocks, std::size_t(0));
        memory.deallocate(array, big, 8);
        memory.deallocate(medium, 100'000, 8);
        QCOMPARE(memory.stats().arrays, std::size_t(0));
        QCOMPARE(memory.stats().upstreamBytes, std::size_t(0));
    }

    void servesAHashMapThroughGrowthAndErasure()
    {
        TableMemory memory;
        std::size_t peakBlocks = 0;
        {
            std::pmr::unordered_map<std::uint64_t, std::string> map(&memory);
            for (std::uint64_t i = 0; i < 300'000; ++i)
                map.emplace(i, std::to_string(i));
            QVERIFY(memory.stats().pieces >= 300'000);
            QVERIFY(memory.stats().arrays >= 1); // the bucket array outgrew 2 MiB
            peakBlocks = memory.stats().blocks;
            for (std::uint64_t i = 0; i < 300'000; i += 2)
                map.erase(i);
            for (std::uint64_t i = 0; i < 300'000; ++i)
                QCOMPARE(map.count(i), std::size_t(i % 2));
            QCOMPARE(map.at(299'999), std::string("299999"));
        }
        const TableMemory::Stats after = memory.stats();
        QCOMPARE(after.pieces, std::size_t(0));
        QCOMPARE(after.arrays, std::size_t(0));
        // One spare block per size (the nodes, and the bucket arrays of the first few sizes).
        QVERIFY(peakBlocks > after.sizes);
        QVERIFY(after.blocks <= after.sizes);
    }
};

QTEST_GUILESS_MAIN(TestTableMemory)
#include "tst_tablememory.moc"
