#include "ConfigFile.h"
#include "ManualClock.h"
#include "Runtime.h"
#include "ThreadNames.h"

#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <random>
#include <set>

using namespace hourglass;

namespace {

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

struct Ran
{
    int exitCode = -1;
    QString out;
    QString err;
};

Ran ctl(const QString &dataDir, const QStringList &args)
{
    QProcess p;
    p.start(QStringLiteral(HOURGLASS_CTL), QStringList{QStringLiteral("--data-dir"), dataDir} + args);
    if (!p.waitForFinished(60000))
        qFatal("hourglass-ctl did not finish");
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
            QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

} // namespace

class TestRuntime final : public QObject
{
    Q_OBJECT

    std::unique_ptr<Runtime> open(const QString &dir, Runtime::OpenError *code = nullptr,
                                  QString *error = nullptr)
    {
        Runtime::Options o;
        o.dataDir = dir;
        o.maintenance = false;
        Runtime::OpenError c;
        QString e;
        auto rt = Runtime::open(o, code ? code : &c, error ? error : &e);
        return rt;
    }

private Q_SLOTS:
    void dataDirectoryIsExclusive()
    {
        QTemporaryDir dir;
        auto first = open(dir.path());
        QVERIFY(first);
        Runtime::OpenError code;
        QString error;
        QVERIFY(!open(dir.path(), &code, &error));
        QCOMPARE(code, Runtime::OpenError::Locked);
        QVERIFY(error.contains(dir.path()));
        first.reset();
        QVERIFY(open(dir.path()));
        QVERIFY(!(QFile::permissions(dir.path()) & QFileDevice::ReadOther));
    }

    void backgroundThreadsAreNamed()
    {
        QVERIFY(!test::threadNames().count("hg-store"));
        QTemporaryDir dir;
        Runtime::Options o;
        o.dataDir = dir.path();
        Runtime::OpenError code;
        QString error;
        auto rt = Runtime::open(o, &code, &error);
        QVERIFY2(rt, qPrintable(error));
        const std::set<std::string> names = test::threadNames();
        for (const char *name : {"hg-store", "hg-eventlog", "hg-maintenance"})
            QVERIFY2(names.count(name), name);
        rt.reset();
        QVERIFY(!test::threadNames().count("hg-store"));
    }

    void settingsPersistAndApply()
    {
        QTemporaryDir dir;
        std::string token;
        {
            auto rt = open(dir.path());
            token = rt->engine().create({"alice", Area::Admin, false, "127.0.0.1", "ua"}).token;
            QVERIFY(rt->setSetting("session/admin/idle_timeout", "45", Confirmation::NotConfirmed).ok());
            QCOMPARE(rt->engine().policy().area(Area::Admin).idleTimeoutMinutes, 45);
            const SessionInfo info = rt->engine().validate(token).info; // one reading, one instant
            QCOMPARE(info.idleDeadlineMs - info.lastActivityMs, 45 * kMsPerMinute);
        }
        auto rt = open(dir.path());
        QCOMPARE(rt->engine().policy().area(Area::Admin).idleTimeoutMinutes, 45);
        QCOMPARE(rt->engine().validate(token).error, SessionError::None);
    }

    void badSettingChangesNothing()
    {
        QTemporaryDir dir;
        auto rt = open(dir.path());
        QVERIFY(rt->setSetting("session/admin/idle_timeout", "20", Confirmation::NotConfirmed).ok());
        const QByteArray before = readAll(rt->dataDirectory().configFile());
        QCOMPARE(rt->setSetting("session/admin/idle_timeout", "-1", Confirmation::NotConfirmed).error,
                 ConfigError::Negative);
        QCOMPARE(rt->setSetting("system/security/max_session_size_admin", "1000", Confirmation::NotConfirmed)
                     .error,
                 ConfigError::BelowRecommendedMinimum);
        QCOMPARE(rt->setSetting("no/such/key", "1", Confirmation::NotConfirmed).error,
                 ConfigError::UnknownKey);
        QCOMPARE(readAll(rt->dataDirectory().configFile()), before);
        QCOMPARE(rt->engine().policy().area(Area::Admin).idleTimeoutMinutes, 20);
        QCOMPARE(rt->engine().policy().area(Area::Admin).maxSessionSizeBytes, 256000);
    }

