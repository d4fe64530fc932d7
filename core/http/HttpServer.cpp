#include "HttpServer.h"

#include "HttpError.h"
#include "RequestHandler.h"
#include "RequestHeaderCheck.h"
#include "ThreadName.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <sched.h>
#include <thread>
#include <unordered_map>

namespace hourglass::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace {

std::string jsonEscape(std::string_view text)
{
    std::string out;
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

Response errorResponse(int status, std::string_view code, std::string_view message)
{
    return Response::json(status, "{\"error\":\"" + jsonEscape(code) + "\",\"message\":\"" +
                                      jsonEscape(message) + "\"}");
}

std::string_view view(beast::string_view text)
{
    return {text.data(), text.size()};
}

// RFC 9110 §5.6.2 tchar, as a table: checked for every byte of every response header name.
constexpr std::array<bool, 256> kTokenChars = [] {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c)
        table[std::size_t(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c)
        table[std::size_t(c)] = table[std::size_t(c - 'a' + 'A')] = true;
    for (const char c : std::string_view("!#$%&'*+-.^_`|~"))
        table[static_cast<unsigned char>(c)] = true;
    return table;
}();

bool isTokenChar(unsigned char c)
{
    return kTokenChars[c];
}

// ASCII only, whatever the locale: header names are ASCII tokens.
char asciiLower(char c)
{
    return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
}

// Header fields the server writes itself; a handler's own value for one of them is not sent.
bool serverOwned(std::string_view name)
{
    for (const beast::string_view owned :
         {"cache-control", "connection", "content-length", "transfer-encoding"}) {
        if (beast::iequals(beast::string_view(name.data(), name.size()), owned))
            return true;
    }
    return false;
}

// CR or LF in a header value would end the header (and could start another one, or the body);
// NUL cuts it short in many clients. Three memchr scans: std::string::find_first_of with a set
// calls memchr on the set once per character of the value: over 2,000 instructions for the
// headers of a create's response (callgrind).
bool breaksHeader(std::string_view value)
{
    return !value.empty() &&
           (std::memchr(value.data(), '\r', value.size()) || std::memchr(value.data(), '\n', value.size()) ||
            std::memchr(value.data(), '\0', value.size()));
}

// Writes the status line and header block of response into out. The responses of the session
// routes are small and fully known, so they are written directly instead of through Beast's
// generic serialiser (a fifth of the server's CPU under validation load; bench/README.md).
// Returns false, writing nothing usable, when a header name is not a token or a value contains
// CR, LF or NUL: sent, it would split the response (the user name is echoed in a header).
bool writeHead(const Response &response, bool keepAlive, bool withLength, std::string &out)
{
    using namespace std::string_view_literals; // no strlen for the literals
    out.clear();
    char status[16];
    const auto digits = std::to_chars(status, status + sizeof status, response.status).ptr;
    out.append("HTTP/1.1 "sv).append(status, digits).append(" "sv).append(reasonPhrase(response.status));
    out.append("\r\n"sv);
    for (const auto &[name, value] : response.headers) {
        if (name.empty() ||
            !std::all_of(name.begin(), name.end(),
                         [](char c) { return isTokenChar(static_cast<unsigned char>(c)); }) ||
            breaksHeader(value))
            return false;
        if (serverOwned(name))
            continue;
        out.append(name).append(": "sv).append(value).append("\r\n"sv);
    }
    out.append("Cache-Control: no-store\r\n"sv);
    if (!keepAlive)
        out.append("Connection: close\r\n"sv);
    if (withLength) {
        char length[24];
        const auto end = std::to_chars(length, length + sizeof length, response.body.size()).ptr;
        out.append("Content-Length: "sv).append(length, end).append("\r\n"sv);
    }
    out.append("\r\n"sv);
    return true;
}

using SteadyClock = std::chrono::steady_clock;
using Executor = net::io_context::executor_type;

// A connection as its I/O thread's DeadlineSweep sees it: the deadline of the operation under way
// (none while the handler works), and how to cut it off.
class Expiring
{
public:
    virtual ~Expiring() = default;
    // Closes the socket: the pending operation completes with an error, which the connection reads
    // as a timeout because timedOut is set.
    virtual void expire() = 0;

    SteadyClock::time_point deadline = SteadyClock::time_point::max();
    bool timedOut = false;
};

// One coarse timer per I/O thread enforces the deadlines of all its connections, as nginx does.
// Beast's basic_stream gives each connection a timer of its own that it cancels and re-arms on
// every read and write: a timer-queue insertion and removal, a clock read and the cancelled wait's
// completion each time, ~5 % of the I/O thread's samples under creation load (bench/HISTORY.md).
// Here a connection only stores its deadline. The sweep runs every `period` while the thread has
// connections, so a deadline is enforced within one period of passing.
class DeadlineSweep
{
public:
    DeadlineSweep(net::io_context &context, SteadyClock::duration period)
        : m_timer(context.get_executor()), m_period(period)
    {}

    // On the sweep's thread only, as every other call.
    void add(std::weak_ptr<Expiring> connection)
    {
        m_connections.push_back(std::move(connection));
        if (!m_armed)
            arm();
    }

private:
    void arm()
    {
        m_armed = true;
        m_timer.expires_after(m_period);
        m_timer.async_wait([this](beast::error_code ec) {
            m_armed = false;
            if (!ec)
                sweep();
        });
    }

    void sweep()
    {
        const auto now = SteadyClock::now();
        for (std::size_t i = 0; i < m_connections.size();) {
            const std::shared_ptr<Expiring> connection = m_connections[i].lock();
            if (!connection) { // gone: forget it (order does not matter)
                m_connections[i] = std::move(m_connections.back());
                m_connections.pop_back();
                continue;
            }
            if (connection->deadline <= now) {
                connection->deadline = SteadyClock::time_point::max();
                connection->timedOut = true;
                connection->expire();
            }
            ++i;
        }
        if (!m_connections.empty())
            arm();
    }

    net::basic_waitable_timer<SteadyClock, net::wait_traits<SteadyClock>, Executor> m_timer;
    SteadyClock::duration m_period;
    std::vector<std::weak_ptr<Expiring>> m_connections;
    bool m_armed = false;
};

// A quarter of the shortest timeout, within 10 ms and 1 s: the default 10 s header deadline is
// enforced within 10–11 s, a test's 300 ms one within 300–375 ms.
SteadyClock::duration sweepPeriod(const HttpLimits &limits)
{
    const auto shortest =
        std::min({limits.headerTimeout, limits.bodyTimeout, limits.keepAliveTimeout, limits.writeTimeout});
    return std::clamp<SteadyClock::duration>(shortest / 4, std::chrono::milliseconds(10),
                                             std::chrono::seconds(1));
}

} // namespace

struct HttpServer::Impl
{
    Impl(Options o, RequestHandler &h, Observer obs)
        : options(std::move(o)), handler(h), observer(std::move(obs)),
          contexts(makeContexts(options.ioThreads)), sweeps(makeSweeps(contexts, options.limits)),
          acceptor(*contexts.front())
    {}

