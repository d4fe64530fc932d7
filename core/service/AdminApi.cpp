#include "AdminApi.h"

#include "AnomalyGuard.h"
#include "ConfigFile.h"
#include "HttpError.h"
#include "JsonBody.h"
#include "Runtime.h"
#include "ServiceMetrics.h"
#include "SessionApi.h"

#include <QJsonArray>

#include <openssl/crypto.h>

namespace hourglass::service {

namespace {

using http::HttpError;
using http::Request;
using http::Response;

constexpr std::string_view kPrefix = "/admin/v1/";
constexpr std::size_t kMaxPageSize = 1000;

QString q(const std::string &s)
{
    return QString::fromStdString(s);
}

std::size_t sizeParameter(const Request &request, const char *name, std::size_t fallback, std::size_t maximum)
{
    const std::optional<std::string> text = request.queryValue(name);
    if (!text)
        return fallback;
    std::size_t value = 0;
    if (text->empty() || text->size() > 12 || text->find_first_not_of("0123456789") != std::string::npos)
        throw HttpError(400, "invalid_request", std::string("'") + name + "' must be a whole number");
    value = std::stoull(*text);
    if (value > maximum)
        throw HttpError(400, "invalid_request",
                        std::string("'") + name + "' must be at most " + std::to_string(maximum));
    return value;
}

} // namespace

AdminApi::AdminApi(Runtime &runtime, AnomalyGuard &guard, ServiceMetrics &metrics, std::string adminToken,
                   std::function<std::size_t()> openConnections)
    : m_runtime(runtime), m_guard(guard), m_metrics(metrics), m_tokenHash(sha256(adminToken).toHex()),
      m_openConnections(std::move(openConnections)), m_started(std::chrono::steady_clock::now())
{}

bool AdminApi::handles(const Request &request) const
{
    const std::string_view path = request.path();
    return path == "/metrics" || path.rfind(kPrefix, 0) == 0;
}

bool AdminApi::mayBlock(const Request &request) const
{
    // Writes wait for the store; listing sessions may scan every session.
    return request.method != "GET" || request.path().rfind("/admin/v1/sessions", 0) == 0;
}

void AdminApi::authorize(const Request &request) const
{
    const std::string_view header = request.header("authorization").value_or("");
    constexpr std::string_view scheme = "Bearer ";
    const std::string given =
        header.rfind(scheme, 0) == 0 ? std::string(header.substr(scheme.size())) : std::string();
    // Hash first so that the comparison is constant-time whatever the lengths.
    const std::string givenHash = sha256(given).toHex();
    if (given.empty() || CRYPTO_memcmp(givenHash.data(), m_tokenHash.data(), m_tokenHash.size()) != 0)
        throw HttpError(401, "unauthorized",
                        "a valid admin token is required (Authorization: Bearer <token>)")
            .withHeader("WWW-Authenticate", "Bearer realm=\"hourglass-admin\"");
}

Response AdminApi::handle(const Request &request, http::RequestContext &)
{
    authorize(request);
    const std::string_view path = request.path();
    const std::string &method = request.method;
    if (path == "/metrics" && method == "GET")
        return metrics();
    const std::string_view rest = path.substr(std::min(path.size(), kPrefix.size()));
    if (rest == "status" && method == "GET")
        return status();
    if (rest == "sessions" && method == "GET")
        return listSessions(request);
    if (rest.rfind("sessions/", 0) == 0 && method == "DELETE")
        return revoke(rest.substr(9));
    if (rest.rfind("users/", 0) == 0 && rest.size() > 13 && rest.substr(rest.size() - 7) == "/logout" &&
        method == "POST")
        return logoutUser(http::percentDecode(rest.substr(6, rest.size() - 13), false), request);
    if (rest == "policy" && method == "GET")
        return getPolicy();
    if (rest == "policy" && method == "PUT")
        return putPolicy(request);
    if (rest == "events" && method == "GET")
        return events(request);
    if (rest == "blocked-ips" && method == "GET")
        return blockedIps();
    if (rest.rfind("blocked-ips/", 0) == 0 && method == "DELETE")
        return unblock(http::percentDecode(rest.substr(12), false));
    throw HttpError(404, "not_found", "no such admin endpoint or method");
}

QJsonObject AdminApi::countersJson(const EngineCounters &c)
{
    QJsonObject o;
    o.insert(QStringLiteral("active_admin"), qint64(c.active[0]));
    o.insert(QStringLiteral("active_storefront"), qint64(c.active[1]));
    o.insert(QStringLiteral("created"), qint64(c.created));
    o.insert(QStringLiteral("validations"), qint64(c.validations));
    o.insert(QStringLiteral("rejected_malformed"), qint64(c.rejectedMalformed));
    o.insert(QStringLiteral("rejected_unknown"), qint64(c.rejectedUnknown));
    o.insert(QStringLiteral("rejected_expired"), qint64(c.rejectedExpired));
    o.insert(QStringLiteral("rejected_limit"), qint64(c.rejectedLimit));
    o.insert(QStringLiteral("expired"), qint64(c.expired));
    o.insert(QStringLiteral("destroyed"), qint64(c.destroyed));
    o.insert(QStringLiteral("rotated"), qint64(c.rotated));
    o.insert(QStringLiteral("forced_logouts"), qint64(c.forcedLogouts));
    o.insert(QStringLiteral("size_exceeded"), qint64(c.sizeExceeded));
    o.insert(QStringLiteral("evicted_auth_tabs"), qint64(c.evictedAuthTabs));
    return o;
}

Response AdminApi::status()
{
    const EngineCounters c = m_runtime.engine().counters();
    const AuthSessionStats auth = m_runtime.engine().authStats();
    QJsonObject o;
    o.insert(QStringLiteral("generation"), qint64(m_runtime.engine().changeGeneration()));
    o.insert(QStringLiteral("counters"), countersJson(c));
    QJsonObject authJson;
    authJson.insert(QStringLiteral("roots"), qint64(auth.roots));
    authJson.insert(QStringLiteral("tabs"), qint64(auth.tabs));
    authJson.insert(QStringLiteral("estimated_bytes"), qint64(auth.estimatedBytes));
    o.insert(QStringLiteral("auth_sessions"), authJson);
    o.insert(QStringLiteral("version"), QStringLiteral(HOURGLASS_VERSION));
    o.insert(QStringLiteral("data_dir"), m_runtime.dataDirectory().root());
    o.insert(QStringLiteral("store"), q(m_runtime.store().describe()));
    const bool degraded = m_runtime.store().degraded();
    o.insert(QStringLiteral("store_degraded"), degraded);
    // Why: disk full, read-only, Redis unreachable… (the store's own words).
    o.insert(QStringLiteral("store_error"), degraded ? q(m_runtime.store().lastError()) : QString());
    o.insert(QStringLiteral("active_admin"), qint64(c.active[0]));
    o.insert(QStringLiteral("active_storefront"), qint64(c.active[1]));
    o.insert(QStringLiteral("uptime_s"), qint64(std::chrono::duration_cast<std::chrono::seconds>(
                                                    std::chrono::steady_clock::now() - m_started)
                                                    .count()));
    return Response::json(200, JsonBody::serialize(o));
}

Response AdminApi::listSessions(const Request &request)
{
    SessionQuery query;
    query.user = request.queryValue("user").value_or("");
    query.text = request.queryValue("q").value_or("");
    query.clientIp = request.queryValue("ip").value_or("");
    if (const auto area = request.queryValue("area"); area && !area->empty()) {
        query.area = parseArea(*area);
        if (!query.area)
            throw HttpError(400, "invalid_request", "'area' must be admin or storefront");
    }
    query.offset = sizeParameter(request, "offset", 0, SIZE_MAX / 4);
    query.limit = sizeParameter(request, "limit", 100, kMaxPageSize);
    const SessionPage page = m_runtime.engine().list(query);
    std::string body = "{\"offset\":" + std::to_string(query.offset) + ",\"sessions\":[";
    for (std::size_t i = 0; i < page.rows.size(); ++i) {
        if (i > 0)
            body.push_back(',');
        body += SessionApi::sessionJson(page.rows[i]);
    }
    body += "],\"total\":" + std::to_string(page.total) + "}";
    return Response::json(200, std::move(body));
}

Response AdminApi::revoke(std::string_view hashHex)
{
    const auto hash = IdHash::fromHex(hashHex);
    if (!hash)
        throw HttpError(400, "invalid_request", "a session is named by its ID hash (64 hex digits)");
    const SessionError e = m_runtime.engine().revoke(*hash);
    if (e == SessionError::Unknown)
        throw HttpError(404, "not_found", "no session with that ID hash");
    if (e == SessionError::StoreUnavailable)
        throw HttpError(503, "store_unavailable", "ended in memory but not yet durable");
    return Response::json(200, R"({"revoked":true})");
}

Response AdminApi::logoutUser(const std::string &user, const Request &request)
{
    const QJsonObject body = JsonBody::parse(request.body, {"except", "area"});
    std::optional<IdHash> except;
    if (const auto text = JsonBody::optionalString(body, "except", 64)) {
        except = IdHash::fromHex(*text);
        if (!except)
            throw HttpError(400, "invalid_request", "'except' must be a session ID hash (64 hex digits)");
    }
    std::optional<Area> area;
    if (const auto text = JsonBody::optionalString(body, "area", 16)) {
        area = parseArea(*text);
        if (!area)
            throw HttpError(400, "invalid_request", "'area' must be admin or storefront");
    }
    bool durable = false;
    const std::size_t ended = m_runtime.engine().forceLogout(user, except, area, &durable);
    if (!durable)
        throw HttpError(503, "store_unavailable",
                        "the session store is unavailable; the logout was not recorded");
    QJsonObject o;
    o.insert(QStringLiteral("ended"), qint64(ended));
    return Response::json(200, JsonBody::serialize(o));
}

Response AdminApi::getPolicy()
{
    QJsonObject o;
    o.insert(QStringLiteral("settings"), ConfigFile::settingsToJson(m_runtime.engine().policy()));
    return Response::json(200, JsonBody::serialize(o));
}

Response AdminApi::putPolicy(const Request &request)
{
    const QJsonObject body = JsonBody::parse(request.body, {"settings", "confirm"});
    if (!body.value(QStringLiteral("settings")).isObject())
        throw HttpError(400, "invalid_request", "'settings' must be an object of key paths to values");
    std::vector<std::pair<std::string, std::string>> entries;
    QString error;
    if (!ConfigFile::entriesFromJson(body.value(QStringLiteral("settings")).toObject(), entries, &error))
        throw HttpError(400, "invalid_request", error.toStdString());
    const bool confirm = JsonBody::optionalBool(body, "confirm", false);
    const ConfigResult r =
        m_runtime.setSettings(entries, confirm ? Confirmation::Confirmed : Confirmation::NotConfirmed);
    if (!r.ok()) {
        QJsonObject e;
        e.insert(QStringLiteral("error"), q(std::string(configErrorName(r.error))));
        e.insert(QStringLiteral("path"), q(r.path));
        e.insert(QStringLiteral("message"), q(r.message));
        const int status = r.needsConfirmation() ? 409 : r.error == ConfigError::WriteFailed ? 503 : 422;
        return Response::json(status, JsonBody::serialize(e));
    }
    return getPolicy();
}

Response AdminApi::events(const Request &request)
{
    const std::size_t after = sizeParameter(request, "after", 0, SIZE_MAX / 4);
    const std::size_t limit = sizeParameter(request, "limit", 100, kMaxPageSize);
    QJsonArray list;
    for (const SessionEvent &e : m_runtime.events().since(after, limit)) {
        QJsonObject o;
        o.insert(QStringLiteral("seq"), qint64(e.sequence));
        o.insert(QStringLiteral("time_ms"), qint64(e.timeMs));
        o.insert(QStringLiteral("type"), q(std::string(eventTypeName(e.type))));
        o.insert(QStringLiteral("area"), q(std::string(areaName(e.area))));
        o.insert(QStringLiteral("user"), q(e.user));
        o.insert(QStringLiteral("id_hash"), q(e.idHash));
        o.insert(QStringLiteral("client_ip"), q(e.clientIp));
        o.insert(QStringLiteral("count"), qint64(e.count));
        o.insert(QStringLiteral("detail"), q(e.detail));
        list.append(o);
    }
    QJsonObject o;
    o.insert(QStringLiteral("events"), list);
    o.insert(QStringLiteral("last_seq"), qint64(m_runtime.events().lastSequence()));
    return Response::json(200, JsonBody::serialize(o));
}

Response AdminApi::blockedIps()
{
    QJsonArray list;
    for (const AnomalyGuard::Blocked &b : m_guard.blocked()) {
        QJsonObject o;
        o.insert(QStringLiteral("ip"), q(b.ip));
        o.insert(QStringLiteral("until_ms"), qint64(b.untilMs));
        o.insert(QStringLiteral("failures"), qint64(b.failures));
        list.append(o);
    }
    QJsonObject o;
    o.insert(QStringLiteral("blocked"), list);
    return Response::json(200, JsonBody::serialize(o));
}

bool AdminApi::unblockAddress(AnomalyGuard &guard, EventHub &events, const std::string &ip)
{
    if (!guard.unblock(ip))
        return false;
    SessionEvent e;
    e.type = EventType::IpUnblocked;
    e.timeMs = SystemClock::instance().nowMs();
    e.clientIp = ip;
    e.detail = "unblocked by administrator";
    events.publish(e);
    return true;
}

Response AdminApi::unblock(const std::string &ip)
{
    if (!unblockAddress(m_guard, m_runtime.events(), ip))
        throw HttpError(404, "not_found", "that address is not blocked");
    return Response::json(200, R"({"unblocked":true})");
}

Response AdminApi::metrics()
{
    ServiceMetrics::Gauges g;
    g.engine = m_runtime.engine().counters();
    g.blockedIps = m_guard.blocked().size();
    g.openConnections = m_openConnections ? m_openConnections() : 0;
    g.storeDegraded = m_runtime.store().degraded();
    Response r;
    r.status = 200;
    r.body = m_metrics.render(g);
    r.setHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return r;
}

} // namespace hourglass::service
