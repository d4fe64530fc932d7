// SessionTable: the shards' sessions by ID hash, against a reference map under random churn.

#include "CountingResource.h"
#include "SessionTable.h"

#include <QtTest>

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <vector>

using namespace hourglass;
using test::CountingResource;

namespace {

// A value that counts its live instances, so that a test sees every entry destroyed once.
struct Value
{
    Value(int n, int *live) : number(n), instances(live) { ++*instances; }
    Value(Value &&other) noexcept : number(other.number), instances(other.instances), hint(other.hint)
    {
        ++*instances;
    }
    Value &operator=(Value &&other) noexcept
    {
        number = other.number;
        hint = other.hint;
        return *this;
    }
    ~Value() { --*instances; }

    int number;
    int *instances;
    const void *hint = nullptr; // what the table's rows keep beside the entry
};

struct ValueHint
{
    static constexpr std::size_t kBytes = 64;
    const void *operator()(const Value &value) const { return value.hint; }
};

using Table = SessionTable<Value, ValueHint>;

IdHash randomHash(std::mt19937_64 &random)
{
    std::array<std::uint8_t, IdHash::kSize> bytes;
    for (std::size_t i = 0; i < bytes.size(); i += 8) {
        const std::uint64_t word = random();
        std::memcpy(bytes.data() + i, &word, sizeof word);
    }
    return IdHash(bytes);
}

// Inserts `count` random hashes with the numbers 0, 1, …; returns them in that order.
std::vector<IdHash> fill(Table &table, int count, std::mt19937_64 &random, int *instances)
{
    std::vector<IdHash> hashes;
    for (int i = 0; i < count; ++i) {
        hashes.push_back(randomHash(random));
        table.emplace(hashes.back(), Value(i, instances));
    }
    return hashes;
}

// A hash whose first 8 bytes (the table's key) are `key` and whose last byte is `tail`.
IdHash hashWithKey(std::uint64_t key, std::uint8_t tail)
{
    std::array<std::uint8_t, IdHash::kSize> bytes{};
    std::memcpy(bytes.data(), &key, sizeof key);
    bytes.back() = tail;
    return IdHash(bytes);
}

// The number stored with hash, or -1 when the table does not have it.
int numberOf(const Table &table, const IdHash &hash)
{
    const Table::iterator entry = table.find(hash);
    return entry ? entry->second.number : -1;
}

// Erases hash, which the table must have.
bool eraseExisting(Table &table, const IdHash &hash)
{
    const Table::iterator entry = table.find(hash);
    if (!entry)
        return false;
    table.erase(entry);
    return true;
}

struct Less
{
    bool operator()(const IdHash &a, const IdHash &b) const { return a.bytes() < b.bytes(); }
};

} // namespace

