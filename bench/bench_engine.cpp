// The engine in process, on one core (Google Benchmark).
//
//   bench_engine [--sessions=N] [google benchmark flags]   throughput, with its reference
//   bench_engine --memory=N                                 bytes per session (RSS delta / N)
//
// ValidateTouch validates and touches random sessions among N live ones (1,000,000 by default):
// random order, so that the hash-map and slot reads miss the cache as a busy service's would.
// The tokens themselves are read from one array in the order they are validated: in the service a
// token was just parsed from the request and is in the cache, so a harness that kept each in a
// std::string of its own, scattered over the heap, added a cache miss to every call (of the
// engine and of the reference alike) that no server pays.
// Its reference, in the same run, is the least any session store must do for the same request:
// decode the 43-character ID, SHA-256 it, and find the hash in a hash map of N entries
// (HashAndFind). Create fills an engine in memory (no store) from empty to N sessions.

#include "RandomSource.h"
#include "SessionEngine.h"
#include "SessionId.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <unistd.h>
#include <unordered_map>
#include <vector>

using namespace hourglass;

namespace {

std::size_t g_sessions = 1'000'000;

// The product's defaults, the per-IP cap of 100 included: the engine keeps its per-IP counts (with
// no cap it keeps none, and a create is ~10 % cheaper). fillParams gives every session its own
// address, so the cap is never reached.
Policy benchPolicy()
{
    return Policy();
}

// Fills p for the i-th session, reusing p's strings: the Create loop measures the engine, not
// the harness's allocations (a service builds its parameters from the request it parsed).
void fillParams(std::size_t i, CreateParams &p)
{
    // A realistic row: a user name, an IPv4 address, a browser's user agent (one of a few).
    static const char *const agents[] = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
        "Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
        "Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148",
    };
    char text[64];
    char *end = std::to_chars(text, text + sizeof text, i % 400'000).ptr;
    p.user.assign("customer").append(text, end).append("@example.com");
    p.area = i % 10 == 0 ? Area::Admin : Area::Storefront;
    end = text;
    for (const std::size_t octet : {std::size_t(10), (i >> 16) & 255, (i >> 8) & 255, i & 255}) {
        if (end != text)
            *end++ = '.';
        end = std::to_chars(end, text + sizeof text, octet).ptr;
    }
    p.clientIp.assign(text, end);
    p.userAgent.assign(agents[i % 4]);
}

CreateParams paramsFor(std::size_t i)
{
    CreateParams p;
    fillParams(i, p);
    return p;
}

struct LiveEngine
{
    LiveEngine()
    {
        SessionEngine::Options options;
        engine = std::make_unique<SessionEngine>(options, benchPolicy());
        // The tokens go into one string as they are issued: a million separate strings, freed
        // once the fixture is built, would leave a million scattered chunks in malloc's free
        // lists for every allocation measured after (the Create benchmark ran 30 % slower on them).
        constexpr std::size_t kLength = SessionToken::kEncodedLength;
        std::string issued;
        issued.reserve(g_sessions * kLength);
        for (std::size_t i = 0; i < g_sessions; ++i) {
            CreateResult r = engine->create(paramsFor(i));
            if (r.error != SessionError::None) {
                std::fprintf(stderr, "create failed: %s\n", std::string(sessionErrorName(r.error)).c_str());
                std::exit(1);
            }
            issued += r.token;
        }
        std::vector<std::uint32_t> order(g_sessions);
        std::iota(order.begin(), order.end(), 0u);
        std::shuffle(order.begin(), order.end(), std::mt19937_64(42));
        text.reserve(issued.size());
        for (const std::uint32_t i : order)
            text.append(issued, i * kLength, kLength);
        tokens.reserve(order.size());
        for (std::size_t i = 0; i < order.size(); ++i)
            tokens.push_back(std::string_view(text).substr(i * kLength, kLength));
    }
    std::unique_ptr<SessionEngine> engine;
    std::string text;                     // every token, in validation order
    std::vector<std::string_view> tokens; // into text
};

LiveEngine &live()
{
    static LiveEngine instance;
    return instance;
}

// As the HTTP service validates: the session handed to a reader under its shard's lock, its texts
// borrowed. The reader reads what an answer needs: the user's name (copied, as into the answer to
// nginx), the area and the deadline.
void ValidateTouch(benchmark::State &state)
{
    LiveEngine &l = live();
    std::size_t i = 0;
    std::string user;
    for (auto _ : state) {
        TimeMs expires = 0;
        Area area = Area::Admin;
        const SessionError error =
            l.engine->validate(l.tokens[i], SessionEngine::Touch::Yes, [&](const SessionInfo &info) {
                user.assign(textOf(info.user));
                area = info.area;
                expires = info.expiresAtMs;
            });
        if (error != SessionError::None)
            state.SkipWithError("validation failed");
        benchmark::DoNotOptimize(user.data());
        benchmark::DoNotOptimize(area);
        benchmark::DoNotOptimize(expires);
        if (++i == l.tokens.size())
            i = 0;
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["sessions"] = double(l.tokens.size());
}

// The same through validate()'s result, a copy of the session that holds its texts: two reference
// counts raised and released per call (the admin pages and the other callers read sessions so).
void ValidateTouchCopy(benchmark::State &state)
{
    LiveEngine &l = live();
    std::size_t i = 0;
    for (auto _ : state) {
        ValidateResult r = l.engine->validate(l.tokens[i], SessionEngine::Touch::Yes);
        if (r.error != SessionError::None)
            state.SkipWithError("validation failed");
        benchmark::DoNotOptimize(r);
        if (++i == l.tokens.size())
            i = 0;
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["sessions"] = double(l.tokens.size());
}

// The reference: what any store must do for the same request, and nothing else, done as cheaply as
// this machine allows: check the 43 characters against the base64url alphabet (one table lookup
// each, canonical last character), SHA-256 them the engine's way (OpenSSL's low-level functions on
// a context on the stack: EVP, even with its method fetched once and a context reused, costs twice
// as much in OpenSSL 3.0), and find the hash in a hash map of N rows.
class MinimalHasher
{
public:
    MinimalHasher()
    {
        for (int c = 0; c < 256; ++c)
            m_value[c] = -1;
        const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for (int v = 0; v < 64; ++v)
            m_value[static_cast<unsigned char>(alphabet[v])] = static_cast<std::int8_t>(v);
    }
    bool hash(std::string_view text, std::array<std::uint8_t, IdHash::kSize> *out)
    {
        if (text.size() != SessionToken::kEncodedLength)
            return false;
        int bad = 0;
        for (const char c : text)
            bad |= m_value[static_cast<unsigned char>(c)];
        if (bad < 0 || (m_value[static_cast<unsigned char>(text.back())] & 3) != 0)
            return false;
        *out = sha256(text).bytes();
        return true;
    }

private:
    std::int8_t m_value[256];
};

// The reference's map, built once (the library calls a benchmark several times while it sizes
// the run) and kept for the process: freed, its million nodes would scatter every allocation
// measured after it.
struct ReferenceMap
{
    struct Row
    {
        std::int64_t lastActivityMs;
        std::uint32_t user;
    };

    explicit ReferenceMap(const std::vector<std::string_view> &tokens)
    {
        map.reserve(tokens.size());
        std::uint32_t n = 0;
        std::array<std::uint8_t, IdHash::kSize> bytes;
        // Inserted in an order of their own, as the engine's sessions are (in creation order):
        // nodes allocated in the order they are then looked up would be read one after the other,
        // which the processor's prefetcher sees coming.
        std::vector<std::string_view> insertion = tokens;
        std::shuffle(insertion.begin(), insertion.end(), std::mt19937_64(7));
        for (const std::string_view t : insertion) {
            hasher.hash(t, &bytes);
            map.emplace(IdHash(bytes), Row{0, n++});
        }
    }
    MinimalHasher hasher;
    std::unordered_map<IdHash, Row, IdHashHasher> map;
};

void HashAndFind(benchmark::State &state)
{
    LiveEngine &l = live();
    static ReferenceMap reference(l.tokens);
    MinimalHasher &hasher = reference.hasher;
    auto &map = reference.map;
    std::array<std::uint8_t, IdHash::kSize> bytes;
    std::size_t i = 0;
    for (auto _ : state) {
        if (!hasher.hash(l.tokens[i], &bytes))
            state.SkipWithError("malformed");
        auto it = map.find(IdHash(bytes));
        if (it == map.end())
            state.SkipWithError("not found");
        it->second.lastActivityMs = std::int64_t(i);
        benchmark::DoNotOptimize(it->second);
        if (++i == l.tokens.size())
            i = 0;
    }
    state.SetItemsProcessed(state.iterations());
}

void Create(benchmark::State &state)
{
    SessionEngine::Options options;
    SessionEngine engine(options, benchPolicy());
    std::size_t i = 0;
    CreateParams params;
    for (auto _ : state) {
        fillParams(i++, params);
        CreateResult r = engine.create(params);
        if (r.error != SessionError::None)
            state.SkipWithError("create failed");
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
}

std::size_t rssBytes()
{
    std::ifstream statm("/proc/self/statm");
    std::size_t size = 0, resident = 0;
    statm >> size >> resident;
    return resident * std::size_t(sysconf(_SC_PAGESIZE));
}

int memory(std::size_t n)
{
    SessionEngine::Options options;
    SessionEngine engine(options, benchPolicy());
    // Everything the measurement itself needs is allocated before the first reading.
    std::vector<CreateParams> params;
    params.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        params.push_back(paramsFor(i));
    const std::size_t before = rssBytes();
    for (std::size_t i = 0; i < n; ++i) {
        if (engine.create(params[i]).error != SessionError::None) {
            std::fprintf(stderr, "create failed at %zu\n", i);
            return 1;
        }
    }
    const std::size_t after = rssBytes();
    std::printf("{\"sessions\": %zu, \"rss_before\": %zu, \"rss_after\": %zu, \"bytes_per_session\": %.1f}\n",
                n, before, after, double(after - before) / double(n));
    return 0;
}

} // namespace

BENCHMARK(HashAndFind);
BENCHMARK(ValidateTouch);
BENCHMARK(ValidateTouchCopy);

int main(int argc, char **argv)
{
    std::vector<char *> rest;
    for (int i = 0; i < argc; ++i) {
        if (std::strncmp(argv[i], "--memory=", 9) == 0)
            return memory(std::strtoull(argv[i] + 9, nullptr, 10));
        if (std::strncmp(argv[i], "--sessions=", 11) == 0)
            g_sessions = std::strtoull(argv[i] + 11, nullptr, 10);
        else
            rest.push_back(argv[i]);
    }
    int restCount = int(rest.size());
    benchmark::Initialize(&restCount, rest.data());
    // A fixed count: filling one engine from empty to N sessions. The cost of a creation grows
    // with the tables, so a count left to the library would make the rate depend on the time
    // allowed.
    benchmark::RegisterBenchmark("Create", Create)
        ->Iterations(static_cast<benchmark::IterationCount>(g_sessions));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
