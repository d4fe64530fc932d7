// UserDirectory: the engine's per-user index, against a reference map under random churn.

#include "CountingResource.h"
#include "TableMemory.h"
#include "UserDirectory.h"

#include <QtTest>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory_resource>
#include <random>
#include <string>
#include <vector>

using namespace hourglass;

namespace {

IdHash hashOf(std::uint64_t n)
{
    std::array<std::uint8_t, IdHash::kSize> bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = std::uint8_t(n >> (8 * (i % 8))) ^ std::uint8_t(i * 31);
    return IdHash(bytes);
}

using test::CountingResource;

struct Expected
{
    std::uint64_t key;
    TimeMs createdMs;
    Area area;
    bool operator==(const Expected &) const = default;
};

std::vector<Expected> entriesOf(const UserDirectory &users, UserDirectory::Ref ref)
{
    std::vector<Expected> out;
    for (const UserEntry &e : users.entries(ref))
        out.push_back({e.key, e.createdMs, e.area()});
    return out;
}

} // namespace

class TestUserDirectory : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void agreesWithAReferenceMapUnderRandomChurn_data()
    {
        QTest::addColumn<int>("pool");
        QTest::newRow("few users, long probe runs near the growth threshold") << 12;
        QTest::newRow("many users") << 5000;
    }

    void agreesWithAReferenceMapUnderRandomChurn()
    {
        QFETCH(int, pool);
        std::mt19937_64 random(pool);
        std::vector<std::string> names;
        for (int i = 0; i < pool; ++i) {
            // Lengths around the hash's 8-byte words, shared prefixes, one empty name.
            switch (i % 4) {
            case 0:
                names.push_back("customer" + std::to_string(i) + "@example.com");
                break;
            case 1:
                names.push_back(std::string(std::size_t(i % 17), 'a') + std::to_string(i));
                break;
            case 2:
                names.push_back(std::to_string(i));
                break;
            default:
                names.push_back(i == 3 ? std::string()
                                       : "user:" + std::string(std::size_t(i % 40), 'x') + "#" +
                                             std::to_string(i));
            }
        }
        CountingResource memory;
        {
            UserDirectory users(&memory);
            std::map<std::string, std::vector<Expected>> reference;
            std::uint64_t serial = 0;
            for (int step = 0; step < 100000; ++step) {
                const std::string &name = names[random() % names.size()];
                const bool remove = random() % 100 < (reference.size() * 2 > std::size_t(pool) ? 55u : 35u);
                if (remove) {
                    const UserDirectory::Ref ref = users.find(name);
                    const auto it = reference.find(name);
                    QCOMPARE(ref == UserDirectory::npos, it == reference.end());
                    if (it == reference.end())
                        continue;
                    const std::size_t index = random() % it->second.size();
                    users.removeEntry(ref, index);
                    it->second.erase(it->second.begin() + std::ptrdiff_t(index));
                    if (it->second.empty())
                        reference.erase(it);
                    else if (random() % 2 == 0)
                        users.shrinkRecord(ref); // as the engine does after a sweep
                } else {
                    const UserDirectory::Ref ref = users.ensure(name);
                    const void *identity = users.name(ref).get();
                    const Expected e{random(), TimeMs(serial++),
                                     serial % 3 == 0 ? Area::Admin : Area::Storefront};
                    users.add(ref, UserEntry(hashOf(e.key), e.createdMs, e.area));
                    // The entry's key is the hash's bucket hash.
                    reference[name].push_back({hashOf(e.key).bucketHash(), e.createdMs, e.area});
                    QCOMPARE(users.name(ref).get(), identity); // the name stays one text as the record grows
                }
                if (step % 499 == 0 || step == 99999) {
                    QCOMPARE(users.size(), reference.size());
                    for (const std::string &n : names) {
                        const UserDirectory::Ref ref = users.find(n);
                        const auto it = reference.find(n);
                        if ((ref == UserDirectory::npos) != (it == reference.end()))
                            QFAIL(qPrintable(QStringLiteral("%1: found %2 at step %3")
                                                 .arg(QString::fromStdString(n))
                                                 .arg(ref != UserDirectory::npos)
                                                 .arg(step)));
                        if (ref == UserDirectory::npos)
                            continue;
                        QCOMPARE(users.name(ref).view(), std::string_view(n));
                        QVERIFY(entriesOf(users, ref) == it->second);
                    }
                }
            }
            QVERIFY(!reference.empty());
            QVERIFY(memory.bytes > 0);
        }
        QCOMPARE(memory.bytes, std::size_t(0)); // every record given back
        QCOMPARE(memory.blocks, std::size_t(0));
    }

    void aUserAddedButNotUsedIsErased()
    {
        CountingResource memory;
        UserDirectory users(&memory);
        const UserDirectory::Ref ref = users.ensure("alice");
        QCOMPARE(users.size(), std::size_t(1));
        QCOMPARE(users.ensure("alice"), ref); // one record per user
        users.eraseIfEmpty(ref);
        QCOMPARE(users.size(), std::size_t(0));
        QCOMPARE(users.find("alice"), UserDirectory::npos);
        QCOMPARE(memory.bytes, std::size_t(0));
        // With an entry, it stays.
        const UserDirectory::Ref bob = users.ensure("bob");
        users.add(bob, UserEntry(hashOf(1), 5, Area::Storefront));
        users.eraseIfEmpty(bob);
        QCOMPARE(users.find("bob"), bob);
    }

    void aUserGivesBackRoomWhenMostSessionsEnd()
    {
        CountingResource memory;
        UserDirectory users(&memory);
        UserDirectory::Ref ref = users.ensure("busy");
        for (int i = 0; i < 1000; ++i)
            users.add(ref, UserEntry(hashOf(std::uint64_t(i)), i, Area::Storefront));
        QVERIFY(memory.bytes >= 1000 * sizeof(UserEntry));
        for (int i = 0; i < 997; ++i)
            users.removeEntry(ref, 0);
        QCOMPARE(users.entries(ref).size(), std::size_t(3));
        QCOMPARE(users.entries(ref)[0].createdMs, TimeMs(997)); // in order, the oldest removed first
        // A removal never moves the record (it allocates): the room stays until asked for.
        QVERIFY(memory.bytes >= 1000 * sizeof(UserEntry));
        const SharedText name = users.name(ref);
        users.shrinkRecord(ref);
        QCOMPARE(users.name(ref).get(), name.get()); // the name moves with the record
        QCOMPARE(users.entries(ref)[2].createdMs, TimeMs(999));
        QVERIFY2(users.bytes() - users.rows() * 9 <= 16 + 8 * sizeof(UserEntry),
                 qPrintable(QString::number(users.bytes())));
    }

    void usersTakeAtMostFiftyBytesEachBesidesTheirNamesAndTheTableShrinks()
    {
        TableMemory memory;
        UserDirectory users(&memory);
        constexpr std::size_t kUsers = 200'000;
        const auto nameOf = [](std::size_t i) {
            return "customer" + std::to_string(i) + "@example.com";
        };
        // Past kUsers until the table has finished growing: 200,000 is just past a growth point.
        std::size_t added = 0;
        double worstGrown = 0;
        double worstGrowing = 0;
        for (; added < kUsers || users.draining() > 0; ++added) {
            users.add(users.ensure(nameOf(added)), UserEntry(hashOf(added), TimeMs(added), Area::Storefront));
            if (added < 1000)
                continue; // a table of a few rows costs more per user
            const double bytesPerUser = double(users.bytes()) / users.size();
            double &worst = users.draining() > 0 ? worstGrowing : worstGrown;
            worst = std::max(worst, bytesPerUser);
        }
        QCOMPARE(users.size(), added);
        // A record of one session is 32 bytes; rows of 9 bytes at least half full: 18.
        QVERIFY2(worstGrown <= 50.0, qPrintable(QString::number(worstGrown)));
        // While it grows the old table is kept too, until the additions have moved its records:
        // 2.5 times its rows, of which at least 3/4 hold a user: 30 bytes of rows per user.
        QVERIFY2(worstGrowing > 50.0 && worstGrowing <= 62.0, qPrintable(QString::number(worstGrowing)));
        const std::size_t fullRows = users.rows();
        for (std::size_t i = 1000; i < added; ++i) {
            const UserDirectory::Ref ref = users.find(nameOf(i));
            QVERIFY(ref != UserDirectory::npos);
            users.removeEntry(ref, 0);
        }
        QCOMPARE(users.size(), std::size_t(1000));
        QCOMPARE(users.rows(), fullRows); // a removal never rehashes: the rows stay until asked
        users.shrinkIfSparse();
        QVERIFY2(users.rows() <= 4 * 1000,
                 qPrintable(QStringLiteral("%1 of %2").arg(users.rows()).arg(fullRows)));
        for (std::size_t i = 0; i < added; ++i) {
            const UserDirectory::Ref ref = users.find(nameOf(i));
            QCOMPARE(ref != UserDirectory::npos, i < 1000);
        }
    }

    void growingMovesAFewRowsPerAdditionAndNoUserIsLost()
    {
        // The table used to be rehashed whole when full, holding every creation up (23 ms at
        // ~200,000 users). Now each addition moves at most kDrainStep rows of the old table, the
        // old table is empty before the next growth, and every user stays found meanwhile, also
        // those erased or given entries while their record waits in the old table.
        UserDirectory users;
        std::size_t growths = 0;
        std::size_t rows = users.rows();
        const auto nameOf = [](std::size_t i) {
            return "u" + std::to_string(i);
        };
        constexpr std::size_t kUsers = 60'000;
        for (std::size_t i = 0; i < kUsers; ++i) {
            const std::size_t before = users.draining();
            const UserDirectory::Ref ref = users.ensure(nameOf(i));
            users.add(ref, UserEntry(hashOf(i), TimeMs(i), Area::Storefront));
            if (users.rows() != rows) {
                QCOMPARE(before, std::size_t(0)); // one old table at most
                QVERIFY(users.rows() >= rows + rows / 2);
                ++growths;
                if (rows >= 1000)
                    QCOMPARE(users.draining(), rows - UserDirectory::kDrainStep); // not moved at once
                rows = users.rows();
            } else {
                QVERIFY(before - users.draining() <= UserDirectory::kDrainStep);
            }
            if (users.draining() > 0 && i % 7 == 0) {
                // An earlier user, whose record may still be in the old table: a second entry,
                // and every third such user erased.
                const std::size_t j = i / 2;
                const UserDirectory::Ref earlier = users.find(nameOf(j));
                QVERIFY(earlier != UserDirectory::npos);
                QCOMPARE(users.name(earlier).view(), std::string_view(nameOf(j)));
                if (j % 3 == 0) {
                    for (std::size_t n = users.entries(earlier).size(); n > 0; --n)
                        users.removeEntry(earlier, 0); // the last one erases the user
                } else if (users.entries(earlier).size() == 1) {
                    users.add(earlier, UserEntry(hashOf(j + kUsers), TimeMs(j + kUsers), Area::Admin));
                }
            }
        }
        QVERIFY(growths >= 10);
        for (std::size_t i = 0; i < kUsers; ++i) {
            const UserDirectory::Ref ref = users.find(nameOf(i));
            if (ref == UserDirectory::npos) {
                // Only users erased above are gone.
                QVERIFY2(i % 3 == 0 && i < kUsers / 2, nameOf(i).c_str());
                continue;
            }
            QCOMPARE(users.entries(ref)[0].createdMs, TimeMs(i));
            if (users.entries(ref).size() == 2)
                QCOMPARE(users.entries(ref)[1].createdMs, TimeMs(i + kUsers));
        }
    }

    void reserveSizesTheTableOnce()
    {
        UserDirectory users;
        users.reserve(10000);
        const std::size_t rows = users.rows();
        QVERIFY(rows * 3 >= 10000 * 4);
        for (int i = 0; i < 10000; ++i)
            users.add(users.ensure("u" + std::to_string(i)),
                      UserEntry(hashOf(std::uint64_t(i)), i, Area::Admin));
        QCOMPARE(users.rows(), rows);
        QCOMPARE(users.entries(users.find("u9999"))[0].area(), Area::Admin);
    }
};

QTEST_APPLESS_MAIN(TestUserDirectory)
#include "tst_userdirectory.moc"
