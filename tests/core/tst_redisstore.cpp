// Several nodes on one Redis, in one process: two engines (each with its own RedisStore, like two
// hourglassd) on a real redis-server, with one manual clock so that every expiry is exact.

#include "ManualClock.h"
#include "RedisServer.h"
#include "RedisStore.h"
#include "Runtime.h"
#include "SessionEngine.h"

#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace hourglass;
using test::ManualClock;
using test::RedisServer;

namespace {

CreateParams params(const std::string &user, Area area = Area::Storefront, bool rememberMe = false)
{
    return {user, area, rememberMe, "192.0.2.44", "Mozilla/5.0 (redis test)"};
}

IdHash hashOf(const std::string &token)
{
    return SessionToken::parse(token)->hash();
}

} // namespace

class TestRedisStore final : public QObject
{
    Q_OBJECT

    ManualClock m_clock;
    std::unique_ptr<RedisServer> m_redis;

    struct Node
    {
        std::unique_ptr<RedisStore> store;
        std::unique_ptr<SessionEngine> engine;
        SessionEngine *operator->() { return engine.get(); }
    };

    Node node(const Policy &policy = Policy())
    {
        std::string error;
        RedisStore::Options o;
        o.url = *RedisStore::parseUrl(m_redis->url(), &error);
        Node n;
        n.store = RedisStore::open(o, &error);
        if (!n.store)
            qFatal("store: %s", error.c_str());
        SessionEngine::Options eo;
        eo.clock = &m_clock;
        eo.store = n.store.get();
        n.engine = std::make_unique<SessionEngine>(eo, policy);
        return n;
    }

    static Policy uncapped()
    {
        Policy p;
        p.maxSessionsPerIp = 0;
        p.area(Area::Storefront).maxSessionsPerUser = 0;
        p.area(Area::Admin).maxSessionsPerUser = 0;
        return p;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(RedisServer::available(), "redis-server is not installed (apt install redis-server)");
        m_redis = std::make_unique<RedisServer>();
        QVERIFY(m_redis->start());
    }

    void init() { QCOMPARE(m_redis->first({"FLUSHALL"}), std::string("OK")); }

    void aSessionCreatedOnOneNodeValidatesOnAnother()
    {
        Node a = node(uncapped()), b = node(uncapped());
        // A shared store decides creation with a round trip of its own: HTTP creation stays on
        // the service's blocking pool instead of completing from a store callback.
        QVERIFY(!a.store->notifiesDurability());
        QVERIFY(!a->createsAsynchronously());
        const CreateResult created = a->create(params("alice", Area::Admin, true));
        QCOMPARE(created.error, SessionError::None);
        // b has never seen it: found through its lookup key, then cached.
        const ValidateResult onB = b->validate(created.token);
        QCOMPARE(onB.error, SessionError::None);
        QCOMPARE(textOf(onB.info.user), std::string_view("alice"));
        QCOMPARE(onB.info.area, Area::Admin);
        QVERIFY(onB.info.rememberMe);
        QCOMPARE(onB.info.createdMs, created.info.createdMs);
        QCOMPARE(b->sessionCount(), std::size_t(1));
        // Data written on one node is read on the other.
        QCOMPARE(b->setData(created.token, "theme=dark").error, SessionError::None);
        QCOMPARE(a->getData(created.token).data, std::string("theme=dark"));
        // Never issued: unknown on every node.
        const std::string forged(SessionToken::kEncodedLength, 'A');
        QCOMPARE(b->validate(forged).error, SessionError::Unknown);
    }

    void endingASessionOnOneNodeEndsItOnEveryNode()
    {
        Node a = node(uncapped()), b = node(uncapped());
        const std::string logout = a->create(params("bob")).token;
        const std::string admin = a->create(params("bob")).token;
        const std::string rotated = a->create(params("bob")).token;
        for (const std::string &t : {logout, admin, rotated}) {
            QCOMPARE(a->validate(t).error, SessionError::None); // cached on both nodes
            QCOMPARE(b->validate(t).error, SessionError::None);
        }
        QCOMPARE(b->destroy(logout), SessionError::None);
        QCOMPARE(b->revoke(hashOf(admin)), SessionError::None);
        const RotateResult r = b->rotate(rotated);
        QCOMPARE(r.error, SessionError::None);
        QCOMPARE(a->validate(logout).error, SessionError::Unknown);
        QCOMPARE(a->validate(admin).error, SessionError::Unknown);
        QCOMPARE(a->validate(rotated).error, SessionError::Unknown);
        QCOMPARE(a->validate(r.token).error, SessionError::None);
        QCOMPARE(a->sessionCount(), std::size_t(1)); // the cache followed
    }