class TestSessionTable : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void churnMatchesAReferenceMap_data()
    {
        QTest::addColumn<int>("population");
        QTest::newRow("small") << 12;
        QTest::newRow("large") << 20000;
    }

    void churnMatchesAReferenceMap()
    {
        // Random inserts and erases around a population, so that the table grows, runs stay long
        // near 7/8 full, and erases shift rows back across the wrap-around of the row array.
        QFETCH(int, population);
        CountingResource memory;
        int instances = 0;
        {
            Table table(&memory);
            std::map<IdHash, int, Less> expected;
            std::vector<IdHash> present;
            std::mt19937_64 random(population);
            const int steps = population * 20;
            for (int step = 0; step < steps; ++step) {
                const bool insert = present.empty() || (random() % (2 * population)) >= present.size();
                if (insert) {
                    const IdHash hash = randomHash(random);
                    auto [entry, inserted] = table.emplace(hash, Value(step, &instances));
                    QVERIFY(inserted);
                    QVERIFY(entry->first == hash);
                    QCOMPARE(entry->second.number, step);
                    expected.emplace(hash, step);
                    present.push_back(hash);
                } else {
                    const std::size_t i = random() % present.size();
                    Table::iterator entry = table.find(present[i]);
                    QVERIFY(entry != table.end());
                    QCOMPARE(entry->second.number, expected.at(present[i]));
                    table.erase(entry);
                    expected.erase(present[i]);
                    present[i] = present.back();
                    present.pop_back();
                }
                QCOMPARE(table.size(), expected.size());
                if (step % (steps / 8) == 0 || step == steps - 1) {
                    for (const auto &[hash, number] : expected) {
                        Table::iterator entry = table.find(hash);
                        QVERIFY(entry != table.end());
                        QCOMPARE(entry->second.number, number);
                    }
                    for (int miss = 0; miss < 100; ++miss)
                        QVERIFY(table.find(randomHash(random)) == table.end());
                    std::size_t walked = 0;
                    for (const auto &[hash, value] : table.entries()) {
                        QCOMPARE(value.number, expected.at(hash));
                        ++walked;
                    }
                    QCOMPARE(walked, expected.size());
                    QVERIFY(table.size() * 8 <= table.rows() * 7);
                }
            }
            QCOMPARE(instances, int(expected.size()));
            // An existing hash is not inserted twice, and its value stays.
            if (!present.empty()) {
                auto [entry, inserted] = table.emplace(present.front(), Value(-1, &instances));
                QVERIFY(!inserted);
                QCOMPARE(entry->second.number, expected.at(present.front()));
            }
        }
        QCOMPARE(instances, 0);
        QCOMPARE(memory.bytes, std::size_t(0));
        QCOMPARE(memory.blocks, std::size_t(0));
    }

    void hashesSharingTheirKeyAreToldApart()
    {
        // Two sessions whose ID hashes share their first 8 bytes (a 2^-64 chance for real ones):
        // the rows match, the entries are compared in full.
        CountingResource memory;
        int instances = 0;
        Table table(&memory);
        const std::uint64_t key = 0x0123456789abcdefULL;
        for (std::uint8_t tail = 0; tail < 3; ++tail)
            QVERIFY(table.emplace(hashWithKey(key, tail), Value(tail, &instances)).second);
        QVERIFY(table.emplace(hashWithKey(key + 1, 0), Value(10, &instances)).second);
        for (std::uint8_t tail = 0; tail < 3; ++tail)
            QCOMPARE(numberOf(table, hashWithKey(key, tail)), int(tail));
        QVERIFY(table.find(hashWithKey(key, 3)) == table.end());

        std::set<int> withKey;
        table.forEachWithKey(key, [&](Table::iterator entry) { withKey.insert(entry->second.number); });
        QCOMPARE(withKey, (std::set<int>{0, 1, 2}));

        QVERIFY(eraseExisting(table, hashWithKey(key, 1)));
        withKey.clear();
        table.forEachWithKey(key, [&](Table::iterator entry) { withKey.insert(entry->second.number); });
        QCOMPARE(withKey, (std::set<int>{0, 2}));
        QCOMPARE(numberOf(table, hashWithKey(key + 1, 0)), 10);
        table.forEachWithKey(key + 2, [&](Table::iterator) { QFAIL("no entry has this key"); });
    }

    void hintsFollowTheirEntries()
    {
        // A row keeps its entry's hint through growth, shifts after an erase and a shrink; one
        // that went stale (the value changed after the insert) is put right by the next find(),
        // and a stale hint never changes what find() answers.
        CountingResource memory;
        int instances = 0;
        Table table(&memory);
        std::mt19937_64 random(13);
        static const std::array<char, 2> marks{};
        std::vector<IdHash> hashes;
        for (int i = 0; i < 3000; ++i) {
            hashes.push_back(randomHash(random));
            Value value(i, &instances);
            value.hint = &marks[0];
            table.emplace(hashes.back(), std::move(value));
        }
        for (const IdHash &hash : hashes)
            QCOMPARE(table.hintFor(hash), static_cast<const void *>(&marks[0]));
        // Stale: the values point elsewhere now; the rows still say the old address.
        for (const IdHash &hash : hashes) {
            const Table::iterator entry = table.find(hash);
            QVERIFY(entry);
            entry->second.hint = &marks[1];
        }
        for (int i = 0; i < 3000; i += 2)
            QCOMPARE(table.hintFor(hashes[i]), static_cast<const void *>(&marks[0]));
        // Half of them found again: renewed; the others stay stale and are still found right.
        for (int i = 0; i < 3000; i += 2)
            QCOMPARE(numberOf(table, hashes[i]), i);
        for (int i = 0; i < 3000; ++i)
            QCOMPARE(table.hintFor(hashes[i]), static_cast<const void *>(&marks[i % 2 == 0 ? 1 : 0]));
        // Erases shift rows back, a shrink rebuilds them: the hints move with their rows.
        for (int i = 0; i < 2600; ++i)
            QVERIFY(eraseExisting(table, hashes[i]));
        table.shrinkIfSparse();
        QVERIFY(table.rows() < 3000);
        for (int i = 2600; i < 3000; ++i) {
            QCOMPARE(table.hintFor(hashes[i]), static_cast<const void *>(&marks[i % 2 == 0 ? 1 : 0]));
            QCOMPARE(numberOf(table, hashes[i]), i);
            QCOMPARE(table.hintFor(hashes[i]), static_cast<const void *>(&marks[1]));
        }
        QCOMPARE(table.hintFor(hashes[0]), nullptr);
        // A hint into freed memory (a session's user gone) is only ever prefetched, never read.
        auto *freed = new char[64];
        const Table::iterator last = table.find(hashes[2999]);
        QVERIFY(last);
        last->second.hint = freed;
        QVERIFY(table.find(hashes[2999]) == last);
        delete[] freed;
        QCOMPARE(numberOf(table, hashes[2999]), 2999);
    }

    void entriesStayInPlaceWhileTheTableChanges()
    {
        // The engine keeps an entry's address across other sessions' inserts and erases (the
        // start-up's directory filler does): only rows move when the table grows or shrinks.
        CountingResource memory;
        int instances = 0;
        Table table(&memory);
        std::mt19937_64 random(7);
        const IdHash kept = randomHash(random);
        Table::iterator entry = table.emplace(kept, Value(42, &instances)).first;
        std::vector<IdHash> others;
        for (int i = 0; i < 5000; ++i) {
            others.push_back(randomHash(random));
            table.emplace(others.back(), Value(i, &instances));
        }
        QVERIFY(table.rows() > 5000);
        for (const IdHash &hash : others)
            QVERIFY(eraseExisting(table, hash));
        table.shrinkIfSparse();
        QCOMPARE(table.rows(), probing::kMinRows);
        QVERIFY(table.find(kept) == entry);
        QCOMPARE(entry->second.number, 42);
    }

    void shrinkGivesRowsBack()
    {
        CountingResource memory;
        int instances = 0;
        Table table(&memory);
        std::mt19937_64 random(11);
        const std::vector<IdHash> hashes = fill(table, 10000, random, &instances);
        const std::size_t fullRows = table.rows();
        // Erasing never rehashes: the rows stay until shrinkIfSparse().
        for (int i = 0; i < 9000; ++i)
            QVERIFY(eraseExisting(table, hashes[i]));
        QCOMPARE(table.rows(), fullRows);
        table.shrinkIfSparse();
        QCOMPARE(table.rows(), std::size_t(2000));
        for (int i = 9000; i < 10000; ++i)
            QCOMPARE(numberOf(table, hashes[i]), i);
        QCOMPARE(table.bytes(), 2000 * std::size_t(24) + 1000 * sizeof(Table::value_type));
        // Half full now: nothing more to give back.
        table.shrinkIfSparse();
        QCOMPARE(table.rows(), std::size_t(2000));
        for (int i = 9000; i < 10000; ++i)
            QVERIFY(eraseExisting(table, hashes[i]));
        table.shrinkIfSparse();
        QCOMPARE(table.rows(), std::size_t(0));
        QCOMPARE(table.bytes(), std::size_t(0));
        QCOMPARE(memory.bytes, std::size_t(0));
        // And it is usable again.
        QVERIFY(table.emplace(hashes[0], Value(0, &instances)).second);
        QCOMPARE(numberOf(table, hashes[0]), 0);
    }

    void reserveSizesTheRowsOnce()
    {
        CountingResource memory;
        int instances = 0;
        Table table(&memory);
        table.reserve(7000);
        const std::size_t rows = table.rows();
        QVERIFY(rows * 7 >= 7000 * 8);
        std::mt19937_64 random(3);
        fill(table, 7000, random, &instances);
        QCOMPARE(table.rows(), rows);
        QCOMPARE(table.size(), std::size_t(7000));
    }

    void failedAllocationChangesNothing()
    {
        CountingResource memory;
        int instances = 0;
        Table table(&memory);
        std::mt19937_64 random(5);
        const std::vector<IdHash> hashes = fill(table, 14, random, &instances); // the 15th of 16 rows grows
        const std::size_t rows = table.rows();
        const std::size_t bytes = memory.bytes;
        for (std::ptrdiff_t failAt : {0, 1}) { // the new rows, then the entry
            memory.failAfter = failAt;
            QVERIFY_THROWS_EXCEPTION(std::bad_alloc,
                                     table.emplace(randomHash(random), Value(99, &instances)));
            QCOMPARE(table.size(), std::size_t(14));
            QCOMPARE(instances, 14);
            for (int i = 0; i < 14; ++i)
                QCOMPARE(numberOf(table, hashes[std::size_t(i)]), i);
        }
        // The grown rows may stay (the table is still consistent); no entry leaked.
        QVERIFY(table.rows() >= rows);
        QVERIFY(memory.bytes >= bytes);
        QCOMPARE(memory.blocks, std::size_t(1 + 14));
    }
};

QTEST_APPLESS_MAIN(TestSessionTable)
#include "tst_sessiontable.moc"