    void damagedConfigRefusesToStart()
    {
        QTemporaryDir dir;
        QFile f(dir.filePath(QStringLiteral("hourglass.json")));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{ \"schema\": 2, \"settings\": { ");
        f.close();
        Runtime::OpenError code;
        QString error;
        QVERIFY(!open(dir.path(), &code, &error));
        QCOMPARE(code, Runtime::OpenError::Config);
        QVERIFY(error.contains(dir.filePath(QStringLiteral("hourglass.json"))));
        QCOMPARE(readAll(dir.filePath(QStringLiteral("hourglass.json"))),
                 QByteArray("{ \"schema\": 2, \"settings\": { "));
    }

    void eventsReachTheLogUnderVarLog()
    {
        QTemporaryDir dir;
        {
            auto rt = open(dir.path());
            const std::string t = rt->engine().create({"root", Area::Admin, false, "127.0.0.1", "ua"}).token;
            QCOMPARE(rt->engine().setData(t, std::string(300000, 'x')).error, SessionError::SizeExceeded);
        }
        const QByteArray log = readAll(dir.filePath(QStringLiteral("var/log/hourglass-events.log")));
        QVERIFY(log.contains("\"type\":\"created\""));
        QVERIFY(log.contains("\"type\":\"size-exceeded\""));
        QVERIFY(log.contains("exceeds limit of 256000 bytes"));
    }

    void initialConfigSeedsAnEmptyDataDirectoryOnce()
    {
        QTemporaryDir dir, etc;
        const QString initial = etc.filePath(QStringLiteral("hourglass.json"));
        const QString logDir = etc.filePath(QStringLiteral("log"));
        QFile f(initial);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"schema": 2, "settings": {"session/admin/idle_timeout": 33}})");
        f.close();
        Runtime::Options o;
        o.dataDir = dir.filePath(QStringLiteral("data"));
        o.maintenance = false;
        o.initialConfig = initial;
        o.logDir = logDir;
        Runtime::OpenError code;
        QString error;
        {
            auto rt = Runtime::open(o, &code, &error);
            QVERIFY2(rt, qPrintable(error));
            QCOMPARE(rt->engine().policy().area(Area::Admin).idleTimeoutMinutes, std::int64_t(33));
            QVERIFY(rt->setSetting("session/admin/idle_timeout", "44", Confirmation::NotConfirmed).ok());
            rt->engine().create({"root", Area::Admin, false, "127.0.0.1", "ua"});
        }
        // The data directory's copy is the one in force from now on; the initial file is untouched.
        QVERIFY(readAll(logDir + QStringLiteral("/hourglass-events.log")).contains("\"type\":\"created\""));
        QVERIFY(!QFile::exists(o.dataDir + QStringLiteral("/var/log/hourglass-events.log")));
        {
            auto rt = Runtime::open(o, &code, &error);
            QVERIFY2(rt, qPrintable(error));
            QCOMPARE(rt->engine().policy().area(Area::Admin).idleTimeoutMinutes, std::int64_t(44));
        }
        QVERIFY(readAll(initial).contains("33"));

