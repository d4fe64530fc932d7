#include "SqliteStore.h"

#include "ThreadName.h"

#include <sqlite3.h>

#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

namespace hourglass {

namespace {

// 1: sessions keyed by id_hash. 2: keyed by (created_ms, id_hash), see kSessionsColumns.
constexpr int kStoreSchemaVersion = 2;

const char *const kSchemaSql = R"sql(
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS auth_roots (
    id_hash          BLOB PRIMARY KEY,
    client_ip        TEXT NOT NULL,
    created_ms       INTEGER NOT NULL,
    last_activity_ms INTEGER NOT NULL,
    tabs             TEXT NOT NULL      -- "tabId:createdMs" entries separated by ","
) WITHOUT ROWID;
)sql";

// Sessions are keyed by creation time first: new sessions go to the end of the table, so a group
// commit of many creations writes a few pages instead of one random page per session (keyed by
// the hash alone, the same commits wrote about twice the pages and the commit rate halved;
// bench/README.md). The engine passes the creation time with every change of a session; it never
// changes during the session's life.
const char *const kSessionsColumns = R"sql((
    created_ms       INTEGER NOT NULL,
    id_hash          BLOB NOT NULL,     -- SHA-256 of the session ID; the ID itself is never stored
    user             TEXT NOT NULL,
    area             INTEGER NOT NULL,
    remember_me      INTEGER NOT NULL,
    client_ip        TEXT NOT NULL,
    user_agent       TEXT NOT NULL,
    auth_time_ms     INTEGER NOT NULL,
    last_activity_ms INTEGER NOT NULL,
    data             BLOB NOT NULL,
    PRIMARY KEY (created_ms, id_hash)
) WITHOUT ROWID)sql";

const char *const kSessionsColumnNames = "created_ms, id_hash, user, area, remember_me, client_ip, "
                                         "user_agent, auth_time_ms, last_activity_ms, data";

std::string createSessionsTable(const std::string &name)
{
    return "CREATE TABLE IF NOT EXISTS " + name + " " + kSessionsColumns + ";";
}

// RAII prepared statement.
class Statement
{
public:
    Statement(sqlite3 *db, const char *sql) { m_rc = sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr); }
    ~Statement() { sqlite3_finalize(m_stmt); }
    Statement(const Statement &) = delete;
    Statement &operator=(const Statement &) = delete;

    bool ok() const { return m_rc == SQLITE_OK && m_stmt; }
    sqlite3_stmt *get() const { return m_stmt; }
    // Text and blobs are bound without a copy: what is bound must outlive the step, and reset()
    // drops every binding, so that no statement keeps a pointer past it. Temporaries are refused.
    void bindBlob(int i, const void *data, std::size_t size)
    {
        sqlite3_bind_blob(m_stmt, i, data, static_cast<int>(size), SQLITE_STATIC);
    }
    void bindHash(int i, const IdHash &hash) { bindBlob(i, hash.bytes().data(), IdHash::kSize); }
    void bindHash(int i, IdHash &&hash) = delete;
    void bindText(int i, const std::string &text)
    {
        sqlite3_bind_text(m_stmt, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
    }
    void bindText(int i, std::string &&text) = delete;
    void bindInt(int i, std::int64_t v) { sqlite3_bind_int64(m_stmt, i, v); }
    int step() { return sqlite3_step(m_stmt); }
    void reset()
    {
        sqlite3_reset(m_stmt);
        sqlite3_clear_bindings(m_stmt);
    }
    // Steps a statement that returns no rows and resets it; false on an error, whose message the
    // connection keeps (sqlite3_errmsg) after the reset.
    bool run()
    {
        const int rc = step();
        reset();
        return rc == SQLITE_DONE;
    }
    std::string text(int col) const
    {
        const auto *p = reinterpret_cast<const char *>(sqlite3_column_text(m_stmt, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)))
                 : std::string();
    }
    std::string blob(int col) const
    {
        const auto *p = static_cast<const char *>(sqlite3_column_blob(m_stmt, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)))
                 : std::string();
    }
    std::int64_t integer(int col) const { return sqlite3_column_int64(m_stmt, col); }

private:
    sqlite3_stmt *m_stmt = nullptr;
    int m_rc = SQLITE_ERROR;
};

