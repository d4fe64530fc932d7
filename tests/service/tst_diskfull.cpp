// The running service when its disk fills up: changes are refused with a clear status (never
// acknowledged), sessions already there keep validating from memory, status reports the store as
// degraded and why, the store file is not damaged, and everything resumes by itself once writes
// succeed again. The full disk is RLIMIT_FSIZE on this process (the store's writer runs here).

#include "ServiceFixture.h"
#include "SqliteStore.h"

#include <QTest>

#include <csignal>
#include <sys/resource.h>

using namespace hourglass;
using test::ServiceFixture;

class TestDiskFull final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void aFullDiskDegradesWithoutLosingOrDamagingAnything()
    {
        ServiceFixture f;
        const std::string before = f.create("alice");
        const std::string doomed = f.create("bob");
        QVERIFY(f.runtime->store().sync());

        std::signal(SIGXFSZ, SIG_IGN);
        rlimit saved{};
        getrlimit(RLIMIT_FSIZE, &saved);
        rlimit tiny = saved;
        tiny.rlim_cur = 1;
        QCOMPARE(setrlimit(RLIMIT_FSIZE, &tiny), 0);

        const auto created =
            f.request("POST", "/v1/sessions", {}, R"({"user":"carol","client_ip":"198.51.100.20"})");
        const auto loggedOut = f.request("DELETE", "/v1/session", {{"Authorization", "Session " + doomed}});
        const auto validated = f.request("GET", "/v1/session", {{"Authorization", "Session " + before}});
        const QJsonObject status = ServiceFixture::json(f.admin("GET", "/admin/v1/status"));
        setrlimit(RLIMIT_FSIZE, &saved);

        QCOMPARE(created.status, 503);
        QCOMPARE(ServiceFixture::json(created).value(QStringLiteral("error")).toString(),
                 QStringLiteral("store_unavailable"));
        QVERIFY(created.header("set-cookie") == std::nullopt); // nothing issued
        QCOMPARE(loggedOut.status, 503);                       // never reported as done
        QCOMPARE(validated.status, 200);                       // served from memory
        QVERIFY(status.value(QStringLiteral("store_degraded")).toBool());
        // With the system's reason (here the file size limit standing in for a full disk).
        const QString error = status.value(QStringLiteral("store_error")).toString();
        QVERIFY2(error.contains(QStringLiteral("sessions.db")) &&
                     error.contains(QStringLiteral("File too large")),
                 qPrintable(error));

        // Space again: the next change succeeds and the store is healthy; nothing was damaged.
        const std::string after = f.create("dave");
        QCOMPARE(f.request("GET", "/v1/session", {{"Authorization", "Session " + after}}).status, 200);
        QVERIFY(!ServiceFixture::json(f.admin("GET", "/admin/v1/status"))
                     .value(QStringLiteral("store_degraded"))
                     .toBool());
        // The refused logout ended bob's session in memory (fail closed); it stays ended.
        QCOMPARE(f.request("GET", "/v1/session", {{"Authorization", "Session " + doomed}}).status, 401);
        QVERIFY(f.runtime->store().sync());
        QCOMPARE(SqliteStore::integrityCheck(f.runtime->dataDirectory().storeFile().toStdString()),
                 std::string("ok"));
    }
};

QTEST_GUILESS_MAIN(TestDiskFull)
#include "tst_diskfull.moc"
