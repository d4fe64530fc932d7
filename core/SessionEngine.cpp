#include "SessionEngine.h"

#include "RandomSource.h"
#include "ThreadName.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>

namespace hourglass {

namespace {

constexpr std::size_t kAuthTabIdBytes = 8; // 11 base64url characters, like Keycloak's tab ids
// Rough per-object cost used for the authentication session memory estimate shown to admins.
constexpr std::size_t kAuthRootOverheadBytes = sizeof(AuthRootRecord) + 64;
constexpr std::size_t kAuthTabOverheadBytes = sizeof(AuthTabRecord) + 16;

bool heapGreater(const auto &a, const auto &b)
{
    return a.dueMs > b.dueMs;
}

// Ended sessions leave their heap entry behind; a shard's heap is rebuilt once those outnumber its
// live sessions plus this slack (amortised O(1) per removal). A small slack keeps the memory of a
// shard whose sessions come and go (few live, many ended) bounded at a few KiB: the soak test found
// the former 1,024 growing the heaps by 1.3 MB over minutes before the first rebuild.
constexpr std::size_t kStaleHeapSlack = 64;

TimeMs saturatingAdd(TimeMs a, TimeMs b)
{
    if (b > 0 && a > std::numeric_limits<TimeMs>::max() - b)
        return std::numeric_limits<TimeMs>::max();
    return a + b;
}

} // namespace

std::string_view sessionErrorName(SessionError error)
{
    switch (error) {
    case SessionError::None:
        return "ok";
    case SessionError::Malformed:
        return "malformed";
    case SessionError::Unknown:
        return "unknown";
    case SessionError::Expired:
        return "expired";
    case SessionError::UserLimitReached:
        return "user_limit_reached";
    case SessionError::IpLimitReached:
        return "ip_limit_reached";
    case SessionError::SizeExceeded:
        return "size_exceeded";
    case SessionError::RandomUnavailable:
        return "random_unavailable";
    case SessionError::StoreUnavailable:
        return "store_unavailable";
    case SessionError::InvalidArgument:
        return "invalid_argument";
    case SessionError::AuthSessionUnknown:
        return "auth_session_unknown";
    case SessionError::AuthSessionExpired:
        return "auth_session_expired";
    case SessionError::AuthTabUnknown:
        return "auth_tab_unknown";
    }
    return "unknown_error";
}

SessionEngine::SessionEngine(Options options, const Policy &policy)
    : m_options(options), m_shared(options.store && options.store->shared()),
      m_clock(options.clock ? options.clock : &SystemClock::instance()),
      m_random(options.random ? options.random : &OpenSslRandom::instance()), m_policy(policy),
      m_countIps(policy.maxSessionsPerIp > 0)
{
    const std::size_t shardCount = std::max<std::size_t>(1, m_options.shards);
    m_shards.reserve(shardCount);
    for (std::size_t i = 0; i < shardCount; ++i) {
        auto shard = std::make_unique<Shard>(&m_tableMemory);
        for (const Area area : kAreas)
            shard->rules[static_cast<std::size_t>(area)] = rulesFor(policy.area(area));
        m_shards.push_back(std::move(shard));
    }
}

SessionEngine::~SessionEngine()
{
    stopMaintenance();
}

TimeMs SessionEngine::now() const
{
    return m_clock->nowMs();
}

ExpiryRules SessionEngine::currentRules() const
{
    const Policy policy = this->policy();
    ExpiryRules rules{};
    for (const Area area : kAreas)
        rules[static_cast<std::size_t>(area)] = rulesFor(policy.area(area));
    return rules;
}

// ---- shared store: the local sessions are a cache ---------------------------------------------

void SessionEngine::cacheUpsert(SessionRecord &&record)
{
    Shard &shard = shardFor(record.hash);
    const auto update = [&](Slot &slot) {
        // Owner, area and creation never change; what other nodes change is brought over.
        slot.lastActivityMs = std::max(slot.lastActivityMs, record.lastActivityMs);
        slot.data = std::move(record.data);
        slot.rememberMe = record.rememberMe;
    };
    {
        std::lock_guard lock(shard.mutex);
        if (auto it = shard.sessions.find(record.hash); it != shard.sessions.end()) {
            update(it->second);
            return;
        }
    }
    std::lock_guard directoryLock(m_directoryMutex);
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.sessions.find(record.hash); it != shard.sessions.end()) {
        update(it->second);
        return;
    }
    const UserDirectory::Ref user = m_byUser.ensure(record.user);
    Slot slot = slotOf(std::move(record), m_byUser.name(user));
    auto [it, inserted] = shard.sessions.emplace(record.hash, std::move(slot));
    heapPush(shard,
             {expiresAt(it->second, shard.rules[static_cast<std::size_t>(it->second.area)]), record.hash});
    shard.newest.note({it->second.createdMs, record.hash}, m_options.newestPerShard);
    m_byUser.add(user, {record.hash, it->second.createdMs, it->second.area});
    countIp(textOf(it->second.clientIp));
    m_counters.active[static_cast<std::size_t>(it->second.area)].fetch_add(1, std::memory_order_relaxed);
}

void SessionEngine::cacheDrop(const IdHash &hash)
{
    Shard &shard = shardFor(hash);
    {
        std::lock_guard lock(shard.mutex);
        if (shard.sessions.find(hash) == shard.sessions.end())
            return;
    }
    std::lock_guard directoryLock(m_directoryMutex);
    std::lock_guard lock(shard.mutex);
    auto it = shard.sessions.find(hash);
    if (it == shard.sessions.end())
        return;
    directoryRemove(textOf(it->second.user), textOf(it->second.clientIp), hash, it->second.createdMs);
    m_counters.active[static_cast<std::size_t>(it->second.area)].fetch_sub(1, std::memory_order_relaxed);
    shard.sessions.erase(it);
    ++shard.staleHeapEntries;
    if (shard.staleHeapEntries > shard.sessions.size() + kStaleHeapSlack)
        rebuildHeap(shard);
}

SessionError SessionEngine::syncSession(const IdHash &hash, bool touch)
{
    std::string user;
    bool known = false;
    {
        Shard &shard = shardFor(hash);
        std::lock_guard lock(shard.mutex);
        if (auto it = shard.sessions.find(hash); it != shard.sessions.end()) {
            user = textOf(it->second.user);
            known = true;
        }
    }
    SessionStore::Fetched fetched =
        m_options.store->fetch(hash, known ? &user : nullptr, now(), currentRules(), touch);
    switch (fetched.status) {
    case SessionStore::FetchStatus::Live:
        cacheUpsert(std::move(fetched.record));
        return SessionError::None;
    case SessionStore::FetchStatus::Gone:
        cacheDrop(hash);
        return SessionError::Unknown;
    case SessionStore::FetchStatus::Expired:
        cacheDrop(hash);
        m_counters.expired.fetch_add(1, std::memory_order_relaxed);
        return SessionError::Expired;
    case SessionStore::FetchStatus::Unavailable:
        break;
    }
    return SessionError::StoreUnavailable;
}

bool SessionEngine::syncUser(const std::string &user)
{
    std::optional<std::vector<SessionRecord>> records =
        m_options.store->fetchUser(user, now(), currentRules());
    if (!records)
        return false;
    std::vector<IdHash> cached;
    {
        std::lock_guard directoryLock(m_directoryMutex);
        forEachSessionOfUser(user, [&](Shard &, SessionMap::iterator it) { cached.push_back(it->first); });
    }
    for (const IdHash &hash : cached) {
        const bool live = std::any_of(records->begin(), records->end(),
                                      [&](const SessionRecord &r) { return r.hash == hash; });
        if (!live)
            cacheDrop(hash);
    }
    for (SessionRecord &record : *records)
        cacheUpsert(std::move(record));
    return true;
}

bool SessionEngine::syncAuthRoot(const IdHash &hash, bool *unavailable)
{
    *unavailable = false;
    AuthRootRecord record;
    switch (m_options.store->fetchAuthRoot(hash, &record)) {
    case SessionStore::AuthFetch::Found: {
        const TimeMs flowMs = policy().loginFlowTimeoutMinutes * kMsPerMinute;
        std::lock_guard lock(m_authMutex);
        auto it = m_authRoots.find(hash);
        if (it == m_authRoots.end()) {
            m_authTabs += record.tabs.size();
            m_authHeap.push_back({saturatingAdd(record.lastActivityMs, flowMs), hash});
            std::push_heap(m_authHeap.begin(), m_authHeap.end(),
                           [](const auto &a, const auto &b) { return heapGreater(a, b); });
            m_authRoots.emplace(hash, AuthRoot{std::move(record), {}});
        } else {
            m_authTabs -= it->second.record.tabs.size();
            m_authTabs += record.tabs.size();
            it->second.record = std::move(record);
        }
        return true;
    }
    case SessionStore::AuthFetch::Gone: {
        std::lock_guard lock(m_authMutex);
        if (auto it = m_authRoots.find(hash); it != m_authRoots.end()) {
            m_authTabs -= it->second.record.tabs.size();
            m_authRoots.erase(it);
        }
        return false;
    }
    case SessionStore::AuthFetch::Unavailable:
        break;
    }
    *unavailable = true;
    return false;
}

std::size_t SessionEngine::shardIndex(std::uint64_t key) const
{
    // From the ID hash's first 8 bytes, so that a per-user entry, which keeps only those, finds the
    // shard too. Bits 32-35: a shard's table picks a row from the top bits (probing::homeRow), and
    // up to 2^28 rows it never reads these, so the shard and the row stay independent.
    return static_cast<std::size_t>((key >> 32) % m_shards.size());
}

SessionEngine::Shard &SessionEngine::shardFor(const IdHash &hash) const
{
    return *m_shards[shardIndex(hash.bucketHash())];
}

SessionEngine::Shard &SessionEngine::shardFor(const UserEntry &entry) const
{
    return *m_shards[shardIndex(entry.key)];
}

