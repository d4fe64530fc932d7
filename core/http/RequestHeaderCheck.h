#pragma once

#include "HttpLimits.h"
#include "HttpServer.h"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <memory_resource>

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

// A request's header fields as the server parses them: allocated from memory the connection
// provides and reuses for each request (HttpServer.cpp), not one heap allocation per field.
using RequestFields = boost::beast::http::basic_fields<std::pmr::polymorphic_allocator<char>>;
using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body,
                                                         std::pmr::polymorphic_allocator<char>>;

// The checks a parsed request header passes before its body is read: HTTP version, target length,
// field size and count, and the request-smuggling defences of RFC 9112 §6.3 (one Host, one
// Content-Length, no Transfer-Encoding other than a single "chunked", never with Content-Length).
// The server and the HTTP fuzzer call this one function. Internal to core (Beast types).
std::optional<HeaderFailure>
checkRequestHeader(const boost::beast::http::request_header<RequestFields> &header, const HttpLimits &limits);

} // namespace hourglass::http
