#include "EventHub.h"
#include "ManualClock.h"
#include "SessionEngine.h"
#include "TestRandom.h"

#include <QTest>

#include <atomic>
#include <map>
#include <random>
#include <thread>

using namespace hourglass;
using test::ManualClock;

namespace {

constexpr TimeMs kSecond = kMsPerSecond;
constexpr TimeMs kMinute = kMsPerMinute;

CreateParams params(const std::string &user, Area area = Area::Storefront, bool rememberMe = false,
                    const std::string &ip = "192.0.2.1")
{
    return {user, area, rememberMe, ip, "Mozilla/5.0 (test)"};
}

} // namespace

class TestSessionEngine final : public QObject
{
    Q_OBJECT

    ManualClock m_clock;
    test::SwitchableRandom m_random;
    EventHub m_events;

    // An engine listing from `newestPerShard` newest sessions per shard, on the test's clock.
    SessionEngine::Options newestOptions(std::size_t shards, std::size_t newestPerShard)
    {
        SessionEngine::Options o;
        o.clock = &m_clock;
        o.random = &m_random;
        o.shards = shards;
        o.newestPerShard = newestPerShard;
        return o;
    }
    // The list's order: newest first, equal creation times by hash.
    static bool newestFirst(const std::pair<TimeMs, IdHash> &a, const std::pair<TimeMs, IdHash> &b)
    {
        return a.first != b.first ? a.first > b.first : a.second.bytes() < b.second.bytes();
    }

    std::unique_ptr<SessionEngine> engine(const Policy &policy = Policy())
    {
        SessionEngine::Options o;
        o.clock = &m_clock;
        o.random = &m_random;
        o.events = &m_events;
        o.shards = 4;
        return std::make_unique<SessionEngine>(o, policy);
    }

    std::vector<SessionEvent> eventsOf(EventType type)
    {
        std::vector<SessionEvent> out;
        for (const SessionEvent &e : m_events.recent(EventHub::kDefaultCapacity)) {
            if (e.type == type)
                out.push_back(e);
        }
        return out;
    }

    // Advances to `offset` ms after `base` and returns whether the token still validates (without
    // touching, so the boundary under test does not move).
    bool validAt(SessionEngine &e, const std::string &token, TimeMs base, TimeMs offset)
    {
        m_clock.set(base + offset);
        return e.validate(token, SessionEngine::Touch::No).error == SessionError::None;
    }

private Q_SLOTS:
    void init() { m_random.setFailing(false); }

    void createIssuesTokenAndIndexesOnlyTheHash()
    {
        auto e = engine();
        const CreateResult r = e->create(params("alice"));
        QCOMPARE(r.error, SessionError::None);
        QCOMPARE(r.token.size(), SessionToken::kEncodedLength);
        QCOMPARE(r.info.hash, sha256(r.token));
        QVERIFY(e->find(sha256(r.token)).has_value());
        const ValidateResult v = e->validate(r.token);
        QCOMPARE(v.error, SessionError::None);
        QCOMPARE(textOf(v.info.user), std::string_view("alice"));
        QCOMPARE(v.info.area, Area::Storefront);
        QCOMPARE(v.info.clientIp, std::string("192.0.2.1"));
        QVERIFY(!eventsOf(EventType::Created).empty());
        QCOMPARE(eventsOf(EventType::Created).back().idHash, r.info.hash.toHex());
        QVERIFY(eventsOf(EventType::Created).back().toJsonLine().find(r.token) == std::string::npos);
    }

    void userAgentsAreStoredOncePerDistinctValue()
    {
        auto e = engine();
        const std::string firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        const std::string a = e->create({"alice", Area::Storefront, false, "192.0.2.1", firefox}).token;
        const std::string b = e->create({"bob", Area::Storefront, false, "192.0.2.2", firefox}).token;
        const std::string c = e->create({"carol", Area::Storefront, false, "192.0.2.3", "curl/8.0"}).token;
        const std::string d = e->create({"dave", Area::Storefront, false, "192.0.2.4", ""}).token;
        const SessionInfo ia = e->validate(a).info;
        const SessionInfo ib = e->validate(b).info;
        QCOMPARE(std::string(textOf(ia.userAgent)), firefox);
        QCOMPARE(ia.userAgent.get(), ib.userAgent.get()); // one copy for both sessions
        QCOMPARE(std::string(textOf(e->validate(c).info.userAgent)), std::string("curl/8.0"));
        QVERIFY(!e->validate(d).info.userAgent); // empty: nothing stored
    }

    void userNamesAreStoredOncePerUser()
    {
        auto e = engine();
        const std::string name = "a.customer.with.a.long.name@example.com"; // beyond any inline buffer
        const std::string a = e->create(params(name)).token;
        const std::string b = e->create(params(name, Area::Admin)).token;
        const std::string other = e->create(params("bob")).token;
        const SessionInfo ia = e->validate(a).info;
        QCOMPARE(textOf(ia.user), std::string_view(name));
        QCOMPARE(e->validate(b).info.user.get(), ia.user.get()); // one copy for the user's sessions
        QVERIFY(e->validate(other).info.user.get() != ia.user.get());
        // The copy outlives the index entry that named it: the index is rebuilt by the next session.
        QCOMPARE(e->destroy(a), SessionError::None);
        const std::string c = e->create(params(name)).token;
        QCOMPARE(e->validate(c).info.user.get(), ia.user.get());
        QCOMPARE(e->destroy(b), SessionError::None);
        QCOMPARE(e->destroy(c), SessionError::None);
        QCOMPARE(textOf(ia.user), std::string_view(name)); // still held here
        const std::string d = e->create(params(name)).token;
        QCOMPARE(textOf(e->validate(d).info.user), std::string_view(name));
        SessionQuery byName;
        byName.user = name;
        QCOMPARE(e->list(byName).total, std::size_t(1));
        QCOMPARE(e->forceLogout(name), std::size_t(1));
        QCOMPARE(e->list(byName).total, std::size_t(0));
    }

    // CompactText keeps up to 15 characters in place and longer text shared; copies, moves and
    // assignments across the two keep the text and leak nothing (ASan checks the latter).
    void compactTextKeepsTextInPlaceOrShared()
    {
        const std::string lengths[] = {"",
                                       "1",
                                       "192.0.2.255",
                                       "255.255.255.255", // 15: the longest in place
                                       "2001:db8::1:2:3:4",
                                       "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
                                       std::string(300, 'x')};
        for (const std::string &a : lengths) {
            CompactText text(a);
            QCOMPARE(textOf(text), std::string_view(a));
            QCOMPARE(text.empty(), a.empty());
            CompactText copy(text);
            QCOMPARE(textOf(copy), std::string_view(a));
            CompactText moved(std::move(copy));
            QCOMPARE(textOf(moved), std::string_view(a));
            QVERIFY(copy.empty()); // NOLINT(bugprone-use-after-move): moved-from is empty
            for (const std::string &b : lengths) {
                CompactText target(b);
                target = text;
                QCOMPARE(textOf(target), std::string_view(a));
                QCOMPARE(textOf(text), std::string_view(a));
                target = CompactText(b);
                QCOMPARE(textOf(target), std::string_view(b));
                target = std::move(moved);
                QCOMPARE(textOf(target), std::string_view(a));
                moved = target;
            }
        }
        QCOMPARE(sizeof(CompactText), std::size_t(16));
    }

