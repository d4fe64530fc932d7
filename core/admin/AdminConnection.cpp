#include "AdminConnection.h"

#include "RemoteAdminClient.h"

namespace hourglass {

AdminConnection::AdminConnection(AdminClient *local, QObject *parent) : AdminClient(parent), m_local(local)
{
    if (m_local)
        follow(m_local);
}

AdminConnection::~AdminConnection() = default;

void AdminConnection::follow(AdminClient *client)
{
    connect(client, &AdminClient::changed, this, [this, client] {
        if (client == &current())
            Q_EMIT changed();
    });
    connect(client, &AdminClient::failed, this, [this, client](const QString &message) {
        if (client == &current())
            Q_EMIT failed(message);
    });
}

void AdminConnection::connectRemote(const QUrl &url, const QString &token, QObject *context,
                                    std::function<void(QString)> done)
{
    if (!url.isValid() || (url.scheme() != QLatin1String("http") && url.scheme() != QLatin1String("https")) ||
        url.host().isEmpty()) {
        done(tr("Enter the service's address as http://host:port or https://host:port."));
        return;
    }
    if (token.trimmed().isEmpty()) {
        done(tr("Enter the service's admin token (the content of admin.token in its data directory)."));
        return;
    }
    m_pending = std::make_unique<RemoteAdminClient>(url, token);
    RemoteAdminClient *candidate = m_pending.get();
    // A failure while probing comes as failed() (network) or as an error status.
    const auto failure = std::make_shared<QMetaObject::Connection>();
    *failure = connect(candidate, &AdminClient::failed, context,
                       [this, candidate, done, failure](const QString &message) {
                           disconnect(*failure);
                           if (m_pending.get() == candidate) {
                               m_pending.release()->deleteLater();
                               done(message);
                           }
                       });
    candidate->probe(context, [this, candidate, done, failure](const QString &error) {
        disconnect(*failure);
        if (m_pending.get() != candidate)
            return;
        if (!error.isEmpty()) {
            m_pending.release()->deleteLater();
            done(error);
            return;
        }
        if (m_remote)
            m_remote.release()->deleteLater();
        m_remote = std::move(m_pending);
        follow(m_remote.get());
        Q_EMIT changed();
        done(QString());
    });
}

void AdminConnection::useLocal()
{
    if (!m_remote)
        return;
    m_remote.release()->deleteLater();
    Q_EMIT changed();
}

AdminClient &AdminConnection::current() const
{
    if (m_remote)
        return *m_remote;
    Q_ASSERT(m_local);
    return *m_local;
}

QString AdminConnection::describe() const
{
    return current().describe();
}

ServiceStatus AdminConnection::serviceStatus() const
{
    return current().serviceStatus();
}

void AdminConnection::policy(QObject *context, std::function<void(Policy)> done)
{
    current().policy(context, std::move(done));
}

void AdminConnection::setSettings(const std::vector<std::pair<std::string, std::string>> &entries,
                                  Confirmation confirmation, QObject *context,
                                  std::function<void(ConfigResult)> done)
{
    current().setSettings(entries, confirmation, context, std::move(done));
}

void AdminConnection::counters(QObject *context, std::function<void(EngineCounters)> done)
{
    current().counters(context, std::move(done));
}

void AdminConnection::listSessions(const SessionQuery &query, QObject *context,
                                   std::function<void(SessionPage)> done)
{
    current().listSessions(query, context, std::move(done));
}

void AdminConnection::revoke(const IdHash &hash, QObject *context, std::function<void(SessionError)> done)
{
    current().revoke(hash, context, std::move(done));
}

void AdminConnection::forceLogout(const std::string &user, std::optional<IdHash> except, QObject *context,
                                  std::function<void(std::size_t)> done)
{
    current().forceLogout(user, except, context, std::move(done));
}

void AdminConnection::authStats(QObject *context, std::function<void(AuthSessionStats)> done)
{
    current().authStats(context, std::move(done));
}

void AdminConnection::events(std::uint64_t after, std::size_t limit, QObject *context,
                             std::function<void(std::vector<SessionEvent>)> done)
{
    current().events(after, limit, context, std::move(done));
}

void AdminConnection::blockedAddresses(QObject *context,
                                       std::function<void(std::vector<BlockedAddress>)> done)
{
    current().blockedAddresses(context, std::move(done));
}

void AdminConnection::unblockAddress(const std::string &ip, QObject *context, std::function<void(bool)> done)
{
    current().unblockAddress(ip, context, std::move(done));
}

bool AdminConnection::canControlService() const
{
    return current().canControlService();
}

void AdminConnection::setServiceRunning(bool running, QObject *context, std::function<void(QString)> done)
{
    current().setServiceRunning(running, context, std::move(done));
}

} // namespace hourglass
