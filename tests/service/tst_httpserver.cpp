#include "HttpError.h"
#include "HttpServer.h"
#include "RawHttp.h"
#include "RequestHandler.h"
#include "ThreadNames.h"

#include <QProcess>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <pthread.h>
#include <sched.h>
#include <set>
#include <thread>

using namespace hourglass;
using namespace hourglass::http;
using test::RawConnection;
using test::rawRequest;
using namespace std::chrono_literals;

namespace {

// Echoes what it received; /error and /crash throw.
class EchoHandler final : public RequestHandler
{
public:
    Response handle(const Request &request, RequestContext &context) override
    {
        if (request.path() == "/error")
            throw HttpError(418, "teapot", "short and stout").withHeader("X-Extra", "1");
        if (request.path() == "/crash")
            throw std::runtime_error("secret internal detail");
        Response r;
        if (request.path() == "/headers") { // the request's headers as the handler sees them
            for (const auto &[name, value] : request.headers)
                r.body += name + "=" + value + ";";
            r.addHeader("X-Count", std::to_string(request.headers.size()));
            r.addHeader("Cache-Control", "public, max-age=3600"); // the server's no-store wins
            r.addHeader("Content-Length", "999");                 // the server counts
            r.addHeader("Connection", "keep-alive");
            return r;
        }
        if (request.path() == "/split") { // a value that would inject a header and a second response
            r.addHeader("X-User", request.queryValue("user").value_or(""));
            r.body = "must not be sent";
            return r;
        }
        if (request.path() == "/named") { // a header whose name the client chooses
            r.addHeader(request.queryValue("name").value_or(""), "v");
            r.body = "named";
            return r;
        }
        if (request.path() == "/big") { // a body larger than the socket buffers hold
            r.body.assign(std::stoul(std::string(request.queryValue("bytes").value_or("0"))), 'x');
            return r;
        }
        if (request.path() == "/thread") { // the name of the thread that runs the handler
            char name[16] = {};
            pthread_getname_np(pthread_self(), name, sizeof name);
            r.body = name;
            return r;
        }
        if (request.path() == "/nocontent") {
            r.status = 204;
            r.body = "must not be sent";
            return r;
        }
        r.status = 200;
        r.body = request.method + " " + request.target + " " + std::to_string(request.body.size()) + " " +
                 context.peerAddress + " " + (context.tls ? "tls" : "plain");
        return r;
    }
    bool mayBlock(const Request &request) const override { return request.method == "POST"; }

    // /later... answers later: /later waits for the test to complete it, /later/refuse throws
    // before starting, /later/fail completes with a response that throws.
    bool completesLater(const Request &request) const override
    {
        return request.path().rfind("/later", 0) == 0;
    }
    void handleAsync(const Request &request, RequestContext &, Completion complete) override
    {
        if (request.path() == "/later/refuse")
            throw HttpError(409, "refused", "not started");
        if (request.path() == "/later/fail") {
            complete([]() -> Response { throw HttpError(503, "store_unavailable", "not durable"); });
            return;
        }
        std::lock_guard lock(m_mutex);
        m_later.push_back(std::move(complete));
    }
    std::size_t waiting()
    {
        std::lock_guard lock(m_mutex);
        return m_later.size();
    }
    // keep: the completion outlives the call (a store's callback queue may destroy it later).
    void completeOne(std::string body, bool keep = false)
    {
        Completion complete;
        {
            std::lock_guard lock(m_mutex);
            complete = std::move(m_later.front());
            m_later.erase(m_later.begin());
        }
        complete([body = std::move(body)] {
            Response r;
            r.status = 201;
            r.body = body;
            return r;
        });
        if (keep) {
            std::lock_guard lock(m_mutex);
            m_kept.push_back(std::move(complete));
        }
    }
    void releaseKept()
    {
        std::lock_guard lock(m_mutex);
        m_kept.clear();
    }

private:
    std::mutex m_mutex;
    std::vector<Completion> m_later;
    std::vector<Completion> m_kept;
};

std::string get(const std::string &target, const std::string &extra = {})
{
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

} // namespace

class TestHttpServer final : public QObject
{
    Q_OBJECT

