#include "RedisStore.h"

#include "RedisLink.h"
#include "ThreadName.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace hourglass {

namespace {

// How long lookup keys (identifier → user tag), user indexes and revocation records outlive the
// sessions they serve: covers the once-a-second refresh of lookup keys with a wide margin.
constexpr TimeMs kGraceMs = 60'000;

// All scripts take every key they touch in KEYS, and all of those keys share one hash tag.

// KEYS: session, not-before, tombstone, user index. ARGV: now, touch (0/1), hash, then per area
// (admin, storefront): idle ms, remember-me ms, maximum enabled (0/1), maximum ms.
// Returns {0} gone, {2} expired (removed now), or {1, u, a, rm, ip, ua, c, at, la, d}.
constexpr const char *kFetchScript = R"lua(
local f = redis.call('HMGET', KEYS[1], 'u', 'a', 'rm', 'ip', 'ua', 'c', 'at', 'la', 'd')
if not f[1] then return {0} end
local function drop(code)
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[4], ARGV[3])
  return {code}
end
if redis.call('EXISTS', KEYS[3]) == 1 then return drop(0) end
local area = f[2]
local at = tonumber(f[7])
local nb = redis.call('HMGET', KEYS[2], area, 'k' .. area)
if nb[1] and at <= tonumber(nb[1]) and nb[2] ~= ARGV[3] then return drop(0) end
local base = 4 + tonumber(area) * 4
local slide = tonumber(ARGV[base])
if f[3] == '1' then slide = tonumber(ARGV[base + 1]) end
local maxOn = ARGV[base + 2] == '1'
local maxMs = tonumber(ARGV[base + 3])
local now = tonumber(ARGV[1])
local la = tonumber(f[8])
local function deadline(last)
  local d = last + slide
  if maxOn and at + maxMs < d then d = at + maxMs end
  return d
end
if deadline(la) <= now then return drop(2) end
if ARGV[2] == '1' and now > la then
  la = now
  redis.call('HSET', KEYS[1], 'la', string.format('%.0f', la))
end
local ttl = deadline(la) - now
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', ttl))
if redis.call('PTTL', KEYS[4]) < ttl + 60000 then
  redis.call('PEXPIRE', KEYS[4], string.format('%.0f', ttl + 60000))
end
return {1, f[1], f[2], f[3], f[4], f[5], f[6], f[7], string.format('%.0f', la), f[9] or ''}
)lua";

// KEYS: session, user index, not-before, tombstone. ARGV: hash, u, a, rm, ip, ua, c, at, la, d,
// ttl ms, previous hash (rotation) or ''. An identifier that was ended is never written again
// (a replayed or late write cannot bring a session back).
constexpr const char *kPutScript = R"lua(
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'u', ARGV[2], 'a', ARGV[3], 'rm', ARGV[4], 'ip', ARGV[5], 'ua', ARGV[6],
           'c', ARGV[7], 'at', ARGV[8], 'la', ARGV[9], 'd', ARGV[10])
redis.call('PEXPIRE', KEYS[1], ARGV[11])
redis.call('ZADD', KEYS[2], ARGV[7], ARGV[1])
local keep = tonumber(ARGV[11]) + 60000
if redis.call('PTTL', KEYS[2]) < keep then redis.call('PEXPIRE', KEYS[2], keep) end
if ARGV[12] ~= '' then
  local k = 'k' .. ARGV[3]
  if redis.call('HGET', KEYS[3], k) == ARGV[12] then redis.call('HSET', KEYS[3], k, ARGV[1]) end
end
return 1
)lua";

// KEYS: session, user index, tombstone. ARGV: hash, revoked (0/1), tombstone ttl ms.
constexpr const char *kRemoveScript = R"lua(
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == '1' then redis.call('SET', KEYS[3], '1', 'PX', ARGV[3]) end
return 1
)lua";

// KEYS: session. ARGV: data, last activity, ttl ms. A session ended meanwhile stays ended.
constexpr const char *kSetDataScript = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[1])
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], 'la')) then
  redis.call('HSET', KEYS[1], 'la', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
)lua";

// KEYS: not-before. ARGV: not-before ms, kept hash or '', keep-for ms, then the area indexes.
constexpr const char *kRevokeScript = R"lua(
for i = 4, #ARGV do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  if tonumber(ARGV[1]) >= current then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1], 'k' .. ARGV[i], ARGV[2])
  end
end
local keep = tonumber(ARGV[3]) + 60000
if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end
return 1
)lua";

