#pragma once

#include "HttpMessage.h"

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
};

} // namespace hourglass::http
