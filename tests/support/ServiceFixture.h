#pragma once

#include "RawHttp.h"
#include "Runtime.h"
#include "SessionService.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

namespace hourglass::test {

// A real Runtime (temporary data directory) with its SessionService on an ephemeral loopback port.
struct ServiceFixture
{
    // dataDir: where the data directory goes (default: a temporary directory of its own).
    explicit ServiceFixture(const QJsonObject &serviceSection = {}, const Policy &policy = Policy(),
                            Clock *clock = nullptr, const QString &dataDir = {})
    {
        Runtime::Options o;
        o.dataDir = dataDir.isEmpty() ? dir.path() : dataDir;
        o.clock = clock;
        Runtime::OpenError code;
        QString error;
        runtime = Runtime::open(o, &code, &error);
        if (!runtime)
            qFatal("runtime: %s", qPrintable(error));
        if (!(policy == Policy()) && !runtime->setPolicy(policy).ok())
            qFatal("policy rejected");
        QJsonObject section = serviceSection;
        section.insert(QStringLiteral("port"), 0);
        service::SessionService::Options options;
        if (!service::SessionService::optionsFromConfig(section, &options, &error))
            qFatal("options: %s", qPrintable(error));
        service = std::make_unique<service::SessionService>(*runtime, options);
        if (!service->start(&error))
            qFatal("service: %s", qPrintable(error));
        port = service->port();
    }

    RawResponse request(const std::string &method, const std::string &target,
                        std::vector<std::pair<std::string, std::string>> headers = {},
                        const std::string &body = {})
    {
        return rawRequest(port, method, target, headers, body);
    }

    RawResponse admin(const std::string &method, const std::string &target, const std::string &body = {})
    {
        return request(method, target, {{"Authorization", "Bearer " + service->adminToken()}}, body);
    }

    static QJsonObject json(const RawResponse &r)
    {
        return QJsonDocument::fromJson(QByteArray::fromStdString(r.body)).object();
    }

    // Creates a session over HTTP and returns its ID.
    std::string create(const std::string &user, const std::string &area = "storefront",
                       bool rememberMe = false, const std::string &ip = "198.51.100.10")
    {
        const auto r = request("POST", "/v1/sessions", {},
                               R"({"user":")" + user + R"(","area":")" + area + R"(","remember_me":)" +
                                   (rememberMe ? "true" : "false") + R"(,"client_ip":")" + ip + R"("})");
        if (r.status != 201)
            qFatal("create failed: %d %s", r.status, r.body.c_str());
        return json(r).value(QStringLiteral("id")).toString().toStdString();
    }

    QTemporaryDir dir;
    std::unique_ptr<Runtime> runtime;
    std::unique_ptr<service::SessionService> service;
    std::uint16_t port = 0;
};

} // namespace hourglass::test
