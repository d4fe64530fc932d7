#include "SessionApi.h"

#include "AnomalyGuard.h"
#include "Cookies.h"
#include "FlatJsonBody.h"
#include "HttpError.h"
#include "IpAddress.h"
#include "JsonBody.h"
#include "JsonText.h"
#include "ServiceMetrics.h"
#include "SessionEngine.h"
#include "SettingsSchema.h"

#include <QJsonArray>

#include <cassert>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace hourglass::service {

namespace {

constexpr std::size_t kMaxUserBytes = 256;
constexpr std::size_t kMaxUserAgentBytes = 512;
constexpr std::size_t kMaxIpBytes = 64;

using http::HttpError;
using http::Request;
using http::Response;

bool isIpAddress(std::string_view text)
{
    return text.size() < kMaxIpBytes && hourglass::isIpAddress(text);
}

bool isLoopback(std::string_view ip)
{
    return ip.rfind("127.", 0) == 0 || ip == "::1" || ip.rfind("::ffff:127.", 0) == 0;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    return s;
}

QString q(const std::string &s)
{
    return QString::fromStdString(s);
}

Area areaFrom(const FlatJsonBody &body)
{
    const std::optional<std::string> name = body.optionalString("area", 32);
    if (!name)
        return Area::Storefront;
    const std::optional<Area> area = parseArea(*name);
    if (!area)
        throw HttpError(400, "invalid_request", "'area' must be \"admin\" or \"storefront\"");
    return *area;
}

// The value of cookie `name` in the request's Cookie header(s); the first occurrence wins.
std::optional<std::string> requestCookie(const Request &request, std::string_view name)
{
    for (const auto &[header, value] : request.headers) {
        if (header != "cookie")
            continue;
        if (auto found = cookieValue(value, name))
            return found;
    }
    return std::nullopt;
}

[[noreturn]] void methodNotAllowed(const char *allowed)
{
    throw HttpError(405, "method_not_allowed", std::string("allowed: ") + allowed)
        .withHeader("Allow", allowed);
}

[[noreturn]] void unauthorized(const char *code, const std::string &message)
{
    throw HttpError(401, code, message).withHeader("WWW-Authenticate", "Session");
}

[[noreturn]] void storeUnavailable()
{
    throw HttpError(503, "store_unavailable",
                    "the session store is unavailable right now; nothing was changed");
}

} // namespace

SessionApi::SessionApi(SessionEngine &engine, AnomalyGuard &guard, ServiceMetrics &metrics)
    : m_engine(engine), m_guard(guard), m_metrics(metrics)
{}

bool SessionApi::handles(const Request &request) const
{
    const std::string_view path = request.path();
    return path == "/v1/auth" || path.rfind("/v1/session", 0) == 0 || path.rfind("/v1/auth-sessions", 0) == 0;
}

bool SessionApi::mayBlock(const Request &request) const
{
    // Everything that changes state waits for the store; reads never do.
    return request.method != "GET" && request.method != "HEAD";
}

std::size_t SessionApi::bodyLimit(std::string_view method, std::string_view target,
                                  std::size_t defaultLimit) const
{
    if (method != "PUT" || target.substr(0, target.find('?')) != "/v1/session/data")
        return defaultLimit;
    const Policy policy = m_engine.policy();
    std::size_t largest = 0;
    for (const Area area : kAreas) {
        const std::int64_t limit = policy.area(area).maxSessionSizeBytes;
        // 0 disables the limit: the key table's upper bound is then the only bound.
        const SettingKey *key = SettingsSchema::find(SettingsSchema::maxSessionSizeKey(area));
        largest = std::max(largest, std::size_t(limit == 0 ? key->maximum : limit));
    }
    return std::max(defaultLimit, largest + defaultLimit);
}

std::string SessionApi::clientIp(const Request &request, const http::RequestContext &context)
{
    if (isLoopback(context.peerAddress)) {
        if (const auto real = request.header("x-real-ip"); real && isIpAddress(trim(*real)))
            return std::string(trim(*real));
        if (const auto forwarded = request.header("x-forwarded-for")) {
            const auto comma = forwarded->rfind(',');
            const std::string_view last =
                trim(comma == std::string_view::npos ? *forwarded : forwarded->substr(comma + 1));
            if (isIpAddress(last))
                return std::string(last);
        }
    }
    return context.peerAddress;
}

