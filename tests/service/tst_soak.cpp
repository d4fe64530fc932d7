// Soak: hourglassd under a steady mix of create, validate, data and logout for a bounded time:
// a 60 s warm-up (the bounded buffers fill: the event hub keeps the last 10,000 events, 50 s at
// this rate), then HOURGLASS_SOAK_SECONDS of measurement (default 60 in CI;
// `HOURGLASS_SOAK_SECONDS=600 ctest -R tst_soak` is the documented 10-minute run). The live
// session count stays level, so the service's resident memory must stay level too: the second
// half of the measurement is compared with the first half, in the same run.

#include "RawHttp.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>

#include <atomic>
#include <numeric>
#include <thread>

using namespace hourglass;
using test::RawConnection;

namespace {

long rssKiB(qint64 pid)
{
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').front().toLong();
    }
    return -1;
}

std::string idOf(const test::RawResponse &r)
{
    return QJsonDocument::fromJson(QByteArray::fromStdString(r.body))
        .object()
        .value(QStringLiteral("id"))
        .toString()
        .toStdString();
}

} // namespace

class TestSoak final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void memoryStaysFlatUnderSteadyLoad()
    {
        const int seconds = qEnvironmentVariableIsSet("HOURGLASS_SOAK_SECONDS")
                                ? qEnvironmentVariableIntValue("HOURGLASS_SOAK_SECONDS")
                                : 60;
        QVERIFY(seconds >= 10);
        constexpr int kWarmUpSeconds = 60;
        QTemporaryDir dir;
        QProcess daemon;
        daemon.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        daemon.setStandardOutputFile(QProcess::nullDevice());
        daemon.start(QStringLiteral(HOURGLASS_DAEMON), {QStringLiteral("--data-dir"), dir.path(),
                                                        QStringLiteral("--port"), QStringLiteral("0")});
        QVERIFY(daemon.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(dir.filePath(QStringLiteral("service.json"))), 15000);
        QFile info(dir.filePath(QStringLiteral("service.json")));
        QVERIFY(info.open(QIODevice::ReadOnly));
        const auto port = std::uint16_t(
            QUrl(QJsonDocument::fromJson(info.readAll()).object().value(QStringLiteral("url")).toString())
                .port());

        // Two clients at a steady pace: each cycle creates a session, validates it 4 times,
        // writes 2 KiB of data, reads it back and logs out (8 requests), 50 cycles/s each.
        std::atomic<bool> stop{false};
        std::atomic<std::uint64_t> requests{0}, failures{0};
        const auto client = [&](int index) {
            RawConnection c(port);
            const std::string data(2048, 'x');
            const auto call = [&](const std::string &method, const std::string &target, const std::string &id,
                                  const std::string &body) {
                std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
                if (!id.empty())
                    req += "Authorization: Session " + id + "\r\n";
                if (method == "POST" || method == "PUT")
                    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
                req += "\r\n" + body;
                ++requests;
                if (!c.send(req))
                    return test::RawResponse{};
                return c.read();
            };
            auto next = std::chrono::steady_clock::now();
            for (int n = 0; !stop; ++n) {
                const std::string ip = "10.1." + std::to_string(index) + "." + std::to_string(n % 200 + 1);
                const auto created =
                    call("POST", "/v1/sessions", {},
                         R"({"user":"soak)" + std::to_string(n % 1000) + R"(","client_ip":")" + ip + R"("})");
                const std::string id = idOf(created);
                bool ok = created.status == 201;
                for (int v = 0; v < 4 && ok; ++v)
                    ok = call("GET", "/v1/session", id, {}).status == 200;
                ok = ok && call("PUT", "/v1/session/data", id, data).status == 200;
                ok = ok && call("GET", "/v1/session/data", id, {}).body == data;
                ok = ok && call("DELETE", "/v1/session", id, {}).status == 200;
                if (!ok)
                    ++failures;
                next += std::chrono::milliseconds(20);
                std::this_thread::sleep_until(next);
            }
        };
        std::thread a(client, 1), b(client, 2);
        std::vector<long> samples;
        QElapsedTimer timer;
        timer.start();
        QTest::qWait(kWarmUpSeconds * 1000);
        const long afterWarmUp = rssKiB(daemon.processId());
        timer.start();
        while (timer.elapsed() < seconds * 1000) {
            QTest::qWait(1000);
            samples.push_back(rssKiB(daemon.processId()));
        }
        stop = true;
        a.join();
        b.join();
        daemon.terminate();
        QVERIFY(daemon.waitForFinished(15000));
        QCOMPARE(daemon.exitCode(), 0);

        QCOMPARE(failures.load(), std::uint64_t(0));
        const std::size_t half = samples.size() / 2;
        const auto mean = [&](std::size_t from, std::size_t to) {
            return double(std::accumulate(samples.begin() + long(from), samples.begin() + long(to), 0L)) /
                   double(to - from);
        };
        const double first = mean(0, half);
        const double second = mean(half, samples.size());
        const long peak = *std::max_element(samples.begin(), samples.end());
        const int total = kWarmUpSeconds + seconds;
        qInfo("%d s (%d s warm-up), %llu requests (%.0f/s): RSS %ld KiB after warm-up, mean %.0f KiB then "
              "%.0f KiB (%+.2f%%), peak %ld KiB",
              total, kWarmUpSeconds, static_cast<unsigned long long>(requests.load()),
              double(requests.load()) / total, afterWarmUp, first, second, (second / first - 1) * 100, peak);
        // Flat: the second half within 2 % of the first (allocator and page-cache noise).
        QVERIFY2(second <= first * 1.02, qPrintable(QStringLiteral("%1 -> %2 KiB").arg(first).arg(second)));
    }
};

QTEST_GUILESS_MAIN(TestSoak)
#include "tst_soak.moc"