template<typename Visit> void SessionEngine::forEachSessionOfUser(std::string_view user, Visit visit) const
{
    const UserDirectory::Ref found = m_byUser.find(user);
    if (found == UserDirectory::npos)
        return;
    const std::span<const UserEntry> held = std::as_const(m_byUser).entries(found);
    const std::vector<UserEntry> entries(held.begin(), held.end());
    for (const UserEntry &entry : entries) {
        Shard &shard = shardFor(entry);
        std::lock_guard lock(shard.mutex);
        if (const auto session = findSession(shard, entry, user); session != shard.sessions.end())
            visit(shard, session);
    }
}

SessionEngine::SessionMap::iterator SessionEngine::findSession(Shard &shard, const UserEntry &entry,
                                                               std::string_view user) const
{
    // Another session with the same 8 bytes (a 2^-64 chance) is told apart by user and creation.
    SessionMap::iterator found = shard.sessions.end();
    shard.sessions.forEachWithKey(entry.key, [&](SessionMap::iterator it) {
        if (it->second.createdMs == entry.createdMs && textOf(it->second.user) == user)
            found = it;
    });
    return found;
}

ExpiryRule SessionEngine::rulesFor(const AreaPolicy &policy)
{
    return {policy.idleTimeoutMinutes * kMsPerMinute, policy.rememberMePeriodMinutes * kMsPerMinute,
            policy.maxTimeoutEnabled, policy.maxTimeoutMinutes * kMsPerMinute};
}

TimeMs SessionEngine::idleDeadline(const Slot &slot, const ExpiryRule &rules)
{
    // A remember-me session uses the remember-me period in place of the idle timeout.
    return saturatingAdd(slot.lastActivityMs, slot.rememberMe ? rules.rememberMeMs : rules.idleMs);
}

TimeMs SessionEngine::absoluteDeadline(const Slot &slot, const ExpiryRule &rules)
{
    // WSO2/Asgardeo maximum session timeout: counted from authentication, never extended by
    // activity or by remember-me.
    return rules.maxEnabled ? saturatingAdd(slot.authTimeMs, rules.maxMs) : SessionInfo::kNoDeadline;
}

TimeMs SessionEngine::expiresAt(const Slot &slot, const ExpiryRule &rules)
{
    return std::min(idleDeadline(slot, rules), absoluteDeadline(slot, rules));
}

SessionInfo SessionEngine::infoOf(const IdHash &hash, const Slot &slot, const Shard &shard, Texts texts) const
{
    const ExpiryRule &rules = shard.rules[static_cast<std::size_t>(slot.area)];
    SessionInfo info;
    info.hash = hash;
    info.user = texts == Texts::Borrowed ? SharedText::borrow(slot.user) : slot.user;
    info.area = slot.area;
    info.rememberMe = slot.rememberMe;
    info.clientIp = textOf(slot.clientIp);
    info.userAgent = texts == Texts::Borrowed ? SharedText::borrow(slot.userAgent) : slot.userAgent;
    info.createdMs = slot.createdMs;
    info.authTimeMs = slot.authTimeMs;
    info.lastActivityMs = slot.lastActivityMs;
    info.dataSize = slot.data.size();
    info.idleDeadlineMs = idleDeadline(slot, rules);
    info.absoluteDeadlineMs = absoluteDeadline(slot, rules);
    info.expiresAtMs = std::min(info.idleDeadlineMs, info.absoluteDeadlineMs);
    return info;
}

SessionEngine::Slot SessionEngine::slotOf(SessionRecord &&record, SharedText user) const
{
    Slot slot;
    slot.user = std::move(user);
    slot.clientIp = CompactText(record.clientIp);
    slot.userAgent = m_userAgents.intern(record.userAgent);
    slot.data = std::move(record.data);
    slot.createdMs = record.createdMs;
    slot.authTimeMs = record.authTimeMs;
    slot.lastActivityMs = record.lastActivityMs;
    slot.area = record.area;
    slot.rememberMe = record.rememberMe;
    return slot;
}

SessionRecord SessionEngine::recordOf(const IdHash &hash, const Slot &slot)
{
    return {hash,
            std::string(textOf(slot.user)),
            slot.area,
            slot.rememberMe,
            std::string(textOf(slot.clientIp)),
            std::string(textOf(slot.userAgent)),
            slot.createdMs,
            slot.authTimeMs,
            slot.lastActivityMs,
            slot.data.text()};
}

SessionEngine::SessionMap::iterator SessionEngine::firstExpiring(Shard &shard, std::uint64_t key,
                                                                 TimeMs *due) const
{
    SessionMap::iterator first = shard.sessions.end();
    shard.sessions.forEachWithKey(key, [&](SessionMap::iterator it) {
        const TimeMs expiry = expiresAt(it->second, shard.rules[static_cast<std::size_t>(it->second.area)]);
        if (!first || expiry < *due) {
            first = it;
            *due = expiry;
        }
    });
    return first;
}

void SessionEngine::heapPush(Shard &shard, HeapEntry entry)
{
    shard.heap.push_back(entry);
    std::push_heap(shard.heap.begin(), shard.heap.end(),
                   [](const auto &a, const auto &b) { return heapGreater(a, b); });
}

void SessionEngine::NewestSessions::keepNewer(std::optional<CreationKey> &slot, const CreationKey &key)
{
    if (!slot || newerFirst(key, *slot))
        slot = key;
}

void SessionEngine::NewestSessions::note(const CreationKey &key, std::size_t capacity)
{
    if (floor && !newerFirst(key, *floor))
        return; // no newer than one already forgotten: a page that reaches it scans anyway
    keys.push_back(key);
    if (keys.size() < 2 * capacity)
        return;
    // Keeps the newest `capacity`; the newest of the others becomes the floor.
    if (const auto forgotten = selectNewest(keys, capacity))
        keepNewer(floor, *forgotten);
    keys.resize(capacity);
}

void SessionEngine::NewestSessions::merge(const NewestSessions &other, std::size_t capacity)
{
    for (const CreationKey &key : other.keys)
        note(key, capacity);
    if (other.floor)
        keepNewer(floor, *other.floor);
}

void SessionEngine::NewestSessions::renew(std::span<CreationKey> all, std::size_t capacity)
{
    const std::size_t keep = std::min(all.size(), capacity);
    floor = selectNewest(all, keep);
    keys.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep));
}

std::optional<SessionEngine::CreationKey>
SessionEngine::NewestSessions::selectNewest(std::span<CreationKey> all, std::size_t keep)
{
    const auto nth = all.begin() + static_cast<std::ptrdiff_t>(keep);
    std::nth_element(all.begin(), nth, all.end(), newerFirst);
    if (keep < all.size()) // after nth_element, the newest of the rest
        return *nth;
    return std::nullopt;
}

std::optional<SessionPage> SessionEngine::pageFromNewest(std::size_t offset, std::size_t limit) const
{
    const std::size_t need = offset + std::min(limit, SIZE_MAX - offset);
    if (need > m_options.newestPerShard * m_shards.size())
        return std::nullopt;
    // Every session newer than the newest floor is among the shards' newest, so those keys in
    // order are the start of the whole list.
    std::vector<CreationKey> keys;
    keys.reserve(2 * m_options.newestPerShard * m_shards.size());
    std::optional<CreationKey> threshold;
    std::size_t total = 0;
    for (const auto &shard : m_shards) {
        std::lock_guard lock(shard->mutex);
        const NewestSessions &newest = shard->newest;
        keys.insert(keys.end(), newest.keys.begin(), newest.keys.end());
        if (newest.floor)
            NewestSessions::keepNewer(threshold, *newest.floor);
        total += shard->sessions.size();
    }
    if (threshold) {
        std::erase_if(keys, [&](const CreationKey &key) { return !newerFirst(key, *threshold); });
    }
    std::sort(keys.begin(), keys.end(), newerFirst);
    // A session dropped from a shared store's cache and brought back is noted twice.
    keys.erase(std::unique(keys.begin(), keys.end(),
                           [](const CreationKey &a, const CreationKey &b) { return a.hash == b.hash; }),
               keys.end());
    SessionPage page;
    std::size_t live = 0;
    for (auto key = keys.begin(); key != keys.end() && live < need; ++key) {
        Shard &shard = shardFor(key->hash);
        std::lock_guard lock(shard.mutex);
        const auto found = shard.sessions.find(key->hash);
        if (found == shard.sessions.end() || found->second.createdMs != key->createdMs)
            continue; // ended since
        if (live++ >= offset)
            page.rows.push_back(infoOf(key->hash, found->second, shard));
    }
    if (live < need && threshold)
        return std::nullopt; // older sessions are needed than the shards remember
    page.total = total;
    fillSubSessions(page.rows);
    return page;
}

void SessionEngine::rebuildHeap(Shard &shard)
{
    m_counters.expiryIndexRebuilds.fetch_add(1, std::memory_order_relaxed);
    shard.heap.clear();
    shard.heap.reserve(shard.sessions.size());
    for (const auto &[hash, slot] : shard.sessions.entries())
        shard.heap.push_back({expiresAt(slot, shard.rules[static_cast<std::size_t>(slot.area)]), hash});
    std::make_heap(shard.heap.begin(), shard.heap.end(),
                   [](const auto &a, const auto &b) { return heapGreater(a, b); });
    shard.staleHeapEntries = 0;
}

SessionEvent SessionEngine::event(EventType type, TimeMs time) const
{
    SessionEvent e;
    e.type = type;
    e.timeMs = time;
    return e;
}

SessionEvent SessionEngine::eventFor(EventType type, TimeMs time, const IdHash &hash, const Slot &slot) const
{
    SessionEvent e = event(type, time);
    e.area = slot.area;
    e.user = textOf(slot.user);
    e.clientIp = textOf(slot.clientIp);
    e.idHash = hash.toHex();
    return e;
}

void SessionEngine::publish(Events &events)
{
    if (m_options.events && !events.empty())
        m_options.events->publish(events);
}

SessionStore::Ticket SessionEngine::submit(std::vector<StoreMutation> mutations)
{
    // Every persistent change passes here, so this is where the change generation moves.
    if (!mutations.empty())
        m_generation.fetch_add(1, std::memory_order_relaxed);
    if (!m_options.store || mutations.empty())
        return 0;
    return m_options.store->submit(std::move(mutations));
}

bool SessionEngine::durable(SessionStore::Ticket ticket)
{
    if (!m_options.store || ticket == 0)
        return true;
    return m_options.store->waitDurable(ticket);
}