// KEYS: configuration. ARGV: JSON. Returns the new version.
constexpr const char *kConfigScript = R"lua(
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'json', ARGV[1])
return v
)lua";

std::string number(std::int64_t value)
{
    return std::to_string(value);
}

std::string replyText(const redisReply *reply)
{
    if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS &&
                   reply->type != REDIS_REPLY_ERROR))
        return {};
    return std::string(reply->str, reply->len);
}

bool parseInt(const std::string &text, std::int64_t &out)
{
    const char *end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc() && ptr == end;
}

bool isError(const redisReply *reply)
{
    return !reply || reply->type == REDIS_REPLY_ERROR;
}

std::string sha1Hex(const char *text)
{
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char *>(text), std::strlen(text), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char b : digest) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

const char *scriptFor(const std::string &sha)
{
    for (const char *script :
         {kFetchScript, kPutScript, kRemoveScript, kSetDataScript, kRevokeScript, kConfigScript}) {
        if (sha1Hex(script) == sha)
            return script;
    }
    return nullptr;
}

TimeMs ttlFrom(TimeMs expiresAtMs, TimeMs now)
{
    return std::max<TimeMs>(1, expiresAtMs - now);
}

} // namespace

// ---- URL ------------------------------------------------------------------------------------

std::string RedisStore::Url::text() const
{
    std::string out = tls ? "rediss://" : "redis://";
    if (!user.empty())
        out += user + "@";
    out += host + ":" + std::to_string(port) + "/" + std::to_string(db);
    return out;
}

std::optional<RedisStore::Url> RedisStore::parseUrl(std::string_view text, std::string *error)
{
    // The URL may hold a password: messages never repeat it.
    const auto fail = [&](const std::string &why) -> std::optional<Url> {
        *error = "Invalid Redis URL: " + why;
        return std::nullopt;
    };
    Url url;
    std::string_view rest;
    if (text.starts_with("rediss://")) {
        url.tls = true;
        rest = text.substr(9);
    } else if (text.starts_with("redis://")) {
        rest = text.substr(8);
    } else {
        return fail("expected redis[s]://[[user]:password@]host[:port][/db][?ca=…&cert=…&key=…]");
    }
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
        const std::string_view credentials = rest.substr(0, at);
        rest = rest.substr(at + 1);
        const auto colon = credentials.find(':');
        if (colon == std::string_view::npos)
            return fail("credentials must be [user]:password");
        url.user = std::string(credentials.substr(0, colon));
        url.password = std::string(credentials.substr(colon + 1));
        if (url.password.empty())
            return fail("empty password");
    }
    // TLS files: ?ca=/path&cert=/path&key=/path (rediss:// only).
    if (const auto question = rest.find('?'); question != std::string_view::npos) {
        std::string_view query = rest.substr(question + 1);
        rest = rest.substr(0, question);
        if (!url.tls)
            return fail("parameters (ca, cert, key) are for rediss:// only");
        while (!query.empty()) {
            const auto amp = query.find('&');
            const std::string_view item = query.substr(0, amp);
            query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
            const auto eq = item.find('=');
            const std::string_view name = item.substr(0, eq);
            const std::string value(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
            if (value.empty())
                return fail("parameter '" + std::string(name) + "' needs a file path");
            if (name == "ca")
                url.caFile = value;
            else if (name == "cert")
                url.certFile = value;
            else if (name == "key")
                url.keyFile = value;
            else
                return fail("unknown parameter '" + std::string(name) + "' (known: ca, cert, key)");
        }
    }
    std::string_view hostPort = rest;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
        hostPort = rest.substr(0, slash);
        const std::string db(rest.substr(slash + 1));
        std::int64_t value = 0;
        if (!db.empty() && (!parseInt(db, value) || value < 0 || value > 15))
            return fail("database must be a number from 0 to 15");
        url.db = static_cast<int>(value);
    }
    if (const auto colon = hostPort.rfind(':'); colon != std::string_view::npos) {
        std::int64_t port = 0;
        if (!parseInt(std::string(hostPort.substr(colon + 1)), port) || port < 1 || port > 65535)
            return fail("port must be a number from 1 to 65535");
        url.port = static_cast<int>(port);
        hostPort = hostPort.substr(0, colon);
    }
    if (hostPort.empty())
        return fail("missing host");
    if (hostPort.find_first_of("?#[] ") != std::string_view::npos)
        return fail("unsupported characters in host (IPv6 literals are not supported)");
    url.host = std::string(hostPort);
    return url;
}

// ---- connection ------------------------------------------------------------------------------

