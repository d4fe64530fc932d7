#include "Runtime.h"

#include "AtomicFile.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

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

    std::string storeError;
    SqliteStore::Options storeOptions;
    storeOptions.path = dir.storeFile().toStdString();
    rt->m_store = SqliteStore::open(storeOptions, &storeError);
    if (!rt->m_store) {
        *code = OpenError::Store;
        *error = QString::fromStdString(storeError);
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
    if (options.maintenance)
        rt->m_engine->startMaintenance();
    return rt;
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
    if (m_engine) {
        m_engine->stopMaintenance();
        m_engine->flushTouches();
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
    if (!ConfigFile(m_dir.configFile()).save(policy, m_configSections, &error))
        return {ConfigError::WriteFailed, {}, error.toStdString(), 0};
    return m_engine->setPolicy(policy);
}

} // namespace hourglass
