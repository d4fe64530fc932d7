// libFuzzer target: raw bytes as an HTTP/1.1 request through the server's parser configuration
// (Beast with the default HttpLimits) and the server's own header checks, then the request
// accessors the handlers use (path, query values, headers, percent-decoding).

#include "HttpLimits.h"
#include "HttpMessage.h"
#include "RequestHeaderCheck.h"

#include <boost/beast/http.hpp>

#include <cstdint>
#include <string>

namespace bhttp = boost::beast::http;
using namespace hourglass::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const HttpLimits limits;
    hourglass::http::RequestParser parser; // the server's parser type, fields on the default resource
    parser.header_limit(static_cast<std::uint32_t>(limits.maxHeaderBytes));
    parser.body_limit(limits.maxBodyBytes);
    parser.eager(true);
    boost::beast::error_code ec;
    const auto *bytes = reinterpret_cast<const char *>(data);
    std::size_t used = 0;
    while (used < size && !parser.is_done()) {
        const std::size_t n = parser.put(boost::asio::buffer(bytes + used, size - used), ec);
        if (ec || n == 0)
            break;
        used += n;
    }
    if (ec || !parser.is_header_done())
        return 0;
    if (checkRequestHeader(parser.get(), limits))
        return 0;
    if (!parser.is_done())
        return 0;
    auto message = parser.release();
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto &field : message)
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    request.body = std::move(message.body());
    (void)request.path();
    (void)request.query();
    (void)request.queryValue("user");
    (void)request.queryValue("after");
    (void)request.header("cookie");
    (void)percentDecode(request.path(), false);
    (void)percentDecode(request.query(), true);
    return 0;
}