void RedisStore::ReplyDeleter::operator()(redisReply *reply) const
{
    freeReplyObject(reply);
}

RedisStore::RedisStore(Options options) : m_options(std::move(options))
{
    m_fetchSha = sha1Hex(kFetchScript);
    m_putSha = sha1Hex(kPutScript);
    m_removeSha = sha1Hex(kRemoveScript);
    m_setDataSha = sha1Hex(kSetDataScript);
    m_revokeSha = sha1Hex(kRevokeScript);
    m_configSha = sha1Hex(kConfigScript);
}

std::unique_ptr<RedisStore> RedisStore::open(const Options &options, std::string *error)
{
    std::unique_ptr<RedisStore> store(new RedisStore(options));
    Context context;
    if (!store->connect(context, error)) {
        *error = "Cannot reach the Redis store at " + options.url.text() + ": " + *error;
        return nullptr;
    }
    store->release(std::move(context));
    // Loads the scripts, and proves the server answers commands (not only accepts connections).
    std::vector<Command> load;
    for (const char *script :
         {kFetchScript, kPutScript, kRemoveScript, kSetDataScript, kRevokeScript, kConfigScript})
        load.push_back({"SCRIPT", "LOAD", script});
    const auto replies = store->run(load);
    if (!replies) {
        *error = "Cannot use the Redis store at " + options.url.text() + ": " + store->lastError();
        return nullptr;
    }
    for (const Reply &reply : *replies) {
        if (isError(reply.get())) {
            *error = "The Redis store at " + options.url.text() +
                     " refused the scripts: " + replyText(reply.get());
            return nullptr;
        }
    }
    store->m_writer = std::thread([s = store.get()] { s->writerLoop(); });
    nameThread(store->m_writer, "hg-redis");
    return store;
}

RedisStore::~RedisStore()
{
    {
        std::lock_guard lock(m_queueMutex);
        m_stop = true;
    }
    m_wake.notify_all();
    if (m_writer.joinable())
        m_writer.join();
}

bool RedisStore::connect(Context &out, std::string *error)
{
    RedisLink::Options options;
    options.host = m_options.url.host;
    options.port = m_options.url.port;
    options.tls = {m_options.url.tls, m_options.url.caFile, m_options.url.certFile, m_options.url.keyFile};
    options.connectTimeout = m_options.connectTimeout;
    options.commandTimeout = m_options.commandTimeout;
    Context link = RedisLink::connect(options, error);
    if (!link)
        return false;
    const auto command = [&](const Command &args) -> Reply {
        if (!link->send({args}, error))
            return nullptr;
        return Reply(link->read(error));
    };
    if (!m_options.url.password.empty()) {
        Command auth{"AUTH"};
        if (!m_options.url.user.empty())
            auth.push_back(m_options.url.user);
        auth.push_back(m_options.url.password);
        const Reply reply = command(auth);
        if (!reply)
            return false;
        if (isError(reply.get())) {
            *error = "authentication failed: " + replyText(reply.get());
            return false;
        }
    }
    if (m_options.url.db != 0) {
        const Reply reply = command({"SELECT", std::to_string(m_options.url.db)});
        if (!reply)
            return false;
        if (isError(reply.get())) {
            *error = "SELECT failed: " + replyText(reply.get());
            return false;
        }
    }
    out = std::move(link);
    return true;
}

RedisStore::Context RedisStore::acquire(std::string *error)
{
    {
        std::lock_guard lock(m_poolMutex);
        if (!m_pool.empty()) {
            Context context = std::move(m_pool.back());
            m_pool.pop_back();
            return context;
        }
        // While Redis is down, callers fail at once instead of each waiting for a connect timeout.
        if (std::chrono::steady_clock::now() < m_retryAfter) {
            error->clear(); // still down: the reason recorded when it failed stands
            return nullptr;
        }
    }
    Context context;
    if (!connect(context, error))
        return nullptr; // the caller marks the store failed, which sets the next retry time
    return context;
}

void RedisStore::release(Context context)
{
    std::lock_guard lock(m_poolMutex);
    m_pool.push_back(std::move(context));
}

void RedisStore::markFailed(const std::string &error)
{
    {
        std::lock_guard lock(m_stateMutex);
        m_unavailable = true;
        m_lastError = "Redis store " + m_options.url.text() + " unavailable: " + error;
    }
    // Every pooled connection may be as dead as this one.
    std::lock_guard lock(m_poolMutex);
    m_pool.clear();
    m_retryAfter = std::chrono::steady_clock::now() + m_options.retryInterval;
}

