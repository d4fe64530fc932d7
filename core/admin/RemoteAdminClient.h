#pragma once

#include "AdminClient.h"

#include <QTimer>
#include <QUrl>

#include <memory>

class QJsonObject;
class QNetworkAccessManager;
class QNetworkReply;

namespace hourglass {

// AdminClient over the admin API of a hourglassd elsewhere (/admin/v1, Bearer token). Requests are
// asynchronous on the thread that owns the client; nothing blocks. The status endpoint is polled
// once per interval: its change generation drives changed(), its counters answer counters() and
// authStats(). A request that fails emits failed() with the service's own message.
class RemoteAdminClient final : public AdminClient
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RemoteAdminClient)

public:
    // url: http(s)://host:port of the service; token: the content of its admin.token.
    RemoteAdminClient(const QUrl &url, const QString &token, QObject *parent = nullptr, int pollMs = 1000);
    ~RemoteAdminClient() override;

    // Checks that the service answers with this token; done receives "" or why not.
    void probe(QObject *context, std::function<void(QString)> done);

    QString describe() const override;
    ServiceStatus serviceStatus() const override;
    void policy(QObject *context, std::function<void(Policy)> done) override;
    void setSettings(const std::vector<std::pair<std::string, std::string>> &entries,
                     Confirmation confirmation, QObject *context,
                     std::function<void(ConfigResult)> done) override;
    void counters(QObject *context, std::function<void(EngineCounters)> done) override;
    void listSessions(const SessionQuery &query, QObject *context,
                      std::function<void(SessionPage)> done) override;
    void revoke(const IdHash &hash, QObject *context, std::function<void(SessionError)> done) override;
    void forceLogout(const std::string &user, std::optional<IdHash> except, QObject *context,
                     std::function<void(std::size_t)> done) override;
    void authStats(QObject *context, std::function<void(AuthSessionStats)> done) override;
    void events(std::uint64_t after, std::size_t limit, QObject *context,
                std::function<void(std::vector<SessionEvent>)> done) override;
    void blockedAddresses(QObject *context, std::function<void(std::vector<BlockedAddress>)> done) override;
    void unblockAddress(const std::string &ip, QObject *context, std::function<void(bool)> done) override;

    // Parsing of the admin API's JSON (public for tests).
    static SessionInfo sessionFromJson(const QJsonObject &o);
    static SessionEvent eventFromJson(const QJsonObject &o);
    static EngineCounters countersFromJson(const QJsonObject &o);

private:
    // Sends one request; `handle` receives the HTTP status and the parsed JSON body on `context`'s
    // thread, unless the request failed at the network level (then failed() is emitted).
    QNetworkReply *start(const QByteArray &method, const QString &pathAndQuery, const QByteArray &body);
    void send(const QByteArray &method, const QString &pathAndQuery, const QByteArray &body, QObject *context,
              std::function<void(int, QJsonObject)> handle);
    // send() for calls whose only good answer is 200: any other status is failed() with the
    // service's message.
    void sendOk(const QByteArray &method, const QString &pathAndQuery, const QByteArray &body,
                QObject *context, std::function<void(QJsonObject)> handle);
    void poll();

    QUrl m_url;
    QByteArray m_authorization;
    std::unique_ptr<QNetworkAccessManager> m_network;
    QTimer m_pollTimer;
    bool m_pollInFlight = false;
    qint64 m_seenGeneration = -1;
    ServiceStatus m_status;
};

} // namespace hourglass