    // One io_context per I/O thread, each run by that thread alone: a connection's handlers never
    // run concurrently, so no strand is needed (nginx's worker model; measured in bench/README.md).
    static std::vector<std::unique_ptr<net::io_context>> makeContexts(int threads)
    {
        std::vector<std::unique_ptr<net::io_context>> contexts;
        for (int i = 0; i < std::max(1, threads); ++i)
            contexts.push_back(std::make_unique<net::io_context>(1));
        return contexts;
    }

    static std::vector<std::unique_ptr<DeadlineSweep>>
    makeSweeps(const std::vector<std::unique_ptr<net::io_context>> &contexts, const HttpLimits &limits)
    {
        std::vector<std::unique_ptr<DeadlineSweep>> sweeps;
        for (const auto &context : contexts)
            sweeps.push_back(std::make_unique<DeadlineSweep>(*context, sweepPeriod(limits)));
        return sweeps;
    }

    void reject(Rejection r)
    {
        if (observer.rejected)
            observer.rejected(r);
    }

    // Connection accounting; false when a cap is reached.
    bool admit(const std::string &ip)
    {
        std::lock_guard lock(ipMutex);
        if (total >= options.limits.maxConnections)
            return false;
        std::size_t &n = perIp[ip];
        if (n >= options.limits.maxConnectionsPerIp) {
            if (n == 0)
                perIp.erase(ip);
            return false;
        }
        ++n;
        ++total;
        return true;
    }

