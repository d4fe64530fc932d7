#pragma once

#include "Clock.h"
#include "EventHub.h"
#include "HandoffMutex.h"
#include "IpCounts.h"
#include "Policy.h"
#include "SessionId.h"
#include "SessionRecord.h"
#include "SessionStore.h"
#include "SessionTable.h"
#include "SettingsSchema.h"
#include "TableMemory.h"
#include "TextPool.h"
#include "UserDirectory.h"

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace hourglass {

class RandomSource;

enum class SessionError : std::uint8_t
{
    None,
    Malformed,         // not a well-formed identifier: never looked up
    Unknown,           // never issued, destroyed, revoked or already swept
    Expired,           // idle, remember-me or maximum timeout reached
    UserLimitReached,  // per-user concurrent session limit with action "deny"
    IpLimitReached,    // per-IP concurrent session cap
    SizeExceeded,      // admin area: session data over the configured maximum
    RandomUnavailable, // the CSPRNG failed: no identifier is issued (fail closed)
    StoreUnavailable,  // the change could not be made durable and was not applied
    InvalidArgument,
    AuthSessionUnknown,
    AuthSessionExpired,
    AuthTabUnknown,
};

std::string_view sessionErrorName(SessionError error);

struct CreateParams
{
    std::string user;
    Area area = Area::Storefront;
    bool rememberMe = false;
    std::string clientIp;
    std::string userAgent;
};

struct SessionInfo
{
    IdHash hash;
    SharedText user; // shared with the engine's copy, like the user agent
    Area area = Area::Admin;
    bool rememberMe = false;
    std::string clientIp;
    SharedText userAgent; // shared with the engine's copy: no allocation per validation
    TimeMs createdMs = 0;
    TimeMs authTimeMs = 0;
    TimeMs lastActivityMs = 0;
    std::size_t dataSize = 0;
    TimeMs idleDeadlineMs = 0;     // sliding horizon (idle timeout or remember-me period)
    TimeMs absoluteDeadlineMs = 0; // kNoDeadline when the maximum timeout is disabled
    TimeMs expiresAtMs = 0;        // min of the two
    // Login flows still open in other tabs of the browser this session logged in from (its
    // authentication sub-sessions); kept in memory only, so 0 after a restart.
    std::size_t subSessions = 0;

    static constexpr TimeMs kNoDeadline = INT64_MAX;
};

struct CreateResult
{
    SessionError error = SessionError::None;
    std::string token; // the only time the identifier itself leaves the engine
    SessionInfo info;
    std::vector<IdHash> displaced; // sessions ended by the "terminate-oldest" per-user action
};

struct ValidateResult
{
    SessionError error = SessionError::None;
    SessionInfo info;
};

struct RotateResult
{
    SessionError error = SessionError::None;
    std::string token;
    IdHash previousHash;
    SessionInfo info;
};

struct SetDataResult
{
    SessionError error = SessionError::None;
    // Storefront over its size limit: the write was dropped without an error to the caller (as
    // Magento does) and recorded as an event. The previous data is kept.
    bool dropped = false;
    std::size_t limitBytes = 0;
    SessionInfo info;
};

struct GetDataResult
{
    SessionError error = SessionError::None;
    std::string data;
    SessionInfo info;
};

struct SessionQuery
{
    std::string user; // exact user match (uses the per-user index)
    std::string text; // substring of user or client IP
    std::optional<Area> area;
    std::string clientIp; // exact client IP
    std::size_t offset = 0;
    std::size_t limit = 100;
};

struct SessionPage
{
    std::size_t total = 0;         // matches before paging
    std::vector<SessionInfo> rows; // newest first
};

struct AuthStartResult
{
    SessionError error = SessionError::None;
    std::string rootToken; // set when a new root authentication session was created
    IdHash rootHash;
    std::string tabId;
    bool newRoot = false;
    std::size_t tabCount = 0;
    std::vector<std::string> evictedTabs;
};

struct AuthSessionStats
{
    std::size_t roots = 0;
    std::size_t tabs = 0;
    std::size_t estimatedBytes = 0;
};

struct EngineCounters
{
    std::array<std::uint64_t, kAreas.size()> active{};
    std::uint64_t created = 0;
    std::uint64_t validations = 0;
    std::uint64_t rejectedMalformed = 0;
    std::uint64_t rejectedUnknown = 0;
    std::uint64_t rejectedExpired = 0;
    std::uint64_t rejectedLimit = 0;
    std::uint64_t expired = 0;
    std::uint64_t destroyed = 0;
    std::uint64_t rotated = 0;
    std::uint64_t forcedLogouts = 0;
    std::uint64_t sizeExceeded = 0;
    std::uint64_t evictedAuthTabs = 0;
    std::uint64_t expiryIndexRebuilds = 0; // O(n) heap rebuilds (policy changes, many destroys)
    std::uint64_t listScans = 0;           // unfiltered list pages that had to visit every session
    std::uint64_t indexBytes = 0;          // the per-user and per-IP tables (names and text aside)
    std::uint64_t sessionTableBytes = 0;   // the shards' session tables: rows and entries

    std::uint64_t rejections() const
    {
        return rejectedMalformed + rejectedUnknown + rejectedExpired + rejectedLimit;
    }
};

// The session engine: thread-safe, Qt-free, with injectable clock, randomness and store.
//
// Sessions are spread over shards by ID hash; validation (the hot path) takes one shard lock and
// nothing else. A directory (per-user and per-IP indexes) is locked for operations that change the
// set of sessions. Lock order: policy-write → directory → shard → store queue.
//
// Expiry uses a lazy min-heap per shard: each session has one live heap entry whose due time is
// never later than its real expiry under the policy in force, so sweeping costs O(log n) per
// session. Touches do not reposition entries; a popped entry that is not yet due is re-pushed at
// the session's current expiry. Validation always checks the real expiry, so the sweeper only
// reclaims memory and never decides validity.
class SessionEngine
{
public:
    struct Options
    {
        Clock *clock = nullptr;         // default: SystemClock
        RandomSource *random = nullptr; // default: OpenSslRandom
        EventHub *events = nullptr;     // optional
        SessionStore *store = nullptr;  // optional: memory only when null
        std::size_t shards = 16;
        std::size_t sweepBatch = 256; // sessions expired per shard lock hold (bounds validation stalls)
        // Newest sessions remembered per shard, so that the first pages of the unfiltered session
        // list (the console's Sessions page) need not visit every session.
        std::size_t newestPerShard = 512;
    };

    explicit SessionEngine(Options options, const Policy &policy = Policy());
    ~SessionEngine();
    SessionEngine(const SessionEngine &) = delete;
    SessionEngine &operator=(const SessionEngine &) = delete;

    Policy policy() const;
    // Applies a policy that passed SettingsSchema validation (re-checked here; nothing changes on
    // error). Policy changes apply to existing sessions at once.
    ConfigResult setPolicy(const Policy &policy);

    CreateResult create(const CreateParams &params);
    // The same, without a thread waiting for the store: done(result) is called once, when the
    // session is durable (or was refused), possibly from the store's thread and possibly before
    // createAsync() returns. done must be quick and must not wait for the store. Only where
    // createsAsynchronously(); elsewhere createAsync() waits like create().
    void createAsync(const CreateParams &params, std::function<void(CreateResult)> done);
    bool createsAsynchronously() const;
    enum class Touch : std::uint8_t
    {
        Yes,
        No,
    };
    ValidateResult validate(std::string_view token, Touch touch = Touch::Yes);
    // The same, handing the session to read(const SessionInfo &) instead of copying it out: its
    // texts are borrowed (SharedText::borrow), so no reference count is raised and released per
    // validation, and the info is valid only during the call. read() runs under the session's
    // shard lock: it must be short and must not call the engine. Returns the error; read() is
    // called only when there is none. The HTTP service validates so.
    template<typename Read> SessionError validate(std::string_view token, Touch touch, Read &&read)
    {
        using Reader = std::remove_reference_t<Read>;
        // A const reader arrives as a const object: the address loses the const only to come back
        // to the same type.
        return validateWith(
            token, touch, const_cast<void *>(static_cast<const void *>(&read)),
            [](void *reader, const SessionInfo &info) { (*static_cast<Reader *>(reader))(info); });
    }
    RotateResult rotate(std::string_view token);
    SetDataResult setData(std::string_view token, std::string data);
    GetDataResult getData(std::string_view token);
    SessionError destroy(std::string_view token);
    // Administrative termination by ID hash (console, hourglass-ctl).
    SessionError revoke(const IdHash &hash, std::string_view reason = "terminated by administrator");
    // Ends every session of user (in area, when given) except the one with hash except: the
    // "force logout after password change" behaviour. Returns the number of sessions ended.
    // durable (optional) is false when the store could not record the revocation: the caller
    // must not report success.
    std::size_t forceLogout(std::string_view user, std::optional<IdHash> except = std::nullopt,
                            std::optional<Area> area = std::nullopt, bool *durable = nullptr);

    std::optional<SessionInfo> find(const IdHash &hash) const;
    SessionPage list(const SessionQuery &query) const;
    std::size_t sessionCount() const;
    // Backed by a store shared with other nodes (Redis): sessions live there, not here.
    bool shared() const { return m_shared; }
    // Increases with every change to sessions, login flows or policy (not with validations):
    // lets monitors poll cheaply for "anything new?".
    std::uint64_t changeGeneration() const { return m_generation.load(std::memory_order_relaxed); }
    EngineCounters counters() const;

    // Authentication sessions (per-browser root with per-tab sub-sessions).
    AuthStartResult startAuthentication(std::string_view rootToken, std::string_view clientIp);
    CreateResult completeAuthentication(std::string_view rootToken, std::string_view tabId,
                                        const CreateParams &params);
    SessionError cancelAuthentication(std::string_view rootToken, std::string_view tabId);
    std::optional<AuthRootRecord> findAuthRoot(const IdHash &hash) const;
    AuthSessionStats authStats() const;

    // Removes expired sessions and authentication sessions, at most maxSessions of them. Returns
    // how many were removed. Called by the maintenance thread; tests call it directly.
    std::size_t sweepExpired(std::size_t maxSessions = SIZE_MAX);
    // Last activity reaches the embedded store coarsely: a touch is queued when it moves a
    // session's activity into a later step of touchStep() (a twentieth of its idle horizon, 1 s
    // to 60 s), and queued touches are handed over once a second; a crash can thus make a session
    // expire at most a step (plus that second) early, never late. FlushTouches::Due hands over what
    // is queued (the maintenance thread); All also every activity newer than the store's (a
    // clean stop). A shared store gets every touch, queued, to keep its keys alive.
    enum class FlushTouches
    {
        Due,
        All,
    };
    std::size_t flushTouches(FlushTouches which = FlushTouches::Due);
    static TimeMs touchStep(TimeMs idleHorizonMs);

    void startMaintenance(std::chrono::milliseconds interval = std::chrono::milliseconds(250));
    void stopMaintenance();

    // Start-up: loads persisted state from the store. Sessions and authentication sessions that
    // expired while the process was down are dropped (and deleted from the store), never revived.
    SessionStore::LoadResult restoreFromStore();

private:
    // A session's data. Most sessions have none, so it costs one pointer until it is set (a
    // std::string is 32 bytes in every session; bench/HISTORY.md, memory).
    class SessionData
    {
    public:
        SessionData &operator=(std::string text)
        {
            if (text.empty())
                m_text.reset();
            else
                m_text = std::make_unique<std::string>(std::move(text));
            return *this;
        }
        std::size_t size() const { return m_text ? m_text->size() : 0; }
        const std::string &text() const
        {
            static const std::string none;
            return m_text ? *m_text : none;
        }

    private:
        std::unique_ptr<std::string> m_text;
    };

    struct Slot
    {
        SharedText user;      // one copy per user: shared by the user's sessions and m_byUser
        CompactText clientIp; // 16 bytes: an IPv4 address in place
        SharedText userAgent; // interned (m_userAgents)
        SessionData data;
        TimeMs createdMs = 0;
        TimeMs authTimeMs = 0;
        TimeMs lastActivityMs = 0;
        Area area = Area::Admin;
        bool rememberMe = false;
        bool touchDirty = false;      // queued in Shard::dirty
        bool activityUnsaved = false; // lastActivityMs is newer than the store's
    };

    // A session's entry in its shard's expiry heap: 16 bytes, not 40. The ID hash is kept as its
    // first 8 bytes (IdHash::bucketHash()), which find the session's row in the shard's table
    // (firstExpiring()).
    struct HeapEntry
    {
        HeapEntry(TimeMs due, const IdHash &hash) : dueMs(due), key(hash.bucketHash()) {}
        HeapEntry(TimeMs due, std::uint64_t hashKey) : dueMs(due), key(hashKey) {}

        TimeMs dueMs;
        std::uint64_t key;
    };
    static_assert(sizeof(HeapEntry) == 16);

    // A login flow's entry in the authentication heap (few of them: the whole hash).
    struct AuthHeapEntry
    {
        TimeMs dueMs;
        IdHash hash;
    };

    // A session's place in the session list: newest first, ties by hash.
    struct CreationKey
    {
        TimeMs createdMs;
        IdHash hash;
    };
    static bool newerFirst(const CreationKey &a, const CreationKey &b)
    {
        if (a.createdMs != b.createdMs)
            return a.createdMs > b.createdMs;
        return a.hash.bytes() < b.hash.bytes();
    }

    // A shard's newest sessions, so that the first pages of the unfiltered list need not visit
    // every session: at least the `capacity` newest noted (all of them while fewer were), in no
    // order, where ended sessions stay until pushed out. A note appends; when the keys reach twice
    // the capacity, one selection keeps the newest half, so a create costs an append and a share of
    // that linear pass (a heap paid a walk from its top to a leaf on every create, since the new
    // session is the newest). Every session of the shard that is not in `keys` is no newer than
    // `floor`.
    struct NewestSessions
    {
        std::vector<CreationKey> keys;
        std::optional<CreationKey> floor;

        // Keeps in `slot` the newer of it and `key`.
        static void keepNewer(std::optional<CreationKey> &slot, const CreationKey &key);
        // Moves the newest `keep` of `all` to its front, in no order; returns the newest of the
        // others, if there are others.
        static std::optional<CreationKey> selectNewest(std::span<CreationKey> all, std::size_t keep);
        void note(const CreationKey &key, std::size_t capacity);
        void merge(const NewestSessions &other, std::size_t capacity);
        // Starts again from `all`, every session of the shard (reordered).
        void renew(std::span<CreationKey> all, std::size_t capacity);
    };

    // What validate() reads after finding a slot, beside the slot itself: the user's name.
    struct SlotHint
    {
        // The name's block: its count and length (8 bytes), then the characters. Names of up to
        // 56 characters (e-mail addresses mostly are) are fetched whole.
        static constexpr std::size_t kBytes = 64;
        const void *operator()(const Slot &slot) const { return slot.user.get(); }
    };
    using SessionMap = SessionTable<Slot, SlotHint>;

    struct Shard
    {
        explicit Shard(std::pmr::memory_resource *memory) : sessions(memory) {}
        // The sweeper ends its batch as soon as a validation waits (HandoffMutex).
        mutable HandoffMutex mutex;
        SessionMap sessions;
        std::vector<HeapEntry> heap;
        std::size_t staleHeapEntries = 0;
        NewestSessions newest;
        std::vector<IdHash> dirty;
        ExpiryRules rules{};
    };

    struct AuthRoot
    {
        AuthRootRecord record;
        // User sessions whose login completed in one of this browser's tabs (bounded).
        std::vector<IdHash> sessions;
    };

    using Events = std::vector<SessionEvent>;
    class DirectoryFiller;

    // create() in two halves: the change in memory, submitted to the store; then, once the store
    // answered, the result (or the rollback).
    struct PendingCreate
    {
        CreateResult result;
        std::optional<SessionToken> token;
        SessionStore::Ticket ticket = 0;
    };
    PendingCreate beginCreate(const CreateParams &params);
    CreateResult finishCreate(PendingCreate &&pending, bool durable);
    // Ends a session in memory and submits its removal without waiting for it.
    SessionError endInMemory(const IdHash &hash, std::string_view reason, SessionStore::Ticket *ticket);

    std::size_t shardIndex(std::uint64_t key) const;
    Shard &shardFor(const IdHash &hash) const;
    Shard &shardFor(const UserEntry &entry) const;
    // With the directory lock held: visit(shard, session) for each of the user's sessions, under
    // that session's shard lock. It may remove the session (the user's entries are walked in a
    // copy).
    template<typename Visit> void forEachSessionOfUser(std::string_view user, Visit visit) const;
    // With the shard's lock held: the session of `user` that `entry` stands for; end() when none.
    SessionMap::iterator findSession(Shard &shard, const UserEntry &entry, std::string_view user) const;
    static ExpiryRule rulesFor(const AreaPolicy &policy);
    static TimeMs idleDeadline(const Slot &slot, const ExpiryRule &rules);
    static TimeMs absoluteDeadline(const Slot &slot, const ExpiryRule &rules);
    static TimeMs expiresAt(const Slot &slot, const ExpiryRule &rules);
    enum class Texts : std::uint8_t
    {
        Counted,  // the info holds the texts like any copy
        Borrowed, // for a reader under the shard's lock (SharedText::borrow)
    };
    SessionInfo infoOf(const IdHash &hash, const Slot &slot, const Shard &shard,
                       Texts texts = Texts::Counted) const;
    SessionError validateWith(std::string_view token, Touch touch, void *reader,
                              void (*read)(void *reader, const SessionInfo &info));
    void fillSubSessions(std::vector<SessionInfo> &rows) const;
    static SessionRecord recordOf(const IdHash &hash, const Slot &slot);
    // The inverse, moving the strings but the user's: the record's hash and user stay with the
    // caller, which passes the user's shared name (m_byUser).
    Slot slotOf(SessionRecord &&record, SharedText user) const;
    static void heapPush(Shard &shard, HeapEntry entry);
    // Of the shard's sessions whose ID hash begins with the 8 bytes `key` (one, but for a 2^-64 chance
    // of two), the one that expires first, and its expiry in `due`; end() when there is none.
    SessionMap::iterator firstExpiring(Shard &shard, std::uint64_t key, TimeMs *due) const;
    // The page of the unfiltered list from the shards' newest sessions, or nothing when they do not
    // reach that deep (then the list scans every session).
    std::optional<SessionPage> pageFromNewest(std::size_t offset, std::size_t limit) const;
    void rebuildHeap(Shard &shard);

    // Removes a session whose heap entry stays behind as a stale entry (caller holds the directory
    // and the shard lock). The sweeper removes expired sessions itself: their entries were popped.
    // revoked: ended by logout or an administrator rather than by expiry (see RemoveSession).
    void removeLocked(Shard &shard, SessionMap::iterator it, std::vector<StoreMutation> &mutations,
                      bool revoked);
    // The user's record is moved to a smaller one when left sparse, unless `shrink` is Later: the
    // sweeper does that once its shard lock is released (a move allocates, and the first touch of
    // a fresh block of memory took 5-9 ms on the benchmark's VM).
    enum class RecordShrink : std::uint8_t
    {
        Now,
        Later,
    };
    // Starts (counting every live session) or stops keeping m_byIp. Locks the directory, then each
    // shard in turn.
    void setIpCounting(bool on);
    // m_byIp.add / remove while counting; nothing otherwise. Under the directory lock.
    void countIp(std::string_view clientIp);
    void uncountIp(std::string_view clientIp);
    void directoryRemove(std::string_view user, std::string_view clientIp, const IdHash &hash,
                         TimeMs createdMs, RecordShrink shrink = RecordShrink::Now);
    SessionStore::Ticket submit(std::vector<StoreMutation> mutations);
    bool durable(SessionStore::Ticket ticket);
    void publish(Events &events);
    SessionEvent event(EventType type, TimeMs now) const;
    // An event about one session: its area, user, client IP and ID hash filled in.
    SessionEvent eventFor(EventType type, TimeMs now, const IdHash &hash, const Slot &slot) const;
    TimeMs now() const;
    ExpiryRules currentRules() const;

    // Shared store (several nodes): the local sessions are a cache of the store's.
    // syncSession asks the store about one session and brings the cache in line: None when it is
    // live (and then cached), else the error to report. syncUser does the same for every session
    // of a user (per-user limits, force logout).
    SessionError syncSession(const IdHash &hash, bool touch);
    bool syncUser(const std::string &user);
    void cacheUpsert(SessionRecord &&record);
    void cacheDrop(const IdHash &hash);
    bool syncAuthRoot(const IdHash &hash, bool *unavailable);

    std::size_t purgeExpiredOfUser(const std::string &user, TimeMs now, Events &events,
                                   std::vector<StoreMutation> &mutations);
    std::size_t sweepShard(Shard &shard, TimeMs now, std::size_t budget, Events &events);
    std::size_t sweepAuth(TimeMs now, std::size_t budget, Events &events);
    void maintenanceLoop(std::chrono::milliseconds interval);
    void countRejection(SessionError error);

    Options m_options;
    mutable TextPool m_userAgents;
    bool m_shared = false; // the store is shared by several nodes and is the authority
    Clock *m_clock;
    RandomSource *m_random;

    mutable std::mutex m_policyWriteMutex;
    mutable std::mutex m_policyMutex; // leaf lock guarding m_policy
    Policy m_policy;

    mutable std::mutex m_directoryMutex;
    // Sessions per client address, kept only while a per-IP cap is set (m_countIps; the default
    // policy sets one): with the cap off, every create and removal would pay a cache miss and the
    // table ~10 bytes per session for nothing. Setting a cap counts every live session first
    // (setIpCounting).
    IpCounts m_byIp;
    bool m_countIps = false; // guarded by m_directoryMutex

    // The shards' session entries and rows, and m_byUser's records, each from a resource of their
    // own (destroyed after what they hold): a restart fills the shards and the per-user index on
    // two threads at once, which one resource's lock made wait for each other.
    TableMemory m_tableMemory;
    TableMemory m_userMemory;
    UserDirectory m_byUser{&m_userMemory};
    std::vector<std::unique_ptr<Shard>> m_shards;

    mutable std::mutex m_authMutex;
    std::unordered_map<IdHash, AuthRoot, IdHashHasher> m_authRoots;
    std::vector<AuthHeapEntry> m_authHeap;
    std::size_t m_authTabs = 0;

    struct AtomicCounters
    {
        std::array<std::atomic<std::uint64_t>, kAreas.size()> active{};
        std::atomic<std::uint64_t> created{0}, validations{0}, rejectedMalformed{0}, rejectedUnknown{0},
            rejectedExpired{0}, rejectedLimit{0}, expired{0}, destroyed{0}, rotated{0}, forcedLogouts{0},
            sizeExceeded{0}, evictedAuthTabs{0}, expiryIndexRebuilds{0};
    };
    AtomicCounters m_counters;
    mutable std::atomic<std::uint64_t> m_listScans{0}; // counted by list(), a const query
    std::atomic<std::uint64_t> m_generation{0};

    std::mutex m_maintenanceMutex;
    std::condition_variable m_maintenanceWake;
    bool m_maintenanceStop = false;
    std::thread m_maintenanceThread;
};

} // namespace hourglass
