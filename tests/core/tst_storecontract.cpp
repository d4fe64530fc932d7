// The store contract: what every SessionStore must guarantee to the engine, run against the
// embedded SQLite store and against a real redis-server (started here on a loopback port).
// Each test runs once per store (QTest global data).

#include "ManualClock.h"
#include "RedisServer.h"
#include "RedisStore.h"
#include "SessionEngine.h"
#include "SqliteStore.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <sys/resource.h>

using namespace hourglass;
using test::ManualClock;
using test::RedisServer;

namespace {

CreateParams params(const std::string &user, Area area = Area::Storefront, bool rememberMe = false)
{
    return {user, area, rememberMe, "192.0.2.44", "Mozilla/5.0 (contract test)"};
}

Policy uncapped()
{
    Policy p;
    p.maxSessionsPerIp = 0;
    return p;
}

} // namespace

class TestStoreContract final : public QObject
{
    Q_OBJECT

    ManualClock m_clock;
    QTemporaryDir m_dir;
    std::unique_ptr<RedisServer> m_redis;

    struct Node
    {
        std::unique_ptr<SessionStore> store;
        std::unique_ptr<SessionEngine> engine;
    };

    bool redis() const
    {
        QFETCH_GLOBAL(QString, store);
        return store == QLatin1String("redis");
    }

    QString sqlitePath() const { return m_dir.filePath(QStringLiteral("sessions.db")); }

    Node open(const Policy &policy = uncapped())
    {
        Node node;
        std::string error;
        if (redis()) {
            RedisStore::Options o;
            o.url = *RedisStore::parseUrl(m_redis->url(), &error);
            node.store = RedisStore::open(o, &error);
        } else {
            SqliteStore::Options o;
            o.path = sqlitePath().toStdString();
            node.store = SqliteStore::open(o, &error);
        }
        if (!node.store)
            qFatal("store: %s", error.c_str());
        SessionEngine::Options eo;
        eo.clock = &m_clock;
        eo.store = node.store.get();
        node.engine = std::make_unique<SessionEngine>(eo, policy);
        const auto loaded = node.engine->restoreFromStore();
        if (!loaded.ok)
            qFatal("load: %s", loaded.error.c_str());
        return node;
    }

    // A clean shutdown: pending touches written, then everything closed.
    static void close(Node &node)
    {
        node.engine->flushTouches(SessionEngine::FlushTouches::All);
        QVERIFY(node.store->sync());
        node.engine.reset();
        node.store.reset();
    }

private Q_SLOTS:
    void initTestCase_data()
    {
        QTest::addColumn<QString>("store");
        QTest::newRow("embedded") << QStringLiteral("embedded");
        QTest::newRow("redis") << QStringLiteral("redis");
    }

    void initTestCase()
    {
        QVERIFY2(RedisServer::available(), "redis-server is not installed (apt install redis-server)");
        m_redis = std::make_unique<RedisServer>();
        QVERIFY(m_redis->start());
    }

    void init()
    {
        QFile::remove(sqlitePath());
        QFile::remove(sqlitePath() + QStringLiteral("-wal"));
        QFile::remove(sqlitePath() + QStringLiteral("-shm"));
        QCOMPARE(m_redis->first({"FLUSHALL"}), std::string("OK"));
    }

    void acknowledgedChangesSurviveAReopen()
    {
        std::string kept, rotatedOld, rotatedNew, admin;
        {
            Node node = open();
            const CreateResult created = node.engine->create(params("alice", Area::Storefront, true));
            QCOMPARE(created.error, SessionError::None);
            kept = created.token;
            QCOMPARE(node.engine->setData(kept, std::string("cart=3\0items", 12)).error, SessionError::None);
            rotatedOld = node.engine->create(params("bob", Area::Admin)).token;
            const RotateResult rotated = node.engine->rotate(rotatedOld);
            QCOMPARE(rotated.error, SessionError::None);
            rotatedNew = rotated.token;
            admin = node.engine->create(params("carol", Area::Admin)).token;
            m_clock.advanceSeconds(30);
            QCOMPARE(node.engine->validate(admin).error, SessionError::None);
            close(node);
        }
        Node node = open();
        const ValidateResult v = node.engine->validate(kept, SessionEngine::Touch::No);
        QCOMPARE(v.error, SessionError::None);
        QCOMPARE(textOf(v.info.user), std::string_view("alice"));
        QVERIFY(v.info.rememberMe);
        QCOMPARE(v.info.area, Area::Storefront);
        QCOMPARE(node.engine->getData(kept).data, std::string("cart=3\0items", 12));
        QCOMPARE(textOf(node.engine->validate(rotatedNew).info.user), std::string_view("bob"));
        QCOMPARE(node.engine->validate(rotatedOld).error, SessionError::Unknown);
        // The touch 30 s in was kept (at most the coalescing window could have been lost).
        QCOMPARE(node.engine->validate(admin, SessionEngine::Touch::No).info.lastActivityMs, m_clock.nowMs());
    }

    void endedSessionsStayEndedAfterAReopen()
    {
        std::string loggedOut, terminated, current, other1, other2;
        {
            Node node = open();
            loggedOut = node.engine->create(params("dave")).token;
            terminated = node.engine->create(params("erin")).token;
            current = node.engine->create(params("frank")).token;
            other1 = node.engine->create(params("frank")).token;
            other2 = node.engine->create(params("frank", Area::Admin)).token;
            QCOMPARE(node.engine->destroy(loggedOut), SessionError::None);
            QCOMPARE(node.engine->revoke(SessionToken::parse(terminated)->hash()), SessionError::None);
            bool durable = false;
            QCOMPARE(node.engine->forceLogout("frank", SessionToken::parse(current)->hash(), std::nullopt,
                                              &durable),
                     std::size_t(2));
            QVERIFY(durable);
            close(node);
        }
        Node node = open();
        for (const std::string &dead : {loggedOut, terminated, other1, other2})
            QCOMPARE(node.engine->validate(dead).error, SessionError::Unknown);
        QCOMPARE(node.engine->validate(current).error, SessionError::None);
        // What is refused after a reopen is refused again and again (nothing came back).
        QCOMPARE(node.engine->validate(other1).error, SessionError::Unknown);
    }