    void release(const std::string &ip)
    {
        std::lock_guard lock(ipMutex);
        auto it = perIp.find(ip);
        if (it != perIp.end() && --it->second == 0)
            perIp.erase(it);
        --total;
    }

    void accept();

    // Requests whose handler completes later: stop() waits for every one to be answered.
    void startCompletion()
    {
        std::lock_guard lock(completionMutex);
        ++completions;
    }
    void endCompletion()
    {
        std::lock_guard lock(completionMutex);
        if (--completions == 0)
            completionsDone.notify_all();
    }

    Options options;
    RequestHandler &handler;
    Observer observer;
    // Declared before the contexts: connections still queued in a context when it is destroyed
    // release their address on the way out.
    mutable std::mutex ipMutex;
    std::size_t total = 0;
    std::unordered_map<std::string, std::size_t> perIp;
    std::vector<std::unique_ptr<net::io_context>> contexts;
    std::vector<std::unique_ptr<DeadlineSweep>> sweeps; // one per context; destroyed before them
    std::vector<net::executor_work_guard<net::io_context::executor_type>> work;
    std::size_t nextContext = 0; // used by the accepting thread only
    std::optional<ssl::context> tlsContext;
    tcp::acceptor acceptor;
    // Handlers that may block (mayBlock()) run here, on threads of their own (hg-block-N) so that
    // top -H, perf and gdb tell them from the I/O threads; an asio::thread_pool's threads could
    // not be named by their creator.
    net::io_context blocking;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> blockingWork;
    std::vector<std::thread> blockingThreads;
    std::mutex completionMutex;
    std::condition_variable completionsDone;
    std::size_t completions = 0;
    std::vector<std::thread> threads;
    std::atomic<bool> running{false};
    std::atomic<std::uint64_t> nextRequestId{1};
    std::uint16_t boundPort = 0;
};

namespace {

// A connection's socket is bound to its io_context's executor type, not to the type-erased
// any_io_executor: every handler's dispatch skips the erased executor's copies and indirect calls.
// Its deadlines are its I/O thread's DeadlineSweep's, not a timer of its own.
using Socket = tcp::socket::rebind_executor<Executor>::other;
using PlainStream = Socket;
using TlsStream = beast::ssl_stream<Socket>;

// One HTTP/1.1 connection, plain (PlainStream) or TLS (TlsStream).
template<class Stream>
class Connection : public Expiring, public std::enable_shared_from_this<Connection<Stream>>
{
public:
    template<class... Args>
    Connection(HttpServer::Impl &server, DeadlineSweep &sweep, std::string peer, bool tls, Args &&...args)
        : m_server(server), m_sweep(sweep), m_stream(std::forward<Args>(args)...), m_peer(std::move(peer)),
          m_tls(tls)
    {}

    ~Connection() override { m_server.release(m_peer); }

    auto executor() { return m_stream.get_executor(); }

    // On the connection's own I/O thread, as everything after it.
    void start()
    {
        m_sweep.add(this->shared_from_this());
        if constexpr (std::is_same_v<Stream, PlainStream>) {
            readRequest();
        } else {
            expiresAfter(m_server.options.limits.headerTimeout);
            m_stream.async_handshake(ssl::stream_base::server,
                                     [self = this->shared_from_this()](beast::error_code ec) {
                                         if (ec) {
                                             if (self->timedOut)
                                                 self->m_server.reject(Rejection::Timeout);
                                             return;
                                         }
                                         self->readRequest();
                                     });
        }
    }

    void expire() override
    {
        beast::error_code ignored;
        lowest().close(ignored);
    }

private:
    Socket &lowest() { return beast::get_lowest_layer(m_stream); }

    void expiresAfter(std::chrono::milliseconds timeout) { deadline = SteadyClock::now() + timeout; }
    void expiresNever() { deadline = SteadyClock::time_point::max(); }

