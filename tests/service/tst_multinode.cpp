// Two hourglassd processes on different ports sharing one real redis-server: what a web shop
// behind a load balancer relies on. Every request goes over loopback HTTP.

#include "RawHttp.h"
#include "RedisServer.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>

using namespace hourglass;
using test::RawResponse;
using test::RedisServer;

namespace {

struct Node
{
    QTemporaryDir dir;
    QProcess process;
    std::uint16_t port = 0;
    std::string token;

    bool start(const std::string &storeUrl)
    {
        process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        process.start(QStringLiteral(HOURGLASS_DAEMON),
                      {QStringLiteral("--data-dir"), dir.path(), QStringLiteral("--port"),
                       QStringLiteral("0"), QStringLiteral("--store"), QString::fromStdString(storeUrl)});
        if (!process.waitForStarted())
            return false;
        QElapsedTimer timer;
        timer.start();
        while (!QFile::exists(dir.filePath(QStringLiteral("service.json")))) {
            if (timer.elapsed() > 15000 || process.state() == QProcess::NotRunning)
                return false;
            QTest::qWait(20);
        }
        QFile info(dir.filePath(QStringLiteral("service.json")));
        QFile tokenFile(dir.filePath(QStringLiteral("admin.token")));
        if (!info.open(QIODevice::ReadOnly) || !tokenFile.open(QIODevice::ReadOnly))
            return false;
        port = std::uint16_t(
            QUrl(QJsonDocument::fromJson(info.readAll()).object().value(QStringLiteral("url")).toString())
                .port());
        token = tokenFile.readAll().trimmed().toStdString();
        return port != 0;
    }
    void stop()
    {
        process.terminate();
        process.waitForFinished(15000);
    }

    RawResponse request(const std::string &method, const std::string &target, const std::string &id = {},
                        const std::string &body = {})
    {
        std::vector<std::pair<std::string, std::string>> headers;
        if (!id.empty())
            headers.emplace_back("Authorization", "Session " + id);
        return test::rawRequest(port, method, target, headers, body);
    }
    RawResponse admin(const std::string &method, const std::string &target, const std::string &body = {})
    {
        return test::rawRequest(port, method, target, {{"Authorization", "Bearer " + token}}, body);
    }
    std::string create(const std::string &user, const std::string &area = "storefront")
    {
        const RawResponse r =
            request("POST", "/v1/sessions", {}, R"({"user":")" + user + R"(","area":")" + area + R"("})");
        return json(r).value(QStringLiteral("id")).toString().toStdString();
    }
    int validate(const std::string &id) { return request("GET", "/v1/session", id).status; }

    static QJsonObject json(const RawResponse &r)
    {
        return QJsonDocument::fromJson(QByteArray::fromStdString(r.body)).object();
    }
};

} // namespace

class TestMultiNode final : public QObject
{
    Q_OBJECT

