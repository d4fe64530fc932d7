// Security scenarios in the style of OWASP WSTG SESS-03 (session fixation) and SESS-06 (logout
// and timeouts), over real loopback HTTP against a real engine and store, time moved by a manual
// clock: identifiers that were never issued are never adopted; the pre-login identifier is dead
// after login; a replayed cookie is refused after logout, idle expiry, absolute expiry, force
// logout and admin termination; guessing finds nothing and gets the guesser blocked; identifiers do
// not repeat; every Set-Cookie carries the secure attributes.

#include "ManualClock.h"
#include "RandomSource.h"
#include "ServiceFixture.h"

#include <QTest>

#include <unordered_set>

using namespace hourglass;
using hourglass::test::ManualClock;
using hourglass::test::ServiceFixture;
using Header = std::pair<std::string, std::string>;

namespace {

Header cookie(const std::string &id)
{
    return {"Cookie", "__Host-hg_session=" + id};
}

Header from(const std::string &ip)
{
    return {"X-Real-IP", ip};
}

std::string randomId()
{
    return SessionToken::generate(OpenSslRandom::instance())->text();
}

std::string cookieValue(const std::string &setCookie)
{
    const auto eq = setCookie.find('=');
    return setCookie.substr(eq + 1, setCookie.find(';') - eq - 1);
}

} // namespace

class TestSecurityScenarios final : public QObject
{
    Q_OBJECT

    static int validate(ServiceFixture &f, const std::string &id, const std::string &ip = "198.51.100.1")
    {
        return f.request("GET", "/v1/session", {cookie(id), from(ip)}).status;
    }

private Q_SLOTS:
    void anIdThatWasNeverIssuedIsNeverAdopted()
    {
        ServiceFixture f;
        const std::string forged = randomId();
        const auto r = f.request("GET", "/v1/session", {cookie(forged)});
        QCOMPARE(r.status, 401);
        QVERIFY(r.all("set-cookie").empty());
        QCOMPARE(f.runtime->engine().sessionCount(), std::size_t(0));
        // Creating a session ignores any identifier the client brings along (no fixation).
        const auto created = f.request("POST", "/v1/sessions", {cookie(forged)}, R"({"user":"alice"})");
        QCOMPARE(created.status, 201);
        const std::string issued =
            ServiceFixture::json(created).value(QStringLiteral("id")).toString().toStdString();
        QVERIFY(issued != forged);
        QCOMPARE(validate(f, forged), 401);
        QCOMPARE(validate(f, issued), 200);
    }

    void thePreLoginIdIsDeadAfterLoginAndRotation()
    {
        ServiceFixture f;
        const auto started = f.request("POST", "/v1/auth-sessions", {}, R"({"client_ip":"203.0.113.7"})");
        QCOMPARE(started.status, 201);
        const std::string root = cookieValue(started.header("set-cookie").value_or(""));
        const std::string tab =
            ServiceFixture::json(started).value(QStringLiteral("tab_id")).toString().toStdString();
        QCOMPARE(root.size(), std::size_t(43));
        const auto done =
            f.request("POST", "/v1/auth-sessions/complete", {{"Cookie", "__Host-hg_auth=" + root}},
                      R"({"tab_id":")" + tab + R"(","user":"alice","area":"admin"})");
        QCOMPARE(done.status, 201);
        const std::string session =
            ServiceFixture::json(done).value(QStringLiteral("id")).toString().toStdString();
        QVERIFY(session != root);
        QCOMPARE(validate(f, root), 401); // the login flow's identifier is no session
        QCOMPARE(validate(f, session), 200);

        // A privilege change rotates: the old identifier dies at once.
        const auto rotated = f.request("POST", "/v1/session/rotate", {cookie(session)});
        QCOMPARE(rotated.status, 200);
        const std::string fresh =
            ServiceFixture::json(rotated).value(QStringLiteral("id")).toString().toStdString();
        QVERIFY(fresh != session);
        QCOMPARE(validate(f, session), 401);
        QCOMPARE(validate(f, fresh), 200);
    }

