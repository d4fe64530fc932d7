#include "FileSizeLimit.h"
#include "ManualClock.h"
#include "SessionEngine.h"
#include "SqliteStore.h"

#include <QCryptographicHash>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

using namespace hourglass;
using namespace std::chrono_literals;
using test::ManualClock;

namespace {

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

CreateParams params(const std::string &user, Area area = Area::Storefront, bool rememberMe = false)
{
    return {user, area, rememberMe, "192.0.2.44", "Mozilla/5.0 (store test)"};
}

// Runs SQL on a store file the way an older Hourglass or a test fixture would; empty on success.
std::string execSql(const QString &path, const std::string &sql)
{
    sqlite3 *db = nullptr;
    std::string error;
    if (sqlite3_open(path.toStdString().c_str(), &db) != SQLITE_OK) {
        error = sqlite3_errmsg(db);
    } else {
        char *message = nullptr;
        if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK)
            error = message ? message : "error";
        sqlite3_free(message);
    }
    sqlite3_close(db);
    return error;
}

std::string sqlValue(const QString &path, const std::string &query)
{
    sqlite3 *db = nullptr;
    std::string value;
    sqlite3_open_v2(path.toStdString().c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt *stmt = nullptr;
    if (sqlite3_prepare_v2(db, query.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        value = reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

} // namespace

class TestSqliteStore final : public QObject
{
    Q_OBJECT

    ManualClock m_clock;

    struct Instance
    {
        std::unique_ptr<SqliteStore> store;
        std::unique_ptr<SessionEngine> engine;
    };

    // Every test session comes from one address: lift the per-IP cap (tested in the engine suite).
    static Policy uncapped()
    {
        Policy p;
        p.maxSessionsPerIp = 0;
        return p;
    }

    Instance open(const QString &path, const Policy &policy = uncapped())
    {
        std::string error;
        SqliteStore::Options o;
        o.path = path.toStdString();
        Instance i;
        i.store = SqliteStore::open(o, &error);
        if (!i.store)
            qFatal("open failed: %s", error.c_str());
        SessionEngine::Options eo;
        eo.clock = &m_clock;
        eo.store = i.store.get();
        i.engine = std::make_unique<SessionEngine>(eo, policy);
        const SessionStore::LoadResult loaded = i.engine->restoreFromStore();
        if (!loaded.ok)
            qFatal("load failed: %s", loaded.error.c_str());
        return i;
    }

    static void close(Instance &i)
    {
        i.engine->flushTouches(SessionEngine::FlushTouches::All);
        QVERIFY(i.store->sync());
        i.engine.reset();
        i.store.reset();
    }

    // A hash whose first 31 bytes are `fill` and whose last is `last`: hashes made with one fill
    // share their bucket hash, shard and heap key (a 2^-64 chance for real IDs).
    static IdHash hashEndingIn(std::uint8_t fill, std::uint8_t last)
    {
        std::array<std::uint8_t, IdHash::kSize> bytes{};
        bytes.fill(fill);
        bytes[IdHash::kSize - 1] = last;
        return IdHash(bytes);
    }

    // Writes storefront sessions straight into a store file, as an earlier run would have left
    // them, each due `idle` after its last activity; false if the store would not take them.
    static bool writeSessions(const QString &path, const std::vector<SessionRecord> &records, TimeMs idle)
    {
        std::string error;
        SqliteStore::Options o;
        o.path = path.toStdString();
        auto store = SqliteStore::open(o, &error);
        if (!store)
            return false;
        std::vector<StoreMutation> puts;
        for (const SessionRecord &r : records)
            puts.push_back({StoreMutation::PutSession{r, r.lastActivityMs + idle, {}}});
        store->submit(std::move(puts));
        return store->sync();
    }

    static SessionRecord storefrontRecord(const IdHash &hash, const std::string &user, TimeMs created,
                                          TimeMs lastActivity)
    {
        SessionRecord r;
        r.hash = hash;
        r.user = user;
        r.area = Area::Storefront;
        r.clientIp = "192.0.2.1";
        r.userAgent = "test";
        r.createdMs = r.authTimeMs = created;
        r.lastActivityMs = lastActivity;
        return r;
    }

    static std::string openError(const QString &path)
    {
        std::string error;
        SqliteStore::Options o;
        o.path = path.toStdString();
        auto store = SqliteStore::open(o, &error);
        if (store) {
            SessionEngine::Options eo;
            eo.store = store.get();
            SessionEngine engine(eo);
            const auto loaded = engine.restoreFromStore();
            return loaded.ok ? std::string() : loaded.error;
        }
        return error;
    }

private Q_SLOTS:
    // The expiry heap keeps 8 bytes of each ID hash (its bucket hash). Two sessions of one shard
    // whose hashes share those bytes (a 2^-64 chance, made here through the store) are still told
    // apart: each expires at its own time, the other stays.
    // The per-user index keeps 8 bytes of each ID hash too: two sessions of one user whose hashes
    // share them (and so their shard and bucket) are found, listed, evicted and logged out apart.
    void userIndexTellsApartHashesThatShareTheirFirstBytes()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        Policy policy = uncapped();
        policy.area(Area::Storefront).maxSessionsPerUser = 3;
        policy.area(Area::Storefront).perUserLimitAction = UserLimitAction::TerminateOldest;
        const TimeMs t0 = m_clock.nowMs();
        const std::array<IdHash, 2> hashes{hashEndingIn(0xa5, 0), hashEndingIn(0xa5, 1)}; // older, newer
        QVERIFY(writeSessions(path,
                              {storefrontRecord(hashes[0], "alice", t0, t0),
                               storefrontRecord(hashes[1], "alice", t0 + 1000, t0 + 1000)},
                              60 * kMsPerMinute));
        m_clock.set(t0 + 2000);
        Instance i = open(path, policy);
        SessionQuery byUser;
        byUser.user = "alice";
        SessionPage page = i.engine->list(byUser);
        QCOMPARE(page.total, std::size_t(2));
        QCOMPARE(page.rows.size(), std::size_t(2));
        QVERIFY(page.rows[0].hash == hashes[1]); // newest first
        QVERIFY(page.rows[1].hash == hashes[0]);

        // A third session fills the limit; a fourth ends the oldest, which is [0], not [1].
        QCOMPARE(i.engine->create(params("alice")).error, SessionError::None);
        const CreateResult fourth = i.engine->create(params("alice"));
        QCOMPARE(fourth.error, SessionError::None);
        QCOMPARE(fourth.displaced.size(), std::size_t(1));
        QVERIFY(fourth.displaced.front() == hashes[0]);
        QVERIFY(!i.engine->find(hashes[0]));
        QVERIFY(i.engine->find(hashes[1]));
        QCOMPARE(i.engine->list(byUser).total, std::size_t(3));

        // Everything but [1], then [1] too.
        QCOMPARE(i.engine->forceLogout("alice", hashes[1]), std::size_t(2));
        QVERIFY(i.engine->find(hashes[1]));
        QCOMPARE(i.engine->list(byUser).total, std::size_t(1));
        QCOMPARE(i.engine->forceLogout("alice"), std::size_t(1));
        QVERIFY(!i.engine->find(hashes[1]));
        QCOMPARE(i.engine->list(byUser).total, std::size_t(0));
        QCOMPARE(i.engine->sessionCount(), std::size_t(0));
        close(i);
    }

    void expiryTellsApartHashesThatShareTheirFirstBytes()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        Policy policy = uncapped();
        policy.area(Area::Storefront).idleTimeoutMinutes = 30;
        policy.area(Area::Storefront).maxTimeoutEnabled = false;
        const TimeMs t0 = m_clock.nowMs();
        const std::array<IdHash, 3> hashes{hashEndingIn(0x5a, 0), hashEndingIn(0x5a, 1),
                                           hashEndingIn(0x5a, 2)};
        // Idle for 30 minutes from: t0 + 20 min (0), t0 (1), t0 + 10 min (2).
        QVERIFY(writeSessions(path,
                              {storefrontRecord(hashes[0], "user0", t0, t0 + 20 * kMsPerMinute),
                               storefrontRecord(hashes[1], "user1", t0, t0),
                               storefrontRecord(hashes[2], "user2", t0, t0 + 10 * kMsPerMinute)},
                              30 * kMsPerMinute));
        Instance i = open(path, policy);
        for (const IdHash &hash : hashes)
            QVERIFY(i.engine->find(hash));
        QCOMPARE(i.engine->sweepExpired(), std::size_t(0));
        m_clock.set(t0 + 31 * kMsPerMinute); // 1 is over
        QCOMPARE(i.engine->sweepExpired(), std::size_t(1));
        QVERIFY(!i.engine->find(hashes[1]));
        QVERIFY(i.engine->find(hashes[0]));
        QVERIFY(i.engine->find(hashes[2]));
        m_clock.set(t0 + 41 * kMsPerMinute); // 2 is over
        QCOMPARE(i.engine->sweepExpired(), std::size_t(1));
        QVERIFY(!i.engine->find(hashes[2]));
        QVERIFY(i.engine->find(hashes[0]));
        m_clock.set(t0 + 51 * kMsPerMinute); // and 0
        QCOMPARE(i.engine->sweepExpired(), std::size_t(1));
        QVERIFY(!i.engine->find(hashes[0]));
        QCOMPARE(i.engine->sessionCount(), std::size_t(0));
        close(i);
    }

    void everythingAcknowledgedSurvivesARestart()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        std::string kept, rotatedFrom, rotatedTo, destroyed, withData, remember;
        AuthStartResult flow;
        {
            Instance i = open(path);
            kept = i.engine->create(params("alice")).token;
            rotatedFrom = i.engine->create(params("bob", Area::Admin)).token;
            rotatedTo = i.engine->rotate(rotatedFrom).token;
            destroyed = i.engine->create(params("carol")).token;
            QCOMPARE(i.engine->destroy(destroyed), SessionError::None);
            withData = i.engine->create(params("dave")).token;
            QCOMPARE(i.engine->setData(withData, "cart=3 items").error, SessionError::None);
            remember = i.engine->create(params("erin", Area::Storefront, true)).token;
            flow = i.engine->startAuthentication("", "192.0.2.9");
            i.engine->startAuthentication(flow.rootToken, "192.0.2.9");
            // No clean close: the store is dropped as it is (every acknowledged write is durable).
            i.engine.reset();
            i.store.reset();
        }
        Instance i = open(path);
        QCOMPARE(i.engine->sessionCount(), std::size_t(4));
        QCOMPARE(i.store->sessionCountHint(), std::size_t(4)); // what the engine sized its maps by
        QCOMPARE(textOf(i.engine->validate(kept).info.user), std::string_view("alice"));
        QCOMPARE(i.engine->validate(rotatedFrom).error, SessionError::Unknown);
        QCOMPARE(i.engine->validate(rotatedTo).info.area, Area::Admin);
        QCOMPARE(i.engine->validate(destroyed).error, SessionError::Unknown);
        QCOMPARE(i.engine->getData(withData).data, std::string("cart=3 items"));
        QVERIFY(i.engine->validate(remember).info.rememberMe);
        const auto root = i.engine->findAuthRoot(flow.rootHash);
        QVERIFY(root.has_value());
        QCOMPARE(root->tabs.size(), std::size_t(2));
        QCOMPARE(root->tabs.front().tabId, flow.tabId);
        QCOMPARE(i.engine->completeAuthentication(flow.rootToken, flow.tabId, params("frank")).error,
                 SessionError::None);
        SessionQuery q;
        q.user = "alice";
        QCOMPARE(i.engine->list(q).total, std::size_t(1)); // indexes rebuilt
    }

    void indexesAreRebuiltFromManyRows()
    {
        // More rows than the start-up's index filler takes in its hand-over queue (8 batches of
        // 4,096), written in one transaction: 50 users × 1,000 sessions, from 20 addresses × 2,500.
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        constexpr int kSessions = 50'000;
        {
            std::string error;
            SqliteStore::Options o;
            o.path = path.toStdString();
            auto store = SqliteStore::open(o, &error);
            QVERIFY2(store, error.c_str());
            std::vector<StoreMutation> rows;
            for (int i = 0; i < kSessions; ++i) {
                StoreMutation::PutSession put;
                put.record.hash = sha256("session " + std::to_string(i));
                put.record.user = "user" + std::to_string(i % 50);
                put.record.area = Area::Storefront;
                put.record.clientIp = "198.51.100." + std::to_string(i % 20);
                put.record.createdMs = put.record.authTimeMs = put.record.lastActivityMs =
                    m_clock.nowMs() + i;
                rows.push_back(StoreMutation{std::move(put)});
            }
            QVERIFY(store->waitDurable(store->submit(std::move(rows))));
        }
        Policy capped = uncapped();
        capped.maxSessionsPerIp = 2'500;
        Instance i = open(path, capped);
        QCOMPARE(i.engine->sessionCount(), std::size_t(kSessions));
        for (const char *user : {"user0", "user7", "user49"}) {
            SessionQuery q;
            q.user = user;
            QCOMPARE(i.engine->list(q).total, std::size_t(1'000));
        }
        // The newest sessions are known again: the Sessions page's first page comes without
        // visiting every row, in exact order (the store returns rows by hash, not by age).
        SessionQuery firstPage;
        firstPage.limit = 200;
        const std::uint64_t scans = i.engine->counters().listScans;
        const SessionPage page = i.engine->list(firstPage);
        QCOMPARE(i.engine->counters().listScans, scans);
        QCOMPARE(page.total, std::size_t(kSessions));
        QCOMPARE(page.rows.size(), std::size_t(200));
        for (int k = 0; k < 200; ++k)
            QCOMPARE(page.rows[k].hash, sha256("session " + std::to_string(kSessions - 1 - k)));
        // Every address is at the cap again after the restart; a new one is not.
        CreateParams full = params("newcomer");
        full.clientIp = "198.51.100.13";
        QCOMPARE(i.engine->create(full).error, SessionError::IpLimitReached);
        full.clientIp = "198.51.100.77";
        QCOMPARE(i.engine->create(full).error, SessionError::None);
        // Each user's name is stored once again: shared by the restored sessions and new ones.
        SessionQuery of7;
        of7.user = "user7";
        of7.limit = 1'000;
        const SessionPage page7 = i.engine->list(of7);
        QCOMPARE(page7.rows.size(), std::size_t(1'000));
        for (const SessionInfo &row : page7.rows)
            QCOMPARE(row.user.get(), page7.rows.front().user.get());
        QCOMPARE(i.engine->create(params("user7")).info.user.get(), page7.rows.front().user.get());
    }

    void sessionsExpiredWhileDownNeverComeBack()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        const TimeMs t0 = m_clock.nowMs();
        std::string shortLived, longLived;
        {
            Instance i = open(path);
            shortLived = i.engine->create(params("alice")).token;
            longLived = i.engine->create(params("bob", Area::Storefront, true)).token;
            i.engine->startAuthentication("", "192.0.2.9");
            close(i);
        }
        m_clock.set(t0 + 15 * kMsPerMinute); // exactly at the idle horizon, while "down"
        {
            Instance i = open(path);
            QCOMPARE(i.engine->validate(shortLived).error, SessionError::Unknown);
            QCOMPARE(i.engine->validate(longLived).error, SessionError::None);
            QCOMPARE(i.engine->authStats().roots, std::size_t(1)); // 30 min flow still open
            close(i);
        }
        m_clock.set(t0 + 31 * kMsPerMinute);
        {
            Instance i = open(path);
            QCOMPARE(i.engine->authStats().roots, std::size_t(0));
            close(i);
        }
        // The expired rows were deleted, not merely skipped.
        Instance i = open(path);
        QCOMPARE(i.engine->sessionCount(), std::size_t(1));
        m_clock.set(t0);
        QCOMPARE(i.engine->validate(shortLived).error, SessionError::Unknown);
    }

    void touchesAreCoalescedAndFlushed()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        const TimeMs t0 = m_clock.nowMs();
        m_clock.set(t0);
        std::string token;
        {
            Instance i = open(path);
            token = i.engine->create(params("alice")).token;
            for (int minute = 1; minute <= 10; ++minute) {
                m_clock.set(t0 + minute * kMsPerMinute);
                QCOMPARE(i.engine->validate(token).error, SessionError::None);
            }
            QCOMPARE(i.engine->flushTouches(), std::size_t(1)); // ten touches, one update
            QVERIFY(i.store->sync());
            i.engine.reset();
            i.store.reset();
        }
        m_clock.set(t0 + 24 * kMsPerMinute); // alive only because the last touch (t0+10) was kept
        Instance i = open(path);
        QCOMPARE(i.engine->validate(token, SessionEngine::Touch::No).info.lastActivityMs,
                 t0 + 10 * kMsPerMinute);
        m_clock.set(t0);
    }

    void touchStepIsATwentiethOfTheIdleHorizon()
    {
        QCOMPARE(SessionEngine::touchStep(15 * kMsPerMinute), 45 * kMsPerSecond);
        QCOMPARE(SessionEngine::touchStep(1 * kMsPerMinute), 3 * kMsPerSecond);
        QCOMPARE(SessionEngine::touchStep(5 * kMsPerSecond), kMsPerSecond);            // at least 1 s
        QCOMPARE(SessionEngine::touchStep(14 * 24 * 60 * kMsPerMinute), kMsPerMinute); // at most 1 min
    }

    void touchesReachTheStoreOncePerStep()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        const Policy policy = uncapped();
        const TimeMs step =
            SessionEngine::touchStep(policy.area(Area::Storefront).idleTimeoutMinutes * kMsPerMinute);
        const TimeMs before = m_clock.nowMs();
        const TimeMs t0 = (before / step + 1) * step; // the start of a step
        m_clock.set(t0);
        std::string token;
        {
            Instance i = open(path, policy);
            token = i.engine->create(params("alice")).token;
            // Activity within the step of what the store has is not queued.
            for (TimeMs t = t0 + kMsPerSecond; t < t0 + step; t += kMsPerSecond) {
                m_clock.set(t);
                QCOMPARE(i.engine->validate(token).error, SessionError::None);
                QCOMPARE(i.engine->flushTouches(), std::size_t(0));
            }
            m_clock.set(t0 + step); // the next step
            QCOMPARE(i.engine->validate(token).error, SessionError::None);
            QCOMPARE(i.engine->flushTouches(), std::size_t(1));
            m_clock.set(t0 + step + 5 * kMsPerSecond);
            QCOMPARE(i.engine->validate(token).error, SessionError::None);
            QCOMPARE(i.engine->flushTouches(), std::size_t(0));
            QVERIFY(i.store->sync());
            i.engine.reset(); // a crash: the last five seconds of activity are lost
            i.store.reset();
        }
        {
            Instance i = open(path, policy);
            QCOMPARE(i.engine->validate(token, SessionEngine::Touch::No).info.lastActivityMs, t0 + step);
            m_clock.set(t0 + step + 10 * kMsPerSecond);
            QCOMPARE(i.engine->validate(token).error, SessionError::None);
            // A clean stop saves every activity the store does not have, and only those.
            QCOMPARE(i.engine->flushTouches(SessionEngine::FlushTouches::All), std::size_t(1));
            QCOMPARE(i.engine->flushTouches(SessionEngine::FlushTouches::All), std::size_t(0));
            QVERIFY(i.store->sync());
            i.engine.reset();
            i.store.reset();
        }
        Instance i = open(path, policy);
        QCOMPARE(i.engine->validate(token, SessionEngine::Touch::No).info.lastActivityMs,
                 t0 + step + 10 * kMsPerSecond);
        m_clock.set(before);
    }

    void unflushedTouchesCanOnlyShortenALife()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        const TimeMs t0 = m_clock.nowMs();
        std::string token;
        {
            Instance i = open(path);
            token = i.engine->create(params("alice")).token;
            m_clock.set(t0 + 10 * kMsPerMinute);
            i.engine->validate(token); // touched in memory, never flushed: simulated crash
            i.engine.reset();
            i.store.reset();
        }
        Instance i = open(path);
        const auto info = i.engine->validate(token, SessionEngine::Touch::No).info;
        QCOMPARE(info.lastActivityMs, t0); // earlier, never later
        m_clock.set(t0);
    }

    void onlyHashesAreAtRest()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        std::vector<std::string> tokens;
        {
            Instance i = open(path);
            for (int n = 0; n < 10000; ++n) {
                tokens.push_back(i.engine->create(params("user" + std::to_string(n % 100))).token);
                QCOMPARE(tokens.back().size(), SessionToken::kEncodedLength);
            }
            for (int n = 0; n < 100; ++n) {
                tokens.push_back(i.engine->rotate(i.engine->create(params("rot")).token).token);
                QCOMPARE(tokens.back().size(), SessionToken::kEncodedLength);
            }
            auto flow = i.engine->startAuthentication("", "192.0.2.1");
            tokens.push_back(flow.rootToken);
            i.engine.reset();
            i.store.reset(); // leave the WAL in place: it is part of what is at rest
        }
        QByteArray haystack;
        for (const QString &suffix : {QString(), QStringLiteral("-wal"), QStringLiteral("-shm")})
            haystack += readAll(path + suffix);
        QVERIFY(haystack.size() > 100000);
        int hashesFound = 0;
        for (const std::string &token : tokens) {
            QVERIFY(!haystack.contains(QByteArray::fromStdString(token)));
            const auto raw = base64UrlDecode(token);
            QVERIFY(!haystack.contains(QByteArray::fromStdString(*raw)));
            const IdHash hash = sha256(token); // keep the hash alive: bytes() is a reference into it
            const auto &h = hash.bytes();
            hashesFound +=
                haystack.contains(QByteArray(reinterpret_cast<const char *>(h.data()), qsizetype(h.size())));
        }
        // The search itself works: the hashes are there.
        QCOMPARE(hashesFound, int(tokens.size()));
    }

    void groupCommitBatchesConcurrentWrites()
    {
        QTemporaryDir dir;
        Instance i = open(dir.filePath(QStringLiteral("sessions.db")));
        const std::uint64_t before = i.store->commits();
        constexpr int kThreads = 8, kEach = 100;
        std::vector<std::thread> threads;
        std::atomic<int> ok{0};
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([&, t] {
                for (int n = 0; n < kEach; ++n)
                    ok += i.engine->create(params("t" + std::to_string(t))).error == SessionError::None;
            });
        for (auto &t : threads)
            t.join();
        QCOMPARE(ok.load(), kThreads * kEach);
        const std::uint64_t commits = i.store->commits() - before;
        QVERIFY2(commits < std::uint64_t(kThreads * kEach), qPrintable(QString::number(commits)));
        qInfo("%d durable creates in %llu commits", kThreads * kEach,
              static_cast<unsigned long long>(commits));
    }

    void failedWritesAreNotAcknowledged()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        Instance i = open(path);
        const std::string good = i.engine->create(params("alice")).token;
        QVERIFY(i.store->sync());
        test::FileSizeLimit full(1); // the WAL cannot grow: like a full disk
        QVERIFY(full.active());
        const CreateResult refused = i.engine->create(params("bob"));
        const SessionError revokeResult = i.engine->destroy(good);
        full.restore();
        QCOMPARE(refused.error, SessionError::StoreUnavailable);
        QVERIFY(refused.token.empty());
        QCOMPARE(i.engine->list({}).total, std::size_t(0));     // bob rolled back, alice ended in memory
        QCOMPARE(revokeResult, SessionError::StoreUnavailable); // not acknowledged as durable
        QVERIFY(i.store->degraded());
        QVERIFY(!i.store->lastError().empty());
        // The store recovers once writes succeed again.
        QCOMPARE(i.engine->create(params("carol")).error, SessionError::None);
        QVERIFY(!i.store->degraded());
    }

    // What the HTTP service uses for creation: the answer comes from the store's writer once the
    // session is durable (or refused), with no thread of the caller waiting.
    void createAsyncAnswersOnceDurable()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        Instance i = open(path);
        QVERIFY(i.engine->createsAsynchronously());
        std::mutex mutex;
        std::condition_variable arrived;
        std::vector<CreateResult> results;
        const auto collect = [&](CreateResult r) {
            std::lock_guard lock(mutex);
            results.push_back(std::move(r));
            arrived.notify_all();
        };
        const auto waitFor = [&](std::size_t n) {
            std::unique_lock lock(mutex);
            return arrived.wait_for(lock, 30s, [&] { return results.size() >= n; });
        };
        const std::uint64_t before = i.store->commits();
        constexpr std::size_t kCreates = 50;
        for (std::size_t n = 0; n < kCreates; ++n)
            i.engine->createAsync(params("async" + std::to_string(n)), collect);
        QVERIFY(waitFor(kCreates));
        std::vector<std::string> tokens;
        for (const CreateResult &r : results) {
            QCOMPARE(r.error, SessionError::None);
            QCOMPARE(i.engine->validate(r.token).error, SessionError::None);
            tokens.push_back(r.token);
        }
        QVERIFY(i.store->commits() - before < kCreates); // submitted together, committed together

        // A ticket already answered is answered at once, in the caller's thread.
        const SessionStore::Ticket done = i.store->submit({});
        QVERIFY(i.store->waitDurable(done));
        bool answered = false;
        i.store->whenDurable(done, [&](bool durable) { answered = durable; });
        QVERIFY(answered);

        // A refused write answers "not durable" and the session is taken back.
        test::FileSizeLimit full(1);
        QVERIFY(full.active());
        i.engine->createAsync(params("refused"), collect);
        const bool refusedArrived = waitFor(kCreates + 1);
        full.restore();
        QVERIFY(refusedArrived);
        QCOMPARE(results.back().error, SessionError::StoreUnavailable);
        QVERIFY(results.back().token.empty());
        QCOMPARE(i.engine->sessionCount(), kCreates);

        close(i);
        Instance reopened = open(path);
        QCOMPARE(reopened.engine->sessionCount(), kCreates);
        for (const std::string &token : tokens)
            QCOMPARE(reopened.engine->validate(token).error, SessionError::None);
    }

    // Schema 1 (Hourglass before the store kept sessions in creation order) keyed sessions by the
    // ID hash alone. Opening such a file rewrites the table once, in one transaction, keeping
    // every row; a failure leaves the file as it was.
    void schemaOneStoresAreUpgradedInPlace()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        // Sessions made by this version, then the table rewritten in schema 1's layout: the IDs
        // stay valid, so the upgraded store can be checked through the engine.
        std::vector<std::string> tokens;
        {
            Instance i = open(path);
            for (int n = 0; n < 2000; ++n) {
                tokens.push_back(i.engine->create(params("user" + std::to_string(n))).token);
                m_clock.advance(1);
            }
            QCOMPARE(i.engine->setData(tokens[1], "cart=3").error, SessionError::None);
            close(i);
        }
        const std::string toSchemaOne = R"sql(
            BEGIN;
            CREATE TABLE old_sessions (
                id_hash BLOB PRIMARY KEY, user TEXT NOT NULL, area INTEGER NOT NULL,
                remember_me INTEGER NOT NULL, client_ip TEXT NOT NULL, user_agent TEXT NOT NULL,
                created_ms INTEGER NOT NULL, auth_time_ms INTEGER NOT NULL,
                last_activity_ms INTEGER NOT NULL, data BLOB NOT NULL) WITHOUT ROWID;
            INSERT INTO old_sessions SELECT id_hash, user, area, remember_me, client_ip, user_agent,
                created_ms, auth_time_ms, last_activity_ms, data FROM sessions;
            DROP TABLE sessions;
            ALTER TABLE old_sessions RENAME TO sessions;
            UPDATE meta SET value = '1' WHERE key = 'schema_version';
            COMMIT;)sql";
        QCOMPARE(execSql(path, toSchemaOne), std::string());
        const std::string keyOfCreated =
            "SELECT pk FROM pragma_table_info('sessions') WHERE name = 'created_ms'";
        QCOMPARE(sqlValue(path, keyOfCreated), std::string("0"));

        // An upgrade that cannot be written (no file may grow past 64 KiB: room for SQLite's
        // shared-memory index, not for the rewritten table — a full disk) is an error that says
        // so, and the file is left as it was.
        QVERIFY(!QFile::exists(path + QStringLiteral("-wal")) ||
                QFileInfo(path + QStringLiteral("-wal")).size() == 0);
        const QByteArray before = readAll(path);
        {
            test::FileSizeLimit full(64 * 1024);
            QVERIFY(full.active());
            std::string error;
            SqliteStore::Options o;
            o.path = path.toStdString();
            QVERIFY(!SqliteStore::open(o, &error));
            QVERIFY2(error.find("Cannot upgrade session store " + path.toStdString()) != std::string::npos,
                     error.c_str());
            QVERIFY2(error.find("not modified") != std::string::npos, error.c_str());
        }
        QCOMPARE(readAll(path), before);
        QCOMPARE(sqlValue(path, "SELECT value FROM meta WHERE key = 'schema_version'"), std::string("1"));

        // Opened normally: upgraded, nothing lost, and changes by creation time and hash land.
        {
            Instance i = open(path);
            QCOMPARE(sqlValue(path, keyOfCreated), std::string("1"));
            QCOMPARE(sqlValue(path, "SELECT value FROM meta WHERE key = 'schema_version'"), std::string("2"));
            QCOMPARE(i.engine->sessionCount(), tokens.size());
            for (const std::string &token : tokens)
                QCOMPARE(i.engine->validate(token).error, SessionError::None);
            QCOMPARE(i.engine->getData(tokens[1]).data, std::string("cart=3"));
            QCOMPARE(i.engine->destroy(tokens[0]), SessionError::None);
            QCOMPARE(i.engine->setData(tokens[2], "cart=9").error, SessionError::None);
            close(i);
        }
        QCOMPARE(sqlValue(path, "SELECT count(*) FROM sessions"), std::to_string(tokens.size() - 1));
        Instance reopened = open(path);
        QCOMPARE(reopened.engine->validate(tokens[0]).error, SessionError::Unknown);
        QCOMPARE(reopened.engine->getData(tokens[2]).data, std::string("cart=9"));
        QCOMPARE(reopened.engine->sessionCount(), tokens.size() - 1);
    }

    void notADatabaseIsReportedAndLeftAlone()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        QVERIFY(QFile::copy(
            QStringLiteral(HOURGLASS_TEST_FIXTURES) + QStringLiteral("/store/not-a-database.db"), path));
        QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        const QByteArray before = readAll(path);
        const std::string error = openError(path);
        QVERIFY2(error.find(path.toStdString()) != std::string::npos, error.c_str());
        QVERIFY2(error.find("damaged") != std::string::npos, error.c_str());
        QVERIFY2(error.find("did not modify") != std::string::npos, error.c_str());
        QCOMPARE(readAll(path), before);
    }

    void truncatedDatabaseIsReportedAndLeftAlone()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        {
            Instance i = open(path);
            for (int n = 0; n < 3000; ++n) {
                const std::string token = i.engine->create(params("user" + std::to_string(n))).token;
                QCOMPARE(i.engine->setData(token, std::string(300, 'd')).error, SessionError::None);
            }
            close(i);
        }
        QVERIFY(!QFile::exists(path + QStringLiteral("-wal")) ||
                QFileInfo(path + QStringLiteral("-wal")).size() == 0);
        const qint64 size = QFileInfo(path).size();
        QVERIFY(size > 500000);
        QVERIFY(QFile::resize(path, size / 3));
        const QByteArray before = readAll(path);
        const std::string error = openError(path);
        QVERIFY2(!error.empty(), "a truncated store must not load");
        QVERIFY2(error.find(path.toStdString()) != std::string::npos, error.c_str());
        QVERIFY2(error.find("damaged") != std::string::npos, error.c_str());
        QCOMPARE(readAll(path), before);
        QVERIFY(SqliteStore::integrityCheck(path.toStdString()) != "ok");
    }

    void damagedHeaderIsReported()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("sessions.db"));
        {
            Instance i = open(path);
            i.engine->create(params("alice"));
            close(i);
        }
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadWrite));
        f.write(QByteArray(16, 'X'));
        f.close();
        const std::string error = openError(path);
        QVERIFY2(error.find("damaged") != std::string::npos, error.c_str());
    }
};

QTEST_GUILESS_MAIN(TestSqliteStore)
#include "tst_sqlitestore.moc"
