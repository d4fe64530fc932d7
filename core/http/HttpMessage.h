#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hourglass::http {

// HTTP value types used by every handler. The server converts to and from the wire (Boost.Beast);
// nothing above the connection layer depends on Beast.
struct Request
{
    std::string method;
    std::string target;                                       // origin-form, as received
    std::vector<std::pair<std::string, std::string>> headers; // names lower-cased, order kept
    std::string body;

    std::string_view path() const;                                      // target without the query
    std::string_view query() const;                                     // after '?', without it
    std::optional<std::string> queryValue(std::string_view name) const; // percent-decoded
    std::optional<std::string_view> header(std::string_view lowerName) const;
    std::size_t headerCount(std::string_view lowerName) const;
};

struct Response
{
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    void setHeader(std::string name, std::string value);
    void addHeader(std::string name, std::string value);
    std::optional<std::string_view> header(std::string_view name) const;

    static Response json(int status, std::string body);
    static Response empty(int status);
};

// Per-request state, created by the connection for each request and discarded after it.
struct RequestContext
{
    std::string peerAddress; // TCP peer, e.g. "127.0.0.1" or "::1"
    bool tls = false;
    std::uint64_t requestId = 0;
    std::chrono::steady_clock::time_point received;
};

std::string percentDecode(std::string_view text, bool plusIsSpace);
std::string_view reasonPhrase(int status);

} // namespace hourglass::http