    RedisServer m_redis;
    Node m_a, m_b;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(RedisServer::available(), "redis-server is not installed (apt install redis-server)");
        QVERIFY(m_redis.start());
        QVERIFY(m_a.start(m_redis.url()));
        QVERIFY(m_b.start(m_redis.url()));
        QVERIFY(m_a.port != m_b.port);
        const QJsonObject status = Node::json(m_a.admin("GET", "/admin/v1/status"));
        QVERIFY2(status.value(QStringLiteral("store")).toString().contains(QStringLiteral("Redis")),
                 qPrintable(status.value(QStringLiteral("store")).toString()));
    }

    void cleanupTestCase()
    {
        m_a.stop();
        m_b.stop();
        QCOMPARE(m_a.process.exitCode(), 0);
        QCOMPARE(m_b.process.exitCode(), 0);
    }

    void aSessionCreatedOnANodeValidatesOnTheOther()
    {
        const std::string id = m_a.create("alice");
        QCOMPARE(id.size(), std::size_t(43));
        const RawResponse onB = m_b.request("GET", "/v1/session", id);
        QCOMPARE(onB.status, 200);
        QCOMPARE(Node::json(onB).value(QStringLiteral("user")).toString(), QStringLiteral("alice"));
        QCOMPARE(m_b.request("PUT", "/v1/session/data", id, "cart=2").status, 200);
        QCOMPARE(m_a.request("GET", "/v1/session/data", id).body, std::string("cart=2"));
        // Logout on one node: the cookie is dead on both.
        QCOMPARE(m_a.request("DELETE", "/v1/session", id).status, 200);
        QCOMPARE(m_b.validate(id), 401);
        QCOMPARE(m_a.validate(id), 401);
    }

    void forceLogoutOnOneNodeKillsSessionsOnTheOther()
    {
        const std::string first = m_a.create("bob");
        const std::string second = m_a.create("bob", "admin");
        const std::string other = m_a.create("carol");
        for (const std::string &id : {first, second, other})
            QCOMPARE(m_a.validate(id), 200);
        const RawResponse r = m_b.admin("POST", "/admin/v1/users/bob/logout", "{}");
        QCOMPARE(r.status, 200);
        QCOMPARE(Node::json(r).value(QStringLiteral("ended")).toInt(), 2);
        QCOMPARE(m_a.validate(first), 401);
        QCOMPARE(m_a.validate(second), 401);
        QCOMPARE(m_a.validate(other), 200);
        // Sessions page on either node shows every node's sessions.
        const QJsonObject page = Node::json(m_b.admin("GET", "/admin/v1/sessions?user=carol"));
        QCOMPARE(page.value(QStringLiteral("total")).toInt(), 1);
    }

    void policyChangedOnOneNodeAppliesOnTheOther()
    {
        const RawResponse put =
            m_a.admin("PUT", "/admin/v1/policy", R"({"settings":{"session/storefront/idle_timeout":45}})");
        QCOMPARE(put.status, 200);
        const auto idleOnB = [&] {
            return Node::json(m_b.admin("GET", "/admin/v1/policy"))
                .value(QStringLiteral("settings"))
                .toObject()
                .value(QStringLiteral("session/storefront/idle_timeout"))
                .toInt();
        };
        QTRY_COMPARE_WITH_TIMEOUT(idleOnB(), 45, 5000);
        // And b now computes expiry with it: the deadline it reports is 45 min after activity.
        const std::string id = m_a.create("dave");
        const QJsonObject onB = Node::json(m_b.request("GET", "/v1/session", id));
        const qint64 idle = onB.value(QStringLiteral("idle_deadline_ms")).toInteger() -
                            onB.value(QStringLiteral("last_activity_ms")).toInteger();
        QCOMPARE(idle, qint64(45) * 60 * 1000);
    }

    void expiryIsConsistentOnBothNodes()
    {
        // Admin area with a maximum timeout: the absolute deadline is fixed at login, so both
        // nodes must report exactly the same one; the sliding one follows the latest touch.
        QCOMPARE(
            m_a.admin(
                   "PUT", "/admin/v1/policy",
                   R"({"settings":{"session/admin/enable_max_timeout":true,"session/admin/max_timeout":120}})")
                .status,
            200);
        const auto enabledOnB = [&] {
            return Node::json(m_b.admin("GET", "/admin/v1/policy"))
                .value(QStringLiteral("settings"))
                .toObject()
                .value(QStringLiteral("session/admin/enable_max_timeout"))
                .toBool();
        };
        QTRY_VERIFY_WITH_TIMEOUT(enabledOnB(), 5000);
        const std::string id = m_a.create("erin", "admin");
        const QJsonObject onA = Node::json(m_a.request("GET", "/v1/session", id));
        const QJsonObject onB = Node::json(m_b.request("GET", "/v1/session", id));
        QVERIFY(onA.value(QStringLiteral("absolute_deadline_ms")).isDouble());
        QCOMPARE(onB.value(QStringLiteral("absolute_deadline_ms")).toInteger(),
                 onA.value(QStringLiteral("absolute_deadline_ms")).toInteger());
        QCOMPARE(onB.value(QStringLiteral("created_ms")).toInteger(),
                 onA.value(QStringLiteral("created_ms")).toInteger());
        QVERIFY(onB.value(QStringLiteral("idle_deadline_ms")).toInteger() >=
                onA.value(QStringLiteral("idle_deadline_ms")).toInteger());
        // b's touch is what a sees next (one session record, not two copies).
        const QJsonObject again = Node::json(m_a.request("GET", "/v1/session", id));
        QVERIFY(again.value(QStringLiteral("last_activity_ms")).toInteger() >=
                onB.value(QStringLiteral("last_activity_ms")).toInteger());
    }

    void anUnreachableRedisStopsANodeAtStartWithAClearError()
    {
        QTemporaryDir dir;
        QProcess node;
        node.start(QStringLiteral(HOURGLASS_DAEMON),
                   {QStringLiteral("--data-dir"), dir.path(), QStringLiteral("--port"), QStringLiteral("0"),
                    QStringLiteral("--store"), QStringLiteral("redis://127.0.0.1:1/0")});
        QVERIFY(node.waitForFinished(15000));
        QCOMPARE(node.exitCode(), 1);
        const QString err = QString::fromUtf8(node.readAllStandardError());
        QVERIFY2(err.contains(QStringLiteral("Cannot reach the Redis store at redis://127.0.0.1:1/0")),
                 qPrintable(err));
        node.start(QStringLiteral(HOURGLASS_DAEMON),
                   {QStringLiteral("--data-dir"), dir.path(), QStringLiteral("--store"),
                    QStringLiteral("redis://127.0.0.1:99999")});
        QVERIFY(node.waitForFinished(15000));
        QCOMPARE(node.exitCode(), 1);
        QVERIFY(QString::fromUtf8(node.readAllStandardError()).contains(QStringLiteral("Invalid Redis URL")));
    }

    void redisKilledAndRestartedMidRun()
    {
        const std::string before = m_a.create("frank");
        QCOMPARE(m_b.validate(before), 200);
        m_redis.kill();
        // Fail closed with a clear status on both nodes; not counted against the client.
        for (Node *node : {&m_a, &m_b}) {
            const RawResponse r = node->request("GET", "/v1/session", before);
            QCOMPARE(r.status, 503);
            QCOMPARE(Node::json(r).value(QStringLiteral("error")).toString(),
                     QStringLiteral("store_unavailable"));
            QCOMPARE(node->request("POST", "/v1/sessions", {}, R"({"user":"gina"})").status, 503);
            const QJsonObject status = Node::json(node->admin("GET", "/admin/v1/status"));
            QVERIFY(status.value(QStringLiteral("store_degraded")).toBool());
        }
        QVERIFY(m_redis.start());
        // Both nodes recover by themselves; the session acknowledged before the crash is there.
        QTRY_COMPARE_WITH_TIMEOUT(m_a.validate(before), 200, 5000);
        QTRY_COMPARE_WITH_TIMEOUT(m_b.validate(before), 200, 5000);
        const std::string after = m_b.create("gina");
        QCOMPARE(m_a.validate(after), 200);
        QVERIFY(!Node::json(m_a.admin("GET", "/admin/v1/status"))
                     .value(QStringLiteral("store_degraded"))
                     .toBool());
    }
};

QTEST_GUILESS_MAIN(TestMultiNode)
#include "tst_multinode.moc"
