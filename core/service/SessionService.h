#pragma once

#include "AdminApi.h"
#include "AnomalyGuard.h"
#include "HttpServer.h"
#include "RequestHandler.h"
#include "ServiceMetrics.h"
#include "SessionApi.h"

#include <QJsonObject>
#include <QString>

#include <memory>

namespace hourglass {
class Runtime;
}

namespace hourglass::service {

// The local session service of one Runtime: HTTP server, public session API, admin API, anomaly
// guard and metrics. Embedded in the console and run by hourglassd.
class SessionService final : public http::RequestHandler
{
public:
    static constexpr std::uint16_t kDefaultPort = 8410;

    struct Options
    {
        http::HttpServer::Options server;
        AnomalyGuard::Options guard;
    };

    // Reads the "service" section of the configuration; unknown keys and bad values are errors.
    static bool optionsFromConfig(const QJsonObject &section, Options *options, QString *error);

    // Reads the "service" section of the runtime's configuration with `overrides` applied on top
    // (command-line options) and starts the service; null with *error set when it cannot.
    static std::unique_ptr<SessionService> startFromConfig(Runtime &runtime, const QJsonObject &overrides,
                                                           QString *error);

    SessionService(Runtime &runtime, Options options);
    ~SessionService() override;

    bool start(QString *error);
    void stop();

    std::string url() const;
    std::uint16_t port() const;
    const std::string &adminToken() const { return m_adminToken; }
    // The guard exists once the service has started (it survives stop() until the next start()).
    bool hasGuard() const { return m_guard != nullptr; }
    AnomalyGuard &guard() { return *m_guard; }
    bool unblock(const std::string &ip);
    const Options &options() const { return m_options; }
    ServiceMetrics &metrics() { return m_metrics; }

    // Reads (creating on first start, mode 0600) the admin token of a data directory.
    static bool loadOrCreateAdminToken(const QString &path, std::string *token, QString *error);

    http::Response handle(const http::Request &request, http::RequestContext &context) override;
    bool mayBlock(const http::Request &request) const override;
    bool completesLater(const http::Request &request) const override;
    void handleAsync(const http::Request &request, http::RequestContext &context,
                     Completion complete) override;
    std::size_t bodyLimit(std::string_view method, std::string_view target,
                          std::size_t defaultLimit) const override;

private:
    Runtime &m_runtime;
    Options m_options;
    std::string m_adminToken;
    ServiceMetrics m_metrics;
    std::unique_ptr<AnomalyGuard> m_guard;
    std::unique_ptr<SessionApi> m_sessionApi;
    std::unique_ptr<AdminApi> m_adminApi;
    std::unique_ptr<http::HttpServer> m_server;
};

} // namespace hourglass::service