    void forceLogoutOnOneNodeEndsSessionsCachedOnAnother()
    {
        Node a = node(uncapped()), b = node(uncapped());
        const std::string current = a->create(params("carol")).token;
        const std::string phone = a->create(params("carol")).token;
        const std::string admin = b->create(params("carol", Area::Admin)).token;
        const std::string other = a->create(params("dave")).token;
        for (const std::string &t : {current, phone, admin, other})
            QCOMPARE(a->validate(t).error, SessionError::None);
        bool durable = false;
        QCOMPARE(b->forceLogout("carol", hashOf(current), std::nullopt, &durable), std::size_t(2));
        QVERIFY(durable);
        QCOMPARE(a->validate(phone).error, SessionError::Unknown);
        QCOMPARE(a->validate(admin).error, SessionError::Unknown);
        QCOMPARE(a->validate(current).error, SessionError::None);
        QCOMPARE(a->validate(other).error, SessionError::None);
        // The kept session may rotate (privilege change) and stays alive.
        const RotateResult r = a->rotate(current);
        QCOMPARE(r.error, SessionError::None);
        QCOMPARE(b->validate(r.token).error, SessionError::None);
        // A session created after the logout is not affected by it.
        m_clock.advance(1);
        QCOMPARE(b->validate(a->create(params("carol")).token).error, SessionError::None);
    }

    void revocationsHoldWhenAWriteIsLost()
    {
        Node a = node(uncapped()), b = node(uncapped());
        const std::string forced = a->create(params("erin")).token;
        const std::string loggedOut = a->create(params("erin's colleague")).token; // no force logout for them
        const std::string tag = RedisStore::userTag("erin");
        const auto keyOf = [&](const std::string &token) {
            const std::string user = token == forced ? "erin" : "erin's colleague";
            return "hg:{" + RedisStore::userTag(user) + "}:s:" + hashOf(token).toHex();
        };
        // Copies of the session records as they were before being ended…
        const std::string forcedCopy = m_redis->first({"DUMP", keyOf(forced)});
        const std::string loggedOutCopy = m_redis->first({"DUMP", keyOf(loggedOut)});
        QVERIFY(!forcedCopy.empty() && forcedCopy != "(nil)");
        QCOMPARE(b->destroy(loggedOut), SessionError::None);
        QCOMPARE(b->forceLogout("erin"), std::size_t(1));
        // …come back: the force logout's removal lost entirely (session and tombstone, one script:
        // a failover to a replica that missed it), the logout's session record restored by a late
        // write while its tombstone is there.
        QCOMPARE(m_redis->first({"RESTORE", keyOf(forced), "0", forcedCopy}), std::string("OK"));
        QCOMPARE(m_redis->first({"DEL", "hg:{" + tag + "}:t:" + hashOf(forced).toHex()}), std::string("1"));
        QCOMPARE(m_redis->first({"RESTORE", keyOf(loggedOut), "0", loggedOutCopy}), std::string("OK"));
        // The "not before" record and the tombstone still refuse them, on every node.
        // (a still has both cached, so it asks about them by owner: the records decide.)
        QCOMPARE(a->validate(loggedOut).error, SessionError::Unknown);
        QCOMPARE(a->validate(forced).error, SessionError::Unknown);
        QCOMPARE(b->validate(loggedOut).error, SessionError::Unknown);
        QCOMPARE(b->validate(forced).error, SessionError::Unknown);
        QCOMPARE(m_redis->first({"EXISTS", keyOf(forced)}), std::string("0")); // and removed again
    }

