#include "EventHub.h"
#include "ManualClock.h"
#include "SessionEngine.h"
#include "TestRandom.h"

#include <QTest>

using namespace hourglass;
using test::ManualClock;

class TestAuthSessions final : public QObject
{
    Q_OBJECT

    ManualClock m_clock;
    test::SwitchableRandom m_random;
    EventHub m_events;

    std::unique_ptr<SessionEngine> engine(const Policy &policy = Policy())
    {
        SessionEngine::Options o;
        o.clock = &m_clock;
        o.random = &m_random;
        o.events = &m_events;
        return std::make_unique<SessionEngine>(o, policy);
    }

private Q_SLOTS:
    void newBrowserGetsARootAndTabsShareIt()
    {
        auto e = engine();
        const AuthStartResult first = e->startAuthentication("", "192.0.2.1");
        QCOMPARE(first.error, SessionError::None);
        QVERIFY(first.newRoot);
        QCOMPARE(first.rootToken.size(), SessionToken::kEncodedLength);
        QCOMPARE(first.tabId.size(), std::size_t(11));
        const AuthStartResult second = e->startAuthentication(first.rootToken, "192.0.2.1");
        QVERIFY(!second.newRoot);
        QVERIFY(second.rootToken.empty());
        QCOMPARE(second.rootHash, first.rootHash);
        QVERIFY(second.tabId != first.tabId);
        QCOMPARE(second.tabCount, std::size_t(2));
        const AuthSessionStats stats = e->authStats();
        QCOMPARE(stats.roots, std::size_t(1));
        QCOMPARE(stats.tabs, std::size_t(2));
        QVERIFY(stats.estimatedBytes > 0);
        QCOMPARE(e->findAuthRoot(sha256(first.rootToken))->tabs.size(), std::size_t(2));
    }

    void limitEvictsTheOldestSubSession()
    {
        Policy p;
        p.authSessionsLimit = 3;
        auto e = engine(p);
        const AuthStartResult root = e->startAuthentication("", "192.0.2.1");
        std::vector<std::string> tabs{root.tabId};
        for (int i = 0; i < 2; ++i)
            tabs.push_back(e->startAuthentication(root.rootToken, "192.0.2.1").tabId);
        QCOMPARE(e->authStats().tabs, std::size_t(3)); // at the limit: nothing evicted yet
        const AuthStartResult fourth = e->startAuthentication(root.rootToken, "192.0.2.1");
        QCOMPARE(fourth.evictedTabs, std::vector<std::string>{tabs[0]});
        QCOMPARE(fourth.tabCount, std::size_t(3));
        QCOMPARE(e->authStats().tabs, std::size_t(3));
        QCOMPARE(e->counters().evictedAuthTabs, 1u);
        QCOMPARE(m_events.recent(1).front().type, EventType::Evicted);
        // The evicted tab can no longer finish its login; a surviving one can.
        QCOMPARE(e->completeAuthentication(root.rootToken, tabs[0],
                                           {"alice", Area::Storefront, false, "192.0.2.1", "ua"})
                     .error,
                 SessionError::AuthTabUnknown);
        QCOMPARE(e->completeAuthentication(root.rootToken, tabs[1],
                                           {"alice", Area::Storefront, false, "192.0.2.1", "ua"})
                     .error,
                 SessionError::None);
    }

    void defaultLimitIs300()
    {
        auto e = engine();
        const AuthStartResult root = e->startAuthentication("", "192.0.2.1");
        for (int i = 1; i < 300; ++i)
            QVERIFY(e->startAuthentication(root.rootToken, "192.0.2.1").evictedTabs.empty());
        QCOMPARE(e->startAuthentication(root.rootToken, "192.0.2.1").evictedTabs.size(), std::size_t(1));
        QCOMPARE(e->authStats().tabs, std::size_t(300));
    }