void RedisStore::markHealthy()
{
    std::lock_guard lock(m_stateMutex);
    m_unavailable = false;
}

std::optional<std::vector<RedisStore::Reply>> RedisStore::run(const std::vector<Command> &commands)
{
    for (int attempt = 0; attempt < 2; ++attempt) {
        std::string error;
        Context link = acquire(&error);
        if (!link) {
            if (!error.empty())
                markFailed(error);
            return std::nullopt;
        }
        if (!link->send(commands, &error)) {
            markFailed(error);
            return std::nullopt;
        }
        std::vector<Reply> replies;
        replies.reserve(commands.size());
        bool unknownScript = false;
        for (std::size_t i = 0; i < commands.size(); ++i) {
            Reply reply(link->read(&error));
            if (!reply) {
                markFailed(error);
                return std::nullopt;
            }
            if (reply->type == REDIS_REPLY_ERROR && replyText(reply.get()).starts_with("NOSCRIPT"))
                unknownScript = true;
            replies.push_back(std::move(reply));
        }
        if (unknownScript && attempt == 0) {
            // The server restarted and forgot its scripts: load them and run everything again
            // (every command here may run twice without harm).
            std::vector<Command> load;
            for (const Command &command : commands) {
                if (command.size() > 1 && command[0] == "EVALSHA") {
                    if (const char *script = scriptFor(command[1]))
                        load.push_back({"SCRIPT", "LOAD", script});
                }
            }
            if (!link->send(load, &error)) {
                markFailed(error);
                return std::nullopt;
            }
            for (std::size_t i = 0; i < load.size(); ++i) {
                if (!Reply(link->read(&error))) {
                    markFailed(error);
                    return std::nullopt;
                }
            }
            release(std::move(link));
            continue;
        }
        release(std::move(link));
        markHealthy();
        return replies;
    }
    markFailed("scripts could not be loaded");
    return std::nullopt;
}

// ---- keys -----------------------------------------------------------------------------------

std::string RedisStore::userTag(std::string_view user)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char *>(user.data()), user.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 8; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 15];
    }
    return out;
}

std::string RedisStore::key(std::string_view tag, std::string_view suffix) const
{
    std::string out = m_options.keyPrefix;
    out += ":{";
    out += tag;
    out += "}";
    out += suffix;
    return out;
}

std::string RedisStore::sessionKey(const std::string &tag, const std::string &hashHex) const
{
    return key(tag, ":s:" + hashHex);
}

std::string RedisStore::pointerKey(const std::string &hashHex) const
{
    return key("p:" + hashHex, "");
}

std::string RedisStore::liveKey(Area area) const
{
    return key("live", std::string(":") + std::string(areaName(area)));
}

std::string RedisStore::rootKey(const std::string &hashHex) const
{
    return key("r:" + hashHex, "");
}

std::string RedisStore::configKey() const
{
    return key("cfg", "");
}

RedisStore::Command RedisStore::fetchCommand(const std::string &tag, const std::string &hashHex, TimeMs now,
                                             const ExpiryRules &rules, bool touch) const
{
    Command c{"EVALSHA",
              m_fetchSha,
              "4",
              sessionKey(tag, hashHex),
              key(tag, ":nb"),
              key(tag, ":t:" + hashHex),
              key(tag, ":i"),
              number(now),
              touch ? "1" : "0",
              hashHex};
    for (const ExpiryRule &rule : rules) {
        c.push_back(number(rule.idleMs));
        c.push_back(number(rule.rememberMeMs));
        c.push_back(rule.maxEnabled ? "1" : "0");
        c.push_back(number(rule.maxMs));
    }
    return c;
}

std::optional<SessionRecord> RedisStore::recordFromReply(const redisReply *reply, const IdHash &hash)
{
    // {1, fields…} from the validation script; {0} gone, {2} expired, or anything damaged: none.
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 10 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER || reply->element[0]->integer != 1)
        return std::nullopt;
    const auto text = [&](std::size_t i) {
        return replyText(reply->element[i]);
    };
    SessionRecord record;
    record.hash = hash;
    record.user = text(1);
    std::int64_t area = 0;
    if (!parseInt(text(2), area) || area < 0 || area >= std::int64_t(kAreas.size()))
        return std::nullopt;
    record.area = static_cast<Area>(area);
    record.rememberMe = text(3) == "1";
    record.clientIp = text(4);
    record.userAgent = text(5);
    if (!parseInt(text(6), record.createdMs) || !parseInt(text(7), record.authTimeMs) ||
        !parseInt(text(8), record.lastActivityMs))
        return std::nullopt;
    record.data = text(9);
    return record;
}

