#include "EmbeddedAdminClient.h"

#include "Runtime.h"
#include "SessionService.h"

#include <QMetaObject>
#include <QPointer>

namespace hourglass {

EmbeddedAdminClient::EmbeddedAdminClient(Runtime &runtime, QObject *parent, int throttleMs)
    : AdminClient(parent), m_runtime(runtime)
{
    m_pool.setMaxThreadCount(2);
    m_throttle.setInterval(throttleMs);
    // Polling one atomic per interval costs nothing on the engine's side and coalesces any burst
    // of changes into at most one changed() per interval.
    connect(&m_throttle, &QTimer::timeout, this, [this] {
        const std::uint64_t generation = m_runtime.engine().changeGeneration();
        if (generation != m_seenGeneration) {
            m_seenGeneration = generation;
            Q_EMIT changed();
        }
    });
    m_throttle.start();
}

EmbeddedAdminClient::~EmbeddedAdminClient()
{
    m_pool.waitForDone();
}

QString EmbeddedAdminClient::describe() const
{
    return tr("Embedded service (%1)").arg(m_runtime.dataDirectory().root());
}

ServiceStatus EmbeddedAdminClient::serviceStatus() const
{
    ServiceStatus s;
    s.dataDir = m_runtime.dataDirectory().root();
    std::lock_guard lock(m_serviceMutex);
    s.error = m_serviceError;
    if (m_service) {
        s.url = QString::fromStdString(m_service->url());
        s.running = !s.url.isEmpty();
        s.tls = s.url.startsWith(QLatin1String("https:"));
        s.adminToken = QString::fromStdString(m_service->adminToken());
        if (s.tls)
            s.tlsCertificate = QString::fromStdString(m_service->options().server.tlsCertificateFile);
    }
    return s;
}

void EmbeddedAdminClient::setService(service::SessionService *service, const QString &error)
{
    {
        std::lock_guard lock(m_serviceMutex);
        m_service = service;
        m_serviceError = error;
    }
    Q_EMIT changed();
}

bool EmbeddedAdminClient::canControlService() const
{
    std::lock_guard lock(m_serviceMutex);
    return m_service != nullptr;
}

void EmbeddedAdminClient::setServiceRunning(bool running, QObject *context, std::function<void(QString)> done)
{
    run<QString>(
        context,
        [this, running] {
            std::lock_guard lock(m_serviceMutex);
            if (!m_service)
                return tr("There is no embedded service.");
            QString error;
            if (running && m_service->url().empty()) {
                if (!m_service->start(&error))
                    m_serviceError = error;
                else
                    m_serviceError.clear();
            } else if (!running) {
                m_service->stop();
                m_serviceError = tr("stopped from the console");
            }
            return error;
        },
        [this, done = std::move(done)](QString error) {
            Q_EMIT changed();
            done(error);
        });
}

void EmbeddedAdminClient::events(std::uint64_t after, std::size_t limit, QObject *context,
                                 std::function<void(std::vector<SessionEvent>)> done)
{
    run<std::vector<SessionEvent>>(
        context, [this, after, limit] { return m_runtime.events().since(after, limit); }, std::move(done));
}

void EmbeddedAdminClient::blockedAddresses(QObject *context,
                                           std::function<void(std::vector<BlockedAddress>)> done)
{
    run<std::vector<BlockedAddress>>(
        context,
        [this] {
            std::vector<BlockedAddress> list;
            std::lock_guard lock(m_serviceMutex);
            if (m_service && m_service->hasGuard()) {
                for (const service::AnomalyGuard::Blocked &b : m_service->guard().blocked())
                    list.push_back({b.ip, b.untilMs, b.failures});
            }
            return list;
        },
        std::move(done));
}

void EmbeddedAdminClient::unblockAddress(const std::string &ip, QObject *context,
                                         std::function<void(bool)> done)
{
    run<bool>(
        context,
        [this, ip] {
            std::lock_guard lock(m_serviceMutex);
            return m_service && m_service->hasGuard() && m_service->unblock(ip);
        },
        std::move(done));
}

void EmbeddedAdminClient::waitForIdle()
{
    m_pool.waitForDone();
}

template<typename Result>
void EmbeddedAdminClient::run(QObject *context, std::function<Result()> work,
                              std::function<void(Result)> done)
{
    QPointer<QObject> guard(context);
    m_pool.start([guard, work = std::move(work), done = std::move(done)]() mutable {
        Result result = work();
        if (!guard)
            return;
        QMetaObject::invokeMethod(
            guard.data(),
            [guard, done = std::move(done), result = std::move(result)]() mutable {
                if (guard)
                    done(std::move(result));
            },
            Qt::QueuedConnection);
    });
}

void EmbeddedAdminClient::policy(QObject *context, std::function<void(Policy)> done)
{
    run<Policy>(
        context, [this] { return m_runtime.engine().policy(); }, std::move(done));
}

void EmbeddedAdminClient::setSettings(const std::vector<std::pair<std::string, std::string>> &entries,
                                      Confirmation confirmation, QObject *context,
                                      std::function<void(ConfigResult)> done)
{
    run<ConfigResult>(
        context, [this, entries, confirmation] { return m_runtime.setSettings(entries, confirmation); },
        std::move(done));
}

void EmbeddedAdminClient::counters(QObject *context, std::function<void(EngineCounters)> done)
{
    run<EngineCounters>(
        context, [this] { return m_runtime.engine().counters(); }, std::move(done));
}

void EmbeddedAdminClient::listSessions(const SessionQuery &query, QObject *context,
                                       std::function<void(SessionPage)> done)
{
    run<SessionPage>(
        context, [this, query] { return m_runtime.engine().list(query); }, std::move(done));
}

void EmbeddedAdminClient::revoke(const IdHash &hash, QObject *context, std::function<void(SessionError)> done)
{
    run<SessionError>(
        context, [this, hash] { return m_runtime.engine().revoke(hash); }, std::move(done));
}

void EmbeddedAdminClient::forceLogout(const std::string &user, std::optional<IdHash> except, QObject *context,
                                      std::function<void(std::size_t)> done)
{
    run<std::size_t>(
        context, [this, user, except] { return m_runtime.engine().forceLogout(user, except); },
        std::move(done));
}

void EmbeddedAdminClient::authStats(QObject *context, std::function<void(AuthSessionStats)> done)
{
    run<AuthSessionStats>(
        context, [this] { return m_runtime.engine().authStats(); }, std::move(done));
}

} // namespace hourglass