    void expiryIsTheSameOnEveryNode()
    {
        Policy policy = uncapped();
        policy.area(Area::Storefront).idleTimeoutMinutes = 15;
        policy.area(Area::Admin).maxTimeoutEnabled = true;
        policy.area(Area::Admin).idleTimeoutMinutes = 15;
        policy.area(Area::Admin).maxTimeoutMinutes = 30;
        Node a = node(policy), b = node(policy);
        const std::string shop = a->create(params("frank")).token;
        const std::string admin = a->create(params("frank", Area::Admin)).token;
        m_clock.advanceMinutes(10);
        // Activity on b slides the idle horizon for a as well.
        const ValidateResult touched = b->validate(shop);
        QCOMPARE(touched.error, SessionError::None);
        QCOMPARE(a->validate(shop, SessionEngine::Touch::No).info.expiresAtMs, touched.info.expiresAtMs);
        QCOMPARE(b->validate(admin).error, SessionError::None);
        m_clock.advanceMinutes(10); // 20 min: alive through b's touch
        QCOMPARE(a->validate(shop).error, SessionError::None);
        QCOMPARE(a->validate(admin).error, SessionError::None);
        m_clock.advanceMinutes(11); // 31 min: admin past its maximum whatever the activity
        QCOMPARE(b->validate(admin).error, SessionError::Expired);
        QCOMPARE(a->validate(admin).error, SessionError::Unknown);
        m_clock.advanceMinutes(15); // idle 15 min since the last touch
        QCOMPARE(b->validate(shop).error, SessionError::Expired);
        QCOMPARE(a->validate(shop).error, SessionError::Unknown);
    }

    void perUserLimitsCountEveryNode()
    {
        Policy policy = uncapped();
        policy.area(Area::Storefront).maxSessionsPerUser = 2;
        policy.area(Area::Storefront).perUserLimitAction = UserLimitAction::Deny;
        Node a = node(policy), b = node(policy);
        QCOMPARE(a->create(params("gina")).error, SessionError::None);
        QCOMPARE(b->create(params("gina")).error, SessionError::None);
        QCOMPARE(a->create(params("gina")).error, SessionError::UserLimitReached);
        QCOMPARE(b->create(params("gina")).error, SessionError::UserLimitReached);
        QCOMPARE(a->create(params("gina", Area::Admin)).error, SessionError::None); // other area
    }

    void countsAndListingsCoverEveryNode()
    {
        Policy policy = uncapped();
        policy.area(Area::Storefront).idleTimeoutMinutes = 15;
        Node a = node(policy), b = node(policy);
        for (int i = 0; i < 3; ++i)
            QCOMPARE(a->create(params("hank")).error, SessionError::None);
        m_clock.advance(1);
        for (int i = 0; i < 2; ++i)
            QCOMPARE(b->create(params("ivy", Area::Admin)).error, SessionError::None);
        for (Node *n : {&a, &b}) {
            const EngineCounters c = (*n)->counters();
            QCOMPARE(c.active[0], std::uint64_t(2));
            QCOMPARE(c.active[1], std::uint64_t(3));
        }
        const SessionPage all = a->list({});
        QCOMPARE(all.total, std::size_t(5));
        QCOMPARE(all.rows.size(), std::size_t(5));
        QCOMPARE(textOf(all.rows.front().user), std::string_view("ivy")); // newest first
        SessionQuery byUser;
        byUser.user = "ivy";
        QCOMPARE(a->list(byUser).total, std::size_t(2)); // a never saw them
        SessionQuery paged;
        paged.area = Area::Storefront;
        paged.offset = 1;
        paged.limit = 1;
        const SessionPage page = b->list(paged);
        QCOMPARE(page.total, std::size_t(3));
        QCOMPARE(page.rows.size(), std::size_t(1));
        QCOMPARE(textOf(page.rows.front().user), std::string_view("hank"));
        // Expired by time: gone from counts once the index clean-up has seen them.
        m_clock.advanceMinutes(16);
        QCOMPARE(a->list(paged).rows.size(), std::size_t(0));
        for (const SessionInfo &row : a->list(byUser).rows) // admin: default idle is longer
            QCOMPARE(textOf(row.user), std::string_view("ivy"));
    }

    void keysOfOneUserShareOneHashTag()
    {
        Node a = node(uncapped());
        const std::string t = a->create(params("judy")).token;
        QCOMPARE(a->destroy(a->create(params("judy")).token), SessionError::None);
        a->forceLogout("judy", hashOf(t));
        QVERIFY(a.store->sync());
        const std::string tag = "{" + RedisStore::userTag("judy") + "}";
        int userKeys = 0;
        for (const std::string &key : m_redis->call({"KEYS", "*"})) {
            QVERIFY2(key.starts_with("hg:{"), key.c_str());
            // Per user: session, index, not-before, tombstone — all in the user's slot.
            if (key.find(":s:") != std::string::npos || key.ends_with(":i") || key.ends_with(":nb") ||
                key.find(":t:") != std::string::npos) {
                QVERIFY2(key.starts_with("hg:" + tag), key.c_str());
                ++userKeys;
            }
        }
        QCOMPARE(userKeys, 4);
    }