// ---- reads ----------------------------------------------------------------------------------

SessionStore::Fetched RedisStore::fetch(const IdHash &hash, const std::string *user, TimeMs now,
                                        const ExpiryRules &rules, bool touch)
{
    const std::string hex = hash.toHex();
    std::string tag;
    if (user) {
        tag = userTag(*user);
    } else {
        // First sight of this identifier on this node: its lookup key names the owner's tag.
        const auto replies = run({{"GET", pointerKey(hex)}});
        if (!replies)
            return {FetchStatus::Unavailable, {}};
        const redisReply *reply = (*replies)[0].get();
        if (reply->type == REDIS_REPLY_NIL)
            return {FetchStatus::Gone, {}};
        tag = replyText(reply);
        if (tag.size() != 16)
            return {FetchStatus::Gone, {}};
    }
    const auto replies = run({fetchCommand(tag, hex, now, rules, touch)});
    if (!replies)
        return {FetchStatus::Unavailable, {}};
    const redisReply *reply = (*replies)[0].get();
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER) {
        markFailed("unexpected answer to the validation script: " + replyText(reply));
        return {FetchStatus::Unavailable, {}};
    }
    switch (reply->element[0]->integer) {
    case 1:
        if (auto record = recordFromReply(reply, hash))
            return {FetchStatus::Live, std::move(*record)};
        return {FetchStatus::Gone, {}}; // damaged record: never trusted
    case 2:
        return {FetchStatus::Expired, {}};
    default:
        return {FetchStatus::Gone, {}};
    }
}

std::optional<std::vector<SessionRecord>> RedisStore::fetchUser(const std::string &user, TimeMs now,
                                                                const ExpiryRules &rules)
{
    const std::string tag = userTag(user);
    const auto members = run({{"ZRANGE", key(tag, ":i"), "0", "-1"}});
    if (!members)
        return std::nullopt;
    const redisReply *list = (*members)[0].get();
    if (list->type != REDIS_REPLY_ARRAY)
        return std::nullopt;
    std::vector<IdHash> hashes;
    std::vector<Command> commands;
    for (std::size_t i = 0; i < list->elements; ++i) {
        const auto hash = IdHash::fromHex(replyText(list->element[i]));
        if (!hash)
            continue;
        hashes.push_back(*hash);
        commands.push_back(fetchCommand(tag, hash->toHex(), now, rules, false));
    }
    std::vector<SessionRecord> records;
    if (commands.empty())
        return records;
    const auto replies = run(commands);
    if (!replies)
        return std::nullopt;
    for (std::size_t i = 0; i < hashes.size(); ++i) {
        if (auto record = recordFromReply((*replies)[i].get(), hashes[i]); record && record->user == user)
            records.push_back(std::move(*record));
    }
    return records;
}

