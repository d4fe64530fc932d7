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
    s.error = m_serviceError;
    if (m_service) {
        s.url = QString::fromStdString(m_service->url());
        s.running = !s.url.isEmpty();
        s.tls = s.url.startsWith(QLatin1String("https:"));
        s.adminToken = QString::fromStdString(m_service->adminToken());
    }
    return s;
}

void EmbeddedAdminClient::setService(service::SessionService *service, const QString &error)
{
    m_service = service;
    m_serviceError = error;
    Q_EMIT changed();
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