    void sharedTextIsOneTextForAllItsCopiesOnAnyThread()
    {
        const std::string longText(300, 'x');
        SharedText text = SharedText::make(longText);
        QCOMPARE(std::string(text.view()), longText);
        QCOMPARE(text.use_count(), 1L);
        QVERIFY(!SharedText());
        QCOMPARE(textOf(SharedText()), std::string_view());
        QVERIFY(SharedText::make("")); // an empty text made on purpose is not null
        {
            SharedText copy = text;
            QCOMPARE(copy.get(), text.get());
            QCOMPARE(text.use_count(), 2L);
            SharedText moved = std::move(copy);
            QVERIFY(!copy);
            QCOMPARE(text.use_count(), 2L);
            moved = SharedText::make("other");
            QCOMPARE(text.use_count(), 1L);
            QCOMPARE(std::string(moved.view()), std::string("other"));
        }
        // Copies made and dropped on several threads at once leave the count where it was
        // (ThreadSanitizer checks the accesses in CI).
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&text] {
                for (int i = 0; i < 20000; ++i) {
                    SharedText copy = text;
                    if (copy.view().size() != 300)
                        std::abort();
                }
            });
        }
        for (std::thread &thread : threads)
            thread.join();
        QCOMPARE(text.use_count(), 1L);
        text.reset();
        QVERIFY(!text);
    }

    void borrowedTextIsNotCountedButItsCopiesAre()
    {
        SharedText owner = SharedText::make("alice@example.com");
        QVERIFY(!SharedText::borrow(SharedText())); // nothing borrowed from a null text
        {
            const SharedText borrowed = SharedText::borrow(owner);
            QCOMPARE(owner.use_count(), 1L); // no count raised
            QCOMPARE(borrowed.get(), owner.get());
            QCOMPARE(borrowed.view(), std::string_view("alice@example.com"));
            QCOMPARE(borrowed.use_count(), 1L);
            SharedText copy = borrowed; // a copy may outlive the owner: it counts
            QCOMPARE(owner.use_count(), 2L);
            owner.reset(); // the owner lets go while the copy still holds the text
            QCOMPARE(copy.use_count(), 1L);
            QCOMPARE(copy.view(), std::string_view("alice@example.com"));
            owner = copy;
        }
        // The borrowed holder left without releasing anything, the copy released its count.
        QCOMPARE(owner.use_count(), 1L);
        QCOMPARE(owner.view(), std::string_view("alice@example.com"));
    }

    void validateHandsABorrowedSessionToItsReader()
    {
        auto e = engine();
        const TimeMs t0 = m_clock.nowMs();
        CreateParams p = params("alice");
        p.userAgent = "Mozilla/5.0 (Borrowing)";
        const CreateResult created = e->create(p);
        m_clock.set(t0 + 10 * kMinute);
        const ValidateResult copied = e->validate(created.token, SessionEngine::Touch::No);
        QCOMPARE(copied.error, SessionError::None);
        const long userCount = copied.info.user.use_count();
        const long agentCount = copied.info.userAgent.use_count();

        int reads = 0;
        SessionInfo kept;
        const SessionError error =
            e->validate(created.token, SessionEngine::Touch::Yes, [&](const SessionInfo &info) {
                ++reads;
                // The same session as validate() copies out, touched now, with no count raised.
                QCOMPARE(info.hash, created.info.hash);
                QCOMPARE(textOf(info.user), std::string_view("alice"));
                QCOMPARE(textOf(info.userAgent), std::string_view("Mozilla/5.0 (Borrowing)"));
                QCOMPARE(info.clientIp, copied.info.clientIp);
                QCOMPARE(info.area, copied.info.area);
                QCOMPARE(info.createdMs, copied.info.createdMs);
                QCOMPARE(info.lastActivityMs, t0 + 10 * kMinute);
                QCOMPARE(info.idleDeadlineMs, t0 + 25 * kMinute);
                QCOMPARE(info.user.use_count(), userCount);
                QCOMPARE(info.userAgent.use_count(), agentCount);
                kept = info; // a copy holds its texts
            });
        QCOMPARE(error, SessionError::None);
        QCOMPARE(reads, 1);
        QCOMPARE(kept.user.use_count(), userCount + 1);
        QCOMPARE(kept.lastActivityMs, t0 + 10 * kMinute);

        // The copy outlives the session and its user's name.
        QCOMPARE(e->destroy(created.token), SessionError::None);
        QCOMPARE(textOf(kept.user), std::string_view("alice"));

        // No reader call for a session that is not valid; the error is the one validate() gives.
        const auto readNothing = [&](const SessionInfo &) {
            ++reads;
        };
        QCOMPARE(e->validate(created.token, SessionEngine::Touch::Yes, readNothing), SessionError::Unknown);
        QCOMPARE(e->validate("not-a-token", SessionEngine::Touch::Yes, readNothing), SessionError::Malformed);
        const std::string expiring = e->create(params("bob")).token;
        m_clock.set(t0 + 40 * kMinute);
        QCOMPARE(e->validate(expiring, SessionEngine::Touch::Yes, readNothing), SessionError::Expired);
        QCOMPARE(reads, 1);
        const EngineCounters c = e->counters();
        QCOMPARE(c.rejectedUnknown, 1u);
        QCOMPARE(c.rejectedMalformed, 1u);
        QCOMPARE(c.rejectedExpired, 1u);
    }

    void textPoolIsBounded()
    {
        TextPool pool(2);
        SharedText a = pool.intern("a");
        QCOMPARE(pool.intern("a").get(), a.get());
        SharedText b = pool.intern("b");
        // Full, and every pooled value is still in use: a new value gets its own copy.
        SharedText c1 = pool.intern("c");
        SharedText c2 = pool.intern("c");
        QCOMPARE(std::string(c1.view()), std::string("c"));
        QVERIFY(c1.get() != c2.get());
        QCOMPARE(pool.size(), std::size_t(2));
        // Once nothing holds "a" any more, its place is reused.
        a.reset();
        SharedText d = pool.intern("d");
        QCOMPARE(pool.intern("d").get(), d.get());
        QCOMPARE(pool.size(), std::size_t(2));
        QVERIFY(!pool.intern(""));
    }

    void createFailsClosedWithoutRandomness()
    {
        auto e = engine();
        m_random.setFailing(true);
        const CreateResult r = e->create(params("alice"));
        QCOMPARE(r.error, SessionError::RandomUnavailable);
        QVERIFY(r.token.empty());
        QCOMPARE(e->sessionCount(), std::size_t(0));
    }

    void createRejectsEmptyUser()
    {
        auto e = engine();
        QCOMPARE(e->create(params("")).error, SessionError::InvalidArgument);
    }

    void unknownAndMalformedTokensAreRejected()
    {
        auto e = engine();
        e->create(params("alice"));
        const auto never = SessionToken::generate(OpenSslRandom::instance());
        QCOMPARE(e->validate(never->text()).error, SessionError::Unknown);
        QCOMPARE(e->validate("not-a-token").error, SessionError::Malformed);
        QCOMPARE(e->validate("").error, SessionError::Malformed);
        const EngineCounters c = e->counters();
        QCOMPARE(c.rejectedUnknown, 1u);
        QCOMPARE(c.rejectedMalformed, 2u);
    }

    void idleTimeoutBoundary()
    {
        auto e = engine(); // idle 15 min
        const TimeMs t0 = m_clock.nowMs();
        const std::string token = e->create(params("alice")).token;
        QVERIFY(validAt(*e, token, t0, 15 * kMinute - kSecond));
        QVERIFY(!validAt(*e, token, t0, 15 * kMinute));
        QVERIFY(!validAt(*e, token, t0, 15 * kMinute + kSecond));
        QCOMPARE(e->validate(token).error, SessionError::Expired);
    }

    void activitySlidesTheIdleHorizon()
    {
        auto e = engine();
        const TimeMs t0 = m_clock.nowMs();
        const std::string token = e->create(params("alice")).token;
        m_clock.set(t0 + 10 * kMinute);
        QCOMPARE(e->validate(token).error, SessionError::None); // touch at t0+10
        const TimeMs t1 = t0 + 10 * kMinute;
        QVERIFY(validAt(*e, token, t1, 15 * kMinute - kSecond));
        QVERIFY(!validAt(*e, token, t1, 15 * kMinute));
        QVERIFY(!validAt(*e, token, t1, 15 * kMinute + kSecond));
    }

    void validateWithoutTouchDoesNotSlide()
    {
        auto e = engine();
        const TimeMs t0 = m_clock.nowMs();
        const std::string token = e->create(params("alice")).token;
        m_clock.set(t0 + 10 * kMinute);
        QCOMPARE(e->validate(token, SessionEngine::Touch::No).error, SessionError::None);
        QVERIFY(!validAt(*e, token, t0, 15 * kMinute));
    }

    void rememberMeUsesTheRememberMePeriod()
    {
        auto e = engine(); // remember-me 20160 min
        const TimeMs t0 = m_clock.nowMs();
        const std::string token = e->create(params("alice", Area::Storefront, true)).token;
        QVERIFY(validAt(*e, token, t0, 15 * kMinute + kSecond)); // beyond the idle timeout
        QVERIFY(validAt(*e, token, t0, 20160 * kMinute - kSecond));
        QVERIFY(!validAt(*e, token, t0, 20160 * kMinute));
        QVERIFY(!validAt(*e, token, t0, 20160 * kMinute + kSecond));
    }

    void maximumTimeoutIsAbsolute()
    {
        Policy p;
        p.area(Area::Admin).maxTimeoutEnabled = true;
        p.area(Area::Admin).maxTimeoutMinutes = 60;
        auto e = engine(p);
        const TimeMs t0 = m_clock.nowMs();
        const std::string token = e->create(params("root", Area::Admin)).token;
        // Continuous activity every 10 minutes never extends past the absolute horizon.
        for (int i = 1; i < 6; ++i) {
            m_clock.set(t0 + i * 10 * kMinute);
            QCOMPARE(e->validate(token).error, SessionError::None);
        }
        QVERIFY(validAt(*e, token, t0, 60 * kMinute - kSecond));
        QCOMPARE(e->validate(token, SessionEngine::Touch::No).info.absoluteDeadlineMs, t0 + 60 * kMinute);
        QVERIFY(!validAt(*e, token, t0, 60 * kMinute));
        QVERIFY(!validAt(*e, token, t0, 60 * kMinute + kSecond));
    }

    void idleExpiresFirstWhenShorterThanMaximum()
    {
        Policy p;
        p.area(Area::Admin).maxTimeoutEnabled = true;
        p.area(Area::Admin).maxTimeoutMinutes = 60;
        auto e = engine(p);
        const TimeMs t0 = m_clock.nowMs();
        const std::string token = e->create(params("root", Area::Admin)).token;
        QVERIFY(!validAt(*e, token, t0, 15 * kMinute));
        const auto info = e->find(sha256(token));
        QVERIFY(info);
        QCOMPARE(info->expiresAtMs, t0 + 15 * kMinute);
    }

    void rememberMeNeverExtendsBeyondMaximum()
    {
        Policy p;
        p.area(Area::Storefront).maxTimeoutEnabled = true;
        p.area(Area::Storefront).maxTimeoutMinutes = 120;
        auto e = engine(p);
        const TimeMs t0 = m_clock.nowMs();
        const std::string token = e->create(params("bob", Area::Storefront, true)).token;
        QVERIFY(validAt(*e, token, t0, 120 * kMinute - kSecond));
        QVERIFY(!validAt(*e, token, t0, 120 * kMinute));
        QVERIFY(!validAt(*e, token, t0, 120 * kMinute + kSecond));
    }

    void maximumTimeoutDisabledMeansNoAbsoluteHorizon()
    {
        Policy p;
        p.area(Area::Storefront).maxTimeoutMinutes = 20; // stored but not enabled
        auto e = engine(p);
        const TimeMs t0 = m_clock.nowMs();
        const std::string token = e->create(params("bob")).token;
        for (int i = 1; i <= 12; ++i) { // two hours of activity
            m_clock.set(t0 + i * 10 * kMinute);
            QCOMPARE(e->validate(token).error, SessionError::None);
        }
        QCOMPARE(e->find(sha256(token))->absoluteDeadlineMs, SessionInfo::kNoDeadline);
    }

    void policyChangesApplyToExistingSessions()
    {
        auto e = engine();
        const TimeMs t0 = m_clock.nowMs();
        const std::string token = e->create(params("alice")).token;
        Policy p = e->policy();
        p.area(Area::Storefront).idleTimeoutMinutes = 5;
        QVERIFY(e->setPolicy(p).ok());
        QVERIFY(validAt(*e, token, t0, 5 * kMinute - kSecond));
        QVERIFY(!validAt(*e, token, t0, 5 * kMinute));
        // The sweeper follows the new policy too.
        QCOMPARE(e->sweepExpired(), std::size_t(1));
        QVERIFY(!eventsOf(EventType::PolicyChanged).empty());
        QVERIFY(eventsOf(EventType::PolicyChanged).back().detail.find("session/storefront/idle_timeout=5") !=
                std::string::npos);
    }

    void setPolicyRejectsInvalidPolicyAndKeepsTheOld()
    {
        auto e = engine();
        Policy p = e->policy();
        p.area(Area::Admin).maxTimeoutEnabled = true;
        p.area(Area::Admin).maxTimeoutMinutes = 5;
        QCOMPARE(e->setPolicy(p).error, ConfigError::MaxTimeoutBelowIdleTimeout);
        p = e->policy();
        p.area(Area::Admin).idleTimeoutMinutes = -3;
        QCOMPARE(e->setPolicy(p).error, ConfigError::Negative);
        QVERIFY(e->policy() == Policy());
    }

    void sweeperRemovesExpiredSessionsAndEmitsEvents()
    {
        auto e = engine();
        const TimeMs t0 = m_clock.nowMs();
        std::vector<std::string> tokens;
        for (int i = 0; i < 100; ++i)
            tokens.push_back(e->create(params("u" + std::to_string(i))).token);
        m_clock.set(t0 + 5 * kMinute);
        for (int i = 0; i < 50; ++i) // half stay active
            QCOMPARE(e->validate(tokens[std::size_t(i)]).error, SessionError::None);
        m_clock.set(t0 + 15 * kMinute - kSecond);
        QCOMPARE(e->sweepExpired(), std::size_t(0));
        m_clock.set(t0 + 15 * kMinute);
        QCOMPARE(e->sweepExpired(), std::size_t(50));
        QCOMPARE(e->sessionCount(), std::size_t(50));
        QCOMPARE(e->counters().expired, 50u);
        QCOMPARE(eventsOf(EventType::Expired).size() >= 50, true);
        QCOMPARE(e->validate(tokens[99]).error, SessionError::Unknown);
        m_clock.set(t0 + 20 * kMinute);
        QCOMPARE(e->sweepExpired(), std::size_t(50));
        QCOMPARE(e->sessionCount(), std::size_t(0));
        QCOMPARE(e->counters().active[1], 0u);
    }

    void massExpiryNeedsNoIndexRebuild()
    {
        // Regression: the sweeper used to count the heap entries it popped as stale, so draining a
        // shard forced O(n) rebuilds under its lock (75 ms stalls at 1M sessions).
        auto e = engine();
        for (int i = 0; i < 20000; ++i)
            QCOMPARE(
                e->create(params("u" + std::to_string(i % 500), Area::Storefront, false,
                                 "10.3." + std::to_string(i / 250 % 250) + "." + std::to_string(i % 250)))
                    .error,
                SessionError::None);
        m_clock.advanceMinutes(15);
        const std::uint64_t fullIndexes = e->counters().indexBytes;
        QVERIFY(fullIndexes >= 500 * 32 + 20000 * 8);                  // a record per user, a row per address
        QVERIFY(e->counters().sessionTableBytes >= 20000 * (16 + 32)); // a row and an entry each
        QCOMPARE(e->sweepExpired(), std::size_t(20000));
        QCOMPARE(e->counters().expiryIndexRebuilds, 0u);
        // The per-user and per-IP tables gave their rows back after the sweep (not during it,
        // under shard locks), and so did the shards' session tables.
        QCOMPARE(e->counters().indexBytes, 0u);
        QCOMPARE(e->counters().sessionTableBytes, 0u);
        // A policy change does rebuild (once per shard), which is what the counter is for.
        Policy p = e->policy();
        p.area(Area::Admin).idleTimeoutMinutes = 20;
        QVERIFY(e->setPolicy(p).ok());
        QCOMPARE(e->counters().expiryIndexRebuilds, 4u);
    }

    void sweepShrinksTheRecordsOfUsersLeftWithFewSessions()
    {
        // The sweeper removes a user's index entries under the shard lock without moving the
        // user's record (a move allocates), and moves sparse records once that lock is released.
        Policy p;
        p.area(Area::Storefront).idleTimeoutMinutes = 15;
        p.area(Area::Storefront).maxSessionsPerUser = 0;
        auto e = engine(p);
        for (int i = 0; i < 40; ++i)
            QCOMPARE(e->create(params("busy")).error, SessionError::None);
        m_clock.advanceMinutes(10);
        for (int i = 0; i < 2; ++i)
            QCOMPARE(e->create(params("busy")).error, SessionError::None);
        const std::uint64_t full = e->counters().indexBytes;
        m_clock.advanceMinutes(6);
        QCOMPARE(e->sweepExpired(), std::size_t(40));
        QCOMPARE(e->sessionCount(), std::size_t(2));
        // Room for 42 or more entries of 16 bytes before, for 4 after.
        const std::uint64_t after = e->counters().indexBytes;
        QVERIFY2(full >= after + (42 - 4) * 16, qPrintable(QStringLiteral("%1 -> %2").arg(full).arg(after)));
        SessionQuery busy;
        busy.user = "busy";
        QCOMPARE(e->list(busy).total, std::size_t(2));
    }

    void sweeperHonoursItsBudget()
    {
        auto e = engine();
        for (int i = 0; i < 30; ++i)
            e->create(params("u"));
        m_clock.advanceMinutes(15);
        QCOMPARE(e->sweepExpired(10), std::size_t(10));
        QCOMPARE(e->sessionCount(), std::size_t(20));
        QCOMPARE(e->sweepExpired(), std::size_t(20));
    }

    void destroyedSessionsDoNotLingerInTheExpiryIndex()
    {
        auto e = engine();
        for (int round = 0; round < 5; ++round) {
            std::vector<std::string> tokens;
            for (int i = 0; i < 2000; ++i)
                tokens.push_back(e->create(params("u" + std::to_string(i % 50), Area::Storefront, false,
                                                  "10.0." + std::to_string(i % 200) + ".1"))
                                     .token);
            for (const std::string &t : tokens)
                QCOMPARE(e->destroy(t), SessionError::None);
        }
        QCOMPARE(e->sessionCount(), std::size_t(0));
        // All stale entries drain at their due time without expiring anything.
        m_clock.advanceMinutes(16);
        QCOMPARE(e->sweepExpired(), std::size_t(0));
    }

    void rotateKillsTheOldIdAtOnce()
    {
        auto e = engine();
        const TimeMs t0 = m_clock.nowMs();
        const std::string before = e->create(params("alice")).token;
        m_clock.set(t0 + 5 * kMinute);
        const RotateResult r = e->rotate(before);
        QCOMPARE(r.error, SessionError::None);
        QVERIFY(r.token != before);
        QCOMPARE(r.previousHash, sha256(before));
        QCOMPARE(e->validate(before).error, SessionError::Unknown);
        const ValidateResult v = e->validate(r.token);
        QCOMPARE(v.error, SessionError::None);
        QCOMPARE(textOf(v.info.user), std::string_view("alice"));
        QCOMPARE(v.info.createdMs, t0); // the absolute horizon is not reset by rotation
        SessionQuery byAlice;
        byAlice.user = "alice";
        QCOMPARE(e->list(byAlice).total, std::size_t(1));
        QCOMPARE(e->rotate(before).error, SessionError::Unknown);
        QCOMPARE(e->forceLogout("alice"), std::size_t(1));
    }

    void rotateRefusesExpiredSessions()
    {
        auto e = engine();
        const std::string token = e->create(params("alice")).token;
        m_clock.advanceMinutes(15);
        QCOMPARE(e->rotate(token).error, SessionError::Expired);
    }

    void adminSizeLimitIsAnError()
    {
        auto e = engine();
        const std::string token = e->create(params("root", Area::Admin)).token;
        QCOMPARE(e->setData(token, std::string(256000, 'a')).error, SessionError::None); // at the limit
        const SetDataResult over = e->setData(token, std::string(256001, 'b'));
        QCOMPARE(over.error, SessionError::SizeExceeded);
        QCOMPARE(over.limitBytes, std::size_t(256000));
        const GetDataResult kept = e->getData(token);
        QCOMPARE(kept.data, std::string(256000, 'a')); // unchanged
        QCOMPARE(eventsOf(EventType::SizeExceeded).back().count, 256001);
        QCOMPARE(eventsOf(EventType::SizeExceeded).back().area, Area::Admin);
    }

    void storefrontSizeLimitDropsTheWriteQuietly()
    {
        auto e = engine();
        const std::string token = e->create(params("shopper")).token;
        QCOMPARE(e->setData(token, "cart=1").error, SessionError::None);
        const SetDataResult over = e->setData(token, std::string(256001, 'x'));
        QCOMPARE(over.error, SessionError::None);
        QVERIFY(over.dropped);
        QCOMPARE(e->getData(token).data, std::string("cart=1"));
        QCOMPARE(eventsOf(EventType::SizeExceeded).back().area, Area::Storefront);
        QCOMPARE(e->counters().sizeExceeded, 1u);
    }

    void zeroDisablesTheSizeLimit()
    {
        Policy p;
        p.area(Area::Admin).maxSessionSizeBytes = 0;
        auto e = engine(p);
        const std::string token = e->create(params("root", Area::Admin)).token;
        QCOMPARE(e->setData(token, std::string(1 << 20, 'z')).error, SessionError::None);
        QCOMPARE(e->getData(token).info.dataSize, std::size_t(1 << 20));
    }

    void destroyEndsTheSession()
    {
        auto e = engine();
        const std::string token = e->create(params("alice")).token;
        QCOMPARE(e->destroy(token), SessionError::None);
        QCOMPARE(e->validate(token).error, SessionError::Unknown);
        QCOMPARE(e->destroy(token), SessionError::Unknown);
        QCOMPARE(e->counters().destroyed, 1u);
    }

    void revokeByHash()
    {
        auto e = engine();
        const std::string token = e->create(params("alice")).token;
        QCOMPARE(e->revoke(sha256(token)), SessionError::None);
        QCOMPARE(e->validate(token).error, SessionError::Unknown);
        QCOMPARE(eventsOf(EventType::Destroyed).back().detail, std::string("terminated by administrator"));
    }

    void forceLogoutKeepsTheCurrentSession()
    {
        auto e = engine();
        const std::string current = e->create(params("alice")).token;
        const std::string other1 = e->create(params("alice", Area::Storefront, false, "198.51.100.7")).token;
        const std::string other2 = e->create(params("alice", Area::Admin)).token;
        const std::string bob = e->create(params("bob")).token;
        QCOMPARE(e->forceLogout("alice", sha256(current)), std::size_t(2));
        QCOMPARE(e->validate(current).error, SessionError::None);
        QCOMPARE(e->validate(other1).error, SessionError::Unknown);
        QCOMPARE(e->validate(other2).error, SessionError::Unknown);
        QCOMPARE(e->validate(bob).error, SessionError::None);
        QCOMPARE(eventsOf(EventType::ForceLogout).back().count, 2);
        QCOMPARE(e->forceLogout("alice"), std::size_t(1));
        QCOMPARE(e->forceLogout("nobody"), std::size_t(0));
    }

    void forceLogoutByArea()
    {
        auto e = engine();
        const std::string shop = e->create(params("alice")).token;
        const std::string admin = e->create(params("alice", Area::Admin)).token;
        QCOMPARE(e->forceLogout("alice", std::nullopt, Area::Admin), std::size_t(1));
        QCOMPARE(e->validate(shop).error, SessionError::None);
        QCOMPARE(e->validate(admin).error, SessionError::Unknown);
    }

    void perUserLimitDeny()
    {
        Policy p;
        p.area(Area::Storefront).maxSessionsPerUser = 2;
        auto e = engine(p);
        QCOMPARE(e->create(params("alice")).error, SessionError::None);
        QCOMPARE(e->create(params("alice")).error, SessionError::None);
        QCOMPARE(e->create(params("alice")).error, SessionError::UserLimitReached);
        QCOMPARE(e->create(params("alice", Area::Admin)).error, SessionError::None); // other area
        QCOMPARE(e->create(params("bob")).error, SessionError::None);
        QCOMPARE(eventsOf(EventType::LimitHit).size(), std::size_t(1));
        QCOMPARE(e->counters().rejectedLimit, 1u);
        // Expired sessions do not count against the limit.
        m_clock.advanceMinutes(15);
        QCOMPARE(e->create(params("alice")).error, SessionError::None);
    }

    void perUserLimitTerminatesOldest()
    {
        Policy p;
        p.area(Area::Storefront).maxSessionsPerUser = 2;
        p.area(Area::Storefront).perUserLimitAction = UserLimitAction::TerminateOldest;
        auto e = engine(p);
        const std::string first = e->create(params("alice")).token;
        m_clock.advanceSeconds(1);
        const std::string second = e->create(params("alice")).token;
        m_clock.advanceSeconds(1);
        const CreateResult third = e->create(params("alice"));
        QCOMPARE(third.error, SessionError::None);
        QCOMPARE(third.displaced.size(), std::size_t(1));
        QCOMPARE(third.displaced.front(), sha256(first));
        QCOMPARE(e->validate(first).error, SessionError::Unknown);
        QCOMPARE(e->validate(second).error, SessionError::None);
        QCOMPARE(e->validate(third.token).error, SessionError::None);
    }

    void perIpCap()
    {
        Policy p;
        p.maxSessionsPerIp = 3;
        auto e = engine(p);
        std::vector<std::string> tokens;
        for (int i = 0; i < 3; ++i)
            tokens.push_back(
                e->create(params("u" + std::to_string(i), Area::Storefront, false, "203.0.113.9")).token);
        QCOMPARE(e->create(params("u9", Area::Storefront, false, "203.0.113.9")).error,
                 SessionError::IpLimitReached);
        QCOMPARE(e->create(params("u9", Area::Storefront, false, "203.0.113.10")).error, SessionError::None);
        QCOMPARE(eventsOf(EventType::LimitHit).back().clientIp, std::string("203.0.113.9"));
        e->destroy(tokens[0]);
        QCOMPARE(e->create(params("u9", Area::Storefront, false, "203.0.113.9")).error, SessionError::None);
    }

    // With no cap the engine keeps no per-IP counts; setting one counts every live session first,
    // so sessions created while it was off, and removed since, are counted exactly.
    void perIpCapCountsSessionsCreatedWhileItWasOff()
    {
        Policy off; // the default has a cap
        off.maxSessionsPerIp = 0;
        auto e = engine(off);
        int serial = 0;
        const auto create = [&](const std::string &ip) {
            return e->create(params("u" + std::to_string(++serial), Area::Storefront, false, ip));
        };
        std::vector<std::string> fromA;
        for (int i = 0; i < 4; ++i)
            fromA.push_back(create("203.0.113.9").token);
        QCOMPARE(create("2001:db8::1").error, SessionError::None);
        QCOMPARE(create("not-an-address").error, SessionError::None);
        QCOMPARE(e->destroy(fromA.back()), SessionError::None); // removed while not counted
        fromA.pop_back();

        Policy p = e->policy();
        p.maxSessionsPerIp = 3;
        QVERIFY(e->setPolicy(p).ok());
        QCOMPARE(create("203.0.113.9").error, SessionError::IpLimitReached);
        QCOMPARE(create("198.51.100.1").error, SessionError::None);
        QCOMPARE(e->destroy(fromA.front()), SessionError::None);
        QCOMPARE(create("203.0.113.9").error, SessionError::None);
        QCOMPARE(create("203.0.113.9").error, SessionError::IpLimitReached);
        p.maxSessionsPerIp = 2;
        QVERIFY(e->setPolicy(p).ok());
        QCOMPARE(create("2001:db8:0::1").error, SessionError::None); // the same address, spelt otherwise
        QCOMPARE(create("2001:db8::1").error, SessionError::IpLimitReached);
        QCOMPARE(create("not-an-address").error, SessionError::None);
        QCOMPARE(create("not-an-address").error, SessionError::IpLimitReached);

        p.maxSessionsPerIp = 0; // off: no counting, no cap
        QVERIFY(e->setPolicy(p).ok());
        for (int i = 0; i < 3; ++i)
            QCOMPARE(create("203.0.113.9").error, SessionError::None);
        p.maxSessionsPerIp = 6; // 3 live from before, 3 created while off
        QVERIFY(e->setPolicy(p).ok());
        QCOMPARE(create("203.0.113.9").error, SessionError::IpLimitReached);
        p.maxSessionsPerIp = 7;
        QVERIFY(e->setPolicy(p).ok());
        QCOMPARE(create("203.0.113.9").error, SessionError::None);
        QCOMPARE(create("203.0.113.9").error, SessionError::IpLimitReached);
    }

    // Creates and removals racing with the cap being set and cleared leave exact counts.
    void perIpCountsStayExactWhileTheCapIsToggled()
    {
        // The cap, when set, is never reached: the default (100) would be, by creates that run
        // before the toggler's first change.
        Policy unreached;
        unreached.maxSessionsPerIp = 100000;
        auto e = engine(unreached);
        constexpr int kThreads = 2, kEach = 400;
        std::atomic<bool> done{false};
        std::thread toggler([&] {
            Policy p = e->policy();
            for (int i = 0; !done.load(); ++i) {
                p.maxSessionsPerIp = i % 2 == 0 ? 100000 : 0;
                QVERIFY(e->setPolicy(p).ok());
            }
        });
        std::vector<std::thread> threads;
        std::atomic<int> failures{0};
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                std::vector<std::string> mine;
                for (int i = 0; i < kEach; ++i) {
                    const CreateResult r = e->create(params("t" + std::to_string(t) + "u" + std::to_string(i),
                                                            Area::Storefront, false, "192.0.2.7"));
                    failures += r.error != SessionError::None;
                    mine.push_back(r.token);
                    if (i % 4 == 3) // every fourth session ends again
                        failures += e->destroy(mine[std::size_t(i - 1)]) != SessionError::None;
                }
            });
        }
        for (auto &t : threads)
            t.join();
        done = true;
        toggler.join();
        QCOMPARE(failures.load(), 0);
        const int live = kThreads * (kEach - kEach / 4);
        Policy p = e->policy();
        p.maxSessionsPerIp = live;
        QVERIFY(e->setPolicy(p).ok());
        QCOMPARE(e->create(params("x", Area::Storefront, false, "192.0.2.7")).error,
                 SessionError::IpLimitReached);
        p.maxSessionsPerIp = 0;
        QVERIFY(e->setPolicy(p).ok());
        p.maxSessionsPerIp = live + 1; // counted again from the live sessions
        QVERIFY(e->setPolicy(p).ok());
        QCOMPARE(e->create(params("x", Area::Storefront, false, "192.0.2.7")).error, SessionError::None);
        QCOMPARE(e->create(params("y", Area::Storefront, false, "192.0.2.7")).error,
                 SessionError::IpLimitReached);
    }

    void listFiltersAndPages()
    {
        auto e = engine();
        for (int i = 0; i < 25; ++i) {
            m_clock.advanceSeconds(1);
            e->create(params("user" + std::to_string(i % 5), i % 2 ? Area::Admin : Area::Storefront, false,
                             "10.1.0." + std::to_string(i)));
        }
        QCOMPARE(e->list({}).total, std::size_t(25));
        SessionQuery q;
        q.user = "user3";
        const SessionPage byUser = e->list(q);
        QCOMPARE(byUser.total, std::size_t(5));
        for (const SessionInfo &s : byUser.rows)
            QCOMPARE(textOf(s.user), std::string_view("user3"));
        q = {};
        q.area = Area::Admin;
        QCOMPARE(e->list(q).total, std::size_t(12));
        q = {};
        q.text = "10.1.0.2";
        QCOMPARE(e->list(q).total, std::size_t(6)); // .2 and .20-.24
        q = {};
        q.clientIp = "10.1.0.2";
        QCOMPARE(e->list(q).total, std::size_t(1));
        q = {};
        q.offset = 20;
        q.limit = 10;
        const SessionPage last = e->list(q);
        QCOMPARE(last.total, std::size_t(25));
        QCOMPARE(last.rows.size(), std::size_t(5));
        q.offset = 0;
        q.limit = 25;
        const SessionPage all = e->list(q);
        for (std::size_t i = 1; i < all.rows.size(); ++i)
            QVERIFY(all.rows[i - 1].createdMs >= all.rows[i].createdMs); // newest first
        q.offset = 30;
        QVERIFY(e->list(q).rows.empty());
    }

    // Each shard keeps its newest sessions whatever order their creation times come in (a clock
    // set back, ties): the first page is then answered from them alone, and exactly.
    void newestSessionsAreKeptThroughCreationTimesInAnyOrder()
    {
        SessionEngine e(newestOptions(1, 8));
        const TimeMs start = m_clock.nowMs();
        std::mt19937 order(11);
        std::vector<std::pair<TimeMs, IdHash>> created;
        for (int i = 0; i < 400; ++i) {
            m_clock.set(start + TimeMs(order() % 200) * kSecond); // about two sessions per instant
            const CreateResult r = e.create(params("n" + std::to_string(i), Area::Storefront, false,
                                                   "198.51.100." + std::to_string(i % 200)));
            QCOMPARE(r.error, SessionError::None);
            created.push_back({r.info.createdMs, r.info.hash});
        }
        std::sort(created.begin(), created.end(), newestFirst);
        SessionQuery q;
        q.limit = 8;
        const std::uint64_t before = e.counters().listScans;
        const SessionPage page = e.list(q);
        QCOMPARE(e.counters().listScans, before); // no visit of every session
        QCOMPARE(page.rows.size(), std::size_t(8));
        for (std::size_t i = 0; i < page.rows.size(); ++i)
            QCOMPARE(page.rows[i].hash, created[i].second);
    }

    // A shard forgets its older sessions in one selection; the newest forgotten bounds what a page
    // may take from the kept ones. A session then created with the clock set back, older than
    // the forgotten, must not be listed before them once the newest kept has ended.
    void newestSessionsForgottenStillBoundThePage()
    {
        SessionEngine e(newestOptions(1, 4));
        const TimeMs start = m_clock.nowMs();
        std::vector<IdHash> byTime;    // oldest first
        for (int i = 1; i <= 8; ++i) { // the eighth fills twice the capacity: four are forgotten
            m_clock.set(start + TimeMs(10 * i) * kSecond);
            const CreateResult r = e.create(
                params("f" + std::to_string(i), Area::Storefront, false, "203.0.113." + std::to_string(i)));
            QCOMPARE(r.error, SessionError::None);
            byTime.push_back(r.info.hash);
        }
        QCOMPARE(e.revoke(byTime.back()), SessionError::None); // the newest (80 s) ends
        byTime.pop_back();
        m_clock.set(start + 39 * kSecond); // just before the newest forgotten (40 s)
        QCOMPARE(e.create(params("late", Area::Storefront, false, "203.0.113.99")).error, SessionError::None);
        SessionQuery q;
        q.limit = 4;
        const SessionPage page = e.list(q);
        QCOMPARE(page.rows.size(), std::size_t(4));
        for (std::size_t i = 0; i < page.rows.size(); ++i)
            QCOMPARE(page.rows[i].hash, byTime[byTime.size() - 1 - i]); // 70, 60, 50, 40 s
    }

    // The unfiltered list pages from each shard's few newest sessions; whatever happens to the
    // sessions (clock set back, equal creation times, rotation, the newest all ended), every page
    // must equal the exact order, and a scan of every session happens only when the newest known
    // no longer reach the page.
    void listNewestFirstStaysExactThroughEveryChange()
    {
        SessionEngine e(newestOptions(2, 3));
        std::map<std::string, std::pair<TimeMs, IdHash>> live; // token -> (created, hash)
        int serial = 0;
        const auto create = [&] {
            ++serial;
            const CreateResult r =
                e.create(params("user" + std::to_string(serial), Area::Storefront, false,
                                "10.2." + std::to_string(serial / 256) + "." + std::to_string(serial % 256)));
            QCOMPARE(r.error, SessionError::None);
            live[r.token] = {r.info.createdMs, r.info.hash};
        };
        const auto newestTokens = [&](std::size_t n) {
            std::vector<std::pair<std::pair<TimeMs, IdHash>, std::string>> order;
            for (const auto &[token, key] : live)
                order.push_back({key, token});
            std::sort(order.begin(), order.end(),
                      [](const auto &a, const auto &b) { return newestFirst(a.first, b.first); });
            std::vector<std::string> tokens;
            for (std::size_t i = 0; i < std::min(n, order.size()); ++i)
                tokens.push_back(order[i].second);
            return tokens;
        };
        const auto pagesAreExact = [&] {
            const std::vector<std::string> expected = newestTokens(live.size());
            for (const auto &[offset, limit] : std::vector<std::pair<std::size_t, std::size_t>>{
                     {0, 1}, {0, 3}, {0, 6}, {2, 3}, {4, 2}, {5, 100}, {0, 1000}}) {
                SessionQuery q;
                q.offset = offset;
                q.limit = limit;
                const SessionPage page = e.list(q);
                if (page.total != live.size())
                    return false;
                const std::size_t end = std::min(live.size(), offset + limit);
                if (page.rows.size() != (offset < end ? end - offset : 0))
                    return false;
                for (std::size_t i = 0; i < page.rows.size(); ++i) {
                    if (page.rows[i].hash != live[expected[offset + i]].second)
                        return false;
                }
            }
            return true;
        };
        const auto scans = [&] {
            return e.counters().listScans;
        };

        for (int i = 0; i < 20; ++i) {
            m_clock.advanceSeconds(1);
            create();
        }
        SessionQuery firstPage;
        firstPage.limit = 2;
        std::uint64_t before = scans();
        QCOMPARE(e.list(firstPage).rows.front().hash, live[newestTokens(1).front()].second);
        QCOMPARE(scans(), before); // answered from the newest sessions alone
        QVERIFY(pagesAreExact());

        // The clock set back: sessions older than the newest arrive.
        const TimeMs now = m_clock.nowMs();
        m_clock.set(now - 30 * kSecond);
        for (int i = 0; i < 4; ++i)
            create();
        QVERIFY(pagesAreExact());
        // Equal creation times: ties go by hash.
        m_clock.set(now + kSecond);
        for (int i = 0; i < 5; ++i)
            create();
        before = scans();
        QCOMPARE(e.list(firstPage).rows.front().hash, live[newestTokens(1).front()].second);
        QCOMPARE(scans(), before); // each shard kept exactly its newest, through the ties
        QVERIFY(pagesAreExact());
        // Rotation keeps the place in the list under a new hash.
        for (const std::string &token : newestTokens(3)) {
            const RotateResult r = e.rotate(token);
            QCOMPARE(r.error, SessionError::None);
            live[r.token] = {r.info.createdMs, r.info.hash};
            live.erase(token);
        }
        QVERIFY(pagesAreExact());
        // The newest all end: the list falls back to visiting every session once, and then
        // knows the newest again.
        for (const std::string &token : newestTokens(8)) {
            QCOMPARE(e.destroy(token), SessionError::None);
            live.erase(token);
        }
        before = scans();
        QCOMPARE(e.list(firstPage).rows.front().hash, live[newestTokens(1).front()].second);
        QCOMPARE(scans(), before + 1);
        QCOMPARE(e.list(firstPage).rows.front().hash, live[newestTokens(1).front()].second);
        QCOMPARE(scans(), before + 1);
        QVERIFY(pagesAreExact());
        m_clock.advanceSeconds(5);
        for (int i = 0; i < 3; ++i)
            create();
        QVERIFY(pagesAreExact());
        // Until the last one.
        for (const std::string &token : newestTokens(live.size())) {
            QCOMPARE(e.destroy(token), SessionError::None);
            live.erase(token);
            QVERIFY(pagesAreExact());
        }
        QCOMPARE(e.list({}).total, std::size_t(0));
    }

    void countersTrackActivity()
    {
        auto e = engine();
        const std::string a = e->create(params("a", Area::Admin)).token;
        e->create(params("b"));
        e->validate(a);
        e->validate(a);
        const EngineCounters c = e->counters();
        QCOMPARE(c.created, 2u);
        QCOMPARE(c.validations, 2u);
        QCOMPARE(c.active[0], 1u);
        QCOMPARE(c.active[1], 1u);
        // Every validation counts once, whatever its outcome.
        e->validate("not a token");
        e->validate(SessionToken::generate(OpenSslRandom::instance())->text());
        QCOMPARE(e->counters().validations, 4u);
        QCOMPARE(e->counters().rejectedMalformed, 1u);
        QCOMPARE(e->counters().rejectedUnknown, 1u);
    }

    void validationsAreCountedExactlyUnderConcurrency()
    {
        // Four threads validating the same sessions, and garbage, at once: no count is lost, and
        // the total read meanwhile never goes back.
        auto e = engine();
        std::vector<std::string> tokens;
        for (int i = 0; i < 64; ++i)
            tokens.push_back(e->create(params("user" + std::to_string(i))).token);
        constexpr int kThreads = 4, kRounds = 2000;
        std::atomic<int> finished{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < kRounds; ++i)
                    e->validate(i % 10 == 0 ? std::string("garbage")
                                            : tokens[std::size_t(i + t) % tokens.size()]);
                finished.fetch_add(1);
            });
        }
        std::uint64_t seen = 0;
        bool monotonic = true;
        while (finished.load() < kThreads) {
            const std::uint64_t now = e->counters().validations; // read while they change
            monotonic = monotonic && now >= seen;
            seen = now;
            std::this_thread::yield();
        }
        QVERIFY(monotonic);
        for (std::thread &thread : threads)
            thread.join();
        QCOMPARE(e->counters().validations, std::uint64_t(kThreads * kRounds));
        QCOMPARE(e->counters().rejectedMalformed, std::uint64_t(kThreads * kRounds / 10));
    }

    void changeGenerationMovesOnChangesOnly()
    {
        auto e = engine();
        std::uint64_t g = e->changeGeneration();
        const std::string token = e->create(params("alice")).token;
        QVERIFY(e->changeGeneration() > g);
        g = e->changeGeneration();
        e->validate(token);
        e->validate("nonsense");
        QCOMPARE(e->changeGeneration(), g); // validations are not changes
        e->startAuthentication("", "192.0.2.1");
        QVERIFY(e->changeGeneration() > g);
        g = e->changeGeneration();
        Policy p = e->policy();
        QVERIFY(e->setPolicy(p).ok());
        QCOMPARE(e->changeGeneration(), g); // same policy: no change
        p.maxSessionsPerIp = 5;
        QVERIFY(e->setPolicy(p).ok());
        QVERIFY(e->changeGeneration() > g);
    }

    void concurrentUseIsConsistent()
    {
        auto e = engine();
        constexpr int kThreads = 4;
        constexpr int kPerThread = 2000;
        std::vector<std::thread> threads;
        std::atomic<int> failures{0};
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < kPerThread; ++i) {
                    const std::string user = "t" + std::to_string(t) + "u" + std::to_string(i % 10);
                    const CreateResult r =
                        e->create(params(user, Area::Storefront, false,
                                         "10.9." + std::to_string(t) + "." + std::to_string(i % 50)));
                    if (r.error != SessionError::None || e->validate(r.token).error != SessionError::None)
                        ++failures;
                    if (i % 3 == 0 && e->destroy(r.token) != SessionError::None)
                        ++failures;
                    if (i % 7 == 0 && e->rotate(r.token).error == SessionError::Malformed)
                        ++failures;
                }
            });
        }
        for (auto &t : threads)
            t.join();
        QCOMPARE(failures.load(), 0);
        const std::size_t expected = kThreads * (kPerThread - (kPerThread + 2) / 3);
        QCOMPARE(e->sessionCount(), expected);
        QCOMPARE(e->counters().active[1], std::uint64_t(expected));
        QCOMPARE(e->list({}).total, expected);
        std::size_t viaUsers = 0;
        for (int t = 0; t < kThreads; ++t)
            for (int u = 0; u < 10; ++u)
                viaUsers += e->forceLogout("t" + std::to_string(t) + "u" + std::to_string(u));
        QCOMPARE(viaUsers, expected);
        QCOMPARE(e->sessionCount(), std::size_t(0));
    }

    void maintenanceThreadSweeps()
    {
        auto e = engine();
        e->create(params("alice"));
        m_clock.advanceMinutes(15);
        e->startMaintenance(std::chrono::milliseconds(5));
        QTRY_COMPARE(e->sessionCount(), std::size_t(0));
        e->stopMaintenance();
    }
};

QTEST_GUILESS_MAIN(TestSessionEngine)
#include "tst_sessionengine.moc"