namespace {

// Writes the session JSON into room sized beforehand (each text's exact size as a JSON string,
// every number 20 digits): no capacity check or call per piece written.
class JsonWriter
{
public:
    explicit JsonWriter(char *at) : m_at(at) {}

    static constexpr std::size_t kNumberRoom = 20;

    char *end() const { return m_at; }

    // A literal piece: punctuation and a key, for example `,"user":`.
    void raw(std::string_view text)
    {
        std::memcpy(m_at, text.data(), text.size());
        m_at += text.size();
    }

    void string(std::string_view text) { m_at = writeJsonString(m_at, text); }

    void number(std::int64_t value) { m_at = std::to_chars(m_at, m_at + kNumberRoom, value).ptr; }

    // An ID hash as a JSON string of 64 hex digits.
    void hash(const IdHash &hash)
    {
        *m_at++ = '"';
        m_at = hash.writeHex(m_at);
        *m_at++ = '"';
    }

private:
    char *m_at;
};

} // namespace

std::string SessionApi::sessionJson(const SessionInfo &info, const std::string *id,
                                    const std::string *setCookie)
{
    // Written directly rather than through QJsonObject: this is the body of every validation.
    // Keys in alphabetical order, as QJsonDocument writes them.
    const std::string_view user = textOf(info.user), userAgent = textOf(info.userAgent);
    const std::string_view idText = id ? std::string_view(*id) : std::string_view();
    const std::string_view cookie = setCookie ? std::string_view(*setCookie) : std::string_view();
    std::string out;
    // Keys and punctuation are under 300 bytes; the hash is 66 with its quotes.
    out.resize(300 + 66 + 7 * JsonWriter::kNumberRoom + jsonStringSize(areaName(info.area)) +
               jsonStringSize(info.clientIp) + jsonStringSize(idText) + jsonStringSize(cookie) +
               jsonStringSize(user) + jsonStringSize(userAgent));
    JsonWriter w(out.data());
    w.raw("{\"absolute_deadline_ms\":");
    if (info.absoluteDeadlineMs == SessionInfo::kNoDeadline)
        w.raw("null");
    else
        w.number(info.absoluteDeadlineMs);
    w.raw(",\"area\":");
    w.string(areaName(info.area));
    w.raw(",\"client_ip\":");
    w.string(info.clientIp);
    w.raw(",\"created_ms\":");
    w.number(info.createdMs);
    w.raw(",\"data_size\":");
    w.number(static_cast<std::int64_t>(info.dataSize));
    w.raw(",\"expires_ms\":");
    w.number(info.expiresAtMs);
    if (id) {
        w.raw(",\"id\":");
        w.string(idText);
    }
    w.raw(",\"id_hash\":");
    w.hash(info.hash);
    w.raw(",\"idle_deadline_ms\":");
    w.number(info.idleDeadlineMs);
    w.raw(",\"last_activity_ms\":");
    w.number(info.lastActivityMs);
    w.raw(info.rememberMe ? ",\"remember_me\":true" : ",\"remember_me\":false");
    if (setCookie) {
        w.raw(",\"set_cookie\":");
        w.string(cookie);
    }
    w.raw(",\"sub_sessions\":");
    w.number(static_cast<std::int64_t>(info.subSessions));
    w.raw(",\"user\":");
    w.string(user);
    w.raw(",\"user_agent\":");
    w.string(userAgent);
    w.raw("}");
    assert(w.end() <= out.data() + out.size());
    out.resize(static_cast<std::size_t>(w.end() - out.data()));
    return out;
}

Response SessionApi::handle(const Request &request, http::RequestContext &context)
{
    const std::string ip = clientIp(request, context);
    const std::string_view path = request.path();
    const std::string &method = request.method;
    if (path == "/v1/sessions") {
        if (method != "POST")
            methodNotAllowed("POST");
        return create(request, ip);
    }
    if (path == "/v1/session") {
        if (method == "GET")
            return validate(request, ip, false);
        if (method == "DELETE")
            return destroy(request, ip);
        methodNotAllowed("GET, DELETE");
    }
    if (path == "/v1/session/rotate") {
        if (method != "POST")
            methodNotAllowed("POST");
        return rotate(request, ip);
    }
    if (path == "/v1/session/data") {
        if (method == "GET")
            return getData(request, ip);
        if (method == "PUT")
            return putData(request, ip);
        methodNotAllowed("GET, PUT");
    }
    if (path == "/v1/session/logout-others") {
        if (method != "POST")
            methodNotAllowed("POST");
        return logoutOthers(request, ip);
    }
    if (path == "/v1/auth") {
        if (method != "GET")
            methodNotAllowed("GET");
        return validate(request, ip, true);
    }
    if (path == "/v1/auth-sessions") {
        if (method != "POST")
            methodNotAllowed("POST");
        return startAuthentication(request, ip);
    }
    if (path == "/v1/auth-sessions/complete") {
        if (method != "POST")
            methodNotAllowed("POST");
        return completeAuthentication(request, ip);
    }
    throw HttpError(404, "not_found", "no such endpoint");
}

