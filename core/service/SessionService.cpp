#include "SessionService.h"

#include "AtomicFile.h"
#include "HttpError.h"
#include "RandomSource.h"
#include "Runtime.h"
#include "SessionId.h"

#include <QFile>
#include <QJsonDocument>

#include <unistd.h>

namespace hourglass::service {

namespace {

QString serviceFile(const Runtime &runtime)
{
    return runtime.dataDirectory().root() + QStringLiteral("/service.json");
}

bool readInt(const QJsonObject &o, const char *key, std::int64_t min, std::int64_t max, std::int64_t *out,
             QString *error)
{
    const QJsonValue v = o.value(QLatin1String(key));
    if (v.isUndefined())
        return true;
    const double d = v.toDouble(-1e300);
    if (!v.isDouble() || d != double(std::int64_t(d)) || d < double(min) || d > double(max)) {
        *error = QStringLiteral("service.%1 must be a whole number from %2 to %3")
                     .arg(QLatin1String(key))
                     .arg(min)
                     .arg(max);
        return false;
    }
    *out = std::int64_t(d);
    return true;
}

bool readString(const QJsonObject &o, const char *key, std::string *out, QString *error)
{
    const QJsonValue v = o.value(QLatin1String(key));
    if (v.isUndefined())
        return true;
    if (!v.isString()) {
        *error = QStringLiteral("service.%1 must be a string").arg(QLatin1String(key));
        return false;
    }
    *out = v.toString().toStdString();
    return true;
}

} // namespace

bool SessionService::optionsFromConfig(const QJsonObject &section, Options *options, QString *error)
{
    static const QStringList known{QStringLiteral("bind"),
                                   QStringLiteral("port"),
                                   QStringLiteral("tls_certificate"),
                                   QStringLiteral("tls_private_key"),
                                   QStringLiteral("io_threads"),
                                   QStringLiteral("max_body_bytes"),
                                   QStringLiteral("header_timeout_ms"),
                                   QStringLiteral("keep_alive_timeout_ms"),
                                   QStringLiteral("max_connections"),
                                   QStringLiteral("max_connections_per_ip"),
                                   QStringLiteral("guard_failure_threshold"),
                                   QStringLiteral("guard_wait_increment_s"),
                                   QStringLiteral("guard_max_wait_s"),
                                   QStringLiteral("guard_reset_after_s"),
                                   QStringLiteral("create_per_second"),
                                   QStringLiteral("create_burst")};
    for (auto it = section.begin(); it != section.end(); ++it) {
        if (!known.contains(it.key())) {
            *error = QStringLiteral("unknown setting service.%1").arg(it.key());
            return false;
        }
    }
    Options o = *options;
    std::int64_t port = o.server.port == 0 ? kDefaultPort : o.server.port;
    std::int64_t threads = o.server.ioThreads;
    std::int64_t body = std::int64_t(o.server.limits.maxBodyBytes);
    std::int64_t headerTimeout = o.server.limits.headerTimeout.count();
    std::int64_t keepAlive = o.server.limits.keepAliveTimeout.count();
    std::int64_t maxConnections = std::int64_t(o.server.limits.maxConnections);
    std::int64_t perIp = std::int64_t(o.server.limits.maxConnectionsPerIp);
    std::int64_t threshold = o.guard.failureThreshold;
    std::int64_t waitS = o.guard.waitIncrementMs / 1000, maxWaitS = o.guard.maxWaitMs / 1000,
                 resetS = o.guard.resetAfterMs / 1000;
    std::int64_t rate = std::int64_t(o.guard.createPerSecond), burst = std::int64_t(o.guard.createBurst);
    if (!readString(section, "bind", &o.server.bindAddress, error) ||
        !readString(section, "tls_certificate", &o.server.tlsCertificateFile, error) ||
        !readString(section, "tls_private_key", &o.server.tlsPrivateKeyFile, error) ||
        !readInt(section, "port", 0, 65535, &port, error) ||
        !readInt(section, "io_threads", 1, 64, &threads, error) ||
        !readInt(section, "max_body_bytes", 1024, 64LL * 1024 * 1024, &body, error) ||
        !readInt(section, "header_timeout_ms", 100, 600'000, &headerTimeout, error) ||
        !readInt(section, "keep_alive_timeout_ms", 100, 3'600'000, &keepAlive, error) ||
        !readInt(section, "max_connections", 1, 1'000'000, &maxConnections, error) ||
        !readInt(section, "max_connections_per_ip", 1, 1'000'000, &perIp, error) ||
        !readInt(section, "guard_failure_threshold", 1, 1'000'000, &threshold, error) ||
        !readInt(section, "guard_wait_increment_s", 1, 86'400, &waitS, error) ||
        !readInt(section, "guard_max_wait_s", 1, 7 * 86'400, &maxWaitS, error) ||
        !readInt(section, "guard_reset_after_s", 1, 30 * 86'400, &resetS, error) ||
        !readInt(section, "create_per_second", 1, 1'000'000, &rate, error) ||
        !readInt(section, "create_burst", 1, 1'000'000, &burst, error))
        return false;
    if (o.server.tlsCertificateFile.empty() != o.server.tlsPrivateKeyFile.empty()) {
        *error = QStringLiteral("service.tls_certificate and service.tls_private_key go together");
        return false;
    }
    o.server.port = static_cast<std::uint16_t>(port);
    o.server.ioThreads = int(threads);
    o.server.limits.maxBodyBytes = std::size_t(body);
    o.server.limits.headerTimeout = std::chrono::milliseconds(headerTimeout);
    o.server.limits.keepAliveTimeout = std::chrono::milliseconds(keepAlive);
    o.server.limits.maxConnections = std::size_t(maxConnections);
    o.server.limits.maxConnectionsPerIp = std::size_t(perIp);
    o.guard.failureThreshold = std::uint32_t(threshold);
    o.guard.waitIncrementMs = waitS * 1000;
    o.guard.maxWaitMs = maxWaitS * 1000;
    o.guard.resetAfterMs = resetS * 1000;
    o.guard.createPerSecond = double(rate);
    o.guard.createBurst = double(burst);
    *options = o;
    return true;
}

bool SessionService::loadOrCreateAdminToken(const QString &path, std::string *token, QString *error)
{
    QFile file(path);
    if (file.exists()) {
        if (!file.open(QIODevice::ReadOnly)) {
            *error = QStringLiteral("cannot read admin token %1: %2").arg(path, file.errorString());
            return false;
        }
        *token = file.readAll().trimmed().toStdString();
        if (token->size() < 32) {
            *error =
                QStringLiteral("admin token %1 is too short; delete it to have a new one created").arg(path);
            return false;
        }
        return true;
    }
    const auto fresh = SessionToken::generate(OpenSslRandom::instance());
    if (!fresh) {
        *error = QStringLiteral("no secure randomness for the admin token");
        return false;
    }
    std::string writeError;
    if (!AtomicFile::write(path.toStdString(), fresh->text() + "\n", 0600, &writeError)) {
        *error = QString::fromStdString(writeError);
        return false;
    }
    *token = fresh->text();
    return true;
}

std::unique_ptr<SessionService> SessionService::startFromConfig(Runtime &runtime,
                                                                const QJsonObject &overrides, QString *error)
{
    QJsonObject section = runtime.configSections().value(QStringLiteral("service")).toObject();
    for (auto it = overrides.begin(); it != overrides.end(); ++it)
        section.insert(it.key(), it.value());
    Options options;
    if (!optionsFromConfig(section, &options, error))
        return nullptr;
    auto service = std::make_unique<SessionService>(runtime, options);
    if (!service->start(error))
        return nullptr;
    return service;
}

SessionService::SessionService(Runtime &runtime, Options options)
    : m_runtime(runtime), m_options(std::move(options))
{}

SessionService::~SessionService()
{
    stop();
}

bool SessionService::start(QString *error)
{
    if (!loadOrCreateAdminToken(m_runtime.dataDirectory().root() + QStringLiteral("/admin.token"),
                                &m_adminToken, error))
        return false;
    EventHub &events = m_runtime.events();
    m_guard = std::make_unique<AnomalyGuard>(
        m_options.guard, SystemClock::instance(),
        [&events](const AnomalyGuard::Blocked &b) {
            SessionEvent e;
            e.type = EventType::IpBlocked;
            e.timeMs = SystemClock::instance().nowMs();
            e.clientIp = b.ip;
            e.count = b.failures;
            e.detail = "blocked after " + std::to_string(b.failures) + " invalid session IDs until " +
                       std::to_string(b.untilMs);
            events.publish(e);
        },
        [&events](const std::string &ip) {
            SessionEvent e;
            e.type = EventType::LimitHit;
            e.timeMs = SystemClock::instance().nowMs();
            e.clientIp = ip;
            e.detail = "session creation rate limit reached";
            events.publish(e);
        });
    m_sessionApi = std::make_unique<SessionApi>(m_runtime.engine(), *m_guard, m_metrics);
    http::HttpServer::Observer observer;
    observer.response = [this](int status, std::chrono::nanoseconds latency) {
        m_metrics.observe(status, latency);
    };
    observer.rejected = [this](http::Rejection r) {
        m_metrics.rejected(r);
    };
    m_server = std::make_unique<http::HttpServer>(m_options.server, *this, observer);
    m_adminApi = std::make_unique<AdminApi>(m_runtime, *m_guard, m_metrics, m_adminToken,
                                            [this] { return m_server->openConnections(); });
    std::string serverError;
    if (!m_server->start(&serverError)) {
        *error = QString::fromStdString(serverError);
        m_server.reset();
        return false;
    }
    QJsonObject info;
    info.insert(QStringLiteral("url"), QString::fromStdString(m_server->url()));
    info.insert(QStringLiteral("pid"), qint64(::getpid()));
    info.insert(QStringLiteral("io_threads"), m_server->ioThreads());
    const QByteArray bytes = QJsonDocument(info).toJson(QJsonDocument::Compact);
    std::string writeError;
    AtomicFile::write(serviceFile(m_runtime).toStdString(),
                      std::string_view(bytes.constData(), std::size_t(bytes.size())), 0600, &writeError);
    return true;
}

void SessionService::stop()
{
    if (!m_server)
        return;
    m_server->stop();
    m_server.reset();
    QFile::remove(serviceFile(m_runtime));
}

bool SessionService::unblock(const std::string &ip)
{
    return m_guard && AdminApi::unblockAddress(*m_guard, m_runtime.events(), ip);
}

std::string SessionService::url() const
{
    return m_server ? m_server->url() : std::string();
}

std::uint16_t SessionService::port() const
{
    return m_server ? m_server->port() : 0;
}

http::Response SessionService::handle(const http::Request &request, http::RequestContext &context)
{
    if (m_adminApi->handles(request))
        return m_adminApi->handle(request, context);
    if (m_sessionApi->handles(request))
        return m_sessionApi->handle(request, context);
    throw http::HttpError(404, "not_found", "no such endpoint");
}

std::size_t SessionService::bodyLimit(std::string_view method, std::string_view target,
                                      std::size_t defaultLimit) const
{
    return m_sessionApi->bodyLimit(method, target, defaultLimit);
}

bool SessionService::completesLater(const http::Request &request) const
{
    return !m_adminApi->handles(request) && m_sessionApi->handles(request) &&
           m_sessionApi->completesLater(request);
}

void SessionService::handleAsync(const http::Request &request, http::RequestContext &context,
                                 Completion complete)
{
    m_sessionApi->handleAsync(request, context, std::move(complete));
}

bool SessionService::mayBlock(const http::Request &request) const
{
    if (m_adminApi->handles(request))
        return m_adminApi->mayBlock(request);
    return m_sessionApi->mayBlock(request);
}

} // namespace hourglass::service
