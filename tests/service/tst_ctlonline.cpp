// hourglass-ctl against a running hourglassd: the CLI finds the service through service.json and
// admin.token and administers it over the admin API; the changes are live at once.

#include "HttpServer.h"
#include "RawHttp.h"
#include "SessionId.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>

using namespace hourglass;

class TestCtlOnline final : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QProcess m_daemon;
    std::uint16_t m_port = 0;

    struct Ran
    {
        int exitCode = -1;
        QString out, err;
    };

    Ran ctl(const QStringList &args)
    {
        QProcess p;
        p.start(QStringLiteral(HOURGLASS_CTL),
                QStringList{QStringLiteral("--data-dir"), m_dir.path()} + args);
        if (!p.waitForFinished(60000))
            qFatal("hourglass-ctl hung");
        return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()),
                QString::fromUtf8(p.readAllStandardError())};
    }

    std::string createSession(const std::string &user, const std::string &area = "storefront")
    {
        const auto r = test::rawRequest(m_port, "POST", "/v1/sessions", {},
                                        R"({"user":")" + user + R"(","area":")" + area + R"("})");
        return QJsonDocument::fromJson(QByteArray::fromStdString(r.body))
            .object()
            .value(QStringLiteral("id"))
            .toString()
            .toStdString();
    }

    int validate(const std::string &id)
    {
        return test::rawRequest(m_port, "GET", "/v1/session", {{"Authorization", "Session " + id}}).status;
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_daemon.start(QStringLiteral(HOURGLASS_DAEMON), {QStringLiteral("--data-dir"), m_dir.path(),
                                                          QStringLiteral("--port"), QStringLiteral("0")});
        QVERIFY(m_daemon.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(m_dir.filePath(QStringLiteral("service.json"))), 15000);
        QFile info(m_dir.filePath(QStringLiteral("service.json")));
        QVERIFY(info.open(QIODevice::ReadOnly));
        const QJsonObject described = QJsonDocument::fromJson(info.readAll()).object();
        const QUrl url(described.value(QStringLiteral("url")).toString());
        QCOMPARE(url.host(), QStringLiteral("127.0.0.1")); // loopback by default
        // The daemon says how many I/O threads it runs (bench/run gives nginx as many workers).
        QCOMPARE(described.value(QStringLiteral("io_threads")).toInt(), http::HttpServer::defaultIoThreads());
        m_port = std::uint16_t(url.port());
    }

    void cleanupTestCase()
    {
        m_daemon.terminate();
        QVERIFY(m_daemon.waitForFinished(15000));
        QCOMPARE(m_daemon.exitCode(), 0); // clean shutdown on SIGTERM
        QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("service.json"))));
    }

    void configSetIsLiveAndValidated()
    {
        Ran r = ctl({QStringLiteral("config:set"), QStringLiteral("session/storefront/idle_timeout"),
                     QStringLiteral("20")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out.trimmed(), QStringLiteral("session/storefront/idle_timeout = 20"));
        const std::string id = createSession("alice");
        const auto info =
            test::rawRequest(m_port, "GET", "/v1/session", {{"Authorization", "Session " + id}});
        const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(info.body)).object();
        QCOMPARE(o.value(QStringLiteral("idle_deadline_ms")).toInteger() -
                     o.value(QStringLiteral("last_activity_ms")).toInteger(),
                 qint64(20 * 60 * 1000));
        r = ctl({QStringLiteral("config:set"), QStringLiteral("system/security/max_session_size_admin"),
                 QStringLiteral("1000")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains(QStringLiteral("--yes")));
        QCOMPARE(ctl({QStringLiteral("config:get"), QStringLiteral("system/security/max_session_size_admin")})
                     .out.trimmed(),
                 QStringLiteral("256000"));
        r = ctl({QStringLiteral("config:set"), QStringLiteral("system/security/max_session_size_admin"),
                 QStringLiteral("1000"), QStringLiteral("--yes")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(ctl({QStringLiteral("config:get"), QStringLiteral("system/security/max_session_size_admin")})
                     .out.trimmed(),
                 QStringLiteral("1000"));
        r = ctl({QStringLiteral("config:set"), QStringLiteral("session/admin/idle_timeout"),
                 QStringLiteral("soon")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains(QStringLiteral("not a whole number")));
        // A cross-key conflict is refused by the service with the core's message.
        QCOMPARE(ctl({QStringLiteral("config:set"), QStringLiteral("session/admin/max_timeout"),
                      QStringLiteral("5")})
                     .exitCode,
                 0);
        r = ctl({QStringLiteral("config:set"), QStringLiteral("session/admin/enable_max_timeout"),
                 QStringLiteral("yes")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("must not be below")), qPrintable(r.err));
        QCOMPARE(ctl({QStringLiteral("config:get"), QStringLiteral("session/admin/enable_max_timeout")})
                     .out.trimmed(),
                 QStringLiteral("0"));
    }

    void sessionsCanBeListedRevokedAndLoggedOut()
    {
        const std::string a1 = createSession("bob"), a2 = createSession("bob", "admin"),
                          a3 = createSession("bob");
        Ran r = ctl({QStringLiteral("sessions:list"), QStringLiteral("--user"), QStringLiteral("bob")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QStringLiteral("3 of 3 sessions")));
        QVERIFY(r.out.contains(QString::fromStdString(sha256(a1).toHex())));
        r = ctl({QStringLiteral("sessions:revoke"), QString::fromStdString(sha256(a1).toHex())});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(validate(a1), 401);
        QCOMPARE(
            ctl({QStringLiteral("sessions:revoke"), QString::fromStdString(sha256(a1).toHex())}).exitCode, 1);
        r = ctl({QStringLiteral("user:logout"), QStringLiteral("bob"), QStringLiteral("--except"),
                 QString::fromStdString(sha256(a3).toHex())});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QStringLiteral("ended 1 session(s) of bob")));
        QCOMPARE(validate(a2), 401);
        QCOMPARE(validate(a3), 200);
    }

    void storeCheckNeedsExclusiveAccess()
    {
        const Ran r = ctl({QStringLiteral("store:check")});
        QCOMPARE(r.exitCode, 3);
        QVERIFY(r.err.contains(QStringLiteral("hourglassd")));
    }
};

QTEST_GUILESS_MAIN(TestCtlOnline)
#include "tst_ctlonline.moc"