SessionStore::AuthFetch RedisStore::fetchAuthRoot(const IdHash &hash, AuthRootRecord *record)
{
    const auto replies = run({{"GET", rootKey(hash.toHex())}});
    if (!replies)
        return AuthFetch::Unavailable;
    const redisReply *reply = (*replies)[0].get();
    if (reply->type != REDIS_REPLY_STRING)
        return AuthFetch::Gone;
    // clientIp \n createdMs \n lastActivityMs \n tabs
    const std::string text = replyText(reply);
    std::vector<std::string> parts;
    std::size_t pos = 0;
    for (int i = 0; i < 3; ++i) {
        const auto nl = text.find('\n', pos);
        if (nl == std::string::npos)
            return AuthFetch::Gone;
        parts.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    AuthRootRecord r;
    r.hash = hash;
    r.clientIp = parts[0];
    if (!parseInt(parts[1], r.createdMs) || !parseInt(parts[2], r.lastActivityMs) ||
        !decodeAuthTabs(text.substr(pos), r.tabs))
        return AuthFetch::Gone;
    *record = std::move(r);
    return AuthFetch::Found;
}

std::optional<std::array<std::uint64_t, kAreas.size()>> RedisStore::sharedCounts()
{
    std::vector<Command> commands;
    for (const Area area : kAreas)
        commands.push_back({"ZCARD", liveKey(area)});
    const auto replies = run(commands);
    if (!replies)
        return std::nullopt;
    std::array<std::uint64_t, kAreas.size()> counts{};
    for (std::size_t i = 0; i < kAreas.size(); ++i) {
        const redisReply *reply = (*replies)[i].get();
        if (reply->type != REDIS_REPLY_INTEGER)
            return std::nullopt;
        counts[i] = static_cast<std::uint64_t>(reply->integer);
    }
    return counts;
}

std::optional<SessionStore::SharedPage> RedisStore::sharedList(const SharedQuery &query, TimeMs now,
                                                               const ExpiryRules &rules)
{
    SharedPage page;
    if (!query.user.empty()) {
        auto records = fetchUser(query.user, now, rules);
        if (!records)
            return std::nullopt;
        std::erase_if(*records, [&](const SessionRecord &r) { return query.area && r.area != *query.area; });
        std::sort(records->begin(), records->end(), [](const SessionRecord &a, const SessionRecord &b) {
            return a.createdMs != b.createdMs ? a.createdMs > b.createdMs : a.hash.bytes() < b.hash.bytes();
        });
        page.total = records->size();
        for (std::size_t i = query.offset; i < records->size() && page.rows.size() < query.limit; ++i)
            page.rows.push_back(std::move((*records)[i]));
        return page;
    }
    // Newest first over the per-area indexes (member "tag:hash", score = creation time).
    std::vector<Area> areas;
    if (query.area)
        areas.push_back(*query.area);
    else
        areas.assign(kAreas.begin(), kAreas.end());
    std::vector<Command> commands;
    const std::string last = std::to_string(query.offset + query.limit - 1);
    for (const Area area : areas) {
        commands.push_back({"ZCARD", liveKey(area)});
        commands.push_back({"ZREVRANGE", liveKey(area),
                            areas.size() == 1 ? std::to_string(query.offset) : "0", last, "WITHSCORES"});
    }
    const auto replies = run(commands);
    if (!replies)
        return std::nullopt;
    struct Entry
    {
        double score;
        std::string member;
    };
    std::vector<Entry> entries;
    for (std::size_t i = 0; i < areas.size(); ++i) {
        page.total += static_cast<std::size_t>((*replies)[2 * i]->integer);
        const redisReply *range = (*replies)[2 * i + 1].get();
        for (std::size_t j = 0; j + 1 < range->elements; j += 2)
            entries.push_back(
                {std::strtod(range->element[j + 1]->str, nullptr), replyText(range->element[j])});
    }
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry &a, const Entry &b) { return a.score > b.score; });
    const std::size_t first = areas.size() == 1 ? 0 : std::min(query.offset, entries.size());
    const std::size_t end = std::min(entries.size(), first + query.limit);
    commands.clear();
    std::vector<IdHash> hashes;
    for (std::size_t i = first; i < end; ++i) {
        const auto colon = entries[i].member.find(':');
        const auto hash =
            colon == std::string::npos ? std::nullopt : IdHash::fromHex(entries[i].member.substr(colon + 1));
        if (!hash)
            continue;
        hashes.push_back(*hash);
        commands.push_back(
            fetchCommand(entries[i].member.substr(0, colon), hash->toHex(), now, rules, false));
    }
    if (commands.empty())
        return page;
    const auto rows = run(commands);
    if (!rows)
        return std::nullopt;
    for (std::size_t i = 0; i < hashes.size(); ++i) {
        if (auto record = recordFromReply((*rows)[i].get(), hashes[i]))
            page.rows.push_back(std::move(*record));
    }
    return page;
}

std::optional<SessionStore::SharedConfig> RedisStore::readSharedConfig()
{
    const auto replies = run({{"HMGET", configKey(), "version", "json"}});
    if (!replies)
        return std::nullopt;
    const redisReply *reply = (*replies)[0].get();
    SharedConfig config;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
        return std::nullopt;
    std::int64_t version = 0;
    if (reply->element[0]->type == REDIS_REPLY_STRING && parseInt(replyText(reply->element[0]), version))
        config.version = static_cast<std::uint64_t>(version);
    config.json = replyText(reply->element[1]);
    return config;
}

bool RedisStore::writeSharedConfig(const std::string &json, std::uint64_t *version)
{
    const auto replies = run({{"EVALSHA", m_configSha, "1", configKey(), json}});
    if (!replies || (*replies)[0]->type != REDIS_REPLY_INTEGER)
        return false;
    *version = static_cast<std::uint64_t>((*replies)[0]->integer);
    return true;
}

SessionStore::LoadResult RedisStore::load(const std::function<void(SessionRecord &&)> &,
                                          const std::function<void(AuthRootRecord &&)> &)
{
    // Shared: nothing is loaded; every node asks Redis about the sessions it meets.
    LoadResult result;
    const auto replies = run({{"PING"}});
    if (!replies) {
        result.ok = false;
        result.error = lastError();
    }
    return result;
}