void SessionEngine::countRejection(SessionError error)
{
    switch (error) {
    case SessionError::Malformed:
        m_counters.rejectedMalformed.fetch_add(1, std::memory_order_relaxed);
        break;
    case SessionError::Expired:
        m_counters.rejectedExpired.fetch_add(1, std::memory_order_relaxed);
        break;
    case SessionError::UserLimitReached:
    case SessionError::IpLimitReached:
        m_counters.rejectedLimit.fetch_add(1, std::memory_order_relaxed);
        break;
    default:
        m_counters.rejectedUnknown.fetch_add(1, std::memory_order_relaxed);
        break;
    }
}

Policy SessionEngine::policy() const
{
    std::lock_guard lock(m_policyMutex);
    return m_policy;
}

ConfigResult SessionEngine::setPolicy(const Policy &policy)
{
    ConfigResult cross = SettingsSchema::validate(policy);
    if (!cross.ok())
        return cross;

    std::lock_guard writeLock(m_policyWriteMutex);
    const Policy previous = this->policy();
    if (previous == policy)
        return {};
    // A cap is published only once every live session is counted; counting stops only once no
    // cap is published (a create that read the old policy then finds no counts and no cap).
    const bool countIps = policy.maxSessionsPerIp > 0;
    if (countIps)
        setIpCounting(true);
    {
        std::lock_guard lock(m_policyMutex);
        m_policy = policy;
    }
    if (!countIps)
        setIpCounting(false);
    m_generation.fetch_add(1, std::memory_order_relaxed);
    for (auto &shard : m_shards) {
        std::lock_guard lock(shard->mutex);
        bool changed = false;
        for (const Area area : kAreas) {
            const ExpiryRule rules = rulesFor(policy.area(area));
            auto &current = shard->rules[static_cast<std::size_t>(area)];
            changed = changed || current.idleMs != rules.idleMs ||
                      current.rememberMeMs != rules.rememberMeMs || current.maxEnabled != rules.maxEnabled ||
                      current.maxMs != rules.maxMs;
            current = rules;
        }
        // Shorter timeouts may move expiries earlier than their heap entries: re-key the heap.
        if (changed)
            rebuildHeap(*shard);
    }
    Events events;
    SessionEvent e = event(EventType::PolicyChanged, now());
    for (const SettingKey &key : SettingsSchema::keys()) {
        if (key.get(previous) != key.get(policy)) {
            if (!e.detail.empty())
                e.detail += ", ";
            e.detail += key.path + "=" + SettingsSchema::format(key, key.get(policy));
        }
    }
    events.push_back(std::move(e));
    publish(events);
    return {};
}

void SessionEngine::setIpCounting(bool on)
{
    std::lock_guard directoryLock(m_directoryMutex);
    if (m_countIps == on)
        return;
    m_byIp.clear();
    if (on) {
        m_byIp.reserve(sessionCount());
        for (auto &shard : m_shards) {
            std::lock_guard lock(shard->mutex);
            for (const auto &[hash, slot] : shard->sessions.entries())
                m_byIp.add(textOf(slot.clientIp));
        }
    }
    m_countIps = on;
}

void SessionEngine::countIp(std::string_view clientIp)
{
    if (m_countIps)
        m_byIp.add(clientIp);
}

void SessionEngine::uncountIp(std::string_view clientIp)
{
    if (m_countIps)
        m_byIp.remove(clientIp);
}

void SessionEngine::directoryRemove(std::string_view user, std::string_view clientIp, const IdHash &hash,
                                    TimeMs createdMs, RecordShrink shrink)
{
    if (const UserDirectory::Ref found = m_byUser.find(user); found != UserDirectory::npos) {
        const std::span<UserEntry> entries = m_byUser.entries(found);
        // One entry: two sessions of a user with the same 8 bytes and creation time would differ
        // only in the rest of their hashes, and each has its entry.
        if (const auto entry = std::find_if(entries.begin(), entries.end(),
                                            [&](const UserEntry &e) { return e.isOf(hash, createdMs); });
            entry != entries.end()) {
            const bool last = entries.size() == 1;
            m_byUser.removeEntry(found, std::size_t(entry - entries.begin())); // the last erases the user
            if (!last && shrink == RecordShrink::Now)
                m_byUser.shrinkRecord(found);
        }
    }
    uncountIp(clientIp);
}

void SessionEngine::removeLocked(Shard &shard, SessionMap::iterator it, std::vector<StoreMutation> &mutations,
                                 bool revoked)
{
    const IdHash hash = it->first;
    StoreMutation::RemoveSession remove{
        hash,
        it->second.createdMs,
        std::string(textOf(it->second.user)),
        revoked,
        expiresAt(it->second, shard.rules[static_cast<std::size_t>(it->second.area)]),
        now()};
    directoryRemove(textOf(it->second.user), textOf(it->second.clientIp), hash, it->second.createdMs);
    m_counters.active[static_cast<std::size_t>(it->second.area)].fetch_sub(1, std::memory_order_relaxed);
    shard.sessions.erase(it);
    ++shard.staleHeapEntries;
    mutations.push_back({std::move(remove)});
    // Destroyed sessions leave stale heap entries behind; bound them by the live count.
    if (shard.staleHeapEntries > shard.sessions.size() + kStaleHeapSlack)
        rebuildHeap(shard);
}

std::size_t SessionEngine::purgeExpiredOfUser(const std::string &user, TimeMs time, Events &events,
                                              std::vector<StoreMutation> &mutations)
{
    std::size_t removed = 0;
    forEachSessionOfUser(user, [&](Shard &shard, SessionMap::iterator it) {
        if (expiresAt(it->second, shard.rules[static_cast<std::size_t>(it->second.area)]) <= time) {
            events.push_back(eventFor(EventType::Expired, time, it->first, it->second));
            removeLocked(shard, it, mutations, false);
            m_counters.expired.fetch_add(1, std::memory_order_relaxed);
            ++removed;
        }
    });
    return removed;
}

CreateResult SessionEngine::create(const CreateParams &params)
{
    PendingCreate pending = beginCreate(params);
    const bool ok = durable(pending.ticket);
    return finishCreate(std::move(pending), ok);
}

bool SessionEngine::createsAsynchronously() const
{
    return !m_shared && (!m_options.store || m_options.store->notifiesDurability());
}

void SessionEngine::createAsync(const CreateParams &params, std::function<void(CreateResult)> done)
{
    PendingCreate pending = beginCreate(params);
    if (!m_options.store || pending.ticket == 0) {
        done(finishCreate(std::move(pending), true));
        return;
    }
    const SessionStore::Ticket ticket = pending.ticket;
    m_options.store->whenDurable(
        ticket, [this, pending = std::move(pending), done = std::move(done)](bool ok) mutable {
            done(finishCreate(std::move(pending), ok));
        });
}

SessionEngine::PendingCreate SessionEngine::beginCreate(const CreateParams &params)
{
    PendingCreate pending;
    CreateResult &result = pending.result;
    if (params.user.empty()) {
        result.error = SessionError::InvalidArgument;
        return pending;
    }
    std::optional<SessionToken> token = SessionToken::generate(*m_random);
    if (!token) {
        result.error = SessionError::RandomUnavailable;
        return pending;
    }
    const IdHash hash = token->hash();
    const Policy policy = this->policy();
    const AreaPolicy &areaPolicy = policy.area(params.area);
    // Per-user limits count the sessions on every node.
    if (m_shared && areaPolicy.maxSessionsPerUser > 0 && !syncUser(params.user)) {
        result.error = SessionError::StoreUnavailable;
        return pending;
    }
    pending.token = std::move(token);

    Events events;
    std::vector<StoreMutation> mutations;
    {
        std::lock_guard directoryLock(m_directoryMutex);
        const TimeMs time = now();

        // Whenever a cap is published every session is counted (setPolicy counts first); a newer
        // policy without one may have emptied the counts since, and then nothing is refused.
        if (policy.maxSessionsPerIp > 0 &&
            m_byIp.count(params.clientIp) >= static_cast<std::size_t>(policy.maxSessionsPerIp)) {
            SessionEvent e = event(EventType::LimitHit, time);
            e.area = params.area;
            e.user = params.user;
            e.clientIp = params.clientIp;
            e.count = policy.maxSessionsPerIp;
            e.detail = "per-IP session cap reached";
            events.push_back(std::move(e));
            result.error = SessionError::IpLimitReached;
        }

        if (result.error == SessionError::None && areaPolicy.maxSessionsPerUser > 0) {
            const auto limit = static_cast<std::size_t>(areaPolicy.maxSessionsPerUser);
            const auto countInArea = [&] {
                const UserDirectory::Ref found = m_byUser.find(params.user);
                if (found == UserDirectory::npos)
                    return std::size_t(0);
                const std::span<const UserEntry> entries = std::as_const(m_byUser).entries(found);
                return static_cast<std::size_t>(
                    std::count_if(entries.begin(), entries.end(),
                                  [&](const UserEntry &u) { return u.area() == params.area; }));
            };
            if (countInArea() >= limit)
                purgeExpiredOfUser(params.user, time, events, mutations);
            if (countInArea() >= limit) {
                SessionEvent e = event(EventType::LimitHit, time);
                e.area = params.area;
                e.user = params.user;
                e.clientIp = params.clientIp;
                e.count = areaPolicy.maxSessionsPerUser;
                if (areaPolicy.perUserLimitAction == UserLimitAction::Deny) {
                    e.detail = "per-user session limit reached: new session denied";
                    result.error = SessionError::UserLimitReached;
                    events.push_back(std::move(e));
                } else {
                    e.detail = "per-user session limit reached: oldest session terminated";
                    events.push_back(std::move(e));
                    while (countInArea() >= limit) {
                        // Present: countInArea() found at least one entry.
                        const UserDirectory::Ref found = m_byUser.find(params.user);
                        const std::span<UserEntry> entries = m_byUser.entries(found);
                        auto oldest = entries.end();
                        for (auto it = entries.begin(); it != entries.end(); ++it) {
                            if (it->area() == params.area &&
                                (oldest == entries.end() || it->createdMs < oldest->createdMs))
                                oldest = it;
                        }
                        Shard &shard = shardFor(*oldest);
                        std::lock_guard lock(shard.mutex);
                        auto slotIt = findSession(shard, *oldest, params.user);
                        if (slotIt == shard.sessions.end()) { // defensive: index out of step
                            m_byUser.removeEntry(found, std::size_t(oldest - entries.begin()));
                            continue;
                        }
                        const IdHash victim = slotIt->first;
                        SessionEvent d = eventFor(EventType::Destroyed, time, victim, slotIt->second);
                        d.detail = "terminated: per-user limit, oldest session";
                        events.push_back(std::move(d));
                        removeLocked(shard, slotIt, mutations, true);
                        m_counters.destroyed.fetch_add(1, std::memory_order_relaxed);
                        result.displaced.push_back(victim);
                    }
                }
            }
        }

        if (result.error == SessionError::None) {
            // The per-user and per-IP tables may grow (a rehash) here, before the shard lock:
            // validations of the shard do not wait for it.
            const UserDirectory::Ref user = m_byUser.ensure(params.user);
            countIp(params.clientIp);
            Shard &shard = shardFor(hash);
            std::lock_guard lock(shard.mutex);
            Slot slot;
            slot.user = m_byUser.name(user);
            slot.clientIp = CompactText(params.clientIp);
            slot.userAgent = m_userAgents.intern(params.userAgent);
            slot.createdMs = time;
            slot.authTimeMs = time;
            slot.lastActivityMs = time;
            slot.area = params.area;
            slot.rememberMe = params.rememberMe;
            auto [it, inserted] = shard.sessions.emplace(hash, std::move(slot));
            if (!inserted) { // a 2^-256 event, but never overwrite a live session
                result.error = SessionError::RandomUnavailable;
                m_byUser.eraseIfEmpty(user); // no user without sessions
                uncountIp(params.clientIp);
            } else {
                heapPush(shard,
                         {expiresAt(it->second, shard.rules[static_cast<std::size_t>(params.area)]), hash});
                if (m_options.store) {
                    mutations.push_back({StoreMutation::PutSession{
                        recordOf(hash, it->second),
                        expiresAt(it->second, shard.rules[static_cast<std::size_t>(params.area)]),
                        std::nullopt}});
                } else {
                    // Memory only: no copy of the session for a store. submit() counts a change by
                    // its mutations, so this one is counted here.
                    m_generation.fetch_add(1, std::memory_order_relaxed);
                }
                shard.newest.note({time, hash}, m_options.newestPerShard);
                m_byUser.add(user, {hash, time, params.area});
                m_counters.active[static_cast<std::size_t>(params.area)].fetch_add(1,
                                                                                   std::memory_order_relaxed);
                result.info = infoOf(hash, it->second, shard);
                if (m_options.events) { // its text costs four allocations: none when no one listens
                    SessionEvent e = event(EventType::Created, time);
                    e.area = params.area;
                    e.user = params.user;
                    e.clientIp = params.clientIp;
                    e.idHash = hash.toHex();
                    e.detail = params.rememberMe ? "remember-me" : "";
                    events.push_back(std::move(e));
                }
            }
        }
        pending.ticket = submit(std::move(mutations));
    }
    publish(events);
    return pending;
}

