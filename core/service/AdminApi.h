#pragma once

#include "HttpMessage.h"

#include <functional>
#include <string>

#include <QJsonObject>

namespace hourglass {
class EventHub;
class Runtime;
struct EngineCounters;
} // namespace hourglass

namespace hourglass::service {

class AnomalyGuard;
class ServiceMetrics;

// The admin API under /admin/v1 and /metrics, for the console and hourglass-ctl against a running
// service. Every request needs "Authorization: Bearer <admin token>".
class AdminApi
{
public:
    AdminApi(Runtime &runtime, AnomalyGuard &guard, ServiceMetrics &metrics, std::string adminToken,
             std::function<std::size_t()> openConnections);

    bool handles(const http::Request &request) const;
    bool mayBlock(const http::Request &request) const;
    http::Response handle(const http::Request &request, http::RequestContext &context);

    // Lifts a block and records an ip-unblocked event; false when the address was not blocked.
    static bool unblockAddress(AnomalyGuard &guard, EventHub &events, const std::string &ip);
    static QJsonObject countersJson(const EngineCounters &counters);

private:
    void authorize(const http::Request &request) const;
    http::Response status();
    http::Response listSessions(const http::Request &request);
    http::Response revoke(std::string_view hashHex);
    http::Response logoutUser(const std::string &user, const http::Request &request);
    http::Response getPolicy();
    http::Response putPolicy(const http::Request &request);
    http::Response events(const http::Request &request);
    http::Response blockedIps();
    http::Response unblock(const std::string &ip);
    http::Response metrics();

    Runtime &m_runtime;
    AnomalyGuard &m_guard;
    ServiceMetrics &m_metrics;
    std::string m_tokenHash; // SHA-256 of the token, compared in constant time
    std::function<std::size_t()> m_openConnections;
    std::chrono::steady_clock::time_point m_started;
};

} // namespace hourglass::service
