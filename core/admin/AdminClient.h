#pragma once

#include "Policy.h"
#include "SessionEngine.h"
#include "SessionEvent.h"
#include "SettingsSchema.h"

#include <QObject>

#include <functional>

namespace hourglass {

struct ServiceStatus
{
    bool running = false;
    QString url; // e.g. http://127.0.0.1:8410
    bool tls = false;
    QString error;      // why it is not running
    QString adminToken; // for copying into hourglass-ctl or a monitoring system
    QString dataDir;
    QString tlsCertificate; // the certificate file when TLS is on
    bool remote = false;    // a hourglassd elsewhere, administered over its admin API
};

// An address the anomaly guard blocks now.
struct BlockedAddress
{
    std::string ip;
    TimeMs untilMs = 0;
    std::uint64_t failures = 0;
};

// The one interface through which the console administers Hourglass: embedded (the engine in this
// process) today, remote (hourglassd's admin API) as a second implementation. Every call answers
// asynchronously on the thread of `context`, so the console never blocks on the engine or on disk.
class AdminClient : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;
    ~AdminClient() override = default;

    virtual QString describe() const = 0;
    // Cheap and non-blocking: no engine call.
    virtual ServiceStatus serviceStatus() const = 0;

    virtual void policy(QObject *context, std::function<void(Policy)> done) = 0;
    // Validates with the key table (all or nothing), persists, applies. A value below a recommended
    // minimum comes back as ConfigError::BelowRecommendedMinimum unless confirmed.
    virtual void setSettings(const std::vector<std::pair<std::string, std::string>> &entries,
                             Confirmation confirmation, QObject *context,
                             std::function<void(ConfigResult)> done) = 0;
    virtual void counters(QObject *context, std::function<void(EngineCounters)> done) = 0;
    virtual void listSessions(const SessionQuery &query, QObject *context,
                              std::function<void(SessionPage)> done) = 0;
    virtual void revoke(const IdHash &hash, QObject *context, std::function<void(SessionError)> done) = 0;
    virtual void forceLogout(const std::string &user, std::optional<IdHash> except, QObject *context,
                             std::function<void(std::size_t)> done) = 0;
    virtual void authStats(QObject *context, std::function<void(AuthSessionStats)> done) = 0;
    // Events with a sequence number above `after`, oldest first.
    virtual void events(std::uint64_t after, std::size_t limit, QObject *context,
                        std::function<void(std::vector<SessionEvent>)> done) = 0;
    virtual void blockedAddresses(QObject *context,
                                  std::function<void(std::vector<BlockedAddress>)> done) = 0;
    // Lifts a block now (recorded as an ip-unblocked event); false when the address was not blocked.
    virtual void unblockAddress(const std::string &ip, QObject *context, std::function<void(bool)> done) = 0;

    // Whether this console can start and stop the service (only the embedded one).
    virtual bool canControlService() const { return false; }
    // Starts or stops the service; done receives an empty string or why it failed.
    virtual void setServiceRunning(bool running, QObject *context, std::function<void(QString)> done);

Q_SIGNALS:
    // Throttled notification that sessions or policy changed; pages re-query what they show.
    void changed();
    // A call could not be completed (remote service unreachable, refused…); its callback is not
    // called. The console shows the message.
    void failed(const QString &message);
};

} // namespace hourglass
