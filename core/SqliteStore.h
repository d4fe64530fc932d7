#pragma once

#include "SessionStore.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

struct sqlite3;

namespace hourglass {

// The embedded durable store: SQLite in WAL mode with synchronous=FULL.
//
// Group commit: submit() queues; one writer thread takes everything queued, writes it in a single
// transaction and fsyncs once, then releases every waiter of that batch. Under concurrency the
// cost of durability is shared by all requests in the batch instead of one fsync per request.
//
// Touches are merged per session and written at most once per touchInterval. A crash can lose
// at most that window of the touches handed over (the engine hands a session's over once per
// touch step: SessionEngine::flushTouches), which can only make sessions expire earlier.
class SqliteStore final : public SessionStore
{
public:
    struct Options
    {
        std::string path;
        // 0 = no limit: a batch takes everything queued. 1 = one transaction (and fsync) per submit,
        // for the group-commit benchmark's reference run.
        std::size_t maxBatchSubmits = 0;
        std::chrono::milliseconds touchInterval{1000};
    };

    // Opens (creating if needed) the database. On failure returns null and sets error to a message
    // that names the file and what to do; a damaged file is never modified.
    static std::unique_ptr<SqliteStore> open(const Options &options, std::string *error);
    ~SqliteStore() override;

    std::string describe() const override;
    Ticket submit(std::vector<StoreMutation> mutations) override;
    bool waitDurable(Ticket ticket) override;
    bool notifiesDurability() const override { return true; }
    void whenDurable(Ticket ticket, std::function<void(bool durable)> done) override;
    void submitTouches(std::vector<StoreTouch> touches) override;
    LoadResult load(const std::function<void(SessionRecord &&)> &onSession,
                    const std::function<void(AuthRootRecord &&)> &onAuthRoot) override;
    std::size_t sessionCountHint() override;

    // Blocks until everything submitted so far (including pending touches) is written.
    bool sync() override;
    // Degraded: the last write failed (disk full, read-only, I/O error).
    bool degraded() const override;
    std::string lastError() const override;
    std::uint64_t commits() const;

    // Read-only inspection used by hourglass-ctl when no service is running.
    static std::string integrityCheck(const std::string &path);

private:
    struct Statements;
    struct TouchTimes
    {
        TimeMs createdMs = 0; // with the hash, the session's key
        TimeMs lastActivityMs = 0;

        // Merges a touch of the same session: the later activity wins.
        void keepLater(const TouchTimes &other)
        {
            createdMs = other.createdMs;
            lastActivityMs = std::max(lastActivityMs, other.lastActivityMs);
        }
    };

    explicit SqliteStore(Options options, sqlite3 *db);
    void run();
    // Creates the sessions table, or rewrites one of schema 1 in creation order; one transaction.
    bool upgrade(std::string *error);
    bool writeBatch(std::vector<std::vector<StoreMutation>> &batch,
                    std::unordered_map<IdHash, TouchTimes, IdHashHasher> &touches);
    bool exec(const char *sql);
    // Why the store's directory refuses writes (strerror of a small write of our own), or "".
    std::string writeProbe() const;
    std::string damagedMessage(const std::string &what) const;
    bool durableLocked(Ticket ticket) const; // for a completed ticket

    Options m_options;
    sqlite3 *m_db = nullptr;
    std::string m_writeError;                 // the writer thread's last failure, with the system's reason
    std::vector<StoreMutation> m_retry;       // writer thread: removals whose batch failed
    std::unique_ptr<Statements> m_statements; // writer thread

    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_done;
    std::deque<std::vector<StoreMutation>> m_queue;
    std::unordered_map<IdHash, TouchTimes, IdHashHasher> m_touches;
    bool m_syncRequested = false;
    Ticket m_submitted = 0;
    Ticket m_completed = 0;                          // every ticket ≤ this has been attempted
    std::vector<std::pair<Ticket, Ticket>> m_failed; // ranges of tickets whose batch failed
    std::vector<std::pair<Ticket, std::function<void(bool)>>> m_waiters; // whenDurable(), not yet known
    bool m_degraded = false;
    std::string m_lastError;
    std::uint64_t m_commits = 0;
    bool m_stopping = false;
    std::thread m_thread;
};

} // namespace hourglass
