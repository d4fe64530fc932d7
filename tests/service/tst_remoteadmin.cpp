// RemoteAdminClient against a real SessionService on a loopback port: every AdminClient call
// answers with what the engine holds, errors come back typed, and a bad token is refused.

#include "AdminConnection.h"
#include "EmbeddedAdminClient.h"
#include "RandomSource.h"
#include "RemoteAdminClient.h"
#include "ServiceFixture.h"

#include <QSignalSpy>
#include <QTest>

using namespace hourglass;
using hourglass::test::ServiceFixture;

class TestRemoteAdmin final : public QObject
{
    Q_OBJECT

    // Runs one asynchronous call to completion and returns its result.
    template<typename Result, typename Call> static Result await(Call call)
    {
        std::optional<Result> result;
        QObject context;
        call(&context, [&](Result r) { result = std::move(r); });
        if (!QTest::qWaitFor([&] { return result.has_value(); }, 10000))
            qFatal("no answer from the remote service");
        return std::move(*result);
    }

    static QUrl urlOf(const ServiceFixture &f) { return QUrl(QString::fromStdString(f.service->url())); }

private Q_SLOTS:
    void listsRevokesAndLogsOut()
    {
        ServiceFixture f;
        const std::string a1 = f.create("alice", "admin", true, "203.0.113.1");
        const std::string a2 = f.create("alice", "storefront");
        f.create("bob");
        RemoteAdminClient client(urlOf(f), QString::fromStdString(f.service->adminToken()));

        SessionQuery query;
        query.user = "alice";
        SessionPage page =
            await<SessionPage>([&](QObject *c, auto done) { client.listSessions(query, c, done); });
        QCOMPARE(page.total, std::size_t(2));
        QCOMPARE(page.rows.size(), std::size_t(2));
        const auto expected = f.runtime->engine().find(SessionToken::parse(a1)->hash());
        QVERIFY(expected);
        const auto row = std::find_if(page.rows.begin(), page.rows.end(),
                                      [&](const SessionInfo &s) { return s.hash == expected->hash; });
        QVERIFY(row != page.rows.end());
        QCOMPARE(row->area, Area::Admin);
        QVERIFY(row->rememberMe);
        QCOMPARE(row->clientIp, std::string("203.0.113.1"));
        QCOMPARE(row->createdMs, expected->createdMs);
        QCOMPARE(row->idleDeadlineMs, expected->idleDeadlineMs);
        QCOMPARE(row->absoluteDeadlineMs, expected->absoluteDeadlineMs);

        query = {};
        query.area = Area::Storefront;
        query.limit = 1;
        page = await<SessionPage>([&](QObject *c, auto done) { client.listSessions(query, c, done); });
        QCOMPARE(page.total, std::size_t(2));
        QCOMPARE(page.rows.size(), std::size_t(1));

        // Revoke: the engine drops it; a second revoke says Unknown.
        const IdHash hash1 = SessionToken::parse(a1)->hash();
        QCOMPARE(await<SessionError>([&](QObject *c, auto done) { client.revoke(hash1, c, done); }),
                 SessionError::None);
        QVERIFY(!f.runtime->engine().find(hash1));
        QCOMPARE(await<SessionError>([&](QObject *c, auto done) { client.revoke(hash1, c, done); }),
                 SessionError::Unknown);

        // Force logout keeps the named session.
        f.create("alice");
        const IdHash keep = SessionToken::parse(a2)->hash();
        QCOMPARE(
            await<std::size_t>([&](QObject *c, auto done) { client.forceLogout("alice", keep, c, done); }),
            std::size_t(1));
        SessionQuery alice;
        alice.user = "alice";
        const SessionPage left = f.runtime->engine().list(alice);
        QCOMPARE(left.total, std::size_t(1));
        QVERIFY(left.rows.front().hash == keep);

        const EngineCounters c =
            await<EngineCounters>([&](QObject *o, auto done) { client.counters(o, done); });
        QCOMPARE(c.created, f.runtime->engine().counters().created);
        QCOMPARE(c.active[1], std::uint64_t(2));
    }

    void settingsAreValidatedByTheService()
    {
        ServiceFixture f;
        RemoteAdminClient client(urlOf(f), QString::fromStdString(f.service->adminToken()));
        const std::string key = SettingsSchema::maxSessionSizeKey(Area::Admin);
        ConfigResult r = await<ConfigResult>([&](QObject *c, auto done) {
            client.setSettings({{key, "1000"}}, Confirmation::NotConfirmed, c, done);
        });
        QVERIFY(r.needsConfirmation());
        QCOMPARE(r.path, key);
        QCOMPARE(f.runtime->engine().policy().area(Area::Admin).maxSessionSizeBytes, std::int64_t(256000));
        r = await<ConfigResult>([&](QObject *c, auto done) {
            client.setSettings({{key, "1000"}}, Confirmation::Confirmed, c, done);
        });
        QVERIFY(r.ok());
        QCOMPARE(f.runtime->engine().policy().area(Area::Admin).maxSessionSizeBytes, std::int64_t(1000));

        // Invalid: typed error, nothing applied (all or nothing).
        r = await<ConfigResult>([&](QObject *c, auto done) {
            client.setSettings({{"session/admin/idle_timeout", "30"}, {"session/admin/max_timeout", "abc"}},
                               Confirmation::NotConfirmed, c, done);
        });
        QCOMPARE(r.error, ConfigError::NotANumber);
        QCOMPARE(r.path, std::string("session/admin/max_timeout"));
        QCOMPARE(f.runtime->engine().policy().area(Area::Admin).idleTimeoutMinutes, std::int64_t(15));

        // A rule across keys is checked by the service: 422, typed, nothing applied.
        r = await<ConfigResult>([&](QObject *c, auto done) {
            client.setSettings(
                {{"session/admin/enable_max_timeout", "1"}, {"session/admin/max_timeout", "5"}},
                Confirmation::NotConfirmed, c, done);
        });
        QCOMPARE(r.error, ConfigError::MaxTimeoutBelowIdleTimeout);
        QVERIFY(!f.runtime->engine().policy().area(Area::Admin).maxTimeoutEnabled);

        const Policy p = await<Policy>([&](QObject *c, auto done) { client.policy(c, done); });
        QVERIFY(p == f.runtime->engine().policy());
    }

