#pragma once

#include "Clock.h"
#include "HttpMessage.h"
#include "RequestHandler.h"

#include <QJsonObject>

namespace hourglass {
class SessionEngine;
struct CreateParams;
struct CreateResult;
struct SessionInfo;
} // namespace hourglass

namespace hourglass::service {

class AnomalyGuard;
class ServiceMetrics;

// The public session API under /v1 (docs/api.md): what web applications and nginx auth_request
// call. Stateless: per-request state lives in the request and its context.
class SessionApi
{
public:
    SessionApi(SessionEngine &engine, AnomalyGuard &guard, ServiceMetrics &metrics);

    bool handles(const http::Request &request) const;
    bool mayBlock(const http::Request &request) const;
    // PUT /v1/session/data may carry up to the largest configured session size (plus slack so that
    // a write just over a limit reaches the engine and gets the area's documented treatment).
    std::size_t bodyLimit(std::string_view method, std::string_view target, std::size_t defaultLimit) const;
    http::Response handle(const http::Request &request, http::RequestContext &context);
    // Session creation completes when the store says the session is durable, with no thread
    // waiting for it (where the engine's store can notify).
    bool completesLater(const http::Request &request) const;
    void handleAsync(const http::Request &request, http::RequestContext &context,
                     http::RequestHandler::Completion complete);

    // The end user's address: X-Real-IP, else the last X-Forwarded-For hop, when the TCP peer is a
    // trusted (loopback) proxy or application; otherwise the peer itself.
    static std::string clientIp(const http::Request &request, const http::RequestContext &context);
    // The session as JSON; id and setCookie are added when a session was just issued.
    static std::string sessionJson(const SessionInfo &info, const std::string *id = nullptr,
                                   const std::string *setCookie = nullptr);

private:
    http::Response create(const http::Request &request, const std::string &ip);
    // create() in its halves: the checked parameters, and the answer to the engine's result.
    CreateParams createParams(const http::Request &request, const std::string &peerIp);
    http::Response created(const CreateResult &result);
    http::Response validate(const http::Request &request, const std::string &ip, bool forNginx);
    http::Response rotate(const http::Request &request, const std::string &ip);
    http::Response getData(const http::Request &request, const std::string &ip);
    http::Response putData(const http::Request &request, const std::string &ip);
    http::Response destroy(const http::Request &request, const std::string &ip);
    http::Response logoutOthers(const http::Request &request, const std::string &ip);
    http::Response startAuthentication(const http::Request &request, const std::string &ip);
    http::Response completeAuthentication(const http::Request &request, const std::string &ip);

    static std::string tokenOf(const http::Request &request);
    void refuseIfBlocked(const std::string &ip, int status);
    [[noreturn]] void refuseBlocked(TimeMs wait, int status);
    // A creation from `ip` (a session, a login flow): refused while the IP is blocked or over its
    // creation rate; `what` names the refused creations in the 429's message.
    void admitCreation(const std::string &ip, const char *what);
    [[noreturn]] void invalidSession(const std::string &ip, bool countAsFailure);
    http::Response issued(int status, const std::string &token, const SessionInfo &info);

    SessionEngine &m_engine;
    AnomalyGuard &m_guard;
    ServiceMetrics &m_metrics;
};

} // namespace hourglass::service
