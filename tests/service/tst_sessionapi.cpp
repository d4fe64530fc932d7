#include "Cookies.h"
#include "RandomSource.h"
#include "ServiceFixture.h"

#include <QJsonArray>
#include <QTest>

#include <algorithm>

using namespace hourglass;
using test::ServiceFixture;

namespace {
std::pair<std::string, std::string> cookie(const std::string &id)
{
    return {"Cookie", "theme=dark; __Host-hg_session=" + id + "; lang=en"};
}
// POST /v1/sessions with a body built by the test, and the ID it answered with.
test::RawResponse createFrom(ServiceFixture &f, const QJsonObject &body)
{
    return f.request("POST", "/v1/sessions", {},
                     QJsonDocument(body).toJson(QJsonDocument::Compact).toStdString());
}

std::string idOf(const test::RawResponse &created)
{
    return ServiceFixture::json(created).value(QStringLiteral("id")).toString().toStdString();
}

std::pair<std::string, std::string> bearer(const std::string &id)
{
    return {"Authorization", "Session " + id};
}
std::pair<std::string, std::string> from(const std::string &ip)
{
    return {"X-Real-IP", ip};
}
} // namespace

class TestSessionApi final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void createIssuesASecureHostCookie()
    {
        ServiceFixture f;
        const auto r = f.request("POST", "/v1/sessions", {},
                                 R"({"user":"alice","area":"admin","client_ip":"203.0.113.7"})");
        QCOMPARE(r.status, 201);
        const QJsonObject body = ServiceFixture::json(r);
        const std::string id = body.value(QStringLiteral("id")).toString().toStdString();
        QCOMPARE(id.size(), SessionToken::kEncodedLength);
        QCOMPARE(body.value(QStringLiteral("id_hash")).toString().toStdString(), sha256(id).toHex());
        QCOMPARE(body.value(QStringLiteral("client_ip")).toString(), QStringLiteral("203.0.113.7"));
        const std::string setCookie = *r.header("set-cookie");
        QCOMPARE(setCookie, "__Host-hg_session=" + id + "; Path=/; Secure; HttpOnly; SameSite=Lax");
        QVERIFY(setCookie.find("Domain") == std::string::npos);
        QVERIFY(setCookie.find("Max-Age") == std::string::npos); // not remember-me: a browser-session cookie
        QVERIFY(setCookie.size() <= service::kMaxCookieBytes);
        QCOMPARE(body.value(QStringLiteral("set_cookie")).toString().toStdString(), setCookie);
    }

    // With the embedded store, creation is answered when the store's writer reports the commit
    // (no thread waits); everything else that writes waits on the blocking pool; reads run on the
    // I/O threads.
    void onlyCreationCompletesFromTheStore()
    {
        ServiceFixture f;
        const auto request = [](std::string method, std::string target) {
            http::Request r;
            r.method = std::move(method);
            r.target = std::move(target);
            return r;
        };
        QVERIFY(f.service->completesLater(request("POST", "/v1/sessions")));
        QVERIFY(f.service->completesLater(request("POST", "/v1/sessions?from=test")));
        for (const auto &[method, target] :
             std::vector<std::pair<std::string, std::string>>{{"DELETE", "/v1/session"},
                                                              {"POST", "/v1/session/rotate"},
                                                              {"PUT", "/v1/session/data"},
                                                              {"GET", "/v1/session"},
                                                              {"GET", "/v1/sessions"},
                                                              {"POST", "/admin/v1/sessions"}}) {
            QVERIFY2(!f.service->completesLater(request(method, target)), (method + " " + target).c_str());
        }
        QVERIFY(f.service->mayBlock(request("DELETE", "/v1/session")));
        QVERIFY(!f.service->mayBlock(request("GET", "/v1/session")));
    }

    void rememberMeCookieIsPersistent()
    {
        ServiceFixture f;
        const auto r = f.request("POST", "/v1/sessions", {}, R"({"user":"bob","remember_me":true})");
        QCOMPARE(r.status, 201);
        QVERIFY(r.header("set-cookie")->find("; Max-Age=1209600") != std::string::npos); // 20160 minutes
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("area")).toString(),
                 QStringLiteral("storefront"));
    }

    void validateByCookieOrAuthorization()
    {
        ServiceFixture f;
        const std::string id = f.create("alice");
        auto r = f.request("GET", "/v1/session", {cookie(id)});
        QCOMPARE(r.status, 200);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("user")).toString(), QStringLiteral("alice"));
        QVERIFY(!ServiceFixture::json(r).contains(QStringLiteral("id"))); // the ID is never echoed back
        QCOMPARE(f.request("GET", "/v1/session", {bearer(id)}).status, 200);
        QCOMPARE(f.request("GET", "/v1/session", {{"Authorization", "session " + id}}).status, 200);
    }

    void sessionJsonCarriesEveryFieldAndEscapesText()
    {
        ServiceFixture f;
        // Quotes, backslashes, control characters and non-ASCII text in what the client sent.
        const QString user = QStringLiteral("zo\u00eb \"the\" \\admin\\\u0001\u00e9\u6f22");
        const QString agent = QStringLiteral("Agent\t1.0 \u2603 </script>");
        QJsonObject request;
        request.insert(QStringLiteral("user"), user);
        request.insert(QStringLiteral("area"), QStringLiteral("admin"));
        request.insert(QStringLiteral("remember_me"), true);
        request.insert(QStringLiteral("client_ip"), QStringLiteral("2001:db8::7"));
        request.insert(QStringLiteral("user_agent"), agent);
        const auto created = createFrom(f, request);
        QCOMPARE(created.status, 201);
        const std::string id = idOf(created);
        const auto r = f.request("GET", "/v1/session", {bearer(id)});
        QCOMPARE(r.status, 200);
        QJsonParseError error;
        const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(r.body), &error).object();
        QCOMPARE(error.error, QJsonParseError::NoError);
        QStringList keys;
        for (const char *key :
             {"absolute_deadline_ms", "area", "client_ip", "created_ms", "data_size", "expires_ms", "id_hash",
              "idle_deadline_ms", "last_activity_ms", "remember_me", "sub_sessions", "user", "user_agent"})
            keys << QLatin1String(key);
        QCOMPARE(o.keys(), keys);
        QCOMPARE(o.value(QStringLiteral("user")).toString(), user);
        QCOMPARE(o.value(QStringLiteral("user_agent")).toString(), agent);
        QCOMPARE(o.value(QStringLiteral("client_ip")).toString(), QStringLiteral("2001:db8::7"));
        QCOMPARE(o.value(QStringLiteral("area")).toString(), QStringLiteral("admin"));
        QCOMPARE(o.value(QStringLiteral("remember_me")).toBool(), true);
        QCOMPARE(o.value(QStringLiteral("id_hash")).toString().toStdString(), sha256(id).toHex());
        QCOMPARE(o.value(QStringLiteral("data_size")).toInteger(), 0);
        const auto engine = f.runtime->engine().find(sha256(id));
        QVERIFY(engine);
        QCOMPARE(o.value(QStringLiteral("created_ms")).toInteger(), engine->createdMs);
        QCOMPARE(o.value(QStringLiteral("last_activity_ms")).toInteger(), engine->lastActivityMs);
        QCOMPARE(o.value(QStringLiteral("idle_deadline_ms")).toInteger(), engine->idleDeadlineMs);
        QCOMPARE(o.value(QStringLiteral("expires_ms")).toInteger(), engine->expiresAtMs);
        if (engine->absoluteDeadlineMs == SessionInfo::kNoDeadline)
            QVERIFY(o.value(QStringLiteral("absolute_deadline_ms")).isNull());
        else
            QCOMPARE(o.value(QStringLiteral("absolute_deadline_ms")).toInteger(), engine->absoluteDeadlineMs);
        // Creation answers with the same fields plus the ID and its cookie.
        const QJsonObject c = ServiceFixture::json(created);
        QCOMPARE(c.value(QStringLiteral("user")).toString(), user);
        QCOMPARE(c.value(QStringLiteral("set_cookie")).toString().toStdString(),
                 *created.header("set-cookie"));
        QCOMPARE(c.keys().size(), keys.size() + 2);
    }

    // The body is written into room sized beforehand for the worst case: text at the size limits
    // made only of characters that must be escaped (six bytes each for control characters).
    void sessionJsonOfTextThatIsAllEscapes()
    {
        ServiceFixture f;
        QString user, agent;
        for (int i = 0; i < 256; ++i)
            user.append(QChar(char16_t(1 + i % 31)));
        for (int i = 0; i < 512; ++i)
            agent.append(i % 2 ? QLatin1Char('"') : QLatin1Char('\\'));
        QJsonObject request;
        request.insert(QStringLiteral("user"), user);
        request.insert(QStringLiteral("area"), QStringLiteral("storefront"));
        request.insert(QStringLiteral("client_ip"),
                       QStringLiteral("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"));
        request.insert(QStringLiteral("user_agent"), agent);
        const auto created = createFrom(f, request);
        QCOMPARE(created.status, 201);
        const std::string id = idOf(created);
        for (const auto &r : {created, f.request("GET", "/v1/session", {bearer(id)})}) {
            // Escaped, not raw (Qt's reader would accept a raw control character in a string).
            QCOMPARE(std::count_if(r.body.begin(), r.body.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x20; }),
                     0);
            QJsonParseError error;
            const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(r.body), &error).object();
            QCOMPARE(error.error, QJsonParseError::NoError);
            QCOMPARE(o.value(QStringLiteral("user")).toString(), user);
            QCOMPARE(o.value(QStringLiteral("user_agent")).toString(), agent);
            QCOMPARE(o.value(QStringLiteral("client_ip")).toString(),
                     QStringLiteral("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"));
            QCOMPARE(o.value(QStringLiteral("id_hash")).toString().toStdString(), sha256(id).toHex());
        }
    }

    void invalidSessionsAre401WithAChallenge_data()
    {
        QTest::addColumn<QByteArray>("header");
        QTest::addColumn<QByteArray>("value");
        const auto forged = SessionToken::generate(OpenSslRandom::instance())->text();
        QTest::newRow("none") << QByteArray("X-None") << QByteArray("1");
        QTest::newRow("forged cookie")
            << QByteArray("Cookie") << QByteArray(("__Host-hg_session=" + forged).c_str());
        QTest::newRow("forged bearer")
            << QByteArray("Authorization") << QByteArray(("Session " + forged).c_str());
        QTest::newRow("malformed") << QByteArray("Authorization") << QByteArray("Session not-an-id");
        QTest::newRow("other scheme")
            << QByteArray("Authorization") << QByteArray(("Bearer " + forged).c_str());
        QTest::newRow("unprefixed cookie")
            << QByteArray("Cookie") << QByteArray(("hg_session=" + forged).c_str());
    }

    void invalidSessionsAre401WithAChallenge()
    {
        QFETCH(QByteArray, header);
        QFETCH(QByteArray, value);
        ServiceFixture f;
        const auto r = f.request("GET", "/v1/session", {{header.toStdString(), value.toStdString()}});
        QCOMPARE(r.status, 401);
        QCOMPARE(r.header("www-authenticate"), std::optional<std::string>("Session"));
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("error")).toString(),
                 QStringLiteral("invalid_session"));
    }

    void rotateKillsTheOldIdAndIssuesANewCookie()
    {
        ServiceFixture f;
        const std::string before = f.create("alice");
        const auto r = f.request("POST", "/v1/session/rotate", {cookie(before)});
        QCOMPARE(r.status, 200);
        const std::string after =
            ServiceFixture::json(r).value(QStringLiteral("id")).toString().toStdString();
        QVERIFY(after != before);
        QVERIFY(r.header("set-cookie")->find(after) != std::string::npos);
        QCOMPARE(f.request("GET", "/v1/session", {cookie(before)}).status, 401);
        QCOMPARE(f.request("GET", "/v1/session", {cookie(after)}).status, 200);
    }

    void sessionDataAndSizeLimits()
    {
        ServiceFixture f;
        const std::string shop = f.create("shopper");
        auto r = f.request("PUT", "/v1/session/data", {cookie(shop)}, "cart=1");
        QCOMPARE(r.status, 200);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("stored")).toBool(), true);
        r = f.request("GET", "/v1/session/data", {cookie(shop)});
        QCOMPARE(r.body, std::string("cart=1"));
        QCOMPARE(r.header("content-type"), std::optional<std::string>("application/octet-stream"));

        // Storefront over the limit: not stored, no error status, flagged.
        {
            QVERIFY(f.runtime
                        ->setSetting("system/security/max_session_size_storefront", "1000",
                                     Confirmation::Confirmed)
                        .ok());
            QVERIFY(
                f.runtime
                    ->setSetting("system/security/max_session_size_admin", "1000", Confirmation::Confirmed)
                    .ok());
        }
        r = f.request("PUT", "/v1/session/data", {cookie(shop)}, std::string(1001, 's'));
        QCOMPARE(r.status, 200);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("stored")).toBool(), false);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("dropped")).toBool(), true);
        QCOMPARE(f.request("GET", "/v1/session/data", {cookie(shop)}).body, std::string("cart=1"));

        // Admin over the limit: 413 with a JSON error.
        const std::string admin = f.create("root", "admin");
        r = f.request("PUT", "/v1/session/data", {cookie(admin)}, std::string(1001, 'a'));
        QCOMPARE(r.status, 413);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("error")).toString(),
                 QStringLiteral("session_size_exceeded"));
        QCOMPARE(f.request("PUT", "/v1/session/data", {cookie(admin)}, std::string(1000, 'a')).status, 200);
    }

    void sessionDataUpToTheDefaultSizeLimitPassesTheBodyLimit()
    {
        ServiceFixture f; // defaults: 64 KiB bodies, 256000-byte sessions
        const std::string shop = f.create("shopper");
        const std::string admin = f.create("root", "admin");
        // Within the session limit but over the general body limit: stored.
        auto r = f.request("PUT", "/v1/session/data", {cookie(shop)}, std::string(200000, 'd'));
        QCOMPARE(r.status, 200);
        QCOMPARE(f.request("GET", "/v1/session/data", {cookie(shop)}).body.size(), std::size_t(200000));
        // Just over the admin limit: the session-size error, not a transport error.
        r = f.request("PUT", "/v1/session/data", {cookie(admin)}, std::string(256001, 'a'));
        QCOMPARE(r.status, 413);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("error")).toString(),
                 QStringLiteral("session_size_exceeded"));
        // Storefront just over: dropped quietly, as documented.
        r = f.request("PUT", "/v1/session/data", {cookie(shop)}, std::string(256001, 's'));
        QCOMPARE(r.status, 200);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("dropped")).toBool(), true);
        // Far beyond any configured size: refused before the body is read.
        r = f.request("PUT", "/v1/session/data", {cookie(shop)}, std::string(256000 + 65536 + 1, 'x'));
        QCOMPARE(r.status, 413);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("error")).toString(),
                 QStringLiteral("body_too_large"));
        // Other routes keep the general limit.
        r = f.request("POST", "/v1/sessions", {}, std::string(70000, ' ') + R"({"user":"x"})");
        QCOMPARE(r.status, 413);
    }

    void logoutReturnsAnExpiringCookie()
    {
        ServiceFixture f;
        const std::string id = f.create("alice");
        const auto r = f.request("DELETE", "/v1/session", {cookie(id)});
        QCOMPARE(r.status, 200);
        QCOMPARE(*r.header("set-cookie"),
                 std::string("__Host-hg_session=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"));
        QCOMPARE(f.request("GET", "/v1/session", {cookie(id)}).status, 401);
    }

    void logoutOthersKeepsTheCurrentSession()
    {
        ServiceFixture f;
        const std::string current = f.create("alice");
        const std::string other = f.create("alice", "admin");
        const std::string bob = f.create("bob");
        const auto r = f.request("POST", "/v1/session/logout-others", {cookie(current)});
        QCOMPARE(r.status, 200);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("ended")).toInt(), 1);
        QCOMPARE(f.request("GET", "/v1/session", {cookie(current)}).status, 200);
        QCOMPARE(f.request("GET", "/v1/session", {cookie(other)}).status, 401);
        QCOMPARE(f.request("GET", "/v1/session", {cookie(bob)}).status, 200);
    }

    void nginxAuthEndpoint()
    {
        ServiceFixture f;
        const std::string id = f.create("carol", "admin");
        auto r = f.request("GET", "/v1/auth", {cookie(id)});
        QCOMPARE(r.status, 204);
        QCOMPARE(r.header("x-hourglass-user"), std::optional<std::string>("carol"));
        QCOMPARE(r.header("x-hourglass-area"), std::optional<std::string>("admin"));
        QCOMPARE(r.header("x-hourglass-session"), std::optional<std::string>(sha256(id).toHex()));
        QVERIFY(!r.header("content-length")); // RFC 9110: none on 204
        QCOMPARE(
            f.request("GET", "/v1/auth", {cookie(SessionToken::generate(OpenSslRandom::instance())->text())})
                .status,
            401);
    }

    void loginFlowsBecomeSessionsWithFreshIds()
    {
        ServiceFixture f;
        auto r = f.request("POST", "/v1/auth-sessions", {}, R"({"client_ip":"192.0.2.50"})");
        QCOMPARE(r.status, 201);
        const QJsonObject first = ServiceFixture::json(r);
        const std::string root = first.value(QStringLiteral("root_id")).toString().toStdString();
        QCOMPARE(*r.header("set-cookie"),
                 "__Host-hg_auth=" + root + "; Path=/; Secure; HttpOnly; SameSite=Lax");
        r = f.request("POST", "/v1/auth-sessions", {{"Cookie", "__Host-hg_auth=" + root}}, "{}");
        QCOMPARE(r.status, 201);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("new_root")).toBool(), false);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("tab_count")).toInt(), 2);
        r = f.request("POST", "/v1/auth-sessions/complete", {{"Cookie", "__Host-hg_auth=" + root}},
                      R"({"tab_id":")" + first.value(QStringLiteral("tab_id")).toString().toStdString() +
                          R"(","user":"dave","area":"admin"})");
        QCOMPARE(r.status, 201);
        const std::string session =
            ServiceFixture::json(r).value(QStringLiteral("id")).toString().toStdString();
        QVERIFY(session != root); // the pre-login identifier is never adopted
        QCOMPARE(f.request("GET", "/v1/session", {cookie(root)}).status, 401);
        QCOMPARE(f.request("GET", "/v1/session", {cookie(session)}).status, 200);
        r = f.request("POST", "/v1/auth-sessions/complete", {{"Cookie", "__Host-hg_auth=" + root}},
                      R"({"tab_id":"nonexistent","user":"dave"})");
        QCOMPARE(r.status, 401);
    }

    void guardBlocksAGuessingAddressOnly()
    {
        ServiceFixture f(QJsonObject{{QStringLiteral("guard_failure_threshold"), 5}});
        const std::string good = f.create("alice", "storefront", false, "198.51.100.20");
        for (int i = 0; i < 5; ++i) {
            const auto forged = SessionToken::generate(OpenSslRandom::instance())->text();
            QCOMPARE(f.request("GET", "/v1/session", {cookie(forged), from("203.0.113.66")}).status, 401);
        }
        // Blocked now, even with a valid session; the answer says when to come back.
        auto r = f.request("GET", "/v1/session", {cookie(good), from("203.0.113.66")});
        QCOMPARE(r.status, 429);
        // 60 s block; seconds left when this request arrives (a loaded machine may take a moment).
        const int retryAfter = std::stoi(r.header("retry-after").value_or("0"));
        QVERIFY2(retryAfter >= 50 && retryAfter <= 60, r.header("retry-after").value_or("none").c_str());
        QCOMPARE(f.request("GET", "/v1/auth", {cookie(good), from("203.0.113.66")}).status, 403);
        // Another address is not affected.
        QCOMPARE(f.request("GET", "/v1/session", {cookie(good), from("198.51.100.20")}).status, 200);
        // Requests without any credential are not guesses: they never block an address.
        for (int i = 0; i < 10; ++i)
            QCOMPARE(f.request("GET", "/v1/session", {from("198.51.100.99")}).status, 401);
        QCOMPARE(f.request("GET", "/v1/session", {cookie(good), from("198.51.100.99")}).status, 200);
        bool sawEvent = false;
        for (const SessionEvent &e : f.runtime->events().recent(100))
            sawEvent = sawEvent || (e.type == EventType::IpBlocked && e.clientIp == "203.0.113.66");
        QVERIFY(sawEvent);
    }

    void sessionCreationIsRateLimitedPerAddress()
    {
        ServiceFixture f(
            QJsonObject{{QStringLiteral("create_burst"), 3}, {QStringLiteral("create_per_second"), 1}});
        for (int i = 0; i < 3; ++i)
            QCOMPARE(f.request("POST", "/v1/sessions", {}, R"({"user":"u","client_ip":"192.0.2.77"})").status,
                     201);
        const auto r = f.request("POST", "/v1/sessions", {}, R"({"user":"u","client_ip":"192.0.2.77"})");
        QCOMPARE(r.status, 429);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("error")).toString(),
                 QStringLiteral("rate_limited"));
        QCOMPARE(f.request("POST", "/v1/sessions", {}, R"({"user":"u","client_ip":"192.0.2.78"})").status,
                 201);
        // The detection is an event.
        bool detected = false;
        for (const SessionEvent &e : f.runtime->events().recent(50))
            detected = detected || (e.type == EventType::LimitHit && e.clientIp == "192.0.2.77" &&
                                    e.detail == "session creation rate limit reached");
        QVERIFY(detected);
    }

    void sessionLimitsMapToStatuses()
    {
        Policy p;
        p.maxSessionsPerIp = 1;
        p.area(Area::Storefront).maxSessionsPerUser = 1;
        ServiceFixture f({}, p);
        f.create("alice", "storefront", false, "192.0.2.1");
        auto r = f.request("POST", "/v1/sessions", {}, R"({"user":"alice","client_ip":"192.0.2.2"})");
        QCOMPARE(r.status, 409);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("error")).toString(),
                 QStringLiteral("user_session_limit"));
        r = f.request("POST", "/v1/sessions", {}, R"({"user":"bob","client_ip":"192.0.2.1"})");
        QCOMPARE(r.status, 429);
        QCOMPARE(ServiceFixture::json(r).value(QStringLiteral("error")).toString(),
                 QStringLiteral("ip_session_limit"));
    }

    void badRequestsAreClearErrors_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QByteArray>("target");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("message");
        QTest::newRow("not json") << QByteArray("POST") << QByteArray("/v1/sessions") << QByteArray("{user")
                                  << 400 << QStringLiteral("not valid JSON");
        QTest::newRow("array") << QByteArray("POST") << QByteArray("/v1/sessions") << QByteArray("[]") << 400
                               << QStringLiteral("JSON object");
        QTest::newRow("no user") << QByteArray("POST") << QByteArray("/v1/sessions") << QByteArray("{}")
                                 << 400 << QStringLiteral("'user' is required");
        QTest::newRow("typo") << QByteArray("POST") << QByteArray("/v1/sessions")
                              << QByteArray(R"({"user":"a","remember":true})") << 400
                              << QStringLiteral("unknown field 'remember'");
        QTest::newRow("bad area") << QByteArray("POST") << QByteArray("/v1/sessions")
                                  << QByteArray(R"({"user":"a","area":"moon"})") << 400
                                  << QStringLiteral("'area'");
        QTest::newRow("bad type") << QByteArray("POST") << QByteArray("/v1/sessions")
                                  << QByteArray(R"({"user":"a","remember_me":"yes"})") << 400
                                  << QStringLiteral("true or false");
        QTest::newRow("bad ip") << QByteArray("POST") << QByteArray("/v1/sessions")
                                << QByteArray(R"({"user":"a","client_ip":"999.1.1.1"})") << 400
                                << QStringLiteral("IP address");
        // inet_pton would have read the address up to the NUL and let it through.
        QTest::newRow("ip with a NUL") << QByteArray("POST") << QByteArray("/v1/sessions")
                                       << QByteArray(R"({"user":"a","client_ip":"10.0.0.1\u0000evil"})")
                                       << 400 << QStringLiteral("IP address");
        QTest::newRow("long user") << QByteArray("POST") << QByteArray("/v1/sessions")
                                   << QByteArray(("{\"user\":\"" + std::string(300, 'u') + "\"}").c_str())
                                   << 400 << QStringLiteral("longer than 256");
        QTest::newRow("wrong method") << QByteArray("GET") << QByteArray("/v1/sessions") << QByteArray()
                                      << 405 << QStringLiteral("POST");
        QTest::newRow("unknown path") << QByteArray("GET") << QByteArray("/v1/nothing") << QByteArray() << 404
                                      << QStringLiteral("no such endpoint");
    }

    void badRequestsAreClearErrors()
    {
        QFETCH(QByteArray, method);
        QFETCH(QByteArray, target);
        QFETCH(QByteArray, body);
        QFETCH(int, status);
        QFETCH(QString, message);
        ServiceFixture f;
        const auto r = f.request(method.toStdString(), target.toStdString(), {}, body.toStdString());
        QCOMPARE(r.status, status);
        QVERIFY2(ServiceFixture::json(r).value(QStringLiteral("message")).toString().contains(message),
                 r.body.c_str());
        QCOMPARE(f.runtime->engine().sessionCount(), std::size_t(0)); // nothing changed
        if (status == 405)
            QCOMPARE(r.header("allow"), std::optional<std::string>("POST"));
    }
};

QTEST_GUILESS_MAIN(TestSessionApi)
#include "tst_sessionapi.moc"