CreateResult SessionEngine::finishCreate(PendingCreate &&pending, bool durable)
{
    CreateResult &result = pending.result;
    // On an error, the ticket (if any) carried displaced or expired removals: they went to the store.
    if (result.error != SessionError::None) {
        countRejection(result.error);
        return std::move(result);
    }
    if (!durable) {
        // Never acknowledge a session that is not durable: take it back out of memory. Its
        // creation was not written, so there is nothing to wait for.
        SessionStore::Ticket ignored = 0;
        endInMemory(pending.token->hash(), "rolled back: store unavailable", &ignored);
        result = CreateResult{};
        result.error = SessionError::StoreUnavailable;
        return std::move(result);
    }
    m_counters.created.fetch_add(1, std::memory_order_relaxed);
    result.token = pending.token->text();
    return std::move(result);
}

ValidateResult SessionEngine::validate(std::string_view tokenText, Touch touch)
{
    ValidateResult result;
    result.error = validate(tokenText, touch, [&](const SessionInfo &info) { result.info = info; });
    return result;
}

SessionError SessionEngine::validateWith(std::string_view tokenText, Touch touch, void *reader,
                                         void (*read)(void *reader, const SessionInfo &info))
{
    SessionError error = SessionError::None;
    m_counters.validations.fetch_add(1, std::memory_order_relaxed);
    const std::optional<IdHash> token = SessionToken::hashOf(tokenText);
    if (!token) {
        error = SessionError::Malformed;
        countRejection(error);
        return error;
    }
    const IdHash hash = *token;
    if (m_shared) {
        // One round trip: the store decides validity and touches the session.
        error = syncSession(hash, touch == Touch::Yes);
        if (error != SessionError::None) {
            if (error != SessionError::StoreUnavailable)
                countRejection(error);
            return error;
        }
    }
    Shard &shard = shardFor(hash);
    {
        std::lock_guard lock(shard.mutex);
        // The clock is read while the row is on its way: at a million sessions the row misses
        // the cache, and the clock's ~30 ns no longer follow that miss but overlap it.
        shard.sessions.prefetch(hash);
        const TimeMs time = now();
        auto it = shard.sessions.find(hash);
        if (it == shard.sessions.end()) {
            error = SessionError::Unknown;
        } else {
            Slot &slot = it->second;
            if (expiresAt(slot, shard.rules[static_cast<std::size_t>(slot.area)]) <= time) {
                error = SessionError::Expired; // the sweeper reclaims it
            } else {
                // A shared store was touched already; the touch is still queued so that the store
                // can extend what depends on the session (its lookup key) once per second.
                if (touch == Touch::Yes && (time > slot.lastActivityMs || m_shared)) {
                    const ExpiryRule &rules = shard.rules[static_cast<std::size_t>(slot.area)];
                    const TimeMs step = touchStep(slot.rememberMe ? rules.rememberMeMs : rules.idleMs);
                    const bool nextStep = time / step != slot.lastActivityMs / step;
                    slot.lastActivityMs = std::max(slot.lastActivityMs, time); // slides the idle horizon only
                    slot.activityUnsaved = true;
                    if (!slot.touchDirty && (nextStep || m_shared)) {
                        slot.touchDirty = true;
                        shard.dirty.push_back(hash);
                    }
                }
                read(reader, infoOf(hash, slot, shard, Texts::Borrowed));
            }
        }
    }
    if (error != SessionError::None)
        countRejection(error);
    return error;
}

RotateResult SessionEngine::rotate(std::string_view tokenText)
{
    RotateResult result;
    const std::optional<IdHash> token = SessionToken::hashOf(tokenText);
    if (!token) {
        result.error = SessionError::Malformed;
        countRejection(result.error);
        return result;
    }
    std::optional<SessionToken> fresh = SessionToken::generate(*m_random);
    if (!fresh) {
        result.error = SessionError::RandomUnavailable;
        return result;
    }
    const IdHash oldHash = *token;
    const IdHash newHash = fresh->hash();
    if (m_shared) {
        if (const SessionError error = syncSession(oldHash, false); error != SessionError::None) {
            result.error = error;
            if (error != SessionError::StoreUnavailable)
                countRejection(error);
            return result;
        }
    }
    Events events;
    std::vector<StoreMutation> mutations;
    SessionStore::Ticket ticket = 0;
    {
        std::lock_guard directoryLock(m_directoryMutex);
        const TimeMs time = now();
        Slot moved;
        {
            Shard &shard = shardFor(oldHash);
            std::lock_guard lock(shard.mutex);
            auto it = shard.sessions.find(oldHash);
            if (it == shard.sessions.end()) {
                result.error = SessionError::Unknown;
            } else if (expiresAt(it->second, shard.rules[static_cast<std::size_t>(it->second.area)]) <=
                       time) {
                result.error = SessionError::Expired;
            } else {
                const TimeMs oldExpiry =
                    expiresAt(it->second, shard.rules[static_cast<std::size_t>(it->second.area)]);
                moved = std::move(it->second);
                shard.sessions.erase(it);
                ++shard.staleHeapEntries;
                mutations.push_back({StoreMutation::RemoveSession{
                    oldHash, moved.createdMs, std::string(textOf(moved.user)), true, oldExpiry, time}});
            }
        }
        if (result.error == SessionError::None) {
            moved.lastActivityMs = std::max(moved.lastActivityMs, time);
            moved.touchDirty = false;
            moved.activityUnsaved = false; // written with the new hash
            Shard &shard = shardFor(newHash);
            std::lock_guard lock(shard.mutex);
            auto [it, inserted] = shard.sessions.emplace(newHash, std::move(moved));
            heapPush(shard, {expiresAt(it->second, shard.rules[static_cast<std::size_t>(it->second.area)]),
                             newHash});
            // Same place in the list, under the new hash.
            shard.newest.note({it->second.createdMs, newHash}, m_options.newestPerShard);
            mutations.push_back({StoreMutation::PutSession{
                recordOf(newHash, it->second),
                expiresAt(it->second, shard.rules[static_cast<std::size_t>(it->second.area)]), oldHash}});
            if (const UserDirectory::Ref user = m_byUser.find(textOf(it->second.user));
                user != UserDirectory::npos) {
                for (UserEntry &entry : m_byUser.entries(user)) {
                    if (entry.isOf(oldHash, it->second.createdMs)) {
                        entry.key = newHash.bucketHash();
                        break;
                    }
                }
            }
            result.info = infoOf(newHash, it->second, shard);
            SessionEvent e = eventFor(EventType::Rotated, time, newHash, it->second);
            e.detail = "previous " + oldHash.toHex();
            events.push_back(std::move(e));
        }
        ticket = submit(std::move(mutations));
    }
    publish(events);
    if (result.error != SessionError::None) {
        countRejection(result.error);
        return result;
    }
    if (!durable(ticket)) {
        // The old identifier is already dead in memory; the new one is not acknowledged.
        revoke(newHash, "rolled back: store unavailable");
        return RotateResult{SessionError::StoreUnavailable, {}, oldHash, {}};
    }
    m_counters.rotated.fetch_add(1, std::memory_order_relaxed);
    result.token = fresh->text();
    result.previousHash = oldHash;
    return result;
}

