#pragma once

#include "ConfigFile.h"
#include "DataDirectory.h"
#include "EventHub.h"
#include "EventLog.h"
#include "SessionEngine.h"
#include "SessionStore.h"

#include <QJsonObject>
#include <QLockFile>
#include <QString>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace hourglass {

class Clock;
class RandomSource;

// Everything a running Hourglass owns, wired together: data directory (locked), configuration,
// durable store, event hub and log, and the engine restored from the store. The console, the
// headless service and hourglass-ctl (when no service runs) all open one of these.
class Runtime
{
public:
    struct Options
    {
        QString dataDir;        // already resolved
        Clock *clock = nullptr; // tests inject a manual clock
        RandomSource *random = nullptr;
        bool maintenance = true; // background sweeping and touch flushing
        QString logDir;          // event log directory; empty: <data dir>/var/log
        // A configuration copied into the data directory when it has none yet (a packaged service
        // ships /etc/hourglass/hourglass.json). It must be valid; the data directory's copy is the
        // one changed afterwards (console, hourglass-ctl, admin API).
        QString initialConfig;
        // Session store: "embedded" or redis://[[user]:password@]host[:port][/db]. Empty: the
        // configuration's "store" section ({"url": …}), else embedded.
        QString storeUrl;
        // How often a node on a shared store looks for policy changed by another node.
        int sharedConfigPollMs = 500;
    };

    enum class OpenError
    {
        None,
        Locked, // another process owns the data directory
        Config, // configuration file unreadable or invalid
        Store,  // session store unreadable or damaged
        Io,
    };

    static std::unique_ptr<Runtime> open(const Options &options, OpenError *code, QString *error);
    ~Runtime();

    SessionEngine &engine() { return *m_engine; }
    EventHub &events() { return m_events; }
    SessionStore &store() { return *m_store; }
    bool sharedStore() const { return m_store->shared(); }
    // Applies a policy another node wrote to the shared store, if any is newer (the watcher
    // thread calls this; tests call it directly). Returns true when the policy changed.
    bool pullSharedPolicy();
    const DataDirectory &dataDirectory() const { return m_dir; }
    const SessionStore::LoadResult &restored() const { return m_restored; }
    int configMigratedFrom() const { return m_configMigratedFrom; }
    // Configuration sections other than the policy ("service", …) as loaded.
    QJsonObject configSections() const;

    // The one way to change policy: validate with the key table, write the configuration file
    // crash-safely, then apply to the engine. Nothing changes when any step fails.
    ConfigResult setSetting(std::string_view path, std::string_view value, Confirmation confirmation);
    ConfigResult setSettings(const std::vector<std::pair<std::string, std::string>> &entries,
                             Confirmation confirmation);
    ConfigResult setPolicy(const Policy &policy);

    // Makes pending touches durable and stops background work (clean shutdown).
    void shutdown();

private:
    Runtime(const Options &options, const QString &root);
    bool openStore(QString *error);
    void watchSharedConfig();

    Options m_options;
    DataDirectory m_dir;
    std::unique_ptr<QLockFile> m_lock;
    mutable std::mutex m_configMutex;
    QJsonObject m_configSections;
    int m_configMigratedFrom = 0;
    EventHub m_events;
    std::unique_ptr<EventLog> m_log;
    std::unique_ptr<SessionStore> m_store;
    std::uint64_t m_sharedConfigVersion = 0; // guarded by m_configMutex
    std::mutex m_watchMutex;
    std::condition_variable m_watchWake;
    bool m_watchStop = false;
    std::thread m_watcher;
    std::unique_ptr<SessionEngine> m_engine;
    SessionStore::LoadResult m_restored;
    int m_logSubscription = 0;
    bool m_shutDown = false;
};

} // namespace hourglass