void SessionApi::refuseIfBlocked(const std::string &ip, int status)
{
    if (const TimeMs wait = m_guard.blockedFor(ip); wait > 0)
        refuseBlocked(wait, status);
}

void SessionApi::refuseBlocked(TimeMs wait, int status)
{
    m_metrics.blockedRequest();
    const std::string seconds = std::to_string((wait + 999) / 1000);
    throw HttpError(status, "client_blocked",
                    "too many invalid session IDs from this address; retry in " + seconds + " s")
        .withHeader("Retry-After", seconds);
}

void SessionApi::admitCreation(const std::string &ip, const char *what)
{
    const AnomalyGuard::Admission admission = m_guard.admitCreate(ip);
    if (admission.blockedForMs > 0)
        refuseBlocked(admission.blockedForMs, 429);
    if (!admission.allowed) {
        m_metrics.rateLimited();
        throw HttpError(429, "rate_limited",
                        std::string("too many ") + what + " from this address; slow down")
            .withHeader("Retry-After", "1");
    }
}

void SessionApi::invalidSession(const std::string &ip, bool countAsFailure)
{
    if (countAsFailure)
        m_guard.recordFailure(ip);
    // One answer for unknown, expired, revoked and malformed IDs: nothing to learn from it.
    unauthorized("invalid_session", "no valid session");
}

std::string SessionApi::tokenOf(const Request &request)
{
    if (const auto authorization = request.header("authorization")) {
        if (auto token = sessionFromAuthorization(*authorization))
            return *token;
    }
    if (auto token = requestCookie(request, kSessionCookie))
        return *token;
    // No credential at all is not a guess: do not count it against the address.
    unauthorized("invalid_session", "no session cookie or Authorization: Session header");
}

Response SessionApi::issued(int status, const std::string &token, const SessionInfo &info)
{
    std::optional<long long> maxAge;
    if (info.rememberMe) // a persistent cookie only for remember-me sessions
        maxAge = (info.expiresAtMs - info.lastActivityMs) / kMsPerSecond;
    std::string cookie = setCookie(kSessionCookie, token, maxAge);
    Response r = Response::json(status, sessionJson(info, &token, &cookie));
    r.addHeader("Set-Cookie", std::move(cookie));
    return r;
}

bool SessionApi::completesLater(const Request &request) const
{
    return request.method == "POST" && request.path() == "/v1/sessions" && m_engine.createsAsynchronously();
}

void SessionApi::handleAsync(const Request &request, http::RequestContext &context,
                             http::RequestHandler::Completion complete)
{
    const CreateParams params = createParams(request, clientIp(request, context));
    m_engine.createAsync(params, [this, complete = std::move(complete)](CreateResult result) {
        complete([this, result = std::move(result)] { return created(result); });
    });
}

Response SessionApi::create(const Request &request, const std::string &peerIp)
{
    return created(m_engine.create(createParams(request, peerIp)));
}

CreateParams SessionApi::createParams(const Request &request, const std::string &peerIp)
{
    FlatJsonBody body =
        FlatJsonBody::parse(request.body, {"user", "area", "remember_me", "client_ip", "user_agent"});
    CreateParams params;
    params.user = body.takeRequiredString("user", kMaxUserBytes);
    params.area = areaFrom(body);
    params.rememberMe = body.optionalBool("remember_me", false);
    params.clientIp = body.takeString("client_ip", kMaxIpBytes).value_or(peerIp);
    if (!isIpAddress(params.clientIp))
        throw HttpError(400, "invalid_request", "'client_ip' is not an IP address");
    params.userAgent = body.takeString("user_agent", kMaxUserAgentBytes)
                           .value_or(std::string(request.header("user-agent").value_or("")));
    admitCreation(params.clientIp, "sessions created");
    return params;
}