    void aReplayedCookieIsRefusedAfterEveryEnding()
    {
        ManualClock clock(SystemClock::instance().nowMs());
        Policy policy;
        policy.area(Area::Storefront).idleTimeoutMinutes = 15;
        policy.area(Area::Storefront).maxTimeoutEnabled = true;
        policy.area(Area::Storefront).maxTimeoutMinutes = 60;
        ServiceFixture f({}, policy, &clock);

        // Logout.
        std::string id = f.create("alice");
        QCOMPARE(f.request("DELETE", "/v1/session", {cookie(id)}).status, 200);
        QCOMPARE(validate(f, id), 401);

        // Idle expiry: valid one second before, refused at the timeout.
        id = f.create("alice");
        clock.advance(15 * kMsPerMinute - 1000);
        QCOMPARE(validate(f, id), 200); // touches: the idle horizon slides from here
        clock.advanceMinutes(15);
        QCOMPARE(validate(f, id), 401);

        // Absolute expiry: activity every 10 minutes keeps it alive until the maximum, not after.
        id = f.create("alice");
        for (int i = 0; i < 5; ++i) {
            clock.advanceMinutes(10);
            QCOMPARE(validate(f, id), 200);
        }
        clock.advanceMinutes(10);
        QCOMPARE(validate(f, id), 401);

        // Force logout by the admin: every session of the user.
        const std::string a = f.create("bob"), b = f.create("bob", "admin");
        QCOMPARE(f.admin("POST", "/admin/v1/users/bob/logout", "{}").status, 200);
        QCOMPARE(validate(f, a), 401);
        QCOMPARE(validate(f, b), 401);

        // Termination of one session by the admin.
        id = f.create("carol");
        const std::string hash = SessionToken::parse(id)->hash().toHex();
        QCOMPARE(f.admin("DELETE", "/admin/v1/sessions/" + hash).status, 200);
        QCOMPARE(validate(f, id), 401);

        // "Log out other sessions" after a password change: the others die, this one lives.
        const std::string mine = f.create("dave"), other = f.create("dave");
        QCOMPARE(f.request("POST", "/v1/session/logout-others", {cookie(mine)}).status, 200);
        QCOMPARE(validate(f, other), 401);
        QCOMPARE(validate(f, mine), 200);

        // After a restart too: none of the ended sessions comes back.
        f.service->stop();
        f.service.reset();
        f.runtime.reset();
        Runtime::Options o;
        o.dataDir = f.dir.path();
        o.clock = &clock;
        Runtime::OpenError code;
        QString error;
        auto reopened = Runtime::open(o, &code, &error);
        QVERIFY2(reopened, qPrintable(error));
        QCOMPARE(reopened->engine().sessionCount(), std::size_t(1)); // only dave's own session
        QCOMPARE(reopened->engine().validate(mine, SessionEngine::Touch::No).error, SessionError::None);
        for (const std::string &dead : {a, b, id, other})
            QCOMPARE(reopened->engine().validate(dead, SessionEngine::Touch::No).error,
                     SessionError::Unknown);
    }

    void aMillionGuessesAgainstAHundredThousandSessionsFindNothing()
    {
        Policy policy;
        policy.maxSessionsPerIp = 0;
        SessionEngine engine(SessionEngine::Options(), policy);
        for (int i = 0; i < 100'000; ++i)
            QCOMPARE(
                engine.create({"user" + std::to_string(i), Area::Storefront, false, "10.0.0.1", "ua"}).error,
                SessionError::None);
        std::size_t hits = 0;
        for (int i = 0; i < 1'000'000; ++i)
            hits += engine.validate(randomId(), SessionEngine::Touch::No).error != SessionError::Unknown;
        QCOMPARE(hits, std::size_t(0));
        QCOMPARE(engine.sessionCount(), std::size_t(100'000));
    }

    void theGuessingAddressIsBlockedAndOthersCarryOn()
    {
        ServiceFixture f(QJsonObject{{QStringLiteral("guard_failure_threshold"), 30}});
        const std::string good = f.create("erin", "storefront", false, "198.51.100.20");
        for (int i = 0; i < 30; ++i)
            QCOMPARE(validate(f, randomId(), "203.0.113.66"), 401);
        QCOMPARE(validate(f, randomId(), "203.0.113.66"), 429);
        QCOMPARE(validate(f, good, "203.0.113.66"), 429); // even a valid cookie, from the blocked address
        for (int i = 0; i < 100; ++i)
            QCOMPARE(validate(f, good, "198.51.100.20"), 200);
    }

    void aMillionIdsHaveNoDuplicates()
    {
        std::unordered_set<std::string> seen;
        seen.reserve(1'000'000);
        for (int i = 0; i < 1'000'000; ++i) {
            const auto token = SessionToken::generate(OpenSslRandom::instance());
            QVERIFY(token);
            QVERIFY(seen.insert(token->text()).second);
        }
    }

    void everySetCookieCarriesTheSecureAttributes()
    {
        ServiceFixture f;
        std::vector<std::string> cookies;
        const auto collect = [&](const test::RawResponse &r) {
            for (const std::string &c : r.all("set-cookie"))
                cookies.push_back(c);
        };
        const auto created = f.request("POST", "/v1/sessions", {}, R"({"user":"frank"})");
        collect(created);
        const std::string id =
            ServiceFixture::json(created).value(QStringLiteral("id")).toString().toStdString();
        collect(f.request("POST", "/v1/sessions", {}, R"({"user":"frank","remember_me":true})"));
        const auto rotated = f.request("POST", "/v1/session/rotate", {cookie(id)});
        collect(rotated);
        const std::string fresh =
            ServiceFixture::json(rotated).value(QStringLiteral("id")).toString().toStdString();
        collect(f.request("DELETE", "/v1/session", {cookie(fresh)}));
        const auto started = f.request("POST", "/v1/auth-sessions", {}, "{}");
        collect(started);
        const std::string tab =
            ServiceFixture::json(started).value(QStringLiteral("tab_id")).toString().toStdString();
        collect(f.request(
            "POST", "/v1/auth-sessions/complete",
            {{"Cookie", "__Host-hg_auth=" + cookieValue(started.header("set-cookie").value_or(""))}},
            R"({"tab_id":")" + tab + R"(","user":"frank"})"));
        QCOMPARE(cookies.size(), std::size_t(6));
        for (const std::string &c : cookies) {
            QVERIFY2(c.rfind("__Host-hg_", 0) == 0, c.c_str());
            for (const char *attribute : {"; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax"})
                QVERIFY2(c.find(attribute) != std::string::npos, c.c_str());
            QVERIFY2(c.find("Domain") == std::string::npos, c.c_str());
        }
    }
};

QTEST_GUILESS_MAIN(TestSecurityScenarios)
#include "tst_securityscenarios.moc"