    EchoHandler m_handler;
    std::vector<Rejection> m_rejections;
    std::mutex m_mutex;

    std::unique_ptr<HttpServer> server(HttpLimits limits = {}, const std::string &cert = {},
                                       const std::string &key = {})
    {
        HttpServer::Options o;
        o.limits = limits;
        o.tlsCertificateFile = cert;
        o.tlsPrivateKeyFile = key;
        HttpServer::Observer obs;
        obs.rejected = [this](Rejection r) {
            std::lock_guard lock(m_mutex);
            m_rejections.push_back(r);
        };
        auto s = std::make_unique<HttpServer>(o, m_handler, obs);
        std::string error;
        if (!s->start(&error))
            qFatal("start: %s", error.c_str());
        return s;
    }

    // A server with one of its timeouts set: the deadline tests.
    std::unique_ptr<HttpServer> serverWith(std::chrono::milliseconds HttpLimits::*timeout,
                                           std::chrono::milliseconds value)
    {
        HttpLimits limits;
        limits.*timeout = value;
        return server(limits);
    }

    bool rejected(Rejection r)
    {
        std::lock_guard lock(m_mutex);
        return std::find(m_rejections.begin(), m_rejections.end(), r) != m_rejections.end();
    }

private Q_SLOTS:
    void init()
    {
        std::lock_guard lock(m_mutex);
        m_rejections.clear();
    }