    void expiredSessionsNeverComeBack()
    {
        Policy policy = uncapped();
        policy.area(Area::Storefront).idleTimeoutMinutes = 15;
        std::string idle, remembered;
        {
            Node node = open(policy);
            idle = node.engine->create(params("gina")).token;
            remembered = node.engine->create(params("gina", Area::Storefront, true)).token;
            close(node);
        }
        m_clock.advanceMinutes(16);
        Node node = open(policy);
        const SessionError error = node.engine->validate(idle).error;
        QVERIFY2(error == SessionError::Unknown || error == SessionError::Expired,
                 sessionErrorName(error).data());
        QCOMPARE(node.engine->validate(idle).error, SessionError::Unknown);    // gone for good
        QCOMPARE(node.engine->validate(remembered).error, SessionError::None); // remember-me period
    }

    void loginFlowsSurviveAReopen()
    {
        AuthStartResult first, second;
        {
            Node node = open();
            first = node.engine->startAuthentication("", "192.0.2.9");
            QCOMPARE(first.error, SessionError::None);
            second = node.engine->startAuthentication(first.rootToken, "192.0.2.9");
            QCOMPARE(second.tabCount, std::size_t(2));
            close(node);
        }
        Node node = open();
        const CreateResult done =
            node.engine->completeAuthentication(first.rootToken, second.tabId, params("hank"));
        QCOMPARE(done.error, SessionError::None);
        QCOMPARE(textOf(node.engine->validate(done.token).info.user), std::string_view("hank"));
        // The finished tab is gone; the other one is still there.
        QCOMPARE(node.engine->completeAuthentication(first.rootToken, second.tabId, params("hank")).error,
                 SessionError::AuthTabUnknown);
        QCOMPARE(node.engine->cancelAuthentication(first.rootToken, first.tabId), SessionError::None);
    }

    void onlyHashesAreAtRest()
    {
        std::vector<std::string> tokens;
        {
            Node node = open();
            for (int n = 0; n < 200; ++n)
                tokens.push_back(node.engine->create(params("user" + std::to_string(n % 10))).token);
            for (int n = 0; n < 20; ++n)
                tokens.push_back(node.engine->rotate(node.engine->create(params("rot")).token).token);
            tokens.push_back(node.engine->startAuthentication("", "192.0.2.1").rootToken);
            QVERIFY(node.store->sync());
            node.engine.reset();
            node.store.reset();
        }
        QByteArray haystack;
        if (redis()) {
            haystack = QByteArray::fromStdString(m_redis->everything());
        } else {
            for (const QString &suffix : {QString(), QStringLiteral("-wal"), QStringLiteral("-shm")}) {
                QFile f(sqlitePath() + suffix);
                if (f.open(QIODevice::ReadOnly))
                    haystack += f.readAll();
            }
        }
        int hashesFound = 0;
        for (const std::string &token : tokens) {
            QVERIFY(!haystack.contains(QByteArray::fromStdString(token)));
            QVERIFY(!haystack.contains(QByteArray::fromStdString(*base64UrlDecode(token))));
            const IdHash hash = sha256(token);
            const auto &h = hash.bytes();
            hashesFound +=
                haystack.contains(QByteArray::fromStdString(hash.toHex())) ||
                haystack.contains(QByteArray(reinterpret_cast<const char *>(h.data()), qsizetype(h.size())));
        }
        QCOMPARE(hashesFound, int(tokens.size())); // the search itself works
    }

    void anUnavailableStoreAcknowledgesNothing()
    {
        Node node = open();
        const std::string good = node.engine->create(params("ivan")).token;
        QVERIFY(node.store->sync());

        rlimit saved{};
        if (redis()) {
            m_redis->kill();
        } else {
            std::signal(SIGXFSZ, SIG_IGN);
            getrlimit(RLIMIT_FSIZE, &saved);
            rlimit tiny = saved;
            tiny.rlim_cur = 1; // the WAL cannot grow: like a full disk
            QCOMPARE(setrlimit(RLIMIT_FSIZE, &tiny), 0);
        }
        const CreateResult refused = node.engine->create(params("judy"));
        const SessionError logout = node.engine->destroy(good);
        if (redis())
            QVERIFY(m_redis->start());
        else
            setrlimit(RLIMIT_FSIZE, &saved);

        QCOMPARE(refused.error, SessionError::StoreUnavailable);
        QVERIFY(refused.token.empty());
        QCOMPARE(logout, SessionError::StoreUnavailable); // never reported as done
        QVERIFY(node.store->degraded());
        QVERIFY(!node.store->lastError().empty());
        // Recovers by itself once the store answers again.
        CreateResult again;
        again.error = SessionError::StoreUnavailable;
        for (int i = 0; i < 100 && again.error != SessionError::None; ++i) {
            again = node.engine->create(params("judy"));
            if (again.error != SessionError::None)
                QTest::qWait(20);
        }
        QCOMPARE(again.error, SessionError::None);
        QVERIFY(!node.store->degraded());
        QCOMPARE(node.engine->validate(again.token).error, SessionError::None);
    }
};

QTEST_GUILESS_MAIN(TestStoreContract)
#include "tst_storecontract.moc"