std::optional<IdHash> hashFromBlob(const std::string &blob)
{
    if (blob.size() != IdHash::kSize)
        return std::nullopt;
    std::array<std::uint8_t, IdHash::kSize> bytes{};
    std::memcpy(bytes.data(), blob.data(), IdHash::kSize);
    return IdHash(bytes);
}

} // namespace

// The writer's statements, prepared once (on the writer thread) and reset after every use.
struct SqliteStore::Statements
{
    explicit Statements(sqlite3 *db)
        : putSession(db, (std::string("INSERT OR REPLACE INTO sessions(") + kSessionsColumnNames +
                          ") VALUES(?,?,?,?,?,?,?,?,?,?)")
                             .c_str()),
          removeSession(db, "DELETE FROM sessions WHERE created_ms = ? AND id_hash = ?"),
          setData(db, "UPDATE sessions SET data = ?, last_activity_ms = max(last_activity_ms, ?) "
                      "WHERE created_ms = ? AND id_hash = ?"),
          putAuth(db, "INSERT OR REPLACE INTO auth_roots(id_hash, client_ip, created_ms, last_activity_ms, "
                      "tabs) VALUES(?,?,?,?,?)"),
          removeAuth(db, "DELETE FROM auth_roots WHERE id_hash = ?"),
          touch(db, "UPDATE sessions SET last_activity_ms = max(last_activity_ms, ?) "
                    "WHERE created_ms = ? AND id_hash = ?"),
          // Prepared once too: through sqlite3_exec every group commit parsed both again.
          begin(db, "BEGIN IMMEDIATE"), commit(db, "COMMIT")
    {}
    bool ok() const
    {
        return putSession.ok() && removeSession.ok() && setData.ok() && putAuth.ok() && removeAuth.ok() &&
               touch.ok() && begin.ok() && commit.ok();
    }

    Statement putSession;
    Statement removeSession;
    Statement setData;
    Statement putAuth;
    Statement removeAuth;
    Statement touch;
    Statement begin;
    Statement commit;
};

SqliteStore::SqliteStore(Options options, sqlite3 *db) : m_options(std::move(options)), m_db(db)
{
    m_thread = std::thread([this] { run(); });
    nameThread(m_thread, "hg-store");
}

SqliteStore::~SqliteStore()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable())
        m_thread.join();
    // Every submitted change was attempted before the writer stopped; a ticket never submitted
    // cannot be durable.
    for (auto &[ticket, done] : m_waiters)
        done(ticket <= m_completed && durableLocked(ticket));
    m_statements.reset();
    sqlite3_close(m_db);
}

std::string SqliteStore::damagedMessage(const std::string &what) const
{
    return "Session store " + m_options.path + " is damaged (" + what +
           "). Hourglass did not modify it. Stop every Hourglass process using it, then either restore "
           "the file from a backup, or move it aside (it holds only hashes of session IDs) to start "
           "with an empty store; users will have to sign in again.";
}

