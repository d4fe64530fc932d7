#include "RemoteAdminClient.h"

#include "ConfigFile.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPointer>
#include <QUrlQuery>

namespace hourglass {

namespace {

constexpr int kTransferTimeoutMs = 15000;

std::string str(const QJsonValue &v)
{
    return v.toString().toStdString();
}

std::uint64_t u64(const QJsonValue &v)
{
    return std::uint64_t(std::max<qint64>(0, v.toInteger()));
}

ConfigError configErrorFromName(const QString &name)
{
    for (int i = 0; i <= int(ConfigError::BelowRecommendedMinimum); ++i) {
        const auto e = static_cast<ConfigError>(i);
        if (name.toStdString() == configErrorName(e))
            return e;
    }
    return ConfigError::OutOfRange;
}

EventType eventTypeFromName(const QString &name)
{
    for (int i = 0; i <= int(EventType::IpUnblocked); ++i) {
        const auto t = static_cast<EventType>(i);
        if (name.toStdString() == eventTypeName(t))
            return t;
    }
    return EventType::PolicyChanged;
}

} // namespace

RemoteAdminClient::RemoteAdminClient(const QUrl &url, const QString &token, QObject *parent, int pollMs)
    : AdminClient(parent), m_url(url), m_authorization("Bearer " + token.trimmed().toUtf8()),
      m_network(std::make_unique<QNetworkAccessManager>())
{
    m_url.setPath(QString());
    m_url.setQuery(QString());
    m_status.url = m_url.toString();
    m_status.tls = m_url.scheme() == QLatin1String("https");
    m_status.adminToken = token.trimmed();
    m_status.remote = true;
    m_status.error = tr("connecting…");
    m_pollTimer.setInterval(pollMs);
    connect(&m_pollTimer, &QTimer::timeout, this, &RemoteAdminClient::poll);
    m_pollTimer.start();
    poll();
}

RemoteAdminClient::~RemoteAdminClient() = default;

QString RemoteAdminClient::describe() const
{
    return tr("Remote service %1").arg(m_url.toString());
}

ServiceStatus RemoteAdminClient::serviceStatus() const
{
    return m_status;
}

QNetworkReply *RemoteAdminClient::start(const QByteArray &method, const QString &pathAndQuery,
                                        const QByteArray &body)
{
    QUrl target = m_url;
    const qsizetype q = pathAndQuery.indexOf(QLatin1Char('?'));
    target.setPath(pathAndQuery.left(q), QUrl::TolerantMode);
    if (q >= 0)
        target.setQuery(pathAndQuery.mid(q + 1), QUrl::StrictMode);
    QNetworkRequest request(target);
    request.setRawHeader("Authorization", m_authorization);
    request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    request.setTransferTimeout(kTransferTimeoutMs);
    return m_network->sendCustomRequest(request, method, body);
}

void RemoteAdminClient::send(const QByteArray &method, const QString &pathAndQuery, const QByteArray &body,
                             QObject *context, std::function<void(int, QJsonObject)> handle)
{
    QNetworkReply *reply = start(method, pathAndQuery, body);
    QPointer<QObject> guard(context);
    connect(reply, &QNetworkReply::finished, this, [this, reply, guard, handle = std::move(handle)] {
        reply->deleteLater();
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        if (status == 0) {
            Q_EMIT failed(tr("%1: %2").arg(m_url.toString(), reply->errorString()));
            return;
        }
        const QJsonObject json = QJsonDocument::fromJson(reply->readAll()).object();
        if (guard)
            handle(status, json);
    });
}

namespace {
// The service's own message for an error answer.
QString errorMessage(int status, const QJsonObject &json)
{
    const QString message = json.value(QStringLiteral("message")).toString();
    return QStringLiteral("HTTP %1: %2")
        .arg(status)
        .arg(message.isEmpty() ? QStringLiteral("no message") : message);
}
} // namespace

void RemoteAdminClient::sendOk(const QByteArray &method, const QString &pathAndQuery, const QByteArray &body,
                               QObject *context, std::function<void(QJsonObject)> handle)
{
    send(method, pathAndQuery, body, context,
         [this, handle = std::move(handle)](int status, QJsonObject json) {
             if (status != 200) {
                 Q_EMIT failed(errorMessage(status, json));
                 return;
             }
             handle(json);
         });
}

void RemoteAdminClient::probe(QObject *context, std::function<void(QString)> done)
{
    send("GET", QStringLiteral("/admin/v1/status"), {}, context,
         [done = std::move(done)](int status, QJsonObject json) {
             done(status == 200 ? QString() : errorMessage(status, json));
         });
}

void RemoteAdminClient::poll()
{
    if (m_pollInFlight)
        return;
    m_pollInFlight = true;
    QNetworkReply *reply = start("GET", QStringLiteral("/admin/v1/status"), {});
    connect(reply, &QNetworkReply::finished, this, [this, reply] {
        reply->deleteLater();
        m_pollInFlight = false;
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QJsonObject json = QJsonDocument::fromJson(reply->readAll()).object();
        const bool wasRunning = m_status.running;
        const QString previousError = m_status.error;
        if (status == 200) {
            m_status.running = true;
            m_status.error.clear();
            m_status.dataDir = json.value(QStringLiteral("data_dir")).toString();
        } else {
            m_status.running = false;
            m_status.error = status == 0 ? reply->errorString() : errorMessage(status, json);
        }
        const qint64 generation = json.value(QStringLiteral("generation")).toInteger(-1);
        if (wasRunning != m_status.running || previousError != m_status.error ||
            generation != m_seenGeneration) {
            m_seenGeneration = generation;
            Q_EMIT changed();
        }
    });
}

void RemoteAdminClient::policy(QObject *context, std::function<void(Policy)> done)
{
    sendOk("GET", QStringLiteral("/admin/v1/policy"), {}, context,
           [this, done = std::move(done)](QJsonObject json) {
               Policy policy;
               QString error;
               if (!ConfigFile::settingsFromJson(json.value(QStringLiteral("settings")).toObject(), policy,
                                                 &error)) {
                   Q_EMIT failed(
                       tr("the service sent settings this console does not understand: %1").arg(error));
                   return;
               }
               done(policy);
           });
}

void RemoteAdminClient::setSettings(const std::vector<std::pair<std::string, std::string>> &entries,
                                    Confirmation confirmation, QObject *context,
                                    std::function<void(ConfigResult)> done)
{
    // The text the admin typed is parsed here with the key table (the same parser the embedded
    // engine uses) into the typed JSON the admin API takes; the service then checks bounds and the
    // rules spanning several keys. A value that does not parse never leaves the console.
    QJsonObject settings;
    for (const auto &[path, text] : entries) {
        const SettingKey *key = SettingsSchema::find(path);
        if (!key) {
            ConfigResult unknown;
            unknown.error = ConfigError::UnknownKey;
            unknown.path = path;
            unknown.message = "unknown setting '" + path + "'";
            QMetaObject::invokeMethod(
                context, [done, unknown] { done(unknown); }, Qt::QueuedConnection);
            return;
        }
        ConfigResult parsed = SettingsSchema::parse(*key, text);
        if (!parsed.ok()) {
            parsed.path = path;
            QMetaObject::invokeMethod(
                context, [done, parsed] { done(parsed); }, Qt::QueuedConnection);
            return;
        }
        const QString name = QString::fromStdString(path);
        switch (key->type) {
        case SettingType::Boolean:
            settings.insert(name, parsed.value != 0);
            break;
        case SettingType::Choice:
            settings.insert(name, QString::fromStdString(SettingsSchema::format(*key, parsed.value)));
            break;
        case SettingType::Integer:
            settings.insert(name, qint64(parsed.value));
            break;
        }
    }
    QJsonObject body;
    body.insert(QStringLiteral("settings"), settings);
    body.insert(QStringLiteral("confirm"), confirmation == Confirmation::Confirmed);
    send("PUT", QStringLiteral("/admin/v1/policy"), QJsonDocument(body).toJson(QJsonDocument::Compact),
         context, [this, done = std::move(done)](int status, QJsonObject json) {
             ConfigResult result;
             if (status == 200) {
                 done(result);
                 return;
             }
             if (status != 409 && status != 422 && status != 503) {
                 Q_EMIT failed(errorMessage(status, json));
                 return;
             }
             result.error = configErrorFromName(json.value(QStringLiteral("error")).toString());
             result.path = str(json.value(QStringLiteral("path")));
             result.message = str(json.value(QStringLiteral("message")));
             done(result);
         });
}

EngineCounters RemoteAdminClient::countersFromJson(const QJsonObject &o)
{
    EngineCounters c;
    c.active[0] = u64(o.value(QStringLiteral("active_admin")));
    c.active[1] = u64(o.value(QStringLiteral("active_storefront")));
    c.created = u64(o.value(QStringLiteral("created")));
    c.validations = u64(o.value(QStringLiteral("validations")));
    c.rejectedMalformed = u64(o.value(QStringLiteral("rejected_malformed")));
    c.rejectedUnknown = u64(o.value(QStringLiteral("rejected_unknown")));
    c.rejectedExpired = u64(o.value(QStringLiteral("rejected_expired")));
    c.rejectedLimit = u64(o.value(QStringLiteral("rejected_limit")));
    c.expired = u64(o.value(QStringLiteral("expired")));
    c.destroyed = u64(o.value(QStringLiteral("destroyed")));
    c.rotated = u64(o.value(QStringLiteral("rotated")));
    c.forcedLogouts = u64(o.value(QStringLiteral("forced_logouts")));
    c.sizeExceeded = u64(o.value(QStringLiteral("size_exceeded")));
    c.evictedAuthTabs = u64(o.value(QStringLiteral("evicted_auth_tabs")));
    return c;
}

void RemoteAdminClient::counters(QObject *context, std::function<void(EngineCounters)> done)
{
    sendOk("GET", QStringLiteral("/admin/v1/status"), {}, context,
           [done = std::move(done)](QJsonObject json) {
               done(countersFromJson(json.value(QStringLiteral("counters")).toObject()));
           });
}

void RemoteAdminClient::authStats(QObject *context, std::function<void(AuthSessionStats)> done)
{
    sendOk("GET", QStringLiteral("/admin/v1/status"), {}, context,
           [done = std::move(done)](QJsonObject json) {
               const QJsonObject o = json.value(QStringLiteral("auth_sessions")).toObject();
               AuthSessionStats stats;
               stats.roots = u64(o.value(QStringLiteral("roots")));
               stats.tabs = u64(o.value(QStringLiteral("tabs")));
               stats.estimatedBytes = u64(o.value(QStringLiteral("estimated_bytes")));
               done(stats);
           });
}

SessionInfo RemoteAdminClient::sessionFromJson(const QJsonObject &o)
{
    SessionInfo info;
    info.hash = IdHash::fromHex(str(o.value(QStringLiteral("id_hash")))).value_or(IdHash{});
    info.user = SharedText::make(str(o.value(QStringLiteral("user"))));
    info.area = parseArea(str(o.value(QStringLiteral("area")))).value_or(Area::Storefront);
    info.rememberMe = o.value(QStringLiteral("remember_me")).toBool();
    info.clientIp = str(o.value(QStringLiteral("client_ip")));
    if (std::string agent = str(o.value(QStringLiteral("user_agent"))); !agent.empty())
        info.userAgent = SharedText::make(agent);
    info.createdMs = o.value(QStringLiteral("created_ms")).toInteger();
    info.lastActivityMs = o.value(QStringLiteral("last_activity_ms")).toInteger();
    info.idleDeadlineMs = o.value(QStringLiteral("idle_deadline_ms")).toInteger();
    const QJsonValue absolute = o.value(QStringLiteral("absolute_deadline_ms"));
    info.absoluteDeadlineMs = absolute.isNull() ? SessionInfo::kNoDeadline : absolute.toInteger();
    info.expiresAtMs = o.value(QStringLiteral("expires_ms")).toInteger();
    info.dataSize = u64(o.value(QStringLiteral("data_size")));
    info.subSessions = u64(o.value(QStringLiteral("sub_sessions")));
    return info;
}

void RemoteAdminClient::listSessions(const SessionQuery &query, QObject *context,
                                     std::function<void(SessionPage)> done)
{
    QUrlQuery q;
    if (!query.user.empty())
        q.addQueryItem(QStringLiteral("user"), QString::fromStdString(query.user));
    if (!query.text.empty())
        q.addQueryItem(QStringLiteral("q"), QString::fromStdString(query.text));
    if (!query.clientIp.empty())
        q.addQueryItem(QStringLiteral("ip"), QString::fromStdString(query.clientIp));
    if (query.area)
        q.addQueryItem(QStringLiteral("area"), QString::fromLatin1(areaName(*query.area).data()));
    q.addQueryItem(QStringLiteral("offset"), QString::number(query.offset));
    q.addQueryItem(QStringLiteral("limit"), QString::number(std::min<std::size_t>(query.limit, 1000)));
    sendOk("GET", QStringLiteral("/admin/v1/sessions?") + q.toString(QUrl::FullyEncoded), {}, context,
           [done = std::move(done)](QJsonObject json) {
               SessionPage page;
               page.total = u64(json.value(QStringLiteral("total")));
               for (const QJsonValue &row : json.value(QStringLiteral("sessions")).toArray())
                   page.rows.push_back(sessionFromJson(row.toObject()));
               done(std::move(page));
           });
}

void RemoteAdminClient::revoke(const IdHash &hash, QObject *context, std::function<void(SessionError)> done)
{
    send("DELETE", QStringLiteral("/admin/v1/sessions/") + QString::fromStdString(hash.toHex()), {}, context,
         [this, done = std::move(done)](int status, QJsonObject json) {
             if (status == 200)
                 done(SessionError::None);
             else if (status == 404)
                 done(SessionError::Unknown);
             else if (status == 503)
                 done(SessionError::StoreUnavailable);
             else
                 Q_EMIT failed(errorMessage(status, json));
         });
}

void RemoteAdminClient::forceLogout(const std::string &user, std::optional<IdHash> except, QObject *context,
                                    std::function<void(std::size_t)> done)
{
    QJsonObject body;
    if (except)
        body.insert(QStringLiteral("except"), QString::fromStdString(except->toHex()));
    const QString path = QStringLiteral("/admin/v1/users/") +
                         QString::fromLatin1(QUrl::toPercentEncoding(QString::fromStdString(user))) +
                         QStringLiteral("/logout");
    sendOk("POST", path, QJsonDocument(body).toJson(QJsonDocument::Compact), context,
           [done = std::move(done)](QJsonObject json) { done(u64(json.value(QStringLiteral("ended")))); });
}

SessionEvent RemoteAdminClient::eventFromJson(const QJsonObject &o)
{
    SessionEvent e;
    e.sequence = u64(o.value(QStringLiteral("seq")));
    e.timeMs = o.value(QStringLiteral("time_ms")).toInteger();
    e.type = eventTypeFromName(o.value(QStringLiteral("type")).toString());
    e.area = parseArea(str(o.value(QStringLiteral("area")))).value_or(Area::Storefront);
    e.user = str(o.value(QStringLiteral("user")));
    e.idHash = str(o.value(QStringLiteral("id_hash")));
    e.clientIp = str(o.value(QStringLiteral("client_ip")));
    e.count = o.value(QStringLiteral("count")).toInteger();
    e.detail = str(o.value(QStringLiteral("detail")));
    return e;
}

void RemoteAdminClient::events(std::uint64_t after, std::size_t limit, QObject *context,
                               std::function<void(std::vector<SessionEvent>)> done)
{
    sendOk("GET",
           QStringLiteral("/admin/v1/events?after=%1&limit=%2")
               .arg(after)
               .arg(std::min<std::size_t>(limit, 1000)),
           {}, context, [done = std::move(done)](QJsonObject json) {
               std::vector<SessionEvent> list;
               for (const QJsonValue &v : json.value(QStringLiteral("events")).toArray())
                   list.push_back(eventFromJson(v.toObject()));
               done(std::move(list));
           });
}

void RemoteAdminClient::blockedAddresses(QObject *context,
                                         std::function<void(std::vector<BlockedAddress>)> done)
{
    sendOk("GET", QStringLiteral("/admin/v1/blocked-ips"), {}, context,
           [done = std::move(done)](QJsonObject json) {
               std::vector<BlockedAddress> list;
               for (const QJsonValue &v : json.value(QStringLiteral("blocked")).toArray()) {
                   const QJsonObject o = v.toObject();
                   list.push_back({str(o.value(QStringLiteral("ip"))),
                                   o.value(QStringLiteral("until_ms")).toInteger(),
                                   u64(o.value(QStringLiteral("failures")))});
               }
               done(std::move(list));
           });
}

void RemoteAdminClient::unblockAddress(const std::string &ip, QObject *context,
                                       std::function<void(bool)> done)
{
    send("DELETE",
         QStringLiteral("/admin/v1/blocked-ips/") +
             QString::fromLatin1(QUrl::toPercentEncoding(QString::fromStdString(ip))),
         {}, context, [this, done = std::move(done)](int status, QJsonObject json) {
             if (status == 200 || status == 404)
                 done(status == 200);
             else
                 Q_EMIT failed(errorMessage(status, json));
         });
}

} // namespace hourglass