    void readRequest()
    {
        // The fields of the request before are gone with its parser; their memory is reused.
        m_parser.reset();
        m_fieldMemory.release();
        m_parser.emplace(std::piecewise_construct, std::make_tuple(),
                         std::make_tuple(std::pmr::polymorphic_allocator<char>(&m_fieldMemory)));
        m_parser->header_limit(static_cast<std::uint32_t>(m_server.options.limits.maxHeaderBytes));
        // The route's own limit is applied once the request line is known (onHeader).
        m_parser->body_limit(m_server.options.limits.hardMaxBodyBytes);
        if (m_buffer.size() > 0) { // pipelined bytes already here
            readHeader();
            return;
        }
        // Idle wait for the next request: keep-alive timeout (header timeout for the first one).
        expiresAfter(m_served == 0 ? m_server.options.limits.headerTimeout
                                   : m_server.options.limits.keepAliveTimeout);
        m_stream.async_read_some(m_buffer.prepare(4096),
                                 [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                                     if (ec || self->timedOut) {
                                         if (self->timedOut)
                                             self->m_server.reject(Rejection::Timeout);
                                         return self->close();
                                     }
                                     self->m_buffer.commit(n);
                                     self->readHeader();
                                 });
    }

    void readHeader()
    {
        // A request usually arrives whole in one read: its header is parsed here, from the buffer,
        // with the parser's own limits. An asynchronous read would parse the same bytes but only
        // after posting its completion once more.
        beast::error_code ec;
        while (!m_parser->is_header_done() && m_buffer.size() > 0) {
            const std::size_t used = m_parser->put(m_buffer.data(), ec);
            m_buffer.consume(used);
            if (ec || used == 0)
                break;
        }
        if (ec == bhttp::error::need_more)
            ec = {};
        if (ec || m_parser->is_header_done())
            return onHeader(ec);
        // The whole header must arrive within the header timeout, however slowly it dribbles.
        expiresAfter(m_server.options.limits.headerTimeout);
        bhttp::async_read_header(m_stream, m_buffer, *m_parser,
                                 [self = this->shared_from_this()](beast::error_code error, std::size_t) {
                                     self->onHeader(error);
                                 });
    }

    void onHeader(beast::error_code ec)
    {
        const HttpLimits &limits = m_server.options.limits;
        if (timedOut) {
            m_server.reject(Rejection::Timeout);
            return close();
        }
        if (ec) {
            if (ec == bhttp::error::header_limit)
                return fail(431, "header_too_large",
                            "request header larger than " + std::to_string(limits.maxHeaderBytes) + " bytes",
                            Rejection::HeaderTooLarge);
            // Beast checks Content-Length against body_limit while parsing the header already.
            if (ec == bhttp::error::body_limit)
                return fail(413, "body_too_large",
                            "request body larger than " + std::to_string(limits.maxBodyBytes) + " bytes",
                            Rejection::BodyTooLarge);
            if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
                ec == net::error::connection_reset)
                return close();
            return fail(400, "malformed_request", ec.message(), Rejection::Malformed);
        }
        const auto &header = m_parser->get();
        if (const auto failure = checkRequestHeader(header, limits))
            return fail(failure->status, failure->code, failure->message, failure->rejection);
        const std::size_t bodyLimit = std::min(
            limits.hardMaxBodyBytes,
            m_server.handler.bodyLimit(
                std::string_view(header.method_string().data(), header.method_string().size()),
                std::string_view(header.target().data(), header.target().size()), limits.maxBodyBytes));
        if (const auto length = m_parser->content_length(); length && *length > bodyLimit)
            return fail(413, "body_too_large",
                        "request body larger than " + std::to_string(bodyLimit) + " bytes",
                        Rejection::BodyTooLarge);
        m_parser->body_limit(bodyLimit);
        m_bodyLimit = bodyLimit;

        if (m_parser->is_done())
            return onBody({});
        if (beast::iequals(header[bhttp::field::expect], "100-continue")) {
            auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                             header.version());
            expiresAfter(limits.writeTimeout);
            bhttp::async_write(m_stream, *cont,
                               [self = this->shared_from_this(), cont](beast::error_code wec, std::size_t) {
                                   if (wec || self->timedOut)
                                       return self->close();
                                   self->readBody();
                               });
            return;
        }
        readBody();
    }