        // A broken initial configuration: a clear error, and nothing written to the data directory.
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(R"({"schema": 2, "settings": {"session/admin/idle_timeout": -1}})");
        f.close();
        o.dataDir = dir.filePath(QStringLiteral("fresh"));
        QVERIFY(!Runtime::open(o, &code, &error));
        QCOMPARE(code, Runtime::OpenError::Config);
        QVERIFY2(error.contains(initial), qPrintable(error));
        QVERIFY(!QFile::exists(o.dataDir + QStringLiteral("/hourglass.json")));
    }

    // ---- hourglass-ctl -------------------------------------------------------------------------

    void ctlConfigSetGetShow()
    {
        QTemporaryDir dir;
        Ran r = ctl(dir.path(),
                    {QStringLiteral("config:set"), QStringLiteral("system/security/max_session_size_admin"),
                     QStringLiteral("300000")});
        QCOMPARE(r.exitCode, 0);
        r = ctl(dir.path(),
                {QStringLiteral("config:get"), QStringLiteral("system/security/max_session_size_admin")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out.trimmed(), QStringLiteral("300000"));
        r = ctl(dir.path(), {QStringLiteral("config:show")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(
            QStringLiteral("system/security/max_session_size_admin = 300000 bytes  (default 256000)")));
        QVERIFY(r.out.contains(QStringLiteral("authenticationSessions/authSessionsLimit = 300")));
        // The service sees what the CLI wrote.
        auto rt = open(dir.path());
        QCOMPARE(rt->engine().policy().area(Area::Admin).maxSessionSizeBytes, 300000);
    }

    void ctlRefusesBadValuesAndChangesNothing_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        const QString size = QStringLiteral("system/security/max_session_size_admin");
        QTest::newRow("letters") << QStringList{size, QStringLiteral("lots")}
                                 << QStringLiteral("not a whole number");
        QTest::newRow("negative") << QStringList{size, QStringLiteral("-1")}
                                  << QStringLiteral("must not be negative");
        QTest::newRow("overflow") << QStringList{size, QStringLiteral("99999999999999999999")}
                                  << QStringLiteral("too large");
        QTest::newRow("below minimum")
            << QStringList{size, QStringLiteral("1000")} << QStringLiteral("--yes");
        QTest::newRow("unknown") << QStringList{QStringLiteral("system/security/nope"), QStringLiteral("1")}
                                 << QStringLiteral("unknown configuration path");
        QTest::newRow("max below idle")
            << QStringList{QStringLiteral("session/admin/enable_max_timeout"), QStringLiteral("1")}
            << QStringLiteral("must not be below");
    }

    void ctlRefusesBadValuesAndChangesNothing()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        QTemporaryDir dir;
        QCOMPARE(ctl(dir.path(), {QStringLiteral("config:set"), QStringLiteral("session/admin/max_timeout"),
                                  QStringLiteral("5")})
                     .exitCode,
                 0);
        const QByteArray before = readAll(dir.filePath(QStringLiteral("hourglass.json")));
        const Ran r = ctl(dir.path(), QStringList{QStringLiteral("config:set")} + args);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(message), qPrintable(r.err));
        QVERIFY(r.err.contains(QStringLiteral("Nothing was changed")));
        QCOMPARE(readAll(dir.filePath(QStringLiteral("hourglass.json"))), before);
    }

    void ctlYesConfirmsALowSizeLimit()
    {
        QTemporaryDir dir;
        const QString key = QStringLiteral("system/security/max_session_size_storefront");
        QCOMPARE(ctl(dir.path(),
                     {QStringLiteral("config:set"), key, QStringLiteral("1000"), QStringLiteral("--yes")})
                     .exitCode,
                 0);
        QCOMPARE(ctl(dir.path(), {QStringLiteral("config:get"), key}).out.trimmed(), QStringLiteral("1000"));
        // The documented recovery: reset to the default from the command line.
        QCOMPARE(ctl(dir.path(), {QStringLiteral("config:set"), key, QStringLiteral("256000")}).exitCode, 0);
        QCOMPARE(ctl(dir.path(), {QStringLiteral("config:get"), key}).out.trimmed(),
                 QStringLiteral("256000"));
    }

    void ctlSessionsListRevokeLogout()
    {
        QTemporaryDir dir;
        std::string alice1, alice2, alice3, bob;
        {
            auto rt = open(dir.path());
            alice1 = rt->engine().create({"alice", Area::Storefront, false, "198.51.100.1", "ua"}).token;
            alice2 = rt->engine().create({"alice", Area::Admin, false, "198.51.100.2", "ua"}).token;
            alice3 = rt->engine().create({"alice", Area::Storefront, false, "198.51.100.3", "ua"}).token;
            bob = rt->engine().create({"bob", Area::Storefront, false, "198.51.100.4", "ua"}).token;
        }
        Ran r = ctl(dir.path(), {QStringLiteral("sessions:list")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QStringLiteral("4 of 4 sessions")));
        QVERIFY(r.out.contains(QString::fromStdString(sha256(bob).toHex())));
        QVERIFY(!r.out.contains(QString::fromStdString(bob))); // never the ID itself
        r = ctl(dir.path(),
                {QStringLiteral("sessions:list"), QStringLiteral("--user"), QStringLiteral("alice"),
                 QStringLiteral("--area"), QStringLiteral("storefront")});
        QVERIFY(r.out.contains(QStringLiteral("2 of 2 sessions")));
        r = ctl(dir.path(), {QStringLiteral("sessions:revoke"), QString::fromStdString(sha256(bob).toHex())});
        QCOMPARE(r.exitCode, 0);
        r = ctl(dir.path(), {QStringLiteral("sessions:revoke"), QString::fromStdString(sha256(bob).toHex())});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(ctl(dir.path(), {QStringLiteral("sessions:revoke"), QStringLiteral("xyz")}).exitCode, 2);
        r = ctl(dir.path(), {QStringLiteral("user:logout"), QStringLiteral("alice"),
                             QStringLiteral("--except"), QString::fromStdString(sha256(alice1).toHex())});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QStringLiteral("ended 2 session(s) of alice")));
        auto rt = open(dir.path());
        QCOMPARE(rt->engine().validate(alice1).error, SessionError::None);
        QCOMPARE(rt->engine().validate(alice2).error, SessionError::Unknown);
        QCOMPARE(rt->engine().validate(alice3).error, SessionError::Unknown);
        QCOMPARE(rt->engine().validate(bob).error, SessionError::Unknown);
    }

    void ctlReportsARunningOwner()
    {
        QTemporaryDir dir;
        auto rt = open(dir.path());
        const Ran r = ctl(dir.path(), {QStringLiteral("config:set"),
                                       QStringLiteral("session/admin/idle_timeout"), QStringLiteral("20")});
        QCOMPARE(r.exitCode, 3);
        QVERIFY2(r.err.contains(QStringLiteral("in use")), qPrintable(r.err));
        QCOMPARE(ctl(dir.path(), {QStringLiteral("sessions:list")}).exitCode, 3);
    }

    void ctlUsageErrors()
    {
        QTemporaryDir dir;
        QCOMPARE(ctl(dir.path(), {}).exitCode, 2);
        QCOMPARE(ctl(dir.path(), {QStringLiteral("frobnicate")}).exitCode, 2);
        QCOMPARE(ctl(dir.path(), {QStringLiteral("config:set"), QStringLiteral("x")}).exitCode, 2);
        QCOMPARE(ctl(dir.path(),
                     {QStringLiteral("sessions:list"), QStringLiteral("--area"), QStringLiteral("moon")})
                     .exitCode,
                 2);
    }

    // ---- crash safety ---------------------------------------------------------------------------

    void killNineLosesNothingAcknowledged()
    {
        QTemporaryDir dir;
        std::set<std::string> created, revoked, destroyRequested;
        std::mt19937 rng(20261123);
        const int cycles = qEnvironmentVariableIntValue("HOURGLASS_CRASH_CYCLES") > 0
                               ? qEnvironmentVariableIntValue("HOURGLASS_CRASH_CYCLES")
                               : 20;
        for (int cycle = 0; cycle < cycles; ++cycle) {
            QProcess p;
            p.start(QStringLiteral(HOURGLASS_CRASH_CREATOR), {dir.path()});
            QVERIFY(p.waitForStarted());
            QVERIFY(p.waitForReadyRead(30000));
            // Let it run between 50 and 400 ms after it is ready, then kill it without warning.
            QTest::qWait(50 + int(rng() % 350));
            ::kill(pid_t(p.processId()), SIGKILL);
            QVERIFY(p.waitForFinished(30000));
            const QList<QByteArray> lines = p.readAllStandardOutput().split('\n');
            QVERIFY2(lines.value(0).startsWith("READY") || cycle > 0, lines.value(0).constData());
            for (const QByteArray &line : lines) {
                if (line.startsWith("C "))
                    created.insert(line.mid(2).toStdString());
                else if (line.startsWith("R "))
                    revoked.insert(line.mid(2).toStdString());
                else if (line.startsWith("D "))
                    destroyRequested.insert(line.mid(2).toStdString());
            }
        }
        QVERIFY2(created.size() > 100, qPrintable(QString::number(created.size())));
        Runtime::Options o;
        o.dataDir = dir.path();
        o.maintenance = false;
        Runtime::OpenError code;
        QString error;
        auto rt = Runtime::open(o, &code, &error); // the stale lock of a killed process is taken over
        QVERIFY2(rt, qPrintable(error));
        std::size_t alive = 0, inFlight = 0;
        for (const std::string &token : created) {
            const SessionError e = rt->engine().validate(token, SessionEngine::Touch::No).error;
            if (revoked.count(token)) {
                QCOMPARE(e, SessionError::Unknown); // acknowledged revocation: gone for good
            } else if (destroyRequested.count(token)) {
                // Killed while the destruction was in flight: either outcome is allowed.
                QVERIFY(e == SessionError::None || e == SessionError::Unknown);
                inFlight += e == SessionError::None;
            } else {
                QCOMPARE(e, SessionError::None); // acknowledged creation: must validate
                ++alive;
            }
        }
        qInfo("%d kill -9 cycles: %zu acknowledged creations, %zu acknowledged revocations, all intact",
              cycles, created.size(), revoked.size());
        QCOMPARE(alive, created.size() - destroyRequested.size());
    }
};

QTEST_GUILESS_MAIN(TestRuntime)
#include "tst_runtime.moc"