    void anUnreachableServerIsAClearErrorAtStart()
    {
        std::string error;
        RedisStore::Options o;
        o.url = *RedisStore::parseUrl("redis://127.0.0.1:1/0", &error);
        o.connectTimeout = std::chrono::milliseconds(200);
        QVERIFY(!RedisStore::open(o, &error));
        QVERIFY2(error.find("Cannot reach the Redis store at redis://127.0.0.1:1/0") == 0, error.c_str());

        const auto tls =
            RedisStore::parseUrl("rediss://example.net:6380/1?ca=/etc/ca.pem&cert=/c.pem&key=/k.pem", &error);
        QVERIFY2(tls, error.c_str());
        QVERIFY(tls->tls);
        QCOMPARE(tls->caFile, std::string("/etc/ca.pem"));
        QCOMPARE(tls->certFile, std::string("/c.pem"));
        QCOMPARE(tls->keyFile, std::string("/k.pem"));
        QCOMPARE(tls->text(), std::string("rediss://example.net:6380/1"));
        QVERIFY(!RedisStore::parseUrl("redis://example.net?ca=/etc/ca.pem", &error)); // TLS files need rediss
        QVERIFY(!RedisStore::parseUrl("rediss://example.net?verify=no", &error));     // no way to turn it off
        QVERIFY2(error.find("verify") != std::string::npos, error.c_str());
        QVERIFY(!RedisStore::parseUrl("redis://:s3cret@127.0.0.1:99999", &error));
        QVERIFY2(error.find("port") != std::string::npos, error.c_str());
        QVERIFY(error.find("s3cret") == std::string::npos); // never echoed
        QVERIFY(!RedisStore::parseUrl("redis://127.0.0.1/16", &error));
        QVERIFY(!RedisStore::parseUrl("http://127.0.0.1", &error));
        const auto url = RedisStore::parseUrl("redis://app:s3cret@cache.internal:6380/2", &error);
        QVERIFY(url);
        QCOMPARE(url->host, std::string("cache.internal"));
        QCOMPARE(url->port, 6380);
        QCOMPARE(url->db, 2);
        QCOMPARE(url->user, std::string("app"));
        QCOMPARE(url->password, std::string("s3cret"));
        QCOMPARE(url->text(), std::string("redis://app@cache.internal:6380/2"));

        // A wrong password is refused at start with the server's reason.
        QCOMPARE(m_redis->first({"CONFIG", "SET", "requirepass", "right"}), std::string("OK"));
        o.url = *RedisStore::parseUrl("redis://:wrong@127.0.0.1:" + std::to_string(m_redis->port()), &error);
        QVERIFY(!RedisStore::open(o, &error));
        QVERIFY2(error.find("authentication failed") != std::string::npos, error.c_str());
        o.url.password = "right";
        QVERIFY2(RedisStore::open(o, &error), error.c_str());
        // Back to a server without a password (the setting lives only in memory).
        m_redis->stop();
        QVERIFY(m_redis->start());
    }