bool RedisStore::degraded() const
{
    std::lock_guard lock(m_stateMutex);
    return m_unavailable;
}

std::string RedisStore::lastError() const
{
    std::lock_guard lock(m_stateMutex);
    return m_lastError;
}

std::string RedisStore::describe() const
{
    return "Redis store at " + m_options.url.text() + " (shared)";
}

// ---- writes ---------------------------------------------------------------------------------

void RedisStore::appendMutation(const StoreMutation &mutation, std::vector<Command> &commands) const
{
    if (const auto *put = std::get_if<StoreMutation::PutSession>(&mutation.change)) {
        const SessionRecord &r = put->record;
        const std::string tag = userTag(r.user);
        const std::string hex = r.hash.toHex();
        const TimeMs ttl = ttlFrom(put->expiresAtMs, r.lastActivityMs);
        const std::string area = number(static_cast<int>(r.area));
        commands.push_back({"EVALSHA", m_putSha, "4", sessionKey(tag, hex), key(tag, ":i"), key(tag, ":nb"),
                            key(tag, ":t:" + hex), hex, r.user, area, r.rememberMe ? "1" : "0", r.clientIp,
                            r.userAgent, number(r.createdMs), number(r.authTimeMs), number(r.lastActivityMs),
                            r.data, number(ttl),
                            put->rotatedFrom ? put->rotatedFrom->toHex() : std::string()});
        commands.push_back({"SET", pointerKey(hex), tag, "PX", number(ttl + kGraceMs)});
        commands.push_back({"ZADD", liveKey(r.area), number(r.createdMs), tag + ":" + hex});
    } else if (const auto *remove = std::get_if<StoreMutation::RemoveSession>(&mutation.change)) {
        const std::string hex = remove->hash.toHex();
        if (!remove->user.empty()) {
            const std::string tag = userTag(remove->user);
            commands.push_back({"EVALSHA", m_removeSha, "3", sessionKey(tag, hex), key(tag, ":i"),
                                key(tag, ":t:" + hex), hex, remove->revoked ? "1" : "0",
                                number(ttlFrom(remove->expiresAtMs, remove->nowMs) + kGraceMs)});
            for (const Area area : kAreas)
                commands.push_back({"ZREM", liveKey(area), tag + ":" + hex});
        }
        commands.push_back({"DEL", pointerKey(hex)});
    } else if (const auto *data = std::get_if<StoreMutation::SetData>(&mutation.change)) {
        const std::string tag = userTag(data->user);
        commands.push_back({"EVALSHA", m_setDataSha, "1", sessionKey(tag, data->hash.toHex()), data->data,
                            number(data->lastActivityMs),
                            number(ttlFrom(data->expiresAtMs, data->lastActivityMs))});
    } else if (const auto *revoke = std::get_if<StoreMutation::RevokeUser>(&mutation.change)) {
        const std::string tag = userTag(revoke->user);
        Command c{"EVALSHA",
                  m_revokeSha,
                  "1",
                  key(tag, ":nb"),
                  number(revoke->notBeforeMs),
                  revoke->except ? revoke->except->toHex() : std::string(),
                  number(revoke->keepForMs)};
        for (const Area area : kAreas) {
            if (!revoke->area || *revoke->area == area)
                c.push_back(number(static_cast<int>(area)));
        }
        commands.push_back(std::move(c));
    } else if (const auto *root = std::get_if<StoreMutation::PutAuthRoot>(&mutation.change)) {
        const AuthRootRecord &r = root->record;
        commands.push_back({"SET", rootKey(r.hash.toHex()),
                            r.clientIp + "\n" + number(r.createdMs) + "\n" + number(r.lastActivityMs) + "\n" +
                                encodeAuthTabs(r.tabs),
                            "PX", number(ttlFrom(root->expiresAtMs, r.lastActivityMs))});
    } else if (const auto *removeRoot = std::get_if<StoreMutation::RemoveAuthRoot>(&mutation.change)) {
        commands.push_back({"DEL", rootKey(removeRoot->hash.toHex())});
    }
}

SessionStore::Ticket RedisStore::submit(std::vector<StoreMutation> mutations)
{
    Ticket ticket;
    {
        std::lock_guard lock(m_queueMutex);
        ticket = ++m_submitted;
        m_queue.emplace_back(ticket, std::move(mutations));
    }
    m_wake.notify_one();
    return ticket;
}

