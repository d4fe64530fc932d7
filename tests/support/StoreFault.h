#pragma once

#include "ServiceFixture.h"
#include "SqliteStore.h"

#include <QTest>

namespace hourglass::test {

// A store that cannot write under the running service (disk full, read-only data directory):
// what the fault tests ask while it lasts, and what they must see then and afterwards.
struct DuringStoreFault
{
    RawResponse created;
    RawResponse loggedOut;
    RawResponse validated;
    QJsonObject status;
};

// While the fault lasts: create a session, log `doomed` out, validate `kept`, read the status.
inline DuringStoreFault askDuringStoreFault(ServiceFixture &f, const std::string &kept,
                                            const std::string &doomed)
{
    DuringStoreFault d;
    d.created = f.request("POST", "/v1/sessions", {}, R"({"user":"carol","client_ip":"198.51.100.20"})");
    d.loggedOut = f.request("DELETE", "/v1/session", {{"Authorization", "Session " + doomed}});
    d.validated = f.request("GET", "/v1/session", {{"Authorization", "Session " + kept}});
    d.status = ServiceFixture::json(f.admin("GET", "/admin/v1/status"));
    return d;
}

// Changes refused and never acknowledged, reads served from memory, the store reported degraded
// with the system's reason. Callers check QTest::currentTestFailed() afterwards.
inline void verifyRefusedDuringStoreFault(const DuringStoreFault &d, const QString &reason)
{
    QCOMPARE(d.created.status, 503);
    QCOMPARE(ServiceFixture::json(d.created).value(QStringLiteral("error")).toString(),
             QStringLiteral("store_unavailable"));
    QVERIFY(d.created.header("set-cookie") == std::nullopt); // nothing issued
    QCOMPARE(d.loggedOut.status, 503);                       // never reported as done
    QCOMPARE(d.validated.status, 200);                       // served from memory
    QVERIFY(d.status.value(QStringLiteral("store_degraded")).toBool());
    const QString error = d.status.value(QStringLiteral("store_error")).toString();
    QVERIFY2(error.contains(QStringLiteral("sessions.db")) && error.contains(reason), qPrintable(error));
}

// Once writes succeed again: the next change works, the store is healthy, the logout refused
// during the fault has still ended `doomed` (fail closed, and the store wrote the removal later),
// and nothing was damaged.
inline void verifyRecoveredFromStoreFault(ServiceFixture &f, const std::string &doomed)
{
    const std::string after = f.create("dave");
    QCOMPARE(f.request("GET", "/v1/session", {{"Authorization", "Session " + after}}).status, 200);
    QVERIFY(!ServiceFixture::json(f.admin("GET", "/admin/v1/status"))
                 .value(QStringLiteral("store_degraded"))
                 .toBool());
    QCOMPARE(f.request("GET", "/v1/session", {{"Authorization", "Session " + doomed}}).status, 401);
    QVERIFY(f.runtime->store().sync());
    QCOMPARE(SqliteStore::integrityCheck(f.runtime->dataDirectory().storeFile().toStdString()),
             std::string("ok"));
}

} // namespace hourglass::test