SetDataResult SessionEngine::setData(std::string_view tokenText, std::string data)
{
    SetDataResult result;
    const std::optional<IdHash> token = SessionToken::hashOf(tokenText);
    if (!token) {
        result.error = SessionError::Malformed;
        countRejection(result.error);
        return result;
    }
    const IdHash hash = *token;
    const Policy policy = this->policy();
    if (m_shared) {
        if (const SessionError error = syncSession(hash, false); error != SessionError::None) {
            result.error = error;
            if (error != SessionError::StoreUnavailable)
                countRejection(error);
            return result;
        }
    }
    Events events;
    SessionStore::Ticket ticket = 0;
    {
        Shard &shard = shardFor(hash);
        std::lock_guard lock(shard.mutex);
        auto it = shard.sessions.find(hash);
        const TimeMs time = now();
        if (it == shard.sessions.end()) {
            result.error = SessionError::Unknown;
        } else if (expiresAt(it->second, shard.rules[static_cast<std::size_t>(it->second.area)]) <= time) {
            result.error = SessionError::Expired;
        } else {
            Slot &slot = it->second;
            const std::int64_t limit = policy.area(slot.area).maxSessionSizeBytes;
            result.limitBytes = static_cast<std::size_t>(limit);
            if (limit > 0 && data.size() > static_cast<std::size_t>(limit)) {
                // Magento: admin → an error is shown; storefront → silently not stored. Both logged.
                SessionEvent e = eventFor(EventType::SizeExceeded, time, hash, slot);
                e.count = static_cast<std::int64_t>(data.size());
                e.detail = "session size " + std::to_string(data.size()) + " bytes exceeds limit of " +
                           std::to_string(limit) + " bytes";
                events.push_back(std::move(e));
                m_counters.sizeExceeded.fetch_add(1, std::memory_order_relaxed);
                if (slot.area == Area::Admin)
                    result.error = SessionError::SizeExceeded;
                else
                    result.dropped = true;
            } else {
                slot.data = std::move(data);
                slot.lastActivityMs = std::max(slot.lastActivityMs, time);
                slot.activityUnsaved = false; // written with the data
                std::vector<StoreMutation> mutations;
                mutations.push_back({StoreMutation::SetData{
                    hash, slot.createdMs, slot.data.text(), slot.lastActivityMs,
                    std::string(textOf(slot.user)),
                    expiresAt(slot, shard.rules[static_cast<std::size_t>(slot.area)])}});
                ticket = submit(std::move(mutations));
            }
            if (result.error == SessionError::None)
                result.info = infoOf(hash, slot, shard);
        }
    }
    publish(events);
    if (result.error == SessionError::Unknown || result.error == SessionError::Expired)
        countRejection(result.error);
    if (result.error == SessionError::None && !durable(ticket))
        result.error = SessionError::StoreUnavailable;
    return result;
}

GetDataResult SessionEngine::getData(std::string_view tokenText)
{
    GetDataResult result;
    const std::optional<IdHash> token = SessionToken::hashOf(tokenText);
    if (!token) {
        result.error = SessionError::Malformed;
        countRejection(result.error);
        return result;
    }
    const IdHash hash = *token;
    if (m_shared) {
        if (const SessionError error = syncSession(hash, false); error != SessionError::None) {
            result.error = error;
            if (error != SessionError::StoreUnavailable)
                countRejection(error);
            return result;
        }
    }
    Shard &shard = shardFor(hash);
    std::lock_guard lock(shard.mutex);
    auto it = shard.sessions.find(hash);
    if (it == shard.sessions.end()) {
        result.error = SessionError::Unknown;
    } else if (expiresAt(it->second, shard.rules[static_cast<std::size_t>(it->second.area)]) <= now()) {
        result.error = SessionError::Expired;
    } else {
        result.data = it->second.data.text();
        result.info = infoOf(hash, it->second, shard);
    }
    if (result.error != SessionError::None)
        countRejection(result.error);
    return result;
}

SessionError SessionEngine::destroy(std::string_view tokenText)
{
    const std::optional<IdHash> token = SessionToken::hashOf(tokenText);
    if (!token) {
        countRejection(SessionError::Malformed);
        return SessionError::Malformed;
    }
    return revoke(*token, "logout");
}

SessionError SessionEngine::revoke(const IdHash &hash, std::string_view reason)
{
    if (m_shared) {
        if (const SessionError error = syncSession(hash, false); error != SessionError::None)
            return error;
    }
    SessionStore::Ticket ticket = 0;
    const SessionError error = endInMemory(hash, reason, &ticket);
    if (error == SessionError::None && !durable(ticket))
        return SessionError::StoreUnavailable; // ended in memory, but not yet durably
    return error;
}

SessionError SessionEngine::endInMemory(const IdHash &hash, std::string_view reason,
                                        SessionStore::Ticket *ticket)
{
    Events events;
    SessionError error = SessionError::None;
    {
        std::lock_guard directoryLock(m_directoryMutex);
        Shard &shard = shardFor(hash);
        std::lock_guard lock(shard.mutex);
        auto it = shard.sessions.find(hash);
        if (it == shard.sessions.end()) {
            error = SessionError::Unknown;
        } else {
            SessionEvent e = eventFor(EventType::Destroyed, now(), hash, it->second);
            e.detail = std::string(reason);
            events.push_back(std::move(e));
            std::vector<StoreMutation> mutations;
            removeLocked(shard, it, mutations, true);
            *ticket = submit(std::move(mutations));
            m_counters.destroyed.fetch_add(1, std::memory_order_relaxed);
        }
    }
    publish(events);
    return error;
}

std::size_t SessionEngine::forceLogout(std::string_view userView, std::optional<IdHash> except,
                                       std::optional<Area> area, bool *durableOut)
{
    const std::string user(userView);
    Events events;
    std::size_t ended = 0;
    SessionStore::Ticket ticket = 0;
    // Sessions on other nodes are brought in first; should that fail, the "not before" record
    // below still ends them on every node.
    if (m_shared)
        syncUser(user);
    {
        std::lock_guard directoryLock(m_directoryMutex);
        const TimeMs time = now();
        if (!m_shared && m_byUser.find(user) == UserDirectory::npos) {
            if (durableOut)
                *durableOut = true;
            return 0;
        }
        std::vector<StoreMutation> mutations;
        if (m_shared) {
            TimeMs keepFor = 0;
            {
                std::lock_guard policyLock(m_policyMutex);
                for (const Area a : kAreas) {
                    const AreaPolicy &p = m_policy.area(a);
                    keepFor = std::max({keepFor, p.idleTimeoutMinutes * kMsPerMinute,
                                        p.rememberMePeriodMinutes * kMsPerMinute,
                                        p.maxTimeoutEnabled ? p.maxTimeoutMinutes * kMsPerMinute : 0});
                }
            }
            mutations.push_back({StoreMutation::RevokeUser{user, area, except, time, keepFor}});
        }
        forEachSessionOfUser(user, [&](Shard &shard, SessionMap::iterator it) {
            if ((area && it->second.area != *area) || (except && it->first == *except))
                return;
            removeLocked(shard, it, mutations, true);
            ++ended;
        });
        ticket = submit(std::move(mutations));
        SessionEvent e = event(EventType::ForceLogout, time);
        e.user = user;
        e.area = area.value_or(Area::Admin);
        e.count = static_cast<std::int64_t>(ended);
        e.idHash = except ? except->toHex() : std::string();
        e.detail = except ? "all sessions ended except the current one" : "all sessions ended";
        events.push_back(std::move(e));
    }
    m_counters.forcedLogouts.fetch_add(ended, std::memory_order_relaxed);
    publish(events);
    const bool ok = durable(ticket);
    if (durableOut)
        *durableOut = ok;
    return ended;
}

std::optional<SessionInfo> SessionEngine::find(const IdHash &hash) const
{
    Shard &shard = shardFor(hash);
    std::lock_guard lock(shard.mutex);
    auto it = shard.sessions.find(hash);
    if (it == shard.sessions.end())
        return std::nullopt;
    return infoOf(hash, it->second, shard);
}

SessionPage SessionEngine::list(const SessionQuery &query) const
{
    // Shared store: every node's sessions, paged by the store (by user or area; the text and
    // client IP filters search this node's cache).
    if (m_shared && query.text.empty() && query.clientIp.empty()) {
        const ExpiryRules rules = currentRules();
        SessionStore::SharedQuery shared{query.user, query.area, query.offset, query.limit};
        if (auto page = m_options.store->sharedList(shared, now(), rules)) {
            SessionPage result;
            result.total = page->total;
            result.rows.reserve(page->rows.size());
            for (SessionRecord &record : page->rows) {
                SharedText user = SharedText::make(record.user);
                Slot slot = slotOf(std::move(record), std::move(user));
                const Shard &shard = shardFor(record.hash);
                SessionInfo info;
                {
                    std::lock_guard lock(shard.mutex);
                    info = infoOf(record.hash, slot, shard);
                }
                result.rows.push_back(std::move(info));
            }
            fillSubSessions(result.rows);
            return result;
        }
    }
    const bool unfiltered = query.user.empty() && query.text.empty() && !query.area && query.clientIp.empty();
    if (unfiltered) {
        if (auto page = pageFromNewest(query.offset, query.limit))
            return std::move(*page);
        m_listScans.fetch_add(1, std::memory_order_relaxed);
    }
    // Matching sessions are first collected as small keys (creation time, hash), so that a page of
    // 1,000,000 sessions sorts 40-byte keys and copies only the rows it returns.
    std::vector<CreationKey> matches;
    const auto matchesQuery = [&](const Slot &slot) {
        if (query.area && slot.area != *query.area)
            return false;
        if (!query.user.empty() && textOf(slot.user) != query.user)
            return false;
        if (!query.clientIp.empty() && textOf(slot.clientIp) != query.clientIp)
            return false;
        if (!query.text.empty() && textOf(slot.user).find(query.text) == std::string_view::npos &&
            textOf(slot.clientIp).find(query.text) == std::string_view::npos)
            return false;
        return true;
    };
    if (!query.user.empty()) {
        std::lock_guard directoryLock(m_directoryMutex);
        forEachSessionOfUser(query.user, [&](Shard &, SessionMap::iterator it) {
            if (matchesQuery(it->second))
                matches.push_back({it->second.createdMs, it->first});
        });
    } else {
        // One allocation for the keys (a reserve per shard would copy them again for every shard).
        matches.reserve(sessionCount() + 1024);
        for (const auto &shard : m_shards) {
            std::lock_guard lock(shard->mutex);
            const std::size_t first = matches.size();
            for (const auto &[hash, slot] : shard->sessions.entries()) {
                if (matchesQuery(slot))
                    matches.push_back({slot.createdMs, hash});
            }
            if (unfiltered) // every session of the shard is at hand: remember its newest afresh
                shard->newest.renew(std::span(matches).subspan(first), m_options.newestPerShard);
        }
    }
    SessionPage page;
    page.total = matches.size();
    if (query.offset >= matches.size())
        return page;
    const std::size_t end = std::min(matches.size(), query.offset + query.limit);
    const auto first = matches.begin() + static_cast<std::ptrdiff_t>(query.offset);
    const auto last = matches.begin() + static_cast<std::ptrdiff_t>(end);
    // Only the keys up to the page's end are ordered: O(n) selection, then O(k log k).
    std::nth_element(matches.begin(), first, matches.end(), newerFirst);
    std::nth_element(first, last - 1, matches.end(), newerFirst);
    std::sort(first, last, newerFirst);
    page.rows.reserve(end - query.offset);
    for (auto it = first; it != last; ++it) {
        Shard &shard = shardFor(it->hash);
        std::lock_guard lock(shard.mutex);
        // A session that ended since it was matched is left out of this page.
        if (auto found = shard.sessions.find(it->hash); found != shard.sessions.end())
            page.rows.push_back(infoOf(it->hash, found->second, shard));
    }
    fillSubSessions(page.rows);
    return page;
}

