#pragma once

#include "SessionStore.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

struct redisReply;

namespace hourglass {

class RedisLink;

// The shared store: Redis (7.0 from Debian), for several hourglassd nodes.
//
// Redis is the authority on sessions; each node caches what it has seen. Validation and touch
// are one Lua script (EVALSHA) that decides validity from the rules and time it is given, so a
// session ended on one node is refused on every node at once. Every key that a script reads or
// writes carries the same hash tag (the owner's user tag), so the layout works on Redis Cluster;
// docs/redis.md describes it.
//
// Writes go through one writer thread that pipelines everything queued (like the embedded store's
// group commit): a change is acknowledged only when Redis has answered it. When Redis cannot be
// reached the store fails closed (validation answers "store unavailable") and reconnects by itself,
// at most every retryInterval.
class RedisStore final : public SessionStore
{
public:
    struct Url
    {
        std::string host = "127.0.0.1";
        int port = 6379;
        int db = 0;
        std::string user;     // ACL user (Redis 6+); empty: default user
        std::string password; // never printed
        bool tls = false;     // rediss://: the server is always verified
        std::string caFile;   // ?ca=: CA certificates to trust (default: the system's)
        std::string certFile; // ?cert=, ?key=: a client certificate for servers that ask for one
        std::string keyFile;
        std::string text() const; // without the password
    };
    // redis[s]://[[user]:password@]host[:port][/db][?ca=…&cert=…&key=…]
    static std::optional<Url> parseUrl(std::string_view text, std::string *error);

    struct Options
    {
        Url url;
        std::string keyPrefix = "hg";
        std::chrono::milliseconds connectTimeout{500};
        std::chrono::milliseconds commandTimeout{2000};
        std::chrono::milliseconds retryInterval{200};
        std::chrono::milliseconds pruneInterval{1000}; // per-area index clean-up
    };

    // Connects, authenticates and loads the scripts. On failure returns null and sets error to a
    // message naming the server and what went wrong.
    static std::unique_ptr<RedisStore> open(const Options &options, std::string *error);
    ~RedisStore() override;

    std::string describe() const override;
    Ticket submit(std::vector<StoreMutation> mutations) override;
    bool waitDurable(Ticket ticket) override;
    void submitTouches(std::vector<StoreTouch> touches) override;
    LoadResult load(const std::function<void(SessionRecord &&)> &onSession,
                    const std::function<void(AuthRootRecord &&)> &onAuthRoot) override;
    bool sync() override;
    bool degraded() const override;
    std::string lastError() const override;

    bool shared() const override { return true; }
    Fetched fetch(const IdHash &hash, const std::string *user, TimeMs now, const ExpiryRules &rules,
                  bool touch) override;
    std::optional<std::vector<SessionRecord>> fetchUser(const std::string &user, TimeMs now,
                                                        const ExpiryRules &rules) override;
    AuthFetch fetchAuthRoot(const IdHash &hash, AuthRootRecord *record) override;
    std::optional<std::array<std::uint64_t, kAreas.size()>> sharedCounts() override;
    std::optional<SharedPage> sharedList(const SharedQuery &query, TimeMs now,
                                         const ExpiryRules &rules) override;
    std::optional<SharedConfig> readSharedConfig() override;
    bool writeSharedConfig(const std::string &json, std::uint64_t *version) override;

    // The hash tag of a user's keys: 16 hex digits of SHA-256(user).
    static std::string userTag(std::string_view user);
    // Index entries dropped because their session had expired (per-area counts stay exact).
    std::uint64_t pruned() const { return m_pruned.load(std::memory_order_relaxed); }
    // Runs one clean-up pass now (tests); returns the entries dropped.
    std::size_t pruneNow();

private:
    struct ReplyDeleter
    {
        void operator()(redisReply *reply) const;
    };
    using Context = std::unique_ptr<RedisLink>;
    using Reply = std::unique_ptr<redisReply, ReplyDeleter>;
    using Command = std::vector<std::string>;

    explicit RedisStore(Options options);
    bool connect(Context &out, std::string *error);
    Context acquire(std::string *error);
    void release(Context context);
    // Runs commands pipelined on one connection. nullopt when the connection failed (then the
    // store is marked unavailable). A script unknown to the server (restarted) is loaded and the
    // pipeline run again once.
    std::optional<std::vector<Reply>> run(const std::vector<Command> &commands);
    void markFailed(const std::string &error);
    void markHealthy();

    std::string key(std::string_view tag, std::string_view suffix) const;
    std::string sessionKey(const std::string &tag, const std::string &hashHex) const;
    std::string pointerKey(const std::string &hashHex) const;
    std::string liveKey(Area area) const;
    std::string rootKey(const std::string &hashHex) const;
    std::string configKey() const;
    Command fetchCommand(const std::string &tag, const std::string &hashHex, TimeMs now,
                         const ExpiryRules &rules, bool touch) const;
    // The session in a "live" answer of the validation script; none for any other answer.
    static std::optional<SessionRecord> recordFromReply(const redisReply *reply, const IdHash &hash);
    void appendMutation(const StoreMutation &mutation, std::vector<Command> &commands) const;

    void writerLoop();

    Options m_options;
    std::string m_fetchSha, m_putSha, m_removeSha, m_setDataSha, m_revokeSha, m_configSha;

    std::mutex m_poolMutex;
    std::vector<Context> m_pool;
    std::chrono::steady_clock::time_point m_retryAfter{};

    mutable std::mutex m_stateMutex;
    bool m_unavailable = false;
    std::string m_lastError;

    std::mutex m_queueMutex;
    std::condition_variable m_wake;
    std::condition_variable m_done;
    std::deque<std::pair<Ticket, std::vector<StoreMutation>>> m_queue;
    std::vector<StoreTouch> m_touches;
    Ticket m_submitted = 0;
    Ticket m_completed = 0;
    std::vector<std::pair<Ticket, Ticket>> m_failed;
    bool m_stop = false;
    std::thread m_writer;

    std::atomic<std::uint64_t> m_pruned{0};
    std::mutex m_pruneMutex;
    std::array<std::string, kAreas.size()> m_pruneCursor{"0", "0"};
};

} // namespace hourglass