    void eventsAndBlockedAddresses()
    {
        ServiceFixture f(QJsonObject{{QStringLiteral("guard_failure_threshold"), 3}});
        f.create("carol");
        for (int i = 0; i < 3; ++i)
            f.request(
                "GET", "/v1/session",
                {{"Authorization", "Session " + SessionToken::generate(OpenSslRandom::instance())->text()},
                 {"X-Real-IP", "203.0.113.99"}});
        RemoteAdminClient client(urlOf(f), QString::fromStdString(f.service->adminToken()));
        const auto events =
            await<std::vector<SessionEvent>>([&](QObject *c, auto done) { client.events(0, 1000, c, done); });
        QVERIFY(!events.empty());
        QCOMPARE(events.front().type, EventType::Created);
        QCOMPARE(events.front().user, std::string("carol"));
        QVERIFY(std::any_of(events.begin(), events.end(), [](const SessionEvent &e) {
            return e.type == EventType::IpBlocked && e.clientIp == "203.0.113.99";
        }));
        // Paging: nothing after the last sequence.
        QVERIFY(await<std::vector<SessionEvent>>([&](QObject *c, auto done) {
                    client.events(events.back().sequence, 1000, c, done);
                }).empty());

        auto blocked = await<std::vector<BlockedAddress>>(
            [&](QObject *c, auto done) { client.blockedAddresses(c, done); });
        QCOMPARE(blocked.size(), std::size_t(1));
        QCOMPARE(blocked.front().ip, std::string("203.0.113.99"));
        QCOMPARE(blocked.front().failures, std::uint64_t(3));
        QVERIFY(await<bool>([&](QObject *c, auto done) { client.unblockAddress("203.0.113.99", c, done); }));
        QVERIFY(!await<bool>([&](QObject *c, auto done) { client.unblockAddress("203.0.113.99", c, done); }));
        QVERIFY(f.service->guard().blocked().empty());
    }

    void changesAreNotifiedByPolling()
    {
        ServiceFixture f;
        RemoteAdminClient client(urlOf(f), QString::fromStdString(f.service->adminToken()), nullptr, 50);
        QTRY_VERIFY(client.serviceStatus().running);
        QCOMPARE(client.serviceStatus().dataDir, f.runtime->dataDirectory().root());
        QVERIFY(client.serviceStatus().remote);
        QSignalSpy changed(&client, &AdminClient::changed);
        f.create("dave");
        QTRY_VERIFY(changed.count() >= 1);
    }

    void wrongTokenOrAddressIsRefusedAndNothingSwitches()
    {
        ServiceFixture f;
        EmbeddedAdminClient local(*f.runtime);
        AdminConnection connection(&local);
        const QString before = connection.describe();

        QString error = await<QString>([&](QObject *c, auto done) {
            connection.connectRemote(urlOf(f), QStringLiteral("not-the-token"), c, done);
        });
        QVERIFY2(error.contains(QStringLiteral("401")), qPrintable(error));
        QVERIFY(!connection.isRemote());
        QCOMPARE(connection.describe(), before);

        // Nobody listens on port 1 of the loopback: a network error, reported, nothing switches.
        error = await<QString>([&](QObject *c, auto done) {
            connection.connectRemote(QUrl(QStringLiteral("http://127.0.0.1:1")), QStringLiteral("x"), c,
                                     done);
        });
        QVERIFY(!error.isEmpty());
        QVERIFY(!connection.isRemote());
        error = await<QString>([&](QObject *c, auto done) {
            connection.connectRemote(QUrl(QStringLiteral("ftp://127.0.0.1")), QStringLiteral("x"), c, done);
        });
        QVERIFY(error.contains(QStringLiteral("http://")));

        QSignalSpy changed(&connection, &AdminClient::changed);
        error = await<QString>([&](QObject *c, auto done) {
            connection.connectRemote(urlOf(f), QString::fromStdString(f.service->adminToken()), c, done);
        });
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QVERIFY(connection.isRemote());
        QVERIFY(connection.describe().startsWith(QStringLiteral("Remote service")));
        QVERIFY(changed.count() >= 1);
        connection.useLocal();
        QCOMPARE(connection.describe(), before);
    }
};

QTEST_GUILESS_MAIN(TestRemoteAdmin)
#include "tst_remoteadmin.moc"
