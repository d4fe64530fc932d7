#pragma once

#include <chrono>
#include <cstddef>

namespace hourglass::http {

// Hardening limits of the HTTP server. Defaults follow common reverse-proxy practice
// (nginx: large_client_header_buffers 4 8k; client_header_timeout) scaled to a session API whose
// requests are small.
struct HttpLimits
{
    std::size_t maxLineBytes = 8 * 1024;    // request target or one header field → 414 / 431
    std::size_t maxHeaderBytes = 32 * 1024; // request line + all fields → 431
    std::size_t maxHeaderCount = 64;        // → 431
    std::size_t maxBodyBytes = 64 * 1024;   // → 413, decided from Content-Length before reading
    std::size_t hardMaxBodyBytes = 64 * 1024 * 1024 + 64 * 1024; // no route may exceed this
    std::chrono::milliseconds headerTimeout{10'000};    // whole header must arrive within (slowloris)
    std::chrono::milliseconds bodyTimeout{30'000};      // whole body must arrive within
    std::chrono::milliseconds keepAliveTimeout{30'000}; // idle time allowed between requests
    std::chrono::milliseconds writeTimeout{30'000};
    std::size_t maxConnections = 10'000;
    std::size_t maxConnectionsPerIp = 256;
    std::size_t maxRequestsPerConnection = 100'000;
};

} // namespace hourglass::http