bool RedisStore::waitDurable(Ticket ticket)
{
    std::unique_lock lock(m_queueMutex);
    m_done.wait(lock, [&] { return m_completed >= ticket; });
    for (const auto &[first, last] : m_failed) {
        if (ticket >= first && ticket <= last)
            return false;
    }
    return true;
}

void RedisStore::submitTouches(std::vector<StoreTouch> touches)
{
    {
        std::lock_guard lock(m_queueMutex);
        m_touches.insert(m_touches.end(), std::make_move_iterator(touches.begin()),
                         std::make_move_iterator(touches.end()));
    }
    m_wake.notify_one();
}

bool RedisStore::sync()
{
    return waitDurable(submit({}));
}

void RedisStore::writerLoop()
{
    auto nextPrune = std::chrono::steady_clock::now() + m_options.pruneInterval;
    std::unique_lock lock(m_queueMutex);
    for (;;) {
        m_wake.wait_until(lock, nextPrune,
                          [this] { return m_stop || !m_queue.empty() || !m_touches.empty(); });
        if (m_stop && m_queue.empty() && m_touches.empty())
            break;
        std::deque<std::pair<Ticket, std::vector<StoreMutation>>> batch;
        batch.swap(m_queue);
        std::vector<StoreTouch> touches;
        touches.swap(m_touches);
        lock.unlock();

        // Key lifetimes (PX) are relative to the engine's time of each change; validity itself is
        // always decided from the engine's clock, passed to the scripts.
        std::vector<Command> commands;
        for (const auto &[ticket, mutations] : batch) {
            for (const StoreMutation &m : mutations)
                appendMutation(m, commands);
        }
        // Touches keep the identifier → owner lookup alive as long as the session (best effort).
        for (const StoreTouch &touch : touches) {
            if (!touch.user.empty())
                commands.push_back({"PEXPIRE", pointerKey(touch.hash.toHex()),
                                    number(ttlFrom(touch.expiresAtMs, touch.lastActivityMs) + kGraceMs)});
        }
        bool ok = true;
        if (!commands.empty()) {
            const auto replies = run(commands);
            ok = replies.has_value();
            if (ok) {
                for (const Reply &reply : *replies) {
                    if (isError(reply.get())) {
                        markFailed("command refused: " + replyText(reply.get()));
                        ok = false;
                        break;
                    }
                }
            }
        }
        if (std::chrono::steady_clock::now() >= nextPrune) {
            pruneNow();
            nextPrune = std::chrono::steady_clock::now() + m_options.pruneInterval;
        }

        lock.lock();
        if (!batch.empty()) {
            if (!ok)
                m_failed.emplace_back(batch.front().first, batch.back().first);
            m_completed = batch.back().first;
            // Failure records older than every waiter can go.
            if (m_failed.size() > 64)
                m_failed.erase(m_failed.begin(), m_failed.end() - 64);
        }
        m_done.notify_all();
    }
}

std::size_t RedisStore::pruneNow()
{
    // Sessions that expired by TTL leave their entry in the per-area index; drop them in steps
    // so that the per-area counts stay exact within a few seconds.
    std::lock_guard pruneLock(m_pruneMutex);
    std::size_t dropped = 0;
    for (const Area area : kAreas) {
        std::string &cursor = m_pruneCursor[static_cast<std::size_t>(area)];
        const auto scan = run({{"ZSCAN", liveKey(area), cursor, "COUNT", "1000"}});
        if (!scan)
            return dropped;
        const redisReply *reply = (*scan)[0].get();
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
            continue;
        cursor = replyText(reply->element[0]);
        const redisReply *items = reply->element[1];
        std::vector<std::string> members;
        std::vector<Command> exists;
        for (std::size_t i = 0; i + 1 < items->elements; i += 2) {
            const std::string member = replyText(items->element[i]);
            const auto colon = member.find(':');
            if (colon == std::string::npos)
                continue;
            members.push_back(member);
            exists.push_back({"EXISTS", sessionKey(member.substr(0, colon), member.substr(colon + 1))});
        }
        if (exists.empty())
            continue;
        const auto found = run(exists);
        if (!found)
            return dropped;
        Command zrem{"ZREM", liveKey(area)};
        for (std::size_t i = 0; i < members.size(); ++i) {
            if ((*found)[i]->type == REDIS_REPLY_INTEGER && (*found)[i]->integer == 0)
                zrem.push_back(members[i]);
        }
        if (zrem.size() > 2 && run({zrem})) {
            dropped += zrem.size() - 2;
            m_pruned.fetch_add(zrem.size() - 2, std::memory_order_relaxed);
        }
    }
    return dropped;
}

} // namespace hourglass
