#include "RandomSource.h"
#include "ServiceFixture.h"

#include <QFile>
#include <QJsonArray>
#include <QTest>

using namespace hourglass;
using test::ServiceFixture;

class TestAdminApi final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void everyEndpointNeedsTheToken_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QByteArray>("target");
        QTest::newRow("metrics") << QByteArray("GET") << QByteArray("/metrics");
        QTest::newRow("status") << QByteArray("GET") << QByteArray("/admin/v1/status");
        QTest::newRow("sessions") << QByteArray("GET") << QByteArray("/admin/v1/sessions");
        QTest::newRow("policy") << QByteArray("PUT") << QByteArray("/admin/v1/policy");
        QTest::newRow("events") << QByteArray("GET") << QByteArray("/admin/v1/events");
        QTest::newRow("unknown") << QByteArray("GET") << QByteArray("/admin/v1/nothing");
    }

    void everyEndpointNeedsTheToken()
    {
        QFETCH(QByteArray, method);
        QFETCH(QByteArray, target);
        ServiceFixture f;
        const std::string token = f.service->adminToken();
        for (const std::string &auth : std::vector<std::string>{
                 std::string(), "Bearer wrong", "Bearer " + token.substr(0, token.size() - 1),
                 "Bearer " + token + "x", "Basic " + token, token}) {
            const auto r = f.request(
                method.toStdString(), target.toStdString(),
                auth.empty() ? std::vector<std::pair<std::string, std::string>>{}
                             : std::vector<std::pair<std::string, std::string>>{{"Authorization", auth}});
            QCOMPARE(r.status, 401);
            QVERIFY(r.header("www-authenticate").has_value());
        }
    }

    void tokenFileIsPrivateAndStable()
    {
        ServiceFixture f;
        const QString path = f.dir.filePath(QStringLiteral("admin.token"));
        QCOMPARE(QFile::permissions(path) & ~(QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                                              QFileDevice::ReadUser | QFileDevice::WriteUser),
                 QFileDevice::Permissions());
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QCOMPARE(file.readAll().trimmed().toStdString(), f.service->adminToken());
        std::string again;
        QString error;
        QVERIFY(service::SessionService::loadOrCreateAdminToken(path, &again, &error));
        QCOMPARE(again, f.service->adminToken());
        QCOMPARE(f.admin("GET", "/admin/v1/status").status, 200);
    }

    void listFilterAndPageSessions()
    {
        ServiceFixture f;
        for (int i = 0; i < 12; ++i)
            f.create("user" + std::to_string(i % 3), i % 2 ? "admin" : "storefront", false,
                     "10.2.0." + std::to_string(i));
        auto r = f.admin("GET", "/admin/v1/sessions?limit=5");
        QCOMPARE(r.status, 200);
        QJsonObject body = ServiceFixture::json(r);
        QCOMPARE(body.value(QStringLiteral("total")).toInt(), 12);
        QCOMPARE(body.value(QStringLiteral("sessions")).toArray().size(), 5);
        const QJsonObject row = body.value(QStringLiteral("sessions")).toArray().first().toObject();
        QCOMPARE(row.value(QStringLiteral("id_hash")).toString().size(), 64);
        QVERIFY(!row.contains(QStringLiteral("id")));
        r = f.admin("GET", "/admin/v1/sessions?user=user1&area=admin");
        body = ServiceFixture::json(r);
        QCOMPARE(body.value(QStringLiteral("total")).toInt(), 2);
        for (const auto &v : body.value(QStringLiteral("sessions")).toArray())
            QCOMPARE(v.toObject().value(QStringLiteral("user")).toString(), QStringLiteral("user1"));
        QCOMPARE(ServiceFixture::json(f.admin("GET", "/admin/v1/sessions?ip=10.2.0.7"))
                     .value(QStringLiteral("total"))
                     .toInt(),
                 1);
        QCOMPARE(f.admin("GET", "/admin/v1/sessions?limit=5000").status, 400);
        QCOMPARE(f.admin("GET", "/admin/v1/sessions?offset=abc").status, 400);
        QCOMPARE(f.admin("GET", "/admin/v1/sessions?area=moon").status, 400);
    }

    void revokeAndForceLogout()
    {
        ServiceFixture f;
        const std::string a1 = f.create("alice"), a2 = f.create("alice"), a3 = f.create("alice", "admin");
        auto r = f.admin("DELETE", "/admin/v1/sessions/" + sha256(a1).toHex());
        QCOMPARE(r.status, 200);
        QCOMPARE(f.admin("DELETE", "/admin/v1/sessions/" + sha256(a1).toHex()).status, 404);
        QCOMPARE(f.admin("DELETE", "/admin/v1/sessions/zzz").status, 400);
        QCOMPARE(f.runtime->engine().validate(a1).error, SessionError::Unknown);
        r = f.admin("POST", "/admin/v1/users/alice/logout", R"({"except":")" + sha256(a2).toHex() + R"("})");
        QCOMPARE(r.status, 200);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("ended")).toInt(), 1);
        QCOMPARE(f.runtime->engine().validate(a2).error, SessionError::None);
        QCOMPARE(f.runtime->engine().validate(a3).error, SessionError::Unknown);
        QCOMPARE(f.admin("POST", "/admin/v1/users/alice/logout", R"({"except":"nothex"})").status, 400);
    }

    void policyIsValidatedPersistedAndApplied()
    {
        ServiceFixture f;
        auto r = f.admin("GET", "/admin/v1/policy");
        QCOMPARE(r.status, 200);
        QCOMPARE(ServiceFixture::json(r)
                     .value(QStringLiteral("settings"))
                     .toObject()
                     .value(QStringLiteral("system/security/max_session_size_admin"))
                     .toInt(),
                 256000);
        r = f.admin("PUT", "/admin/v1/policy", R"({"settings":{"session/admin/idle_timeout":30}})");
        QCOMPARE(r.status, 200);
        QCOMPARE(f.runtime->engine().policy().area(Area::Admin).idleTimeoutMinutes, 30);
        // Below the recommended minimum: 409 until confirmed.
        r = f.admin("PUT", "/admin/v1/policy",
                    R"({"settings":{"system/security/max_session_size_admin":1000}})");
        QCOMPARE(r.status, 409);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("error")).toString(),
                 QStringLiteral("below_recommended_minimum"));
        QCOMPARE(f.runtime->engine().policy().area(Area::Admin).maxSessionSizeBytes, 256000);
        r = f.admin("PUT", "/admin/v1/policy",
                    R"({"settings":{"system/security/max_session_size_admin":1000},"confirm":true})");
        QCOMPARE(r.status, 200);
        QCOMPARE(f.runtime->engine().policy().area(Area::Admin).maxSessionSizeBytes, 1000);
        // Invalid: 422 naming the key, nothing changed.
        r = f.admin(
            "PUT", "/admin/v1/policy",
            R"({"settings":{"session/admin/idle_timeout":60,"session/admin/enable_max_timeout":true,"session/admin/max_timeout":10}})");
        QCOMPARE(r.status, 422);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("error")).toString(),
                 QStringLiteral("max_timeout_below_idle_timeout"));
        QCOMPARE(f.runtime->engine().policy().area(Area::Admin).idleTimeoutMinutes, 30);
        QCOMPARE(
            f.admin("PUT", "/admin/v1/policy", R"({"settings":{"session/admin/idle_timeout":"x"}})").status,
            400);
        QCOMPARE(f.admin("PUT", "/admin/v1/policy", R"({"settings":{"nope":1}})").status, 400);
        QCOMPARE(
            f.admin("PUT", "/admin/v1/policy", R"({"settings":{"session/admin/idle_timeout":-1}})").status,
            422);
        // Persisted.
        QFile config(f.dir.filePath(QStringLiteral("hourglass.json")));
        QVERIFY(config.open(QIODevice::ReadOnly));
        QVERIFY(config.readAll().contains("\"session/admin/idle_timeout\": 30"));
    }

    void eventsArePagedBySequence()
    {
        ServiceFixture f;
        f.create("alice");
        f.create("bob");
        auto r = f.admin("GET", "/admin/v1/events?after=0&limit=1");
        QJsonObject body = ServiceFixture::json(r);
        QCOMPARE(body.value(QStringLiteral("events")).toArray().size(), 1);
        const qint64 first = body.value(QStringLiteral("events"))
                                 .toArray()
                                 .first()
                                 .toObject()
                                 .value(QStringLiteral("seq"))
                                 .toInteger();
        r = f.admin("GET", "/admin/v1/events?after=" + std::to_string(first));
        body = ServiceFixture::json(r);
        QVERIFY(!body.value(QStringLiteral("events")).toArray().isEmpty());
        for (const auto &e : body.value(QStringLiteral("events")).toArray())
            QVERIFY(e.toObject().value(QStringLiteral("seq")).toInteger() > first);
        QCOMPARE(body.value(QStringLiteral("events"))
                     .toArray()
                     .last()
                     .toObject()
                     .value(QStringLiteral("type"))
                     .toString(),
                 QStringLiteral("created"));
    }

    void blockedIpsCanBeListedAndUnblocked()
    {
        ServiceFixture f(QJsonObject{{QStringLiteral("guard_failure_threshold"), 3}});
        for (int i = 0; i < 3; ++i)
            f.request(
                "GET", "/v1/session",
                {{"Authorization", "Session " + SessionToken::generate(OpenSslRandom::instance())->text()},
                 {"X-Real-IP", "203.0.113.99"}});
        auto r = f.admin("GET", "/admin/v1/blocked-ips");
        QJsonArray blocked = ServiceFixture::json(r).value(QStringLiteral("blocked")).toArray();
        QCOMPARE(blocked.size(), 1);
        QCOMPARE(blocked.first().toObject().value(QStringLiteral("ip")).toString(),
                 QStringLiteral("203.0.113.99"));
        QCOMPARE(f.admin("DELETE", "/admin/v1/blocked-ips/203.0.113.99").status, 200);
        QCOMPARE(f.admin("DELETE", "/admin/v1/blocked-ips/203.0.113.99").status, 404);
        QVERIFY(ServiceFixture::json(f.admin("GET", "/admin/v1/blocked-ips"))
                    .value(QStringLiteral("blocked"))
                    .toArray()
                    .isEmpty());
    }

    void metricsInPrometheusFormat()
    {
        ServiceFixture f;
        const std::string id = f.create("alice", "admin");
        f.request("GET", "/v1/session", {{"Authorization", "Session " + id}});
        f.request("GET", "/v1/session", {{"Authorization", "Session nonsense"}});
        f.request("GET", "/x", {{"X", std::string(9000, 'x')}});
        const auto r = f.admin("GET", "/metrics");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.header("content-type"),
                 std::optional<std::string>("text/plain; version=0.0.4; charset=utf-8"));
        const QString text = QString::fromStdString(r.body);
        QVERIFY(text.contains(QStringLiteral("hourglass_active_sessions{area=\"admin\"} 1\n")));
        QVERIFY(text.contains(QStringLiteral("hourglass_sessions_created_total 1\n")));
        QVERIFY(text.contains(QStringLiteral("hourglass_validations_total 2\n")));
        QVERIFY(text.contains(QStringLiteral("hourglass_rejections_total{reason=\"malformed\"} 1\n")));
        QVERIFY(text.contains(
            QStringLiteral("hourglass_http_limit_rejections_total{reason=\"header_too_large\"} 1\n")));
        QVERIFY(text.contains(QStringLiteral("hourglass_http_request_duration_seconds_bucket{le=\"+Inf\"}")));
        QVERIFY(text.contains(QStringLiteral("# TYPE hourglass_http_request_duration_seconds histogram")));
        // Every sample line is "name{labels} value" or "name value".
        for (const QString &line : text.split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
            if (line.startsWith(QLatin1Char('#')))
                continue;
            bool ok = false;
            line.section(QLatin1Char(' '), -1).toDouble(&ok);
            QVERIFY2(ok, qPrintable(line));
        }
    }
};

QTEST_GUILESS_MAIN(TestAdminApi)
#include "tst_adminapi.moc"
