#pragma once

#include "AdminClient.h"

#include <QThreadPool>
#include <QTimer>

#include <mutex>

namespace hourglass {

class Runtime;
namespace service {
class SessionService;
}

// AdminClient over a Runtime in this process. Calls run on a private thread pool; results are
// delivered on the context object's thread. Changes are coalesced into at most one changed()
// signal per throttle interval.
class EmbeddedAdminClient final : public AdminClient
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EmbeddedAdminClient)

public:
    explicit EmbeddedAdminClient(Runtime &runtime, QObject *parent = nullptr, int throttleMs = 250);
    ~EmbeddedAdminClient() override;

    QString describe() const override;
    ServiceStatus serviceStatus() const override;
    // The embedded session service, or why it could not start.
    void setService(service::SessionService *service, const QString &error);
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

    // Waits for every call in flight (tests, shutdown).
    void waitForIdle();

private:
    template<typename Result>
    void run(QObject *context, std::function<Result()> work, std::function<void(Result)> done);

    Runtime &m_runtime;
    QThreadPool m_pool;
    QTimer m_throttle;
    std::uint64_t m_seenGeneration = 0;
    // The service is started and stopped on the pool while other calls may read its guard.
    mutable std::mutex m_serviceMutex;
    service::SessionService *m_service = nullptr;
    QString m_serviceError;
};

} // namespace hourglass
