// kill -9 of hourglassd under HTTP create / logout load, several times in a row on one data
// directory: every session whose creation was acknowledged (201) is there after each restart, and
// every logout that was acknowledged ({"destroyed":true}) stays done. Nothing is lost, nothing
// comes back.

#include "RawHttp.h"
#include "SessionId.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

using namespace hourglass;

class TestCrashLoop final : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QProcess m_daemon;
    std::uint16_t m_port = 0;
    std::string m_token;

    bool start()
    {
        QFile::remove(m_dir.filePath(QStringLiteral("service.json"))); // left behind by kill -9
        m_daemon.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        m_daemon.setStandardOutputFile(QProcess::nullDevice());
        m_daemon.start(QStringLiteral(HOURGLASS_DAEMON), {QStringLiteral("--data-dir"), m_dir.path(),
                                                          QStringLiteral("--port"), QStringLiteral("0")});
        if (!m_daemon.waitForStarted())
            return false;
        QElapsedTimer timer;
        timer.start();
        while (!QFile::exists(m_dir.filePath(QStringLiteral("service.json")))) {
            if (timer.elapsed() > 30000 || m_daemon.state() == QProcess::NotRunning)
                return false;
            QTest::qWait(10);
        }
        QTest::qWait(20); // the file is written atomically; give the reader a settled view
        QFile info(m_dir.filePath(QStringLiteral("service.json")));
        QFile token(m_dir.filePath(QStringLiteral("admin.token")));
        if (!info.open(QIODevice::ReadOnly) || !token.open(QIODevice::ReadOnly))
            return false;
        m_port = std::uint16_t(
            QUrl(QJsonDocument::fromJson(info.readAll()).object().value(QStringLiteral("url")).toString())
                .port());
        m_token = token.readAll().trimmed().toStdString();
        return m_port != 0;
    }

    // Every session hash the service holds, through the admin API (pages of 1000).
    std::set<std::string> liveHashes()
    {
        std::set<std::string> hashes;
        for (int offset = 0;; offset += 1000) {
            const auto r = test::rawRequest(m_port, "GET",
                                            "/admin/v1/sessions?limit=1000&offset=" + std::to_string(offset),
                                            {{"Authorization", "Bearer " + m_token}});
            const QJsonObject page = QJsonDocument::fromJson(QByteArray::fromStdString(r.body)).object();
            const QJsonArray rows = page.value(QStringLiteral("sessions")).toArray();
            for (const QJsonValue &row : rows)
                hashes.insert(row.toObject().value(QStringLiteral("id_hash")).toString().toStdString());
            if (rows.size() < 1000)
                break;
        }
        return hashes;
    }

private Q_SLOTS:
    void acknowledgedChangesSurviveRepeatedKillNine()
    {
        std::mutex mutex;
        std::vector<std::string> created; // acknowledged, not logged out
        std::set<std::string> loggedOut;  // acknowledged logouts (hashes)
        std::size_t unacknowledged = 0;   // requests cut by the kill: may or may not have happened
        constexpr int kRounds = 5;
        for (int round = 0; round < kRounds; ++round) {
            QVERIFY2(start(), "hourglassd did not start");
            // The state after the previous kill: everything acknowledged, exactly.
            const std::set<std::string> live = liveHashes();
            for (const std::string &id : created)
                QVERIFY2(live.count(SessionToken::parse(id)->hash().toHex()),
                         "an acknowledged session was lost");
            for (const std::string &hash : loggedOut)
                QVERIFY2(!live.count(hash), "an acknowledged logout was undone");

            std::atomic<bool> stop{false};
            std::atomic<int> counter{round * 100000};
            const auto creator = [&] {
                while (!stop) {
                    const int n = counter++;
                    const std::string ip = "10." + std::to_string(n / 65536 % 256) + "." +
                                           std::to_string(n / 256 % 256) + "." + std::to_string(n % 256);
                    const auto r = test::rawRequest(m_port, "POST", "/v1/sessions", {},
                                                    R"({"user":"u)" + std::to_string(n % 500) +
                                                        R"(","client_ip":")" + ip + R"("})");
                    std::lock_guard lock(mutex);
                    if (r.status == 201) {
                        created.push_back(QJsonDocument::fromJson(QByteArray::fromStdString(r.body))
                                              .object()
                                              .value(QStringLiteral("id"))
                                              .toString()
                                              .toStdString());
                    } else {
                        ++unacknowledged;
                    }
                }
            };
            const auto loggerOut = [&] {
                while (!stop) {
                    std::string id;
                    {
                        std::lock_guard lock(mutex);
                        if (created.size() > 20) {
                            id = created.back();
                            created.pop_back();
                        }
                    }
                    if (id.empty()) {
                        std::this_thread::sleep_for(std::chrono::milliseconds(2));
                        continue;
                    }
                    const auto r = test::rawRequest(m_port, "DELETE", "/v1/session",
                                                    {{"Authorization", "Session " + id}});
                    std::lock_guard lock(mutex);
                    if (r.status == 200 && r.body.find("\"destroyed\":true") != std::string::npos) {
                        loggedOut.insert(SessionToken::parse(id)->hash().toHex());
                    } else {
                        ++unacknowledged; // outcome unknown: not counted either way
                    }
                }
            };
            std::thread a(creator), b(creator), c(loggerOut);
            QTest::qWait(700 + 150 * round);
            m_daemon.kill(); // SIGKILL, mid-request
            m_daemon.waitForFinished(10000);
            stop = true;
            a.join();
            b.join();
            c.join();
        }
        QVERIFY2(start(), "hourglassd did not start after the last kill");
        const std::set<std::string> live = liveHashes();
        for (const std::string &id : created) {
            QVERIFY2(live.count(SessionToken::parse(id)->hash().toHex()), "an acknowledged session was lost");
            QCOMPARE(
                test::rawRequest(m_port, "GET", "/v1/session", {{"Authorization", "Session " + id}}).status,
                200);
        }
        for (const std::string &hash : loggedOut)
            QVERIFY2(!live.count(hash), "an acknowledged logout was undone");
        qInfo("%d kill -9 under load: %zu acknowledged sessions and %zu acknowledged logouts all kept; "
              "%zu requests without an answer (cut by a kill or sent while down)",
              kRounds, created.size(), loggedOut.size(), unacknowledged);
        QVERIFY(created.size() > 100);
        QVERIFY(loggedOut.size() > 20);
        m_daemon.terminate();
        QVERIFY(m_daemon.waitForFinished(15000));
    }
};

QTEST_GUILESS_MAIN(TestCrashLoop)
#include "tst_crashloop.moc"
