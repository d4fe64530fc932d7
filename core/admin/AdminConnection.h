#pragma once

#include "AdminClient.h"

#include <QPointer>

#include <memory>

namespace hourglass {

class RemoteAdminClient;

// The AdminClient the console's pages hold: forwards every call to the embedded service, or to a
// remote hourglassd once the admin connected to one (Service page), and back. Switching emits
// changed(), so every page reloads from the service now in use.
class AdminConnection final : public AdminClient
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AdminConnection)

public:
    // local may be null (a console without an embedded service).
    explicit AdminConnection(AdminClient *local, QObject *parent = nullptr);
    ~AdminConnection() override;

    // Connects to hourglassd at url with its admin token; done receives "" once the service
    // answered (the connection is then in use) or why it could not be used (nothing changes).
    void connectRemote(const QUrl &url, const QString &token, QObject *context,
                       std::function<void(QString)> done);
    void useLocal();
    bool isRemote() const { return m_remote != nullptr; }
    bool hasLocal() const { return m_local != nullptr; }

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
    bool canControlService() const override;
    void setServiceRunning(bool running, QObject *context, std::function<void(QString)> done) override;

private:
    AdminClient &current() const;
    void follow(AdminClient *client);

    AdminClient *m_local;
    std::unique_ptr<RemoteAdminClient> m_remote;
    std::unique_ptr<RemoteAdminClient> m_pending;
    QString m_noServiceText;
};

} // namespace hourglass