    void readBody()
    {
        expiresAfter(m_server.options.limits.bodyTimeout);
        bhttp::async_read(
            m_stream, m_buffer, *m_parser,
            [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->onBody(ec); });
    }

    void onBody(beast::error_code ec)
    {
        if (timedOut) {
            m_server.reject(Rejection::Timeout);
            return close();
        }
        if (ec) {
            if (ec == bhttp::error::body_limit)
                return fail(413, "body_too_large",
                            "request body larger than " + std::to_string(m_bodyLimit) + " bytes",
                            Rejection::BodyTooLarge);
            return fail(400, "malformed_request", ec.message(), Rejection::Malformed);
        }
        expiresNever(); // the handler may take its time: a durable write, a blocking one
        auto &message = m_parser->get();
        m_keepAlive = message.keep_alive();
        // The connection's one request object is refilled: its strings keep their capacity, so a
        // request of the usual shape allocates nothing here. Nothing reads it once the response is
        // written, and the next request is not read before that.
        Request &request = m_request;
        request.method.assign(view(message.method_string()));
        request.target.assign(view(message.target()));
        std::size_t count = 0;
        for (const auto &field : message) {
            if (count == request.headers.size())
                request.headers.emplace_back();
            auto &[name, value] = request.headers[count++];
            name.assign(view(field.name_string()));
            for (char &c : name)
                c = asciiLower(c);
            value.assign(view(field.value()));
        }
        request.headers.resize(count);
        request.body = std::move(message.body());
        RequestContext context;
        context.peerAddress = m_peer;
        context.tls = m_tls;
        context.requestId = m_server.nextRequestId.fetch_add(1, std::memory_order_relaxed);
        context.received = std::chrono::steady_clock::now();

        if (m_server.handler.completesLater(request)) {
            m_server.startCompletion();
            bool started = false;
            // A handler that refuses before starting is answered at once, mapped like any other.
            Response refused = invoke([&] {
                // Called once, on the completing thread (a store's writer), which may destroy the
                // completion only after stop() has returned and the server is gone: so the
                // completion gives its reference to the connection (whose end uses the server) to
                // the response it posts, and tells the server last.
                m_server.handler.handleAsync(
                    request, context,
                    [self = this->shared_from_this(), context](std::function<Response()> respond) mutable {
                        HttpServer::Impl &server = self->m_server;
                        const auto executor = self->m_stream.get_executor();
                        net::post(executor, [self = std::move(self), context, respond = std::move(respond)] {
                            self->write(invoke([&] { return respond(); }), false, context.received);
                        });
                        server.endCompletion();
                    });
                started = true;
                return Response();
            });
            if (!started) {
                m_server.endCompletion();
                write(std::move(refused), false, context.received);
            }
        } else if (m_server.handler.mayBlock(request)) {
            net::post(m_server.blocking, [self = this->shared_from_this(), context]() mutable {
                auto response = std::make_shared<Response>(self->invoke(self->m_request, context));
                net::post(self->m_stream.get_executor(), [self, response, context] {
                    self->write(std::move(*response), false, context.received);
                });
            });
        } else {
            write(invoke(request, context), false, context.received);
        }
    }

    Response invoke(const Request &request, RequestContext &context)
    {
        return invoke([&] { return m_server.handler.handle(request, context); });
    }

    template<typename Handle> static Response invoke(Handle handle)
    {
        try {
            return handle();
        } catch (const HttpError &e) {
            Response response = errorResponse(e.status(), e.code(), e.what());
            for (const auto &[name, value] : e.headers())
                response.addHeader(name, value);
            return response;
        } catch (const std::exception &e) {
            return errorResponse(500, "internal_error", "internal error");
        }
    }

    void fail(int status, std::string_view code, const std::string &message, Rejection rejection)
    {
        m_server.reject(rejection);
        // After a framing or limit error the rest of the stream cannot be trusted: close.
        write(errorResponse(status, code, message), true, std::chrono::steady_clock::now());
    }

