#pragma once

#include "HttpMessage.h"

#include <functional>

namespace hourglass::http {

// What the server calls for every well-formed request that passed the limits. Implementations
// are long-lived and shared by all connections: per-request state belongs in RequestContext.
class RequestHandler
{
public:
    virtual ~RequestHandler() = default;

    // May throw HttpError. Runs on an I/O thread unless mayBlock() says otherwise.
    virtual Response handle(const Request &request, RequestContext &context) = 0;
    // True for requests that wait on disk (durable writes): the server runs those on a separate
    // pool so that I/O threads keep serving validations.
    virtual bool mayBlock(const Request &request) const = 0;

    // Requests answered later without any thread waiting (durable writes whose store notifies).
    // handleAsync() runs on the I/O thread, starts the work, and eventually calls complete() once,
    // from any thread, with a function that builds the response; the server runs that function on
    // the connection's I/O thread (it may throw HttpError). handleAsync() may throw HttpError itself,
    // and then never calls complete().
    using Completion = std::function<void(std::function<Response()> respond)>;
    virtual bool completesLater(const Request &request) const
    {
        (void)request;
        return false;
    }
    virtual void handleAsync(const Request &request, RequestContext &context, Completion complete)
    {
        Response response = handle(request, context);
        complete([response = std::move(response)]() mutable { return std::move(response); });
    }
    // The body limit of one route, decided from the request line before the body is read; the
    // server's configured limit applies unless a route needs more (session data up to the
    // configured session size). Never more than HttpLimits::hardMaxBodyBytes.
    virtual std::size_t bodyLimit(std::string_view method, std::string_view target,
                                  std::size_t defaultLimit) const
    {
        (void)method;
        (void)target;
        return defaultLimit;
    }
};

} // namespace hourglass::http