Response SessionApi::created(const CreateResult &r)
{
    switch (r.error) {
    case SessionError::None:
        break;
    case SessionError::UserLimitReached:
        throw HttpError(409, "user_session_limit", "the user already has the maximum number of sessions");
    case SessionError::IpLimitReached:
        throw HttpError(429, "ip_session_limit", "this address already holds the maximum number of sessions");
    case SessionError::StoreUnavailable:
        storeUnavailable();
    case SessionError::RandomUnavailable:
        throw HttpError(503, "random_unavailable", "no secure randomness available; no session was created");
    default:
        throw HttpError(400, "invalid_request", std::string(sessionErrorName(r.error)));
    }
    Response response = issued(201, r.token, r.info);
    return response;
}

Response SessionApi::validate(const Request &request, const std::string &ip, bool forNginx)
{
    // nginx auth_request understands 2xx, 401 and 403 only.
    refuseIfBlocked(ip, forNginx ? 403 : 429);
    const std::string token = tokenOf(request);
    // The answer is written from the engine's borrowed view of the session, under its shard's
    // lock: no reference counts raised and released, no copy of the session in between.
    Response response;
    const SessionError error =
        m_engine.validate(token, SessionEngine::Touch::Yes, [&](const SessionInfo &info) {
            if (!forNginx) {
                response = Response::json(200, sessionJson(info));
                return;
            }
            response = Response::empty(204);
            response.addHeader("X-Hourglass-User", std::string(textOf(info.user)));
            response.addHeader("X-Hourglass-Area", std::string(areaName(info.area)));
            response.addHeader("X-Hourglass-Session", info.hash.toHex());
        });
    // A shared store that cannot answer: fail closed, without counting it against the client.
    if (error == SessionError::StoreUnavailable)
        storeUnavailable();
    if (error != SessionError::None)
        invalidSession(ip, error != SessionError::Expired);
    return response;
}

Response SessionApi::rotate(const Request &request, const std::string &ip)
{
    refuseIfBlocked(ip, 429);
    const RotateResult r = m_engine.rotate(tokenOf(request));
    if (r.error == SessionError::StoreUnavailable)
        storeUnavailable();
    if (r.error != SessionError::None)
        invalidSession(ip, r.error != SessionError::Expired);
    return issued(200, r.token, r.info);
}

Response SessionApi::getData(const Request &request, const std::string &ip)
{
    refuseIfBlocked(ip, 429);
    const GetDataResult r = m_engine.getData(tokenOf(request));
    if (r.error == SessionError::StoreUnavailable)
        storeUnavailable();
    if (r.error != SessionError::None)
        invalidSession(ip, r.error != SessionError::Expired);
    Response response;
    response.status = 200;
    response.body = r.data;
    response.setHeader("Content-Type", "application/octet-stream");
    return response;
}

Response SessionApi::putData(const Request &request, const std::string &ip)
{
    refuseIfBlocked(ip, 429);
    const SetDataResult r = m_engine.setData(tokenOf(request), request.body);
    if (r.error == SessionError::SizeExceeded) {
        // Magento admin behaviour: an error the user sees.
        throw HttpError(413, "session_size_exceeded",
                        "session data of " + std::to_string(request.body.size()) +
                            " bytes exceeds the admin limit of " + std::to_string(r.limitBytes) + " bytes");
    }
    if (r.error == SessionError::StoreUnavailable)
        storeUnavailable();
    if (r.error != SessionError::None)
        invalidSession(ip, r.error != SessionError::Expired);
    QJsonObject body;
    body.insert(QStringLiteral("stored"), !r.dropped);
    body.insert(QStringLiteral("dropped"), r.dropped); // storefront over its limit: not stored, no error
    body.insert(QStringLiteral("size"), qint64(request.body.size()));
    body.insert(QStringLiteral("limit"), qint64(r.limitBytes));
    return Response::json(200, JsonBody::serialize(body));
}

Response SessionApi::destroy(const Request &request, const std::string &ip)
{
    refuseIfBlocked(ip, 429);
    const SessionError e = m_engine.destroy(tokenOf(request));
    if (e == SessionError::StoreUnavailable)
        storeUnavailable();
    if (e == SessionError::Malformed || e == SessionError::Unknown)
        m_guard.recordFailure(ip);
    QJsonObject body;
    body.insert(QStringLiteral("destroyed"), e == SessionError::None);
    Response r = Response::json(200, JsonBody::serialize(body));
    r.addHeader("Set-Cookie", expireCookie(kSessionCookie)); // logout clears the cookie either way
    return r;
}