std::size_t SessionEngine::sessionCount() const
{
    std::size_t total = 0;
    for (const auto &shard : m_shards) {
        std::lock_guard lock(shard->mutex);
        total += shard->sessions.size();
    }
    return total;
}

EngineCounters SessionEngine::counters() const
{
    EngineCounters c;
    for (std::size_t i = 0; i < kAreas.size(); ++i)
        c.active[i] = m_counters.active[i].load(std::memory_order_relaxed);
    // Shared store: the sessions of every node, not this node's cache.
    if (m_shared) {
        if (const auto shared = m_options.store->sharedCounts()) {
            for (std::size_t i = 0; i < kAreas.size(); ++i)
                c.active[i] = (*shared)[i];
        }
    }
    c.created = m_counters.created.load(std::memory_order_relaxed);
    c.validations = m_counters.validations.load(std::memory_order_relaxed);
    c.rejectedMalformed = m_counters.rejectedMalformed.load(std::memory_order_relaxed);
    c.rejectedUnknown = m_counters.rejectedUnknown.load(std::memory_order_relaxed);
    c.rejectedExpired = m_counters.rejectedExpired.load(std::memory_order_relaxed);
    c.rejectedLimit = m_counters.rejectedLimit.load(std::memory_order_relaxed);
    c.expired = m_counters.expired.load(std::memory_order_relaxed);
    c.destroyed = m_counters.destroyed.load(std::memory_order_relaxed);
    c.rotated = m_counters.rotated.load(std::memory_order_relaxed);
    c.forcedLogouts = m_counters.forcedLogouts.load(std::memory_order_relaxed);
    c.sizeExceeded = m_counters.sizeExceeded.load(std::memory_order_relaxed);
    c.evictedAuthTabs = m_counters.evictedAuthTabs.load(std::memory_order_relaxed);
    c.expiryIndexRebuilds = m_counters.expiryIndexRebuilds.load(std::memory_order_relaxed);
    c.listScans = m_listScans.load(std::memory_order_relaxed);
    {
        std::lock_guard directoryLock(m_directoryMutex);
        c.indexBytes = m_byUser.bytes() + m_byIp.tableBytes();
    }
    for (const auto &shard : m_shards) {
        std::lock_guard lock(shard->mutex);
        c.sessionTableBytes += shard->sessions.bytes();
    }
    return c;
}

// ---- authentication sessions ------------------------------------------------------------------

AuthStartResult SessionEngine::startAuthentication(std::string_view rootTokenText, std::string_view clientIp)
{
    AuthStartResult result;
    std::array<std::uint8_t, kAuthTabIdBytes> tabBytes{};
    if (!m_random->fill(tabBytes.data(), tabBytes.size())) {
        result.error = SessionError::RandomUnavailable;
        return result;
    }
    const std::string tabId = base64UrlEncode(tabBytes.data(), tabBytes.size());
    const Policy policy = this->policy();
    const TimeMs flowMs = policy.loginFlowTimeoutMinutes * kMsPerMinute;
    if (m_shared) {
        if (const std::optional<IdHash> token = SessionToken::hashOf(rootTokenText)) {
            bool unavailable = false;
            syncAuthRoot(*token, &unavailable);
            if (unavailable) {
                result.error = SessionError::StoreUnavailable;
                return result;
            }
        }
    }

    Events events;
    SessionStore::Ticket ticket = 0;
    {
        std::lock_guard lock(m_authMutex);
        const TimeMs time = now();
        AuthRoot *root = nullptr;
        if (const std::optional<IdHash> token = SessionToken::hashOf(rootTokenText)) {
            auto it = m_authRoots.find(*token);
            if (it != m_authRoots.end() && saturatingAdd(it->second.record.lastActivityMs, flowMs) > time)
                root = &it->second;
        }
        if (!root) {
            std::optional<SessionToken> fresh = SessionToken::generate(*m_random);
            if (!fresh) {
                result.error = SessionError::RandomUnavailable;
                return result;
            }
            AuthRoot created;
            created.record.hash = fresh->hash();
            created.record.clientIp = std::string(clientIp);
            created.record.createdMs = time;
            created.record.lastActivityMs = time;
            root = &m_authRoots.emplace(created.record.hash, std::move(created)).first->second;
            m_authHeap.push_back({saturatingAdd(time, flowMs), root->record.hash});
            std::push_heap(m_authHeap.begin(), m_authHeap.end(),
                           [](const auto &a, const auto &b) { return heapGreater(a, b); });
            result.rootToken = fresh->text();
            result.newRoot = true;
        }
        AuthRootRecord &record = root->record;
        record.lastActivityMs = time;
        record.tabs.push_back({tabId, time});
        ++m_authTabs;
        // Keycloak authSessionsLimit: when the limit is reached the oldest sub-session goes.
        const auto limit = static_cast<std::size_t>(std::max<std::int64_t>(1, policy.authSessionsLimit));
        while (record.tabs.size() > limit) {
            SessionEvent e = event(EventType::Evicted, time);
            e.idHash = record.hash.toHex();
            e.clientIp = record.clientIp;
            e.count = static_cast<std::int64_t>(limit);
            e.detail = "authentication sub-session " + record.tabs.front().tabId + " evicted (limit " +
                       std::to_string(limit) + ")";
            events.push_back(std::move(e));
            result.evictedTabs.push_back(record.tabs.front().tabId);
            record.tabs.erase(record.tabs.begin());
            --m_authTabs;
            m_counters.evictedAuthTabs.fetch_add(1, std::memory_order_relaxed);
        }
        result.rootHash = record.hash;
        result.tabId = tabId;
        result.tabCount = record.tabs.size();
        std::vector<StoreMutation> mutations;
        mutations.push_back({StoreMutation::PutAuthRoot{record, saturatingAdd(time, flowMs)}});
        ticket = submit(std::move(mutations));
    }
    publish(events);
    if (!durable(ticket)) {
        result = AuthStartResult{};
        result.error = SessionError::StoreUnavailable;
    }
    return result;
}

CreateResult SessionEngine::completeAuthentication(std::string_view rootTokenText, std::string_view tabId,
                                                   const CreateParams &params)
{
    CreateResult result;
    const std::optional<IdHash> token = SessionToken::hashOf(rootTokenText);
    if (!token) {
        result.error = SessionError::Malformed;
        return result;
    }
    if (m_shared) {
        bool unavailable = false;
        syncAuthRoot(*token, &unavailable);
        if (unavailable) {
            result.error = SessionError::StoreUnavailable;
            return result;
        }
    }
    const TimeMs flowMs = policy().loginFlowTimeoutMinutes * kMsPerMinute;
    SessionStore::Ticket ticket = 0;
    {
        std::lock_guard lock(m_authMutex);
        auto it = m_authRoots.find(*token);
        if (it == m_authRoots.end()) {
            result.error = SessionError::AuthSessionUnknown;
            return result;
        }
        AuthRootRecord &record = it->second.record;
        if (saturatingAdd(record.lastActivityMs, flowMs) <= now()) {
            result.error = SessionError::AuthSessionExpired;
            return result;
        }
        auto tab = std::find_if(record.tabs.begin(), record.tabs.end(),
                                [&](const AuthTabRecord &t) { return t.tabId == tabId; });
        if (tab == record.tabs.end()) {
            result.error = SessionError::AuthTabUnknown;
            return result;
        }
        record.tabs.erase(tab);
        --m_authTabs;
        std::vector<StoreMutation> mutations;
        if (record.tabs.empty()) {
            mutations.push_back({StoreMutation::RemoveAuthRoot{record.hash}});
            m_authRoots.erase(it);
        } else {
            mutations.push_back(
                {StoreMutation::PutAuthRoot{record, saturatingAdd(record.lastActivityMs, flowMs)}});
        }
        ticket = submit(std::move(mutations));
    }
    if (!durable(ticket)) {
        result.error = SessionError::StoreUnavailable;
        return result;
    }
    // A finished login flow becomes a user session with a fresh identifier.
    CreateResult created = create(params);
    if (created.error == SessionError::None) {
        std::lock_guard lock(m_authMutex);
        if (auto it = m_authRoots.find(*token); it != m_authRoots.end()) {
            constexpr std::size_t kMaxLinkedSessions = 64;
            auto &sessions = it->second.sessions;
            if (sessions.size() == kMaxLinkedSessions)
                sessions.erase(sessions.begin());
            sessions.push_back(created.info.hash);
            created.info.subSessions = it->second.record.tabs.size();
        }
    }
    return created;
}

