// Slowloris under way: 1,000 connections from other addresses each hold a request whose header
// never ends (a byte now and then, under the header deadline), while a legitimate client keeps
// validating. Its p99 latency is compared with its own p99 measured just before, in the same run.

#include "ServiceFixture.h"

#include <QTest>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

using namespace hourglass;
using test::RawConnection;
using test::ServiceFixture;

namespace {

struct Latency
{
    double p50Us = 0;
    double p99Us = 0;
};

} // namespace

class TestSlowloris final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void legitimateLatencyHoldsUnderAThousandDribblingConnections()
    {
        ServiceFixture f;
        std::vector<std::string> ids;
        for (int i = 0; i < 50; ++i)
            ids.push_back(f.create("user" + std::to_string(i)));
        // The legitimate client: keep-alive, as a web application's connection pool would be.
        RawConnection client(f.port);
        QVERIFY(client.connected());
        const auto measure = [&](int requests) {
            std::vector<double> us;
            us.reserve(std::size_t(requests));
            for (int i = 0; i < requests; ++i) {
                const std::string request =
                    "GET /v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Session " +
                    ids[std::size_t(i) % ids.size()] + "\r\n\r\n";
                const auto t = std::chrono::steady_clock::now();
                if (!client.send(request) || client.read().status != 200)
                    return Latency{-1, -1};
                us.push_back(
                    std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count());
            }
            std::sort(us.begin(), us.end());
            return Latency{us[us.size() / 2], us[us.size() * 99 / 100]};
        };
        measure(500); // warm-up
        const Latency baseline = measure(3000);
        QVERIFY(baseline.p99Us > 0);

        // 1,000 attackers from four addresses (250 each: under the per-address cap of 256).
        std::vector<std::unique_ptr<RawConnection>> attackers;
        for (int i = 0; i < 1000; ++i) {
            const std::string source = "127.0.0." + std::to_string(2 + i / 250);
            auto c = std::make_unique<RawConnection>(f.port, "127.0.0.1", source.c_str());
            QVERIFY2(c->connected(), "attacker could not connect");
            QVERIFY(c->send("GET /v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
            attackers.push_back(std::move(c));
        }
        std::atomic<bool> stop{false};
        std::thread dribbler([&] {
            while (!stop) {
                for (auto &c : attackers)
                    c->send("a");
                for (int i = 0; i < 10 && !stop; ++i)
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        });
        const Latency attacked = measure(3000);
        stop = true;
        dribbler.join();
        QVERIFY(attacked.p99Us > 0);
        // The attack was real: the connections were still held open by the server.
        int open = 0;
        for (auto &c : attackers)
            open += !c->closedByPeer(std::chrono::milliseconds(0));
        QCOMPARE(open, 1000);

        const double ratio = attacked.p99Us / baseline.p99Us;
        qInfo("legitimate validate over keep-alive: p50 %.0f -> %.0f us, p99 %.0f -> %.0f us under 1,000 "
              "slowloris connections (p99 ratio %.2fx)",
              baseline.p50Us, attacked.p50Us, baseline.p99Us, attacked.p99Us, ratio);
        QVERIFY2(ratio <= 2.0, qPrintable(QString::number(ratio)));
    }
};

QTEST_GUILESS_MAIN(TestSlowloris)
#include "tst_slowloris.moc"
