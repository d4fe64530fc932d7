#include "AnomalyGuard.h"
#include "ManualClock.h"

#include <QTest>

using namespace hourglass;
using service::AnomalyGuard;
using test::ManualClock;

class TestAnomalyGuard final : public QObject
{
    Q_OBJECT

    ManualClock m_clock;

    void fail(AnomalyGuard &g, const std::string &ip, int times)
    {
        for (int i = 0; i < times; ++i)
            g.recordFailure(ip);
    }

private Q_SLOTS:
    void keycloakDefaults()
    {
        const AnomalyGuard::Options o;
        QCOMPARE(o.failureThreshold, 30u);
        QCOMPARE(o.waitIncrementMs, 60 * kMsPerSecond);
        QCOMPARE(o.maxWaitMs, 900 * kMsPerSecond);
        QCOMPARE(o.resetAfterMs, 12 * 60 * kMsPerMinute);
    }

    void blocksAtTheThresholdNotBefore()
    {
        std::vector<AnomalyGuard::Blocked> blocks;
        AnomalyGuard g({}, m_clock, [&](const AnomalyGuard::Blocked &b) { blocks.push_back(b); });
        fail(g, "203.0.113.1", 29);
        QCOMPARE(g.blockedFor("203.0.113.1"), 0);
        QVERIFY(blocks.empty());
        fail(g, "203.0.113.1", 1);
        QCOMPARE(g.blockedFor("203.0.113.1"), 60 * kMsPerSecond);
        QCOMPARE(blocks.size(), std::size_t(1));
        QCOMPARE(blocks.front().failures, 30u);
        QCOMPARE(g.blockedFor("203.0.113.2"), 0); // other addresses unaffected
    }

    void blockEndsExactlyAfterTheWait()
    {
        AnomalyGuard g({}, m_clock);
        fail(g, "a", 30);
        const TimeMs t0 = m_clock.nowMs();
        m_clock.set(t0 + 60 * kMsPerSecond - kMsPerSecond);
        QCOMPARE(g.blockedFor("a"), kMsPerSecond);
        m_clock.set(t0 + 60 * kMsPerSecond);
        QCOMPARE(g.blockedFor("a"), 0);
    }

    void waitGrowsByTheIncrementUpToTheMaximum()
    {
        AnomalyGuard g({}, m_clock);
        for (int round = 1; round <= 20; ++round) {
            fail(g, "b", 30);
            const TimeMs expected = std::min<TimeMs>(900, 60 * round) * kMsPerSecond;
            QCOMPARE(g.blockedFor("b"), expected);
            m_clock.advance(expected); // wait it out (well within the 12 h reset)
        }
    }

    void failuresResetAfterTwelveQuietHours()
    {
        AnomalyGuard g({}, m_clock);
        fail(g, "c", 29);
        m_clock.advanceMinutes(12 * 60);
        fail(g, "c", 1); // counts from 1 again
        QCOMPARE(g.blockedFor("c"), 0);
        fail(g, "c", 28);
        QCOMPARE(g.blockedFor("c"), 0);
        fail(g, "c", 1);
        QCOMPARE(g.blockedFor("c"), 60 * kMsPerSecond);
        // Just under 12 h: the count carries on (second block, 120 s).
        m_clock.advance(12 * 60 * kMsPerMinute - kMsPerSecond);
        fail(g, "c", 30);
        QCOMPARE(g.blockedFor("c"), 120 * kMsPerSecond);
    }

    void unblockClearsTheBlockAndTheCount()
    {
        AnomalyGuard g({}, m_clock);
        fail(g, "d", 30);
        QVERIFY(g.unblock("d"));
        QCOMPARE(g.blockedFor("d"), 0);
        QVERIFY(!g.unblock("d"));
        fail(g, "d", 29);
        QCOMPARE(g.blockedFor("d"), 0);
        QVERIFY(g.blocked().empty());
    }

    void creationTokenBucket()
    {
        AnomalyGuard::Options o;
        o.createPerSecond = 10;
        o.createBurst = 5;
        AnomalyGuard g(o, m_clock);
        for (int i = 0; i < 5; ++i)
            QVERIFY(g.admitCreate("e").allowed);
        QVERIFY(!g.admitCreate("e").allowed);
        QVERIFY(g.admitCreate("f").allowed); // per address
        m_clock.advance(99);
        QVERIFY(!g.admitCreate("e").allowed); // 0.99 tokens
        m_clock.advance(1);
        QVERIFY(g.admitCreate("e").allowed); // 1 token after 100 ms at 10/s
        QVERIFY(!g.admitCreate("e").allowed);
        m_clock.advanceSeconds(60);
        for (int i = 0; i < 5; ++i)
            QVERIFY(g.admitCreate("e").allowed); // refilled, but never beyond the burst
        QVERIFY(!g.admitCreate("e").allowed);
    }

