#pragma once

#include "HttpLimits.h"
#include "HttpMessage.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace hourglass::http {

class RequestHandler;

// Why the server answered a request itself (before or instead of the handler).
enum class Rejection : std::uint8_t
{
    HeaderTooLarge,  // 431: total header bytes, one field line, or field count
    UriTooLong,      // 414
    BodyTooLarge,    // 413
    Malformed,       // 400: parse error, duplicate Content-Length/Host, bad Transfer-Encoding
    ConnectionLimit, // 503 / refused at accept: total or per-IP connection cap
    Timeout,         // connection closed: header, body or keep-alive deadline passed
    Count,
};

// HTTP/1.1 server (Boost.Beast over Asio, optional TLS through OpenSSL) that enforces HttpLimits and
// passes well-formed requests to a RequestHandler. Binds to loopback unless told otherwise.
class HttpServer
{
public:
    // Half the CPUs this process may run on, at least 1 and at most 16. The service shares its
    // machine with the applications that call it (and with nginx in front of them): on 2 CPUs, one
    // I/O thread answered as many validations as two with a quarter of the 99th-percentile latency,
    // because two threads and a local caller preempt each other mid-request (docs/architecture.md).
    static int defaultIoThreads();

    struct Options
    {
        std::string bindAddress = "127.0.0.1";
        std::uint16_t port = 0; // 0: an ephemeral port, see port()
        HttpLimits limits;
        int ioThreads = defaultIoThreads();
        int blockingThreads = 32;       // handlers that wait on durable writes
        std::string tlsCertificateFile; // PEM; TLS is on when set
        std::string tlsPrivateKeyFile;
    };

    struct Observer
    {
        // After each response written by the handler path: status and time since the request
        // was complete.
        std::function<void(int status, std::chrono::nanoseconds latency)> response;
        std::function<void(Rejection)> rejected;
    };

    HttpServer(Options options, RequestHandler &handler, Observer observer = {});
    ~HttpServer();
    HttpServer(const HttpServer &) = delete;
    HttpServer &operator=(const HttpServer &) = delete;

    // Binds and starts the threads. Fails closed: a TLS set-up error is an error, never a plain
    // HTTP fallback.
    bool start(std::string *error);
    void stop();

    bool running() const;
    std::uint16_t port() const;
    bool tls() const;
    std::string url() const;
    int ioThreads() const;
    std::size_t openConnections() const;

    struct Impl; // opaque: defined in HttpServer.cpp, where the connections live

private:
    std::unique_ptr<Impl> m_impl;
};

} // namespace hourglass::http