    void write(Response response, bool closeAfter, std::chrono::steady_clock::time_point received)
    {
        ++m_served;
        const bool keepAlive = m_keepAlive && !closeAfter &&
                               m_served < m_server.options.limits.maxRequestsPerConnection &&
                               m_server.running.load();
        // RFC 9110 §8.6, §15.3.5, §15.4.5: no Content-Length and no content with 204 or 304.
        const auto bodyAllowed = [](int status) {
            return status != 204 && status != 304 && status >= 200;
        };
        if (!writeHead(response, keepAlive, bodyAllowed(response.status), m_head)) {
            response = errorResponse(500, "internal_error", "internal error");
            writeHead(response, keepAlive, true, m_head);
        }
        const int status = response.status;
        m_body = bodyAllowed(status) ? std::move(response.body) : std::string();
        expiresAfter(m_server.options.limits.writeTimeout);
        const std::array<net::const_buffer, 2> buffers{net::buffer(m_head), net::buffer(m_body)};
        net::async_write(
            m_stream, buffers,
            [self = this->shared_from_this(), keepAlive, status, received, closeAfter](beast::error_code ec,
                                                                                       std::size_t) {
                if (!closeAfter && self->m_server.observer.response)
                    self->m_server.observer.response(status, std::chrono::steady_clock::now() - received);
                self->m_body = std::string(); // a large body is not kept for the connection's life
                if (ec || !keepAlive || self->timedOut)
                    return self->close();
                self->m_keepAlive = false;
                self->readRequest();
            });
    }

    void close()
    {
        beast::error_code ec;
        if constexpr (std::is_same_v<Stream, PlainStream>) {
            m_stream.shutdown(tcp::socket::shutdown_send, ec);
        } else {
            expiresAfter(std::chrono::seconds(2));
            m_stream.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
        }
    }

    HttpServer::Impl &m_server;
    DeadlineSweep &m_sweep;
    Stream m_stream;
    std::string m_peer;
    bool m_tls;
    beast::flat_buffer m_buffer{64 * 1024};
    // The request's header fields live here: Beast allocates each field on its own, three to ten
    // heap allocations and frees per request otherwise. A header beyond the buffer (up to the
    // header limit) takes more from the heap until the next request.
    std::array<std::byte, 2048> m_fieldBytes;
    std::pmr::monotonic_buffer_resource m_fieldMemory{m_fieldBytes.data(), m_fieldBytes.size()};
    std::optional<RequestParser> m_parser; // after m_fieldMemory: destroyed before it
    Request m_request;                     // the request being answered
    std::string m_head;                    // the response's status line and header block
    std::string m_body;                    // the response's content, until written
    std::size_t m_served = 0;
    std::size_t m_bodyLimit = 0;
    bool m_keepAlive = false;
};

} // namespace

