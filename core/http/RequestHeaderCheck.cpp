#include "RequestHeaderCheck.h"

#include <boost/beast/core/string.hpp>

namespace hourglass::http {

namespace bhttp = boost::beast::http;

std::optional<HeaderFailure> checkRequestHeader(const bhttp::request_header<RequestFields> &header,
                                                const HttpLimits &limits)
{
    const auto malformed = [](std::string message) {
        return HeaderFailure{400, "malformed_request", std::move(message), Rejection::Malformed};
    };
    if (header.version() != 11 && header.version() != 10)
        return malformed("unsupported HTTP version");
    if (header.target().size() > limits.maxLineBytes)
        return HeaderFailure{414, "uri_too_long",
                             "request target longer than " + std::to_string(limits.maxLineBytes) + " bytes",
                             Rejection::UriTooLong};
    std::size_t count = 0, hosts = 0, lengths = 0, encodings = 0;
    for (const auto &field : header) {
        ++count;
        if (field.name_string().size() + field.value().size() + 4 > limits.maxLineBytes)
            return HeaderFailure{431, "header_too_large",
                                 "a header field is longer than " + std::to_string(limits.maxLineBytes) +
                                     " bytes",
                                 Rejection::HeaderTooLarge};
        hosts += field.name() == bhttp::field::host;
        lengths += field.name() == bhttp::field::content_length;
        encodings += field.name() == bhttp::field::transfer_encoding;
    }
    if (count > limits.maxHeaderCount)
        return HeaderFailure{431, "header_too_large",
                             "more than " + std::to_string(limits.maxHeaderCount) + " header fields",
                             Rejection::HeaderTooLarge};
    if (hosts > 1)
        return malformed("duplicate Host header");
    if (lengths > 1)
        return malformed("duplicate Content-Length header");
    if (encodings > 0) {
        const auto te = header[bhttp::field::transfer_encoding];
        if (encodings > 1 || !boost::beast::iequals(te, "chunked") || lengths > 0)
            return malformed("unsupported Transfer-Encoding");
    }
    if (header.version() == 11 && hosts == 0)
        return malformed("missing Host header");
    return std::nullopt;
}

} // namespace hourglass::http
