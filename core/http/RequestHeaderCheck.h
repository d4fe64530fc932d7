#pragma once

#include "HttpLimits.h"
#include "HttpServer.h"

#include <boost/beast/http/message.hpp>

#include <optional>
#include <string>

namespace hourglass::http {

struct HeaderFailure
{
    int status = 400;
    std::string code;
    std::string message;
    Rejection rejection = Rejection::Malformed;
};

// The checks a parsed request header passes before its body is read: HTTP version, target length,
// field size and count, and the request-smuggling defences of RFC 9112 §6.3 (one Host, one
// Content-Length, no Transfer-Encoding other than a single "chunked", never with Content-Length).
// The server and the HTTP fuzzer call this one function. Internal to core (Beast types).
std::optional<HeaderFailure> checkRequestHeader(const boost::beast::http::request_header<> &header,
                                                const HttpLimits &limits);

} // namespace hourglass::http