    void bindsLoopbackByDefaultAndServesKeepAlive()
    {
        auto s = server();
        QVERIFY(QByteArray::fromStdString(s->url()).startsWith("http://127.0.0.1:"));
        RawConnection c(s->port());
        QVERIFY(c.send(get("/a?x=1") + get("/b"))); // pipelined
        auto r1 = c.read();
        auto r2 = c.read();
        QCOMPARE(r1.status, 200);
        QCOMPARE(r1.body, std::string("GET /a?x=1 0 127.0.0.1 plain"));
        QCOMPARE(r2.body, std::string("GET /b 0 127.0.0.1 plain"));
        QCOMPARE(r1.header("cache-control"), std::optional<std::string>("no-store"));
        QVERIFY(c.send("POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
        QCOMPARE(c.read().body, std::string("POST /c 5 127.0.0.1 plain")); // blocking pool path
    }

    void ioThreadsDefaultToHalfTheCpusThisProcessMayUse()
    {
        cpu_set_t all;
        CPU_ZERO(&all);
        QCOMPARE(sched_getaffinity(0, sizeof(all), &all), 0);
        const int cpus = CPU_COUNT(&all);
        QCOMPARE(HttpServer::defaultIoThreads(), std::clamp(cpus / 2, 1, 16));
        // Confined to one CPU (on a thread of its own, so that the test's thread keeps them all):
        // one I/O thread, never zero.
        int confined = 0;
        std::thread([&] {
            cpu_set_t one;
            CPU_ZERO(&one);
            for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
                if (CPU_ISSET(cpu, &all)) {
                    CPU_SET(cpu, &one);
                    break;
                }
            }
            if (sched_setaffinity(0, sizeof(one), &one) == 0)
                confined = HttpServer::defaultIoThreads();
        }).join();
        QCOMPARE(confined, 1);

        QCOMPARE(server()->ioThreads(), HttpServer::defaultIoThreads());
        HttpServer::Options o;
        o.ioThreads = 3;
        HttpServer three(o, m_handler);
        std::string error;
        QVERIFY2(three.start(&error), error.c_str());
        QCOMPARE(three.ioThreads(), 3);
        // Named for top -H, ps -L and perf.
        const std::set<std::string> names = test::threadNames();
        for (const char *name : {"hg-http-1", "hg-http-2", "hg-http-3"})
            QVERIFY2(names.count(name), name);
        // Connections are spread over the threads; each is answered.
        std::vector<std::unique_ptr<RawConnection>> connections;
        for (int i = 0; i < 6; ++i) {
            connections.push_back(std::make_unique<RawConnection>(three.port()));
            QVERIFY(connections.back()->send(get("/t" + std::to_string(i))));
        }
        for (int i = 0; i < 6; ++i)
            QCOMPARE(connections[std::size_t(i)]->read().body,
                     "GET /t" + std::to_string(i) + " 0 127.0.0.1 plain");
    }

    void mayBlockHandlersRunOnTheirOwnNamedThreads()
    {
        HttpServer::Options o;
        o.ioThreads = 1;
        o.blockingThreads = 3;
        HttpServer s(o, m_handler);
        std::string error;
        QVERIFY2(s.start(&error), error.c_str());
        // This test's other servers are gone: only this one's threads carry the names.
        QCOMPARE(test::threadsNamed("hg-block-"), std::size_t(3));
        RawConnection c(s.port());
        QVERIFY(c.send(get("/thread")));
        QCOMPARE(c.read().body, std::string("hg-http-1"));
        for (int i = 0; i < 4; ++i) {
            QVERIFY(c.send("POST /thread HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
            const std::string name = c.read().body;
            QVERIFY2(name == "hg-block-1" || name == "hg-block-2" || name == "hg-block-3", name.c_str());
        }
        // stop() lets the pool's threads end (a joined thread leaves /proc a moment later).
        s.stop();
        QTRY_COMPARE(test::threadsNamed("hg-block-"), std::size_t(0));
    }

    void responsesAreFramedByTheServer()
    {
        auto s = server();
        RawConnection c(s->port());
        // Requests of decreasing header counts on one connection: each sees only its own headers.
        QVERIFY(c.send(get("/headers", "X-A: 1\r\nX-B: two\r\nX-C: 3\r\n")));
        auto r = c.read();
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, std::string("host=x;x-a=1;x-b=two;x-c=3;"));
        QCOMPARE(r.all("cache-control"), std::vector<std::string>{"no-store"});
        QCOMPARE(r.all("content-length"), std::vector<std::string>{std::to_string(r.body.size())});
        QVERIFY(r.all("connection").empty());
        QVERIFY(c.send(get("/headers", "X-Long: " + std::string(300, 'v') + "\r\n")));
        QCOMPARE(c.read().body, "host=x;x-long=" + std::string(300, 'v') + ";");
        QVERIFY(c.send(get("/headers")));
        QCOMPARE(c.read().body, std::string("host=x;"));

        // 204: neither content nor Content-Length, and the next response on the connection is
        // still framed right.
        QVERIFY(c.send(get("/nocontent") + get("/a")));
        r = c.read();
        QCOMPARE(r.status, 204);
        QVERIFY(!r.header("content-length"));
        r = c.read();
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, std::string("GET /a 0 127.0.0.1 plain"));

        // A header value with CR LF would split the response: 500 instead, nothing of it sent,
        // and the connection goes on.
        QVERIFY(c.send(get("/split?user=eve%0D%0ASet-Cookie:%20admin=1%0D%0A%0D%0Ainjected")));
        r = c.read();
        QCOMPARE(r.status, 500);
        QVERIFY(!r.header("set-cookie"));
        QVERIFY(!r.header("x-user"));
        QVERIFY(r.body.find("must not") == std::string::npos);
        // LF, CR or NUL alone, at the start, the middle and the end of the value.
        for (const char *bad : {"eve%0Aadmin", "eve%0Dadmin", "eve%00admin", "%0Deve", "eve%00", "%0A"}) {
            QVERIFY(c.send(get(std::string("/split?user=") + bad)));
            r = c.read();
            QVERIFY2(r.status == 500, bad);
            QVERIFY(r.body.find("must not") == std::string::npos);
        }
        QVERIFY(c.send(get("/split?user=eve")));
        r = c.read();
        QCOMPARE(r.status, 200);
        QCOMPARE(r.header("x-user"), std::optional<std::string>("eve"));

        // Header names must be tokens (RFC 9110 tchar): anything else is a 500 as well.
        for (const char *bad : {"X%20Bad", "X:Y", "X%7BY", "X%C3%A9", "X%00", "X%22", "X(", "X%2C", ""}) {
            QVERIFY(c.send(get(std::string("/named?name=") + bad)));
            r = c.read();
            QVERIFY2(r.status == 500, bad);
            QVERIFY(r.body.find("named") == std::string::npos);
        }
        QVERIFY(c.send(get("/named?name=X-Ok_1.%7E!%23$%25%26'*%2B%5E%60%7C")));
        r = c.read();
        QCOMPARE(r.status, 200);
        QCOMPARE(r.header("x-ok_1.~!#$%&'*+^`|"), std::optional<std::string>("v"));

        // The client asks to close: the response says so and the server closes.
        QVERIFY(c.send(get("/a", "Connection: close\r\n")));
        r = c.read();
        QCOMPARE(r.status, 200);
        QCOMPARE(r.header("connection"), std::optional<std::string>("close"));
        QVERIFY(c.closedByPeer(5s));
    }

    void handlerErrorsAreMappedInOnePlace()
    {
        auto s = server();
        auto r = rawRequest(s->port(), "GET", "/error");
        QCOMPARE(r.status, 418);
        QCOMPARE(r.body, std::string(R"({"error":"teapot","message":"short and stout"})"));
        QCOMPARE(r.header("x-extra"), std::optional<std::string>("1"));
        r = rawRequest(s->port(), "GET", "/crash");
        QCOMPARE(r.status, 500);
        QVERIFY(r.body.find("secret") == std::string::npos);
    }

    void laterCompletionsAreAnsweredOnTheirConnection()
    {
        auto s = server();
        RawConnection c(s->port());
        QVERIFY(c.send("POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"));
        QTRY_COMPARE(m_handler.waiting(), std::size_t(1));
        std::thread store([this] { m_handler.completeOne("durable"); }); // as a store's thread would
        store.join();
        const auto r = c.read();
        QCOMPARE(r.status, 201);
        QCOMPARE(r.body, std::string("durable"));
        QVERIFY(c.send(get("/after"))); // the connection goes on
        QCOMPARE(c.read().body, std::string("GET /after 0 127.0.0.1 plain"));

        auto refused = rawRequest(s->port(), "POST", "/later/refuse");
        QCOMPARE(refused.status, 409);
        QCOMPARE(refused.body, std::string(R"({"error":"refused","message":"not started"})"));
        auto failed = rawRequest(s->port(), "POST", "/later/fail");
        QCOMPARE(failed.status, 503);
        QCOMPARE(failed.body, std::string(R"({"error":"store_unavailable","message":"not durable"})"));
    }

    void stopWaitsForLaterCompletions()
    {
        auto s = server();
        RawConnection c(s->port());
        QVERIFY(c.send("POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
        QTRY_COMPARE(m_handler.waiting(), std::size_t(1));
        // The completion arrives only after stop() has begun; stop() must not tear the I/O threads
        // down under it.
        std::atomic<bool> completed{false};
        std::thread store([&] {
            std::this_thread::sleep_for(200ms);
            completed = true;
            m_handler.completeOne("late");
        });
        s->stop();
        QVERIFY(completed);
        store.join();
    }

    void aCompletionDestroyedAfterTheServerIsHarmless()
    {
        // A store's thread completes, then destroys its callback only after the server is gone:
        // the callback must not be what keeps the connection (whose end uses the server) alive.
        auto s = server();
        {
            RawConnection c(s->port());
            QVERIFY(c.send("POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
            QTRY_COMPARE(m_handler.waiting(), std::size_t(1));
            std::thread store([this] { m_handler.completeOne("kept", true); });
            store.join();
            QCOMPARE(c.read().body, std::string("kept"));
        }
        s.reset();
        m_handler.releaseKept(); // under AddressSanitizer: a use after free if it held the connection
        auto again = server();   // and the process' heap is still sound
        QCOMPARE(rawRequest(again->port(), "GET", "/still").body,
                 std::string("GET /still 0 127.0.0.1 plain"));
    }

    void headerTooLargeIs431()
    {
        auto s = server();
        std::string many;
        for (int i = 0; i < 40; ++i)
            many +=
                "X-Filler-" + std::to_string(i) + ": " + std::string(1000, 'a') + "\r\n"; // 40 KiB > 32 KiB
        RawConnection c(s->port());
        c.send(get("/", many));
        const auto r = c.read();
        QCOMPARE(r.status, 431);
        QVERIFY(c.closedByPeer(2s));
        QVERIFY(rejected(Rejection::HeaderTooLarge));
    }

    void headerLineTooLongIs431()
    {
        auto s = server();
        QCOMPARE(rawRequest(s->port(), "GET", "/", {{"X-Long", std::string(8 * 1024, 'b')}}).status, 431);
        QCOMPARE(rawRequest(s->port(), "GET", "/", {{"X-Long", std::string(8 * 1024 - 100, 'b')}}).status,
                 200);
    }

    void tooManyHeadersIs431()
    {
        auto s = server();
        std::vector<std::pair<std::string, std::string>> headers;
        for (int i = 0; i < 70; ++i)
            headers.emplace_back("X-H" + std::to_string(i), "v");
        QCOMPARE(rawRequest(s->port(), "GET", "/", headers).status, 431);
        headers.resize(50);
        QCOMPARE(rawRequest(s->port(), "GET", "/", headers).status, 200);
    }

    void longTargetIs414()
    {
        auto s = server();
        QCOMPARE(rawRequest(s->port(), "GET", "/" + std::string(9000, 'p')).status, 414);
        QVERIFY(rejected(Rejection::UriTooLong));
    }

    void oversizedBodyIs413BeforeItIsSent()
    {
        auto s = server();
        RawConnection c(s->port());
        // Announce 10 MB, send none of it: the answer must come from the header alone.
        c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n");
        const auto r = c.read(3s);
        QCOMPARE(r.status, 413);
        QVERIFY(r.body.find("body_too_large") != std::string::npos);
        QVERIFY(c.closedByPeer(2s));
        // At the limit is fine.
        QCOMPARE(rawRequest(s->port(), "POST", "/ok", {}, std::string(64 * 1024, 'z')).status, 200);
    }

    void oversizedChunkedBodyIs413()
    {
        auto s = server();
        RawConnection c(s->port());
        std::string req = "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (int i = 0; i < 80; ++i)
            req += "400\r\n" + std::string(1024, 'c') + "\r\n"; // 80 KiB
        req += "0\r\n\r\n";
        c.send(req);
        QCOMPARE(c.read().status, 413);
    }

    void framingAttacksAre400_data()
    {
        QTest::addColumn<QByteArray>("request");
        QTest::newRow("duplicate content-length")
            << QByteArray("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
        QTest::newRow("conflicting content-length")
            << QByteArray("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd");
        QTest::newRow("duplicate host") << QByteArray("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
        QTest::newRow("missing host") << QByteArray("GET / HTTP/1.1\r\n\r\n");
        QTest::newRow("gzip transfer-encoding")
            << QByteArray("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n");
        QTest::newRow("chunked plus content-length") << QByteArray(
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n");
        QTest::newRow("garbage") << QByteArray("HELLO\r\n\r\n");
        QTest::newRow("bad version") << QByteArray("GET / HTTP/2.7\r\nHost: x\r\n\r\n");
        QTest::newRow("space in header name")
            << QByteArray("GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n");
    }

    void framingAttacksAre400()
    {
        QFETCH(QByteArray, request);
        auto s = server();
        RawConnection c(s->port());
        c.send(request.toStdString());
        const auto r = c.read(3s);
        QCOMPARE(r.status, 400);
        QVERIFY(c.closedByPeer(2s));
    }

    void expectContinueIsHonoured()
    {
        auto s = server();
        RawConnection c(s->port());
        c.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
        QCOMPARE(c.read(3s).status, 100);
        c.send("data");
        QCOMPARE(c.read(3s).body, std::string("POST /e 4 127.0.0.1 plain"));
    }

    void slowlorisIsCutOffAtTheHeaderDeadline()
    {
        auto s = serverWith(&HttpLimits::headerTimeout, 400ms);
        RawConnection c(s->port());
        const auto start = std::chrono::steady_clock::now();
        c.send("GET / HTTP/1.1\r\n");
        // Keep dribbling a byte every 50 ms for up to 5 s: the server must cut the connection
        // while bytes are still arriving (the deadline covers the whole header, not idle gaps).
        bool closed = false;
        for (int i = 0; i < 100 && !closed; ++i) {
            c.send("X");
            closed = c.closedByPeer(50ms);
        }
        QVERIFY(closed);
        // 400 ms deadline; generous slack for a loaded CI machine.
        QVERIFY(std::chrono::steady_clock::now() - start < 3s);
        QTRY_VERIFY(rejected(Rejection::Timeout));
        // Others are still served.
        QCOMPARE(rawRequest(s->port(), "GET", "/").status, 200);
    }

    void idleKeepAliveConnectionsAreClosed()
    {
        auto s = serverWith(&HttpLimits::keepAliveTimeout, 300ms);
        RawConnection c(s->port());
        c.send(get("/"));
        QCOMPARE(c.read().status, 200);
        QVERIFY(c.closedByPeer(2s));
    }

    void largeHeadersAndSmallOnesAlternateOnOneConnection()
    {
        // A request's fields live in memory the connection reuses; a header larger than its buffer
        // takes more until the next request. Each request must read its own fields only.
        auto s = server();
        RawConnection c(s->port());
        for (int i = 0; i < 4; ++i) {
            const std::string big(6000, char('a' + i));
            QVERIFY(c.send(get("/headers", "X-A: " + big + "\r\nX-B: " + big + "\r\nX-C: " + big + "\r\n")));
            const auto r = c.read();
            QCOMPARE(r.status, 200);
            QCOMPARE(r.body, "host=x;x-a=" + big + ";x-b=" + big + ";x-c=" + big + ";");
            QVERIFY(c.send(get("/headers", "X-Small: " + std::to_string(i) + "\r\n")));
            QCOMPARE(c.read().body, "host=x;x-small=" + std::to_string(i) + ";");
        }
    }

    void busyKeepAliveConnectionIsNotCutOff()
    {
        // Each request renews the deadline: a connection kept busy for four times its keep-alive
        // and header timeouts stays open, then goes once idle.
        HttpLimits limits;
        limits.keepAliveTimeout = 300ms;
        limits.headerTimeout = 300ms;
        auto s = server(limits);
        RawConnection c(s->port());
        for (int i = 0; i < 12; ++i) {
            QVERIFY(c.send(get("/busy")));
            QCOMPARE(c.read(2s).status, 200);
            std::this_thread::sleep_for(100ms);
        }
        QVERIFY(!rejected(Rejection::Timeout));
        QVERIFY(c.closedByPeer(3s));
        QTRY_VERIFY(rejected(Rejection::Timeout));
    }

    void stalledBodyIsCutOffAtTheBodyDeadline()
    {
        auto s = serverWith(&HttpLimits::bodyTimeout, 300ms);
        RawConnection c(s->port());
        const auto start = std::chrono::steady_clock::now();
        QVERIFY(c.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
        QVERIFY(c.closedByPeer(3s));
        // Not before the deadline; the slack above it is for a loaded CI machine.
        QVERIFY(std::chrono::steady_clock::now() - start >= 300ms);
        QTRY_VERIFY(rejected(Rejection::Timeout));
        QTRY_COMPARE(s->openConnections(), std::size_t(0));
    }

    void clientThatDoesNotReadIsCutOffAtTheWriteDeadline()
    {
        auto s = serverWith(&HttpLimits::writeTimeout, 300ms);
        RawConnection c(s->port());
        // 64 MiB: more than loopback's socket buffers take, so the write stalls until the deadline.
        QVERIFY(c.send(get("/big?bytes=67108864")));
        QTRY_COMPARE(s->openConnections(), std::size_t(1));
        QTRY_COMPARE_WITH_TIMEOUT(s->openConnections(), std::size_t(0), 5000);
        QCOMPARE(rawRequest(s->port(), "GET", "/").status, 200);
    }

    void connectionsPerIpAreCapped()
    {
        HttpLimits limits;
        limits.maxConnectionsPerIp = 3;
        auto s = server(limits);
        std::vector<std::unique_ptr<RawConnection>> held;
        for (int i = 0; i < 3; ++i) {
            held.push_back(std::make_unique<RawConnection>(s->port()));
            held.back()->send(get("/"));
            QCOMPARE(held.back()->read().status, 200); // established and counted
        }
        RawConnection fourth(s->port());
        QCOMPARE(fourth.read(3s).status, 503);
        QVERIFY(fourth.closedByPeer(2s));
        QVERIFY(rejected(Rejection::ConnectionLimit));
        held.pop_back();
        QTRY_COMPARE(s->openConnections(), std::size_t(2));
        QCOMPARE(rawRequest(s->port(), "GET", "/").status, 200);
    }

    void connectionsInTotalAreCapped()
    {
        HttpLimits limits;
        limits.maxConnections = 2;
        auto s = server(limits);
        RawConnection a(s->port()), b(s->port());
        a.send(get("/"));
        b.send(get("/"));
        QCOMPARE(a.read().status, 200);
        QCOMPARE(b.read().status, 200);
        RawConnection c(s->port());
        QCOMPARE(c.read(3s).status, 503);
    }

    void tlsServesHttpsAndFailsClosed()
    {
        if (!QSslSocket::supportsSsl())
            QSKIP("Qt has no TLS backend here");
        QTemporaryDir dir;
        const QString cert = dir.filePath(QStringLiteral("cert.pem")),
                      key = dir.filePath(QStringLiteral("key.pem"));
        QProcess openssl;
        openssl.start(QStringLiteral("openssl"),
                      {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"),
                       QStringLiteral("rsa:2048"), QStringLiteral("-nodes"), QStringLiteral("-subj"),
                       QStringLiteral("/CN=localhost"), QStringLiteral("-days"), QStringLiteral("2"),
                       QStringLiteral("-keyout"), key, QStringLiteral("-out"), cert});
        QVERIFY(openssl.waitForFinished(60000));
        QCOMPARE(openssl.exitCode(), 0);

        // Fail closed: a missing or mismatched certificate stops the start, no plain fallback.
        HttpServer::Options o;
        o.tlsCertificateFile = dir.filePath(QStringLiteral("missing.pem")).toStdString();
        o.tlsPrivateKeyFile = key.toStdString();
        HttpServer broken(o, m_handler);
        std::string error;
        QVERIFY(!broken.start(&error));
        QVERIFY2(error.find("TLS set-up failed") != std::string::npos, error.c_str());
        QVERIFY(!broken.running());
        QProcess other;
        const QString otherKey = dir.filePath(QStringLiteral("other.pem"));
        other.start(QStringLiteral("openssl"),
                    {QStringLiteral("genrsa"), QStringLiteral("-out"), otherKey, QStringLiteral("2048")});
        QVERIFY(other.waitForFinished(60000));
        o.tlsCertificateFile = cert.toStdString();
        o.tlsPrivateKeyFile = otherKey.toStdString();
        HttpServer mismatched(o, m_handler);
        QVERIFY(!mismatched.start(&error));

        auto s = server({}, cert.toStdString(), key.toStdString());
        QVERIFY(s->tls());
        QVERIFY(QByteArray::fromStdString(s->url()).startsWith("https://127.0.0.1:"));
        QSslSocket socket;
        QSslConfiguration config = QSslConfiguration::defaultConfiguration();
        config.setCaCertificates(QSslCertificate::fromPath(cert));
        socket.setSslConfiguration(config);
        socket.setPeerVerifyName(QStringLiteral("localhost"));
        socket.connectToHostEncrypted(QStringLiteral("127.0.0.1"), s->port());
        QVERIFY2(socket.waitForEncrypted(10000), qPrintable(socket.errorString()));
        socket.write("GET /secure HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        QByteArray reply;
        while (socket.waitForReadyRead(5000))
            reply += socket.readAll();
        QVERIFY2(reply.startsWith("HTTP/1.1 200"), reply.constData());
        QVERIFY(reply.endsWith("GET /secure 0 127.0.0.1 tls"));
        // Plain HTTP to the TLS port gets no HTTP answer.
        QCOMPARE(rawRequest(s->port(), "GET", "/").status, 0);

        // A client that never completes the handshake is cut off at the header deadline.
        HttpLimits limits;
        limits.headerTimeout = 300ms;
        auto quick = server(limits, cert.toStdString(), key.toStdString());
        RawConnection silent(quick->port());
        QVERIFY(silent.closedByPeer(3s));
        QTRY_VERIFY(rejected(Rejection::Timeout));
    }
};

QTEST_GUILESS_MAIN(TestHttpServer)
#include "tst_httpserver.moc"
