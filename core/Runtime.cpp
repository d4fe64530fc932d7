#include "Runtime.h"

#include "AtomicFile.h"
#include "RedisStore.h"
#include "SqliteStore.h"
#include "ThreadName.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>

namespace hourglass {

Runtime::Runtime(const Options &options, const QString &root) : m_options(options), m_dir(root) {}

std::unique_ptr<Runtime> Runtime::open(const Options &options, OpenError *code, QString *error)
{
    *code = OpenError::None;
    std::unique_ptr<Runtime> rt(new Runtime(options, options.dataDir));
    const DataDirectory &dir = rt->m_dir;
    if (!QDir().mkpath(dir.root())) {
        *code = OpenError::Io;
        *error = QStringLiteral("Cannot create data directory %1").arg(dir.root());
        return nullptr;
    }
    QFile::setPermissions(dir.root(),
                          QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);

    rt->m_lock = std::make_unique<QLockFile>(dir.lockFile());
    rt->m_lock->setStaleLockTime(0); // stale only when its process is gone (after kill -9 too)
    if (!rt->m_lock->tryLock(0)) {
        qint64 pid = 0;
        QString host, app;
        rt->m_lock->getLockInfo(&pid, &host, &app);
        *code = OpenError::Locked;
        *error = QStringLiteral("Data directory %1 is in use by %2 (pid %3).").arg(dir.root(), app).arg(pid);
        return nullptr;
    }

    if (!options.initialConfig.isEmpty() && !QFileInfo::exists(dir.configFile()) &&
        QFileInfo::exists(options.initialConfig)) {
        const ConfigFile::LoadResult seed = ConfigFile(options.initialConfig).load();
        QFile source(options.initialConfig);
        std::string writeError;
        if (!seed.ok) {
            *code = OpenError::Config;
            *error = seed.error;
            return nullptr;
        }
        if (!source.open(QIODevice::ReadOnly)) {
            *code = OpenError::Config;
            *error = QStringLiteral("Cannot read %1: %2").arg(options.initialConfig, source.errorString());
            return nullptr;
        }
        const QByteArray bytes = source.readAll();
        if (!AtomicFile::write(dir.configFile().toStdString(),
                               std::string_view(bytes.constData(), std::size_t(bytes.size())), 0600,
                               &writeError)) {
            *code = OpenError::Io;
            *error = QString::fromStdString(writeError);
            return nullptr;
        }
    }
    const ConfigFile config(dir.configFile());
    const ConfigFile::LoadResult loaded = config.load();
    if (!loaded.ok) {
        *code = OpenError::Config;
        *error = loaded.error;
        return nullptr;
    }
    rt->m_configSections = loaded.sections;
    rt->m_configMigratedFrom = loaded.migratedFrom;

    if (!rt->openStore(error)) {
        *code = OpenError::Store;
        return nullptr;
    }

    EventLog::Options logOptions;
    logOptions.directory = (options.logDir.isEmpty() ? dir.logDirectory() : options.logDir).toStdString();
    rt->m_log = std::make_unique<EventLog>(logOptions);
    EventLog *log = rt->m_log.get();
    rt->m_logSubscription = rt->m_events.subscribe([log](const SessionEvent &e) { log->append(e); });

    SessionEngine::Options engineOptions;
    engineOptions.clock = options.clock;
    engineOptions.random = options.random;
    engineOptions.events = &rt->m_events;
    engineOptions.store = rt->m_store.get();
    rt->m_engine = std::make_unique<SessionEngine>(engineOptions, loaded.policy);
    rt->m_restored = rt->m_engine->restoreFromStore();
    if (!rt->m_restored.ok) {
        *code = OpenError::Store;
        *error = QString::fromStdString(rt->m_restored.error);
        return nullptr;
    }
    if (rt->m_store->shared()) {
        // Every node applies one policy: the shared one when there is one, else this node's
        // becomes it.
        const auto shared = rt->m_store->readSharedConfig();
        if (!shared) {
            *code = OpenError::Store;
            *error = QString::fromStdString(rt->m_store->lastError());
            return nullptr;
        }
        if (shared->version > 0) {
            rt->pullSharedPolicy();
        } else {
            const QByteArray json =
                QJsonDocument(ConfigFile::settingsToJson(loaded.policy)).toJson(QJsonDocument::Compact);
            if (!rt->m_store->writeSharedConfig(json.toStdString(), &rt->m_sharedConfigVersion)) {
                *code = OpenError::Store;
                *error = QString::fromStdString(rt->m_store->lastError());
                return nullptr;
            }
        }
        rt->m_watcher = std::thread([r = rt.get()] { r->watchSharedConfig(); });
        nameThread(rt->m_watcher, "hg-config");
    }
    if (options.maintenance)
        rt->m_engine->startMaintenance();
    return rt;
}

bool Runtime::openStore(QString *error)
{
    QString url = m_options.storeUrl;
    if (url.isEmpty()) {
        const QJsonValue configured =
            m_configSections.value(QStringLiteral("store")).toObject().value(QStringLiteral("url"));
        if (!configured.isUndefined() && !configured.isString()) {
            *error =
                QStringLiteral("%1: \"store\".\"url\" must be a string: \"embedded\" or redis://host:port/db")
                    .arg(m_dir.configFile());
            return false;
        }
        url = configured.toString();
    }
    std::string storeError;
    if (url.isEmpty() || url == QLatin1String("embedded")) {
        SqliteStore::Options storeOptions;
        storeOptions.path = m_dir.storeFile().toStdString();
        m_store = SqliteStore::open(storeOptions, &storeError);
    } else {
        RedisStore::Options redisOptions;
        const auto parsed = RedisStore::parseUrl(url.toStdString(), &storeError);
        if (parsed) {
            redisOptions.url = *parsed;
            m_store = RedisStore::open(redisOptions, &storeError);
        }
    }
    if (!m_store) {
        *error = QString::fromStdString(storeError);
        return false;
    }
    return true;
}

bool Runtime::pullSharedPolicy()
{
    const auto shared = m_store->readSharedConfig();
    if (!shared)
        return false;
    std::lock_guard lock(m_configMutex);
    if (shared->version <= m_sharedConfigVersion)
        return false;
    Policy policy = m_engine->policy();
    QString error;
    const QJsonDocument document = QJsonDocument::fromJson(QByteArray::fromStdString(shared->json));
    if (!document.isObject() || !ConfigFile::settingsFromJson(document.object(), policy, &error)) {
        // A node of another version may have written it: keep the policy in force, say so once.
        m_sharedConfigVersion = shared->version;
        std::vector<SessionEvent> events(1);
        events[0].type = EventType::PolicyChanged;
        events[0].timeMs = (m_options.clock ? m_options.clock : &SystemClock::instance())->nowMs();
        events[0].detail =
            "shared policy version " + std::to_string(shared->version) + " ignored: " + error.toStdString();
        m_events.publish(events);
        return false;
    }
    m_sharedConfigVersion = shared->version;
    // The local file follows, so that the node starts with it even when Redis is down.
    QString saveError;
    ConfigFile(m_dir.configFile()).save(policy, m_configSections, &saveError);
    return m_engine->setPolicy(policy).ok();
}

void Runtime::watchSharedConfig()
{
    std::unique_lock lock(m_watchMutex);
    while (!m_watchStop) {
        m_watchWake.wait_for(lock, std::chrono::milliseconds(m_options.sharedConfigPollMs),
                             [this] { return m_watchStop; });
        if (m_watchStop)
            break;
        lock.unlock();
        pullSharedPolicy();
        lock.lock();
    }
}

Runtime::~Runtime()
{
    shutdown();
}

void Runtime::shutdown()
{
    if (m_shutDown)
        return;
    m_shutDown = true;
    if (m_watcher.joinable()) {
        {
            std::lock_guard lock(m_watchMutex);
            m_watchStop = true;
        }
        m_watchWake.notify_all();
        m_watcher.join();
    }
    if (m_engine) {
        m_engine->stopMaintenance();
        m_engine->flushTouches(SessionEngine::FlushTouches::All);
    }
    if (m_store)
        m_store->sync();
    if (m_log) {
        m_events.unsubscribe(m_logSubscription);
        m_log->flush();
    }
}

QJsonObject Runtime::configSections() const
{
    std::lock_guard lock(m_configMutex);
    return m_configSections;
}

ConfigResult Runtime::setSetting(std::string_view path, std::string_view value, Confirmation confirmation)
{
    return setSettings({{std::string(path), std::string(value)}}, confirmation);
}

ConfigResult Runtime::setSettings(const std::vector<std::pair<std::string, std::string>> &entries,
                                  Confirmation confirmation)
{
    Policy candidate = m_engine->policy();
    const ConfigResult applied = SettingsSchema::applyAll(candidate, entries, confirmation);
    if (!applied.ok())
        return applied;
    return setPolicy(candidate);
}

ConfigResult Runtime::setPolicy(const Policy &policy)
{
    std::lock_guard lock(m_configMutex);
    // Same checks the engine makes, before anything is written.
    ConfigResult cross = SettingsSchema::validate(policy);
    if (!cross.ok())
        return cross;
    QString error;
    if (m_store->shared()) {
        // The shared copy first: a policy that cannot reach the other nodes is not applied here.
        const QByteArray json =
            QJsonDocument(ConfigFile::settingsToJson(policy)).toJson(QJsonDocument::Compact);
        std::uint64_t version = 0;
        if (!m_store->writeSharedConfig(json.toStdString(), &version))
            return {ConfigError::WriteFailed, {}, "shared store unavailable: " + m_store->lastError(), 0};
        m_sharedConfigVersion = version;
    }
    if (!ConfigFile(m_dir.configFile()).save(policy, m_configSections, &error))
        return {ConfigError::WriteFailed, {}, error.toStdString(), 0};
    return m_engine->setPolicy(policy);
}

} // namespace hourglass