void HttpServer::Impl::accept()
{
    const std::size_t index = nextContext++ % contexts.size();
    acceptor.async_accept(*contexts[index], [this, index](beast::error_code ec, Socket socket) {
        if (ec) {
            if (running.load() && ec != net::error::operation_aborted)
                accept();
            return;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        const auto endpoint = socket.remote_endpoint(ignored);
        std::string peer = ignored ? std::string("unknown") : endpoint.address().to_string();
        if (!admit(peer)) {
            reject(Rejection::ConnectionLimit);
            if (!tlsContext) {
                static constexpr char busy[] =
                    "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
                socket.non_blocking(true, ignored);
                socket.write_some(net::buffer(busy, sizeof busy - 1), ignored);
            }
            socket.close(ignored);
        } else if (tlsContext) {
            auto c = std::make_shared<Connection<TlsStream>>(*this, *sweeps[index], peer, true,
                                                             std::move(socket), *tlsContext);
            net::post(c->executor(), [c] { c->start(); }); // on the connection's own thread
        } else {
            auto c = std::make_shared<Connection<PlainStream>>(*this, *sweeps[index], peer, false,
                                                               std::move(socket));
            net::post(c->executor(), [c] { c->start(); });
        }
        if (running.load())
            accept();
    });
}

int HttpServer::defaultIoThreads()
{
    cpu_set_t set;
    CPU_ZERO(&set);
    int cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 0;
    if (cpus <= 0)
        cpus = int(std::thread::hardware_concurrency());
    return std::clamp(cpus / 2, 1, 16);
}

HttpServer::HttpServer(Options options, RequestHandler &handler, Observer observer)
    : m_impl(std::make_unique<Impl>(std::move(options), handler, std::move(observer)))
{}

HttpServer::~HttpServer()
{
    stop();
}

bool HttpServer::start(std::string *error)
{
    Impl &d = *m_impl;
    if (!d.options.tlsCertificateFile.empty() || !d.options.tlsPrivateKeyFile.empty()) {
        try {
            d.tlsContext.emplace(ssl::context::tls_server);
            d.tlsContext->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                      ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
            d.tlsContext->use_certificate_chain_file(d.options.tlsCertificateFile);
            d.tlsContext->use_private_key_file(d.options.tlsPrivateKeyFile, ssl::context::pem);
            if (SSL_CTX_check_private_key(d.tlsContext->native_handle()) != 1)
                throw std::runtime_error("the private key does not match the certificate");
        } catch (const std::exception &e) {
            d.tlsContext.reset();
            *error = "TLS set-up failed (certificate " + d.options.tlsCertificateFile + ", key " +
                     d.options.tlsPrivateKeyFile + "): " + e.what() +
                     ". The service does not start without TLS "
                     "when TLS is configured.";
            return false;
        }
    }
    beast::error_code ec;
    const auto address = net::ip::make_address(d.options.bindAddress, ec);
    if (ec) {
        *error = "invalid bind address '" + d.options.bindAddress + "': " + ec.message();
        return false;
    }
    const tcp::endpoint endpoint(address, d.options.port);
    d.acceptor.open(endpoint.protocol(), ec);
    if (!ec)
        d.acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
        d.acceptor.bind(endpoint, ec);
    if (!ec)
        d.acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        *error = "cannot listen on " + d.options.bindAddress + ":" + std::to_string(d.options.port) + ": " +
                 ec.message();
        return false;
    }
    d.boundPort = d.acceptor.local_endpoint().port();
    d.running = true;
    d.accept();
    for (auto &context : d.contexts) {
        d.work.push_back(net::make_work_guard(*context));
        d.threads.emplace_back([&context = *context] { context.run(); });
        nameThread(d.threads.back(), "hg-http-" + std::to_string(d.threads.size()));
    }
    d.blockingWork.emplace(net::make_work_guard(d.blocking));
    for (int i = 0; i < std::max(1, d.options.blockingThreads); ++i) {
        d.blockingThreads.emplace_back([&d] { d.blocking.run(); });
        nameThread(d.blockingThreads.back(), "hg-block-" + std::to_string(i + 1));
    }
    return true;
}

void HttpServer::stop()
{
    Impl &d = *m_impl;
    if (!d.running.exchange(false))
        return;
    net::post(d.acceptor.get_executor(), [&d] {
        beast::error_code ec;
        d.acceptor.close(ec);
    });
    // The blocking handlers under way finish (their answers go to the I/O threads, which still
    // run), then their threads end.
    d.blockingWork.reset();
    for (auto &t : d.blockingThreads)
        t.join();
    d.blockingThreads.clear();
    {
        // Their responses are posted to the I/O threads, which still run.
        std::unique_lock lock(d.completionMutex);
        d.completionsDone.wait(lock, [&d] { return d.completions == 0; });
    }
    d.work.clear();
    for (auto &context : d.contexts)
        context->stop();
    for (auto &t : d.threads)
        t.join();
    d.threads.clear();
}

bool HttpServer::running() const
{
    return m_impl->running.load();
}

std::uint16_t HttpServer::port() const
{
    return m_impl->boundPort;
}

bool HttpServer::tls() const
{
    return m_impl->tlsContext.has_value();
}

std::string HttpServer::url() const
{
    const bool v6 = m_impl->options.bindAddress.find(':') != std::string::npos;
    return std::string(tls() ? "https" : "http") + "://" + (v6 ? "[" : "") + m_impl->options.bindAddress +
           (v6 ? "]" : "") + ":" + std::to_string(port());
}

int HttpServer::ioThreads() const
{
    return int(m_impl->contexts.size());
}

std::size_t HttpServer::openConnections() const
{
    std::lock_guard lock(m_impl->ipMutex);
    return m_impl->total;
}

} // namespace hourglass::http