    void finishedLoginBecomesAUserSession()
    {
        auto e = engine();
        const AuthStartResult a = e->startAuthentication("", "192.0.2.1");
        const AuthStartResult b = e->startAuthentication(a.rootToken, "192.0.2.1");
        const CreateResult session =
            e->completeAuthentication(a.rootToken, a.tabId, {"alice", Area::Admin, true, "192.0.2.1", "ua"});
        QCOMPARE(session.error, SessionError::None);
        QVERIFY(session.token != a.rootToken);
        QCOMPARE(textOf(e->validate(session.token).info.user), std::string_view("alice"));
        QCOMPARE(e->validate(a.rootToken).error, SessionError::Unknown); // a root is not a session
        QCOMPARE(e->authStats().tabs, std::size_t(1));
        QCOMPARE(
            e->completeAuthentication(a.rootToken, a.tabId, {"alice", Area::Admin, true, "192.0.2.1", "ua"})
                .error,
            SessionError::AuthTabUnknown);
        QCOMPARE(
            e->completeAuthentication(a.rootToken, b.tabId, {"alice", Area::Admin, false, "192.0.2.1", "ua"})
                .error,
            SessionError::None);
        QCOMPARE(e->authStats().roots, std::size_t(0)); // the last tab took the root with it
    }

    void loginFlowTimeoutBoundary()
    {
        auto e = engine(); // 30 minutes
        const TimeMs t0 = m_clock.nowMs();
        const AuthStartResult a = e->startAuthentication("", "192.0.2.1");
        m_clock.set(t0 + 30 * kMsPerMinute - kMsPerSecond);
        QCOMPARE(e->sweepExpired(), std::size_t(0));
        QVERIFY(!e->startAuthentication(a.rootToken, "192.0.2.1").newRoot); // activity at t0+30m-1s
        const TimeMs t1 = m_clock.nowMs();
        m_clock.set(t1 + 30 * kMsPerMinute);
        QCOMPARE(
            e->completeAuthentication(a.rootToken, a.tabId, {"alice", Area::Storefront, false, "", ""}).error,
            SessionError::AuthSessionExpired);
        QVERIFY(e->startAuthentication(a.rootToken, "192.0.2.1").newRoot); // expired root is not reused
        QCOMPARE(e->sweepExpired(), std::size_t(1));
        QCOMPARE(e->authStats().roots, std::size_t(1));
    }

    void forgedRootsAreNotAdopted()
    {
        auto e = engine();
        const auto forged = SessionToken::generate(OpenSslRandom::instance());
        const AuthStartResult r = e->startAuthentication(forged->text(), "192.0.2.1");
        QVERIFY(r.newRoot);
        QVERIFY(r.rootToken != forged->text());
        QCOMPARE(
            e->completeAuthentication(forged->text(), r.tabId, {"alice", Area::Storefront, false, "", ""})
                .error,
            SessionError::AuthSessionUnknown);
        QCOMPARE(
            e->completeAuthentication("garbage", r.tabId, {"alice", Area::Storefront, false, "", ""}).error,
            SessionError::Malformed);
    }

    void cancelRemovesOneTab()
    {
        auto e = engine();
        const AuthStartResult a = e->startAuthentication("", "192.0.2.1");
        QCOMPARE(e->cancelAuthentication(a.rootToken, "nope"), SessionError::AuthTabUnknown);
        QCOMPARE(e->cancelAuthentication(a.rootToken, a.tabId), SessionError::None);
        QCOMPARE(e->authStats().roots, std::size_t(0));
    }

    void failsClosedWithoutRandomness()
    {
        auto e = engine();
        m_random.setFailing(true);
        QCOMPARE(e->startAuthentication("", "192.0.2.1").error, SessionError::RandomUnavailable);
        QCOMPARE(e->authStats().roots, std::size_t(0));
        m_random.setFailing(false);
    }
};

QTEST_GUILESS_MAIN(TestAuthSessions)
#include "tst_authsessions.moc"