    void tlsVerifiesTheServerAndCarriesEverything()
    {
        QTemporaryDir certs;
        const auto path = [&](const char *name) {
            return certs.filePath(QString::fromLatin1(name));
        };
        const auto openssl = [&](const QString &args) {
            QProcess p;
            p.setWorkingDirectory(certs.path());
            p.start(QStringLiteral("openssl"), args.split(QLatin1Char(' ')));
            return p.waitForFinished(30000) && p.exitCode() == 0;
        };
        for (const char *ca : {"ca", "other-ca"}) {
            QVERIFY(
                openssl(QStringLiteral("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
                                       "%1.key -out %1.pem -days 2 -subj /CN=%1")
                            .arg(QLatin1String(ca))));
        }
        QVERIFY(openssl(
            QStringLiteral("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key "
                           "-out server.csr -subj /CN=redis")));
        {
            QFile ext(path("ext.cnf"));
            QVERIFY(ext.open(QIODevice::WriteOnly));
            ext.write("subjectAltName=IP:127.0.0.1\n");
        }
        QVERIFY(
            openssl(QStringLiteral("x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out "
                                   "server.pem -days 2 -extfile ext.cnf")));
        RedisServer server;
        QVERIFY(server.startTls(path("server.pem"), path("server.key"), path("ca.pem")));
        const std::string port = std::to_string(server.port());

        std::string error;
        const auto storeAt = [&](const std::string &url) -> std::unique_ptr<RedisStore> {
            const auto parsed = RedisStore::parseUrl(url, &error);
            if (!parsed)
                return nullptr;
            RedisStore::Options o;
            o.url = *parsed;
            return RedisStore::open(o, &error);
        };
        // Verified against its CA and its IP address: sessions work as over plain TCP.
        auto store = storeAt("rediss://127.0.0.1:" + port + "/0?ca=" + path("ca.pem").toStdString());
        QVERIFY2(store, error.c_str());
        SessionEngine::Options eo;
        eo.clock = &m_clock;
        eo.store = store.get();
        SessionEngine engine(eo, uncapped());
        const CreateResult created = engine.create(params("kim"));
        QCOMPARE(created.error, SessionError::None);
        QCOMPARE(textOf(engine.validate(created.token).info.user), std::string_view("kim"));
        QCOMPARE(engine.destroy(created.token), SessionError::None);
        QCOMPARE(engine.validate(created.token).error, SessionError::Unknown);
        // The server goes away under open TLS connections: writes to them must not raise SIGPIPE
        // (which would end the process), only fail closed.
        const std::string live = engine.create(params("kim")).token;
        server.kill();
        for (int i = 0; i < 3; ++i)
            QCOMPARE(engine.validate(live).error, SessionError::StoreUnavailable);
        QVERIFY(server.startTls(path("server.pem"), path("server.key"), path("ca.pem")));

        // Refused: a CA that did not sign it, a name it does not carry, plain TCP to the TLS port,
        // and (without ?ca=) the system's CAs, which never signed this test CA.
        QVERIFY(!storeAt("rediss://127.0.0.1:" + port + "/0?ca=" + path("other-ca.pem").toStdString()));
        QVERIFY2(error.find("certificate") != std::string::npos, error.c_str());
        qInfo("other CA: %s", error.c_str());
        QVERIFY(!storeAt("rediss://localhost:" + port + "/0?ca=" + path("ca.pem").toStdString()));
        QVERIFY2(error.find("certificate") != std::string::npos, error.c_str());
        qInfo("wrong name: %s", error.c_str());
        QVERIFY(!storeAt("redis://127.0.0.1:" + port + "/0"));
        qInfo("plain TCP: %s", error.c_str());
        QVERIFY(!storeAt("rediss://127.0.0.1:" + port + "/0"));
        qInfo("system CAs: %s", error.c_str());
        QVERIFY2(error.find("certificate") != std::string::npos, error.c_str());
    }

    void policyChangedOnOneNodeAppliesOnTheOthers()
    {
        QTemporaryDir dirA, dirB, dirC;
        const auto open = [&](const QString &dir) {
            Runtime::Options o;
            o.dataDir = dir;
            o.clock = &m_clock;
            o.storeUrl = QString::fromStdString(m_redis->url());
            o.maintenance = false;
            o.sharedConfigPollMs = 60'000; // pulled by hand below
            Runtime::OpenError code;
            QString error;
            auto rt = Runtime::open(o, &code, &error);
            if (!rt)
                qFatal("runtime: %s", qPrintable(error));
            return rt;
        };
        auto a = open(dirA.path());
        auto b = open(dirB.path());
        QVERIFY(a->sharedStore());
        QVERIFY(a->setSetting("session/storefront/idle_timeout", "45", Confirmation::Confirmed).ok());
        QCOMPARE(b->engine().policy().area(Area::Storefront).idleTimeoutMinutes,
                 Policy().area(Area::Storefront).idleTimeoutMinutes); // not pulled yet
        QVERIFY(b->pullSharedPolicy());
        QCOMPARE(b->engine().policy().area(Area::Storefront).idleTimeoutMinutes, std::int64_t(45));
        QVERIFY(!b->pullSharedPolicy()); // nothing newer
        // A node started later takes the shared policy, not its own file's defaults.
        auto c = open(dirC.path());
        QCOMPARE(c->engine().policy().area(Area::Storefront).idleTimeoutMinutes, std::int64_t(45));
        // Invalid values are refused before anything is shared.
        QVERIFY(!b->setSetting("session/storefront/idle_timeout", "-1", Confirmation::Confirmed).ok());
        QVERIFY(!a->pullSharedPolicy());
        QCOMPARE(a->engine().policy().area(Area::Storefront).idleTimeoutMinutes, std::int64_t(45));
    }
};

QTEST_GUILESS_MAIN(TestRedisStore)
#include "tst_redisstore.moc"