void SessionEngine::fillSubSessions(std::vector<SessionInfo> &rows) const
{
    std::lock_guard lock(m_authMutex);
    if (m_authRoots.empty() || rows.empty())
        return;
    std::unordered_map<IdHash, std::size_t, IdHashHasher> tabsBySession;
    for (const auto &[hash, root] : m_authRoots) {
        for (const IdHash &session : root.sessions)
            tabsBySession[session] = root.record.tabs.size();
    }
    for (SessionInfo &row : rows) {
        if (auto it = tabsBySession.find(row.hash); it != tabsBySession.end())
            row.subSessions = it->second;
    }
}

SessionError SessionEngine::cancelAuthentication(std::string_view rootTokenText, std::string_view tabId)
{
    const std::optional<IdHash> token = SessionToken::hashOf(rootTokenText);
    if (!token)
        return SessionError::Malformed;
    if (m_shared) {
        bool unavailable = false;
        syncAuthRoot(*token, &unavailable);
        if (unavailable)
            return SessionError::StoreUnavailable;
    }
    const TimeMs flowMs = policy().loginFlowTimeoutMinutes * kMsPerMinute;
    SessionStore::Ticket ticket = 0;
    {
        std::lock_guard lock(m_authMutex);
        auto it = m_authRoots.find(*token);
        if (it == m_authRoots.end())
            return SessionError::AuthSessionUnknown;
        AuthRootRecord &record = it->second.record;
        const auto removed =
            std::erase_if(record.tabs, [&](const AuthTabRecord &t) { return t.tabId == tabId; });
        if (removed == 0)
            return SessionError::AuthTabUnknown;
        m_authTabs -= removed;
        std::vector<StoreMutation> mutations;
        if (record.tabs.empty()) {
            mutations.push_back({StoreMutation::RemoveAuthRoot{record.hash}});
            m_authRoots.erase(it);
        } else {
            mutations.push_back(
                {StoreMutation::PutAuthRoot{record, saturatingAdd(record.lastActivityMs, flowMs)}});
        }
        ticket = submit(std::move(mutations));
    }
    return durable(ticket) ? SessionError::None : SessionError::StoreUnavailable;
}

std::optional<AuthRootRecord> SessionEngine::findAuthRoot(const IdHash &hash) const
{
    std::lock_guard lock(m_authMutex);
    auto it = m_authRoots.find(hash);
    if (it == m_authRoots.end())
        return std::nullopt;
    return it->second.record;
}

AuthSessionStats SessionEngine::authStats() const
{
    std::lock_guard lock(m_authMutex);
    AuthSessionStats stats;
    stats.roots = m_authRoots.size();
    stats.tabs = m_authTabs;
    stats.estimatedBytes = stats.roots * kAuthRootOverheadBytes + stats.tabs * kAuthTabOverheadBytes;
    return stats;
}

// ---- expiry and maintenance -------------------------------------------------------------------

std::size_t SessionEngine::sweepShard(Shard &shard, TimeMs time, std::size_t budget, Events &events)
{
    // Under the locks only the removal itself happens: the strings of a removed session are moved
    // out, and events (hex hashes) and store mutations are built once the locks are released, so
    // validations waiting on this shard are held up as little as possible.
    struct Expired
    {
        IdHash hash;
        TimeMs createdMs;
        Area area;
        SharedText user;
        CompactText clientIp;
    };
    std::vector<Expired> expired;
    expired.reserve(std::min<std::size_t>(budget, 4096));
    {
        std::lock_guard directoryLock(m_directoryMutex);
        std::unique_lock lock(shard.mutex);
        const auto cmp = [](const auto &a, const auto &b) {
            return heapGreater(a, b);
        };
        std::size_t examined = 0;
        // A batch ends early when someone waits for the shard: sweepExpired() then hands the lock
        // over, so a validation waits for one removal, not for the whole batch.
        while (!shard.heap.empty() && shard.heap.front().dueMs <= time && examined < budget &&
               !(examined > 0 && shard.mutex.contended())) {
            std::pop_heap(shard.heap.begin(), shard.heap.end(), cmp);
            const HeapEntry entry = shard.heap.back();
            shard.heap.pop_back();
            ++examined;
            TimeMs due = 0;
            auto it = firstExpiring(shard, entry.key, &due);
            if (it == shard.sessions.end()) {
                if (shard.staleHeapEntries > 0)
                    --shard.staleHeapEntries;
                continue;
            }
            if (due > time) {
                heapPush(shard, {due, entry.key}); // touched since: re-key at the real expiry
                continue;
            }
            const IdHash hash = it->first;
            directoryRemove(textOf(it->second.user), textOf(it->second.clientIp), hash, it->second.createdMs,
                            RecordShrink::Later);
            m_counters.active[static_cast<std::size_t>(it->second.area)].fetch_sub(1,
                                                                                   std::memory_order_relaxed);
            expired.push_back({hash, it->second.createdMs, it->second.area, std::move(it->second.user),
                               std::move(it->second.clientIp)});
            // Its heap entry was popped above, so unlike removeLocked() nothing stale is left behind.
            shard.sessions.erase(it);
        }
        // The records of users left with few sessions move to smaller ones once the shard is
        // unlocked, under the directory lock alone, which no validation waits for
        // (directoryRemove()).
        lock.unlock();
        for (const Expired &x : expired) {
            if (const UserDirectory::Ref user = m_byUser.find(textOf(x.user)); user != UserDirectory::npos)
                m_byUser.shrinkRecord(user);
        }
    }
    const std::size_t removed = expired.size();
    // A shared store expires sessions itself, and another node may have touched one since this
    // node saw it: only this node's cached copy goes.
    if (m_shared)
        return removed;
    m_counters.expired.fetch_add(removed, std::memory_order_relaxed);
    std::vector<StoreMutation> mutations;
    mutations.reserve(removed);
    events.reserve(events.size() + removed);
    for (Expired &x : expired) {
        SessionEvent e = event(EventType::Expired, time);
        e.area = x.area;
        e.user = textOf(x.user);
        e.clientIp = textOf(x.clientIp);
        e.idHash = x.hash.toHex();
        events.push_back(std::move(e));
        mutations.push_back({StoreMutation::RemoveSession{x.hash, x.createdMs, {}, false, time, time}});
    }
    // Expiry removals are not acknowledged to anyone: submit without waiting. Should they be lost,
    // the sessions are still expired by time when loaded again.
    submit(std::move(mutations));
    return removed;
}

std::size_t SessionEngine::sweepAuth(TimeMs time, std::size_t budget, Events &events)
{
    const TimeMs flowMs = policy().loginFlowTimeoutMinutes * kMsPerMinute;
    std::vector<StoreMutation> mutations;
    std::size_t removed = 0;
    {
        std::lock_guard lock(m_authMutex);
        const auto cmp = [](const auto &a, const auto &b) {
            return heapGreater(a, b);
        };
        std::size_t examined = 0;
        while (!m_authHeap.empty() && m_authHeap.front().dueMs <= time && examined < budget) {
            std::pop_heap(m_authHeap.begin(), m_authHeap.end(), cmp);
            const AuthHeapEntry entry = m_authHeap.back();
            m_authHeap.pop_back();
            ++examined;
            auto it = m_authRoots.find(entry.hash);
            if (it == m_authRoots.end())
                continue;
            const TimeMs due = saturatingAdd(it->second.record.lastActivityMs, flowMs);
            if (due > time) {
                m_authHeap.push_back({due, entry.hash});
                std::push_heap(m_authHeap.begin(), m_authHeap.end(), cmp);
                continue;
            }
            m_authTabs -= it->second.record.tabs.size();
            if (!m_shared) { // a shared store expires login flows itself
                SessionEvent e = event(EventType::Expired, time);
                e.idHash = entry.hash.toHex();
                e.clientIp = it->second.record.clientIp;
                e.count = static_cast<std::int64_t>(it->second.record.tabs.size());
                e.detail = "unfinished login flow expired";
                events.push_back(std::move(e));
                mutations.push_back({StoreMutation::RemoveAuthRoot{entry.hash}});
            }
            m_authRoots.erase(it);
            ++removed;
        }
        // Roots finished or cancelled leave entries behind; keep the heap bounded.
        if (m_authHeap.size() > 2 * m_authRoots.size() + 1024) {
            m_authHeap.clear();
            for (const auto &[hash, root] : m_authRoots)
                m_authHeap.push_back({saturatingAdd(root.record.lastActivityMs, flowMs), hash});
            std::make_heap(m_authHeap.begin(), m_authHeap.end(), cmp);
        }
    }
    submit(std::move(mutations));
    return removed;
}

std::size_t SessionEngine::sweepExpired(std::size_t maxSessions)
{
    const TimeMs time = now();
    std::size_t total = 0;
    for (auto &shard : m_shards) {
        for (;;) {
            if (total >= maxSessions)
                break;
            Events events;
            const std::size_t budget = std::min(m_options.sweepBatch, maxSessions - total);
            const std::size_t removed = sweepShard(*shard, time, budget, events);
            shard->mutex.yieldToWaiters();
            publish(events);
            total += removed;
            bool more = false;
            {
                std::lock_guard lock(shard->mutex);
                more = !shard->heap.empty() && shard->heap.front().dueMs <= time;
            }
            if (!more)
                break;
        }
        // Its rows go back after a mass expiry here, once, rather than inside a removal: one
        // rehash of what is left (a fraction of a millisecond at 62,500 rows; bench_expiry).
        std::lock_guard lock(shard->mutex);
        shard->sessions.shrinkIfSparse();
    }
    {
        // The per-user and per-IP tables give their rows back after a mass expiry here, under the
        // directory lock alone: a shrink rehashes what is left, and no validation waits for it.
        std::lock_guard directoryLock(m_directoryMutex);
        m_byUser.shrinkIfSparse();
        m_byIp.shrinkIfSparse();
    }
    Events events;
    total += sweepAuth(time, maxSessions, events);
    publish(events);
    return total;
}

TimeMs SessionEngine::touchStep(TimeMs idleHorizonMs)
{
    return std::clamp<TimeMs>(idleHorizonMs / 20, kMsPerSecond, kMsPerMinute);
}