    void admissionRefusesABlockedAddressWithoutSpendingItsTokens()
    {
        AnomalyGuard::Options o;
        o.failureThreshold = 2;
        o.createPerSecond = 10;
        o.createBurst = 2;
        AnomalyGuard g(o, m_clock);
        AnomalyGuard::Admission a = g.admitCreate("h");
        QVERIFY(a.allowed);
        QCOMPARE(a.blockedForMs, 0);
        g.recordFailure("h");
        g.recordFailure("h"); // blocked for a minute
        a = g.admitCreate("h");
        QVERIFY(!a.allowed);
        QCOMPARE(a.blockedForMs, 60 * kMsPerSecond);
        m_clock.advanceSeconds(30);
        QCOMPARE(g.admitCreate("h").blockedForMs, 30 * kMsPerSecond);
        m_clock.advanceSeconds(30);
        // The block is over; the bucket, full again, gives its burst and no more.
        QVERIFY(g.admitCreate("h").allowed);
        QVERIFY(g.admitCreate("h").allowed);
        a = g.admitCreate("h");
        QVERIFY(!a.allowed);
        QCOMPARE(a.blockedForMs, 0); // over the rate, not blocked

        // Refusals while blocked spend nothing: with a bucket that refills once in 1,000 s, an
        // address refused 5 times during its block still has its burst of 2 after it.
        o.createPerSecond = 0.001;
        AnomalyGuard slow(o, m_clock);
        slow.recordFailure("i");
        slow.recordFailure("i");
        for (int k = 0; k < 5; ++k)
            QVERIFY(slow.admitCreate("i").blockedForMs > 0);
        m_clock.advanceSeconds(60);
        QVERIFY(slow.admitCreate("i").allowed);
        QVERIFY(slow.admitCreate("i").allowed);
        QVERIFY(!slow.admitCreate("i").allowed);
    }

    void throttlingIsReportedOncePerEpisode()
    {
        AnomalyGuard::Options o;
        o.createPerSecond = 1;
        o.createBurst = 2;
        std::vector<std::string> reports;
        AnomalyGuard g(o, m_clock, {}, [&](const std::string &ip) { reports.push_back(ip); });
        QVERIFY(g.admitCreate("g").allowed);
        QVERIFY(g.admitCreate("g").allowed);
        QVERIFY(reports.empty());
        for (int i = 0; i < 50; ++i)
            QVERIFY(!g.admitCreate("g").allowed);
        QCOMPARE(reports, std::vector<std::string>{"g"}); // one event, not fifty
        m_clock.advanceSeconds(1);
        QVERIFY(g.admitCreate("g").allowed); // the episode ends
        QVERIFY(!g.admitCreate("g").allowed);
        QCOMPARE(reports.size(), std::size_t(2)); // a new one starts
    }

    void memoryIsBoundedAndBlocksSurviveASpray()
    {
        AnomalyGuard::Options o;
        o.maxEntries = 1000;
        o.failureThreshold = 3;
        AnomalyGuard g(o, m_clock);
        fail(g, "attacker", 3);
        QVERIFY(g.blockedFor("attacker") > 0);
        // Spraying many addresses cannot grow the table, nor flush the attacker's block.
        for (int i = 0; i < 50000; ++i)
            g.recordFailure("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256));
        QVERIFY(g.trackedIps() <= 1000);
        QVERIFY(g.blockedFor("attacker") > 0);
    }

    void anAddressInUseIsNotForgottenUnderASpray()
    {
        // Forgotten, a throttled address would get a full bucket again: the spray must push out
        // the addresses it no longer uses, not one still being seen.
        AnomalyGuard::Options o;
        o.maxEntries = 1000;
        o.createBurst = 5;
        o.createPerSecond = 0.001; // no token comes back during the test
        AnomalyGuard g(o, m_clock);
        for (int i = 0; i < 5; ++i)
            QVERIFY(g.admitCreate("busy").allowed);
        QVERIFY(!g.admitCreate("busy").allowed);
        for (int i = 0; i < 20000; ++i) {
            m_clock.advance(1);
            QVERIFY(g.admitCreate("10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) +
                                  "." + std::to_string(i % 256))
                        .allowed);
            if (i % 100 == 0)
                QVERIFY2(!g.admitCreate("busy").allowed, qPrintable(QString::number(i)));
        }
        QCOMPARE(g.trackedIps(), std::size_t(1000));
        QVERIFY(!g.admitCreate("busy").allowed);
    }

    void memoryStaysBoundedEvenWhenEveryAddressIsBlocked()
    {
        AnomalyGuard::Options o;
        o.maxEntries = 100;
        o.failureThreshold = 1; // every failure blocks
        AnomalyGuard g(o, m_clock);
        for (int i = 0; i < 5000; ++i)
            g.recordFailure("192.0.2." + std::to_string(i));
        QVERIFY2(g.trackedIps() <= 100, qPrintable(QString::number(g.trackedIps())));
        QVERIFY(g.blockedFor("192.0.2.4999") > 0); // the most recent ones are kept
    }
};

QTEST_GUILESS_MAIN(TestAnomalyGuard)
#include "tst_anomalyguard.moc"