std::unique_ptr<SqliteStore> SqliteStore::open(const Options &options, std::string *error)
{
    std::error_code ec;
    const auto parent = std::filesystem::path(options.path).parent_path();
    if (!parent.empty())
        std::filesystem::create_directories(parent, ec);

    sqlite3 *db = nullptr;
    int rc = sqlite3_open_v2(options.path.c_str(), &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        *error = "Cannot open session store " + options.path + ": " +
                 (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return nullptr;
    }
    sqlite3_busy_timeout(db, 5000);
    // User names and client IPs are personal data: owner-only, like the data directory.
    std::filesystem::permissions(options.path,
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace, ec);
    std::unique_ptr<SqliteStore> store(new SqliteStore(options, db));

    // Read before writing anything: a file that is not a database, or whose header is damaged, is
    // reported and left exactly as it was.
    {
        Statement probe(db, "SELECT count(*) FROM sqlite_schema");
        rc = probe.ok() ? probe.step() : sqlite3_errcode(db);
        if (rc != SQLITE_ROW) {
            const std::string what = sqlite3_errmsg(db);
            if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
                *error = store->damagedMessage(what);
            else
                *error = "Cannot read session store " + options.path + ": " + what;
            return nullptr;
        }
    }
    if (!store->exec("PRAGMA journal_mode=WAL") || !store->exec("PRAGMA synchronous=FULL") ||
        !store->exec(kSchemaSql)) {
        const std::string what = sqlite3_errmsg(db);
        const int code = sqlite3_errcode(db);
        *error = (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
                     ? store->damagedMessage(what)
                     : "Cannot initialise session store " + options.path + ": " + what;
        return nullptr;
    }
    int found = 0; // no version recorded: a new file
    {
        Statement version(db, "SELECT value FROM meta WHERE key = 'schema_version'");
        if (version.ok() && version.step() == SQLITE_ROW) {
            found = std::atoi(version.text(0).c_str());
            if (found > kStoreSchemaVersion) {
                *error = "Session store " + options.path + " has schema " + std::to_string(found) +
                         ", written by a newer Hourglass. It was not modified; upgrade Hourglass.";
                return nullptr;
            }
        }
    }
    if (found < kStoreSchemaVersion && !store->upgrade(error))
        return nullptr;
    return store;
}

bool SqliteStore::upgrade(std::string *error)
{
    // Which key the sessions table has: none (a new file), id_hash alone (schema 1) or
    // (created_ms, id_hash). Everything happens in one transaction: a failure leaves the file as it
    // was.
    int createdMsKeyPosition = -1;
    {
        Statement layout(m_db, "SELECT pk FROM pragma_table_info('sessions') WHERE name = 'created_ms'");
        if (layout.ok() && layout.step() == SQLITE_ROW)
            createdMsKeyPosition = static_cast<int>(layout.integer(0));
    }
    std::string sql = "BEGIN IMMEDIATE;";
    if (createdMsKeyPosition < 0) {
        sql += createSessionsTable("sessions");
    } else if (createdMsKeyPosition != 1) {
        sql += createSessionsTable("sessions_upgrade");
        sql += std::string("INSERT INTO sessions_upgrade(") + kSessionsColumnNames + ") SELECT " +
               kSessionsColumnNames + " FROM sessions;";
        sql += "DROP TABLE sessions; ALTER TABLE sessions_upgrade RENAME TO sessions;";
    }
    sql += "INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', '" +
           std::to_string(kStoreSchemaVersion) + "'); COMMIT;";
    if (exec(sql.c_str()))
        return true;
    const std::string what = sqlite3_errmsg(m_db);
    const int code = sqlite3_errcode(m_db);
    exec("ROLLBACK");
    *error = (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
                 ? damagedMessage(what)
                 : "Cannot " + std::string(createdMsKeyPosition < 0 ? "initialise" : "upgrade") +
                       " session store " + m_options.path + ": " + what + ". It was not modified.";
    return false;
}

bool SqliteStore::exec(const char *sql)
{
    char *message = nullptr;
    const int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &message);
    sqlite3_free(message);
    return rc == SQLITE_OK;
}

std::string SqliteStore::describe() const
{
    return "embedded SQLite store at " + m_options.path;
}

SessionStore::Ticket SqliteStore::submit(std::vector<StoreMutation> mutations)
{
    Ticket ticket;
    {
        std::lock_guard lock(m_mutex);
        ticket = ++m_submitted;
        m_queue.push_back(std::move(mutations));
    }
    m_wake.notify_one();
    return ticket;
}

bool SqliteStore::durableLocked(Ticket ticket) const
{
    for (const auto &[first, last] : m_failed) {
        if (ticket >= first && ticket <= last)
            return false;
    }
    return true;
}

bool SqliteStore::waitDurable(Ticket ticket)
{
    std::unique_lock lock(m_mutex);
    m_done.wait(lock, [&] { return m_completed >= ticket; });
    return durableLocked(ticket);
}

void SqliteStore::whenDurable(Ticket ticket, std::function<void(bool durable)> done)
{
    std::unique_lock lock(m_mutex);
    if (m_completed >= ticket) {
        const bool durable = durableLocked(ticket);
        lock.unlock();
        done(durable);
        return;
    }
    m_waiters.emplace_back(ticket, std::move(done));
}

void SqliteStore::submitTouches(std::vector<StoreTouch> touches)
{
    std::lock_guard lock(m_mutex);
    for (const StoreTouch &touch : touches)
        m_touches[touch.hash].keepLater({touch.createdMs, touch.lastActivityMs});
}

bool SqliteStore::sync()
{
    Ticket target;
    {
        std::lock_guard lock(m_mutex);
        target = ++m_submitted;
        m_queue.emplace_back(); // an empty change set that also carries the pending touches
        m_syncRequested = true;
    }
    m_wake.notify_one();
    return waitDurable(target);
}

bool SqliteStore::degraded() const
{
    std::lock_guard lock(m_mutex);
    return m_degraded;
}

std::string SqliteStore::lastError() const
{
    std::lock_guard lock(m_mutex);
    return m_lastError;
}

std::uint64_t SqliteStore::commits() const
{
    std::lock_guard lock(m_mutex);
    return m_commits;
}

void SqliteStore::run()
{
    auto lastTouchFlush = std::chrono::steady_clock::now();
    std::vector<std::pair<std::function<void(bool)>, bool>> ready; // called outside the lock
    for (;;) {
        std::vector<std::vector<StoreMutation>> batch;
        std::unordered_map<IdHash, TouchTimes, IdHashHasher> touches;
        Ticket first = 0;
        Ticket last = 0;
        {
            std::unique_lock lock(m_mutex);
            const auto touchesDue = [&] {
                return !m_touches.empty() &&
                       std::chrono::steady_clock::now() - lastTouchFlush >= m_options.touchInterval;
            };
            m_wake.wait_for(lock, m_options.touchInterval,
                            [&] { return m_stopping || !m_queue.empty() || touchesDue(); });
            // Removals that failed are tried again at least once per touch interval.
            if (m_queue.empty() && !touchesDue() && !(m_stopping && !m_touches.empty()) &&
                (m_retry.empty() || m_stopping)) {
                if (m_stopping)
                    return;
                continue;
            }
            const std::size_t take = m_options.maxBatchSubmits == 0
                                         ? m_queue.size()
                                         : std::min(m_queue.size(), m_options.maxBatchSubmits);
            first = m_completed + 1;
            last = m_completed + take;
            for (std::size_t i = 0; i < take; ++i) {
                batch.push_back(std::move(m_queue.front()));
                m_queue.pop_front();
            }
            if (touchesDue() || m_syncRequested || m_stopping) {
                touches.swap(m_touches);
                m_syncRequested = false;
            }
        }
        if (!touches.empty())
            lastTouchFlush = std::chrono::steady_clock::now();
        if (!m_retry.empty()) {
            batch.insert(batch.begin(), std::move(m_retry));
            m_retry.clear();
        }
        const bool ok = writeBatch(batch, touches);
        if (!ok) {
            // A session ended in memory stays ended: its removal (logout, revocation, expiry) was
            // refused to the caller, but the engine no longer has it, so the store must not bring it
            // back after a restart. Removals are kept and written with the next batch that succeeds.
            // Creations and data writes that failed are not retried: they were never applied.
            for (auto &mutations : batch) {
                for (auto &m : mutations) {
                    if (std::holds_alternative<StoreMutation::RemoveSession>(m.change) ||
                        std::holds_alternative<StoreMutation::RemoveAuthRoot>(m.change))
                        m_retry.push_back(std::move(m));
                }
            }
        }
        {
            std::lock_guard lock(m_mutex);
            if (ok) {
                ++m_commits;
                m_degraded = false;
            } else {
                m_degraded = true;
                m_lastError = std::string("write to ") + m_options.path + " failed: " + m_writeError;
                if (last >= first) {
                    m_failed.emplace_back(first, last);
                    if (m_failed.size() > 4096)
                        m_failed.erase(m_failed.begin(), m_failed.begin() + 2048);
                }
                // Touches are merged back so that a later batch retries them.
                for (const auto &[hash, times] : touches)
                    m_touches[hash].keepLater(times);
            }
            m_completed = std::max(m_completed, last);
            // Waiters whose ticket is settled are answered, in one pass (erasing each in place was
            // quadratic in the waiters of a batch); the others keep their order.
            const auto settled = std::stable_partition(m_waiters.begin(), m_waiters.end(),
                                                       [&](const auto &w) { return w.first > m_completed; });
            for (auto it = settled; it != m_waiters.end(); ++it)
                ready.emplace_back(std::move(it->second), durableLocked(it->first));
            m_waiters.erase(settled, m_waiters.end());
        }
        m_done.notify_all();
        for (auto &[done, durable] : ready)
            done(durable);
        ready.clear();
    }
}

bool SqliteStore::writeBatch(std::vector<std::vector<StoreMutation>> &batch,
                             std::unordered_map<IdHash, TouchTimes, IdHashHasher> &touches)
{
    if (batch.empty() && touches.empty())
        return true;
    // What went wrong, read before ROLLBACK replaces SQLite's message. For I/O errors SQLite only
    // says "disk I/O error" (and its saved errno is often overwritten by then), so the system's
    // reason — read-only file system, no space left — comes from a small write of our own.
    const auto failed = [this] {
        m_writeError = sqlite3_errmsg(m_db);
        const int code = sqlite3_errcode(m_db);
        if (code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_READONLY ||
            code == SQLITE_CANTOPEN) {
            if (const std::string reason = writeProbe(); !reason.empty())
                m_writeError += " (" + reason + ")";
        }
        return false;
    };
    if (!m_statements)
        m_statements = std::make_unique<Statements>(m_db);
    Statements &st = *m_statements;
    if (!st.ok())
        return failed();
    if (!st.begin.run())
        return failed();
    bool ok = true;
    Statement &putSession = st.putSession;
    Statement &removeSession = st.removeSession;
    Statement &setData = st.setData;
    Statement &putAuth = st.putAuth;
    Statement &removeAuth = st.removeAuth;
    Statement &touch = st.touch;

    const auto run = [&](Statement &s) {
        if (!s.run()) {
            if (ok)
                failed();
            ok = false;
        }
    };
    for (const auto &mutations : batch) {
        for (const StoreMutation &m : mutations) {
            if (!ok)
                break;
            if (const auto *put = std::get_if<StoreMutation::PutSession>(&m.change)) {
                const SessionRecord &r = put->record;
                putSession.bindInt(1, r.createdMs);
                putSession.bindHash(2, r.hash);
                putSession.bindText(3, r.user);
                putSession.bindInt(4, static_cast<int>(r.area));
                putSession.bindInt(5, r.rememberMe ? 1 : 0);
                putSession.bindText(6, r.clientIp);
                putSession.bindText(7, r.userAgent);
                putSession.bindInt(8, r.authTimeMs);
                putSession.bindInt(9, r.lastActivityMs);
                putSession.bindBlob(10, r.data.data(), r.data.size());
                run(putSession);
            } else if (const auto *remove = std::get_if<StoreMutation::RemoveSession>(&m.change)) {
                removeSession.bindInt(1, remove->createdMs);
                removeSession.bindHash(2, remove->hash);
                run(removeSession);
            } else if (const auto *data = std::get_if<StoreMutation::SetData>(&m.change)) {
                setData.bindBlob(1, data->data.data(), data->data.size());
                setData.bindInt(2, data->lastActivityMs);
                setData.bindInt(3, data->createdMs);
                setData.bindHash(4, data->hash);
                run(setData);
            } else if (const auto *auth = std::get_if<StoreMutation::PutAuthRoot>(&m.change)) {
                putAuth.bindHash(1, auth->record.hash);
                putAuth.bindText(2, auth->record.clientIp);
                putAuth.bindInt(3, auth->record.createdMs);
                putAuth.bindInt(4, auth->record.lastActivityMs);
                const std::string tabs = encodeAuthTabs(auth->record.tabs);
                putAuth.bindText(5, tabs);
                run(putAuth);
            } else if (const auto *removeRoot = std::get_if<StoreMutation::RemoveAuthRoot>(&m.change)) {
                removeAuth.bindHash(1, removeRoot->hash);
                run(removeAuth);
            }
        }
    }
    for (const auto &[hash, times] : touches) {
        if (!ok)
            break;
        touch.bindInt(1, times.lastActivityMs);
        touch.bindInt(2, times.createdMs);
        touch.bindHash(3, hash);
        run(touch);
    }
    if (ok && st.commit.run())
        return true;
    if (ok)
        failed(); // the COMMIT itself
    exec("ROLLBACK");
    return false;
}

std::string SqliteStore::writeProbe() const
{
    const auto dir = std::filesystem::path(m_options.path).parent_path();
    const std::string path = (dir.empty() ? std::filesystem::path(".") : dir) / ".write-probe";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return std::strerror(errno);
    std::string reason;
    static const char block[4096] = {};
    if (::write(fd, block, sizeof block) != static_cast<ssize_t>(sizeof block) || ::fsync(fd) != 0)
        reason = std::strerror(errno);
    ::close(fd);
    ::unlink(path.c_str());
    return reason;
}

std::size_t SqliteStore::sessionCountHint()
{
    // Called before load(), while the writer thread is idle. Any failure is load()'s to report.
    Statement count(m_db, "SELECT count(*) FROM sessions");
    if (!count.ok() || count.step() != SQLITE_ROW)
        return 0;
    return static_cast<std::size_t>(std::max<std::int64_t>(0, count.integer(0)));
}

SessionStore::LoadResult SqliteStore::load(const std::function<void(SessionRecord &&)> &onSession,
                                           const std::function<void(AuthRootRecord &&)> &onAuthRoot)
{
    // Called before any submit, so the writer thread is idle; the connection is used exclusively.
    LoadResult result;
    const auto fail = [&](const std::string &what) {
        result.ok = false;
        const int code = sqlite3_errcode(m_db);
        result.error = (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
                           ? damagedMessage(what)
                           : "Cannot read session store " + m_options.path + ": " + what;
        return result;
    };
    {
        Statement select(m_db, "SELECT id_hash, user, area, remember_me, client_ip, user_agent, created_ms, "
                               "auth_time_ms, last_activity_ms, data FROM sessions");
        if (!select.ok())
            return fail(sqlite3_errmsg(m_db));
        int rc;
        while ((rc = select.step()) == SQLITE_ROW) {
            const auto hash = hashFromBlob(select.blob(0));
            const std::int64_t area = select.integer(2);
            if (!hash || (area != 0 && area != 1)) {
                result.ok = false;
                result.error = damagedMessage("a session row has an invalid ID hash or area");
                return result;
            }
            SessionRecord r;
            r.hash = *hash;
            r.user = select.text(1);
            r.area = static_cast<Area>(area);
            r.rememberMe = select.integer(3) != 0;
            r.clientIp = select.text(4);
            r.userAgent = select.text(5);
            r.createdMs = select.integer(6);
            r.authTimeMs = select.integer(7);
            r.lastActivityMs = select.integer(8);
            r.data = select.blob(9);
            onSession(std::move(r));
            ++result.sessions;
        }
        if (rc != SQLITE_DONE)
            return fail(sqlite3_errmsg(m_db));
    }
    {
        Statement select(m_db,
                         "SELECT id_hash, client_ip, created_ms, last_activity_ms, tabs FROM auth_roots");
        if (!select.ok())
            return fail(sqlite3_errmsg(m_db));
        int rc;
        while ((rc = select.step()) == SQLITE_ROW) {
            const auto hash = hashFromBlob(select.blob(0));
            AuthRootRecord r;
            if (!hash || !decodeAuthTabs(select.text(4), r.tabs)) {
                result.ok = false;
                result.error = damagedMessage("an authentication session row is invalid");
                return result;
            }
            r.hash = *hash;
            r.clientIp = select.text(1);
            r.createdMs = select.integer(2);
            r.lastActivityMs = select.integer(3);
            onAuthRoot(std::move(r));
            ++result.authRoots;
        }
        if (rc != SQLITE_DONE)
            return fail(sqlite3_errmsg(m_db));
    }
    return result;
}

std::string SqliteStore::integrityCheck(const std::string &path)
{
    sqlite3 *db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        const std::string error = db ? sqlite3_errmsg(db) : "cannot open";
        sqlite3_close(db);
        return error;
    }
    std::string result;
    {
        Statement check(db, "PRAGMA integrity_check");
        if (!check.ok()) {
            result = sqlite3_errmsg(db);
        } else {
            while (check.step() == SQLITE_ROW) {
                if (!result.empty())
                    result += "; ";
                result += check.text(0);
            }
            if (result.empty())
                result = sqlite3_errmsg(db);
        }
    }
    sqlite3_close(db);
    return result;
}

} // namespace hourglass