std::size_t SessionEngine::flushTouches(FlushTouches which)
{
    if (!m_options.store)
        return 0;
    std::vector<StoreTouch> touches;
    for (auto &shard : m_shards) {
        std::lock_guard lock(shard->mutex);
        const auto take = [&](const IdHash &hash, Slot &slot) {
            slot.touchDirty = false;
            slot.activityUnsaved = false;
            touches.push_back({hash, slot.createdMs, slot.lastActivityMs,
                               m_shared ? std::string(textOf(slot.user)) : std::string(),
                               expiresAt(slot, shard->rules[static_cast<std::size_t>(slot.area)])});
        };
        for (const IdHash &hash : shard->dirty) {
            if (auto it = shard->sessions.find(hash); it != shard->sessions.end() && it->second.touchDirty)
                take(it->first, it->second);
        }
        shard->dirty.clear();
        if (which == FlushTouches::All) {
            for (auto &[hash, slot] : shard->sessions.entries()) {
                if (slot.activityUnsaved)
                    take(hash, slot);
            }
        }
    }
    const std::size_t count = touches.size();
    if (count > 0)
        m_options.store->submitTouches(std::move(touches));
    return count;
}

void SessionEngine::startMaintenance(std::chrono::milliseconds interval)
{
    std::lock_guard lock(m_maintenanceMutex);
    if (m_maintenanceThread.joinable())
        return;
    m_maintenanceStop = false;
    m_maintenanceThread = std::thread([this, interval] { maintenanceLoop(interval); });
    nameThread(m_maintenanceThread, "hg-maintenance");
}

void SessionEngine::stopMaintenance()
{
    {
        std::lock_guard lock(m_maintenanceMutex);
        if (!m_maintenanceThread.joinable())
            return;
        m_maintenanceStop = true;
    }
    m_maintenanceWake.notify_all();
    m_maintenanceThread.join();
    flushTouches(FlushTouches::All);
}

void SessionEngine::maintenanceLoop(std::chrono::milliseconds interval)
{
    // Touches are flushed at most once a second (documented coalescing window).
    const auto flushEvery = std::chrono::seconds(1);
    auto lastFlush = std::chrono::steady_clock::now();
    std::unique_lock lock(m_maintenanceMutex);
    while (!m_maintenanceStop) {
        m_maintenanceWake.wait_for(lock, interval, [this] { return m_maintenanceStop; });
        if (m_maintenanceStop)
            break;
        lock.unlock();
        sweepExpired();
        if (std::chrono::steady_clock::now() - lastFlush >= flushEvery) {
            flushTouches();
            lastFlush = std::chrono::steady_clock::now();
        }
        lock.lock();
    }
}

// Start-up helper: fills the directory (per-user and per-IP indexes) on its own thread from
// batches handed over by the loading thread, which must hold the directory lock throughout. It
// also gives each restored slot its user's one shared name (the loading thread leaves it empty):
// interning a million names was the loading thread's largest cost.
class SessionEngine::DirectoryFiller
{
public:
    struct Entry
    {
        std::string user;
        std::string clientIp;
        IdHash hash;
        TimeMs createdMs;
        Area area;
        Slot *slot; // in its shard's table, whose entries never move
    };

    explicit DirectoryFiller(SessionEngine &engine) : m_engine(engine), m_thread([this] { run(); })
    {
        nameThread(m_thread, "hg-restore");
    }
    ~DirectoryFiller() { finish(); }
    DirectoryFiller(const DirectoryFiller &) = delete;
    DirectoryFiller &operator=(const DirectoryFiller &) = delete;

    void add(Entry entry)
    {
        m_pending.push_back(std::move(entry));
        if (m_pending.size() == kBatch)
            handOver();
    }

    // Waits until every entry added is in the directory.
    void finish()
    {
        if (!m_thread.joinable())
            return;
        handOver();
        {
            std::lock_guard lock(m_mutex);
            m_done = true;
        }
        m_wake.notify_all();
        m_thread.join();
        for (std::size_t i = 0; i < m_newest.size(); ++i) {
            Shard &shard = *m_engine.m_shards[i];
            std::lock_guard lock(shard.mutex);
            shard.newest.merge(m_newest[i], m_engine.m_options.newestPerShard);
        }
    }

private:
    static constexpr std::size_t kBatch = 4096;
    static constexpr std::size_t kMaxQueued = 8; // batches; bounds the memory of the hand-over

    void handOver()
    {
        if (m_pending.empty())
            return;
        std::unique_lock lock(m_mutex);
        m_space.wait(lock, [&] { return m_queue.size() < kMaxQueued; });
        m_queue.push_back(std::move(m_pending));
        m_pending = {};
        m_pending.reserve(kBatch);
        lock.unlock();
        m_wake.notify_one();
    }

    void run()
    {
        for (;;) {
            std::vector<Entry> batch;
            {
                std::unique_lock lock(m_mutex);
                m_wake.wait(lock, [&] { return m_done || !m_queue.empty(); });
                if (m_queue.empty())
                    return;
                batch = std::move(m_queue.front());
                m_queue.pop_front();
            }
            m_space.notify_one();
            struct Naming
            {
                std::size_t shard;
                Slot *slot;
                SharedText name;
            };
            std::vector<Naming> namings;
            namings.reserve(batch.size());
            for (Entry &e : batch) {
                const UserDirectory::Ref user = m_engine.m_byUser.ensure(e.user);
                m_engine.m_byUser.add(user, {e.hash, e.createdMs, e.area});
                m_engine.countIp(e.clientIp); // the restoring thread holds the directory lock for it
                const std::size_t shard = m_engine.shardIndex(e.hash.bucketHash());
                // Kept here and handed to the shards at the end: no shard lock on this thread
                // for every row, where it would contend with the loading thread.
                m_newest[shard].note({e.createdMs, e.hash}, m_engine.m_options.newestPerShard);
                namings.push_back({shard, e.slot, m_engine.m_byUser.name(user)});
            }
            // The names go into their slots a shard at a time, under that shard's lock.
            std::sort(namings.begin(), namings.end(),
                      [](const Naming &a, const Naming &b) { return a.shard < b.shard; });
            for (auto run = namings.begin(); run != namings.end();) {
                const std::size_t shard = run->shard;
                std::lock_guard lock(m_engine.m_shards[shard]->mutex);
                for (; run != namings.end() && run->shard == shard; ++run)
                    run->slot->user = std::move(run->name);
            }
        }
    }

    SessionEngine &m_engine;
    std::vector<NewestSessions> m_newest = std::vector<NewestSessions>(m_engine.m_shards.size());
    std::vector<Entry> m_pending;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_space;
    std::deque<std::vector<Entry>> m_queue;
    bool m_done = false;
    std::thread m_thread; // last: starts once everything above exists
};

SessionStore::LoadResult SessionEngine::restoreFromStore()
{
    if (!m_options.store)
        return {};
    const TimeMs time = now();
    const Policy policy = this->policy();
    const TimeMs flowMs = policy.loginFlowTimeoutMinutes * kMsPerMinute;
    std::vector<StoreMutation> stale;
    std::lock_guard directoryLock(m_directoryMutex);
    std::lock_guard authLock(m_authMutex);
    if (const std::size_t hint = m_options.store->sessionCountHint(); hint > 0) {
        // Sized once: growing these while a million rows arrive rehashes every entry ~20 times.
        const std::size_t perShard = hint / m_shards.size() + hint / m_shards.size() / 8 + 16;
        for (auto &shard : m_shards) {
            std::lock_guard lock(shard->mutex);
            shard->sessions.reserve(perShard);
            shard->heap.reserve(perShard);
        }
        m_byUser.reserve(hint);
        if (m_countIps)
            m_byIp.reserve(hint);
    }
    // The per-user and per-IP indexes are filled by a second thread, in batches, while this one
    // reads the store and fills the shards: at a million rows the three hash tables are most of the
    // start-up time. The directory lock held above covers the helper's work too.
    DirectoryFiller filler(*this);
    SessionStore::LoadResult loaded = m_options.store->load(
        [&](SessionRecord &&record) {
            Shard &shard = shardFor(record.hash);
            std::unique_lock lock(shard.mutex);
            Slot slot = slotOf(std::move(record), {}); // leaves record.user
            const TimeMs due = expiresAt(slot, shard.rules[static_cast<std::size_t>(slot.area)]);
            if (due <= time) { // expired while we were down: never revive
                stale.push_back({StoreMutation::RemoveSession{record.hash, slot.createdMs,
                                                              std::move(record.user), false, due, time}});
                m_counters.expired.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            // The user's name is left to the filler, which keeps one copy per user.
            auto [it, inserted] = shard.sessions.emplace(record.hash, std::move(slot));
            if (!inserted)
                return;
            shard.heap.push_back({due, record.hash});
            m_counters.active[static_cast<std::size_t>(it->second.area)].fetch_add(1,
                                                                                   std::memory_order_relaxed);
            DirectoryFiller::Entry entry{std::move(record.user),
                                         std::string(textOf(it->second.clientIp)),
                                         record.hash,
                                         it->second.createdMs,
                                         it->second.area,
                                         &it->second};
            // Not under the shard lock: add() waits when the filler is behind.
            lock.unlock();
            filler.add(std::move(entry));
        },
        [&](AuthRootRecord &&record) {
            const TimeMs due = saturatingAdd(record.lastActivityMs, flowMs);
            if (due <= time) {
                stale.push_back({StoreMutation::RemoveAuthRoot{record.hash}});
                return;
            }
            m_authTabs += record.tabs.size();
            m_authHeap.push_back({due, record.hash});
            const IdHash hash = record.hash;
            m_authRoots.emplace(hash, AuthRoot{std::move(record), {}});
        });
    filler.finish();
    const auto cmp = [](const auto &a, const auto &b) {
        return heapGreater(a, b);
    };
    for (auto &shard : m_shards) {
        std::lock_guard lock(shard->mutex);
        std::make_heap(shard->heap.begin(), shard->heap.end(), cmp);
    }
    std::make_heap(m_authHeap.begin(), m_authHeap.end(), cmp);
    submit(std::move(stale));
    return loaded;
}

} // namespace hourglass