Response SessionApi::logoutOthers(const Request &request, const std::string &ip)
{
    refuseIfBlocked(ip, 429);
    const ValidateResult v = m_engine.validate(tokenOf(request));
    if (v.error == SessionError::StoreUnavailable)
        storeUnavailable();
    if (v.error != SessionError::None)
        invalidSession(ip, v.error != SessionError::Expired);
    // Force logout after a password change: every session of the user but this one.
    bool durable = false;
    const std::size_t ended = m_engine.forceLogout(textOf(v.info.user), v.info.hash, std::nullopt, &durable);
    if (!durable)
        storeUnavailable();
    QJsonObject body;
    body.insert(QStringLiteral("ended"), qint64(ended));
    return Response::json(200, JsonBody::serialize(body));
}

Response SessionApi::startAuthentication(const Request &request, const std::string &peerIp)
{
    const FlatJsonBody body = FlatJsonBody::parse(request.body, {"client_ip"});
    const std::string ip = body.optionalString("client_ip", kMaxIpBytes).value_or(peerIp);
    admitCreation(ip, "login flows started");
    const std::string root = requestCookie(request, kAuthCookie).value_or("");
    const AuthStartResult r = m_engine.startAuthentication(root, ip);
    if (r.error == SessionError::StoreUnavailable)
        storeUnavailable();
    if (r.error != SessionError::None)
        throw HttpError(503, "random_unavailable", "no secure randomness available");
    QJsonObject out;
    out.insert(QStringLiteral("tab_id"), q(r.tabId));
    out.insert(QStringLiteral("tab_count"), qint64(r.tabCount));
    out.insert(QStringLiteral("new_root"), r.newRoot);
    QJsonArray evicted;
    for (const std::string &tab : r.evictedTabs)
        evicted.append(q(tab));
    out.insert(QStringLiteral("evicted_tabs"), evicted);
    if (r.newRoot)
        out.insert(QStringLiteral("root_id"), q(r.rootToken));
    Response response = Response::json(201, JsonBody::serialize(out));
    if (r.newRoot)
        response.addHeader("Set-Cookie", setCookie(kAuthCookie, r.rootToken, std::nullopt));
    return response;
}

Response SessionApi::completeAuthentication(const Request &request, const std::string &peerIp)
{
    const FlatJsonBody body = FlatJsonBody::parse(
        request.body, {"tab_id", "user", "area", "remember_me", "client_ip", "user_agent", "root_id"});
    const std::string ip = body.optionalString("client_ip", kMaxIpBytes).value_or(peerIp);
    refuseIfBlocked(ip, 429);
    const std::string root =
        body.optionalString("root_id", 64).value_or(requestCookie(request, kAuthCookie).value_or(""));
    CreateParams params;
    params.user = body.requiredString("user", kMaxUserBytes);
    params.area = areaFrom(body);
    params.rememberMe = body.optionalBool("remember_me", false);
    params.clientIp = ip;
    params.userAgent = body.optionalString("user_agent", kMaxUserAgentBytes)
                           .value_or(std::string(request.header("user-agent").value_or("")));
    const std::string tab = body.requiredString("tab_id", 64);
    const CreateResult r = m_engine.completeAuthentication(root, tab, params);
    switch (r.error) {
    case SessionError::None:
        break;
    case SessionError::Malformed:
    case SessionError::AuthSessionUnknown:
        m_guard.recordFailure(ip);
        unauthorized("invalid_login_flow", "no such login flow");
    case SessionError::AuthSessionExpired:
        unauthorized("login_flow_expired", "the login flow expired; start again");
    case SessionError::AuthTabUnknown:
        unauthorized("invalid_login_flow", "no such login tab (finished, cancelled or evicted)");
    case SessionError::UserLimitReached:
        throw HttpError(409, "user_session_limit", "the user already has the maximum number of sessions");
    case SessionError::IpLimitReached:
        throw HttpError(429, "ip_session_limit", "this address already holds the maximum number of sessions");
    case SessionError::StoreUnavailable:
        storeUnavailable();
    default:
        throw HttpError(503, "unavailable", std::string(sessionErrorName(r.error)));
    }
    // A fresh session ID: the pre-login identifier never becomes the session (no fixation).
    return issued(201, r.token, r.info);
}

} // namespace hourglass::service
