// The shared Redis store against the embedded store, in one invocation: session creation,
// validate+touch throughput and latency from several threads, first sight of a session on a
// second node, and Redis memory per session (INFO memory, before and after).
// Starts its own redis-server (Debian's) on a free loopback port unless a URL is given.
// Usage: bench_redis [sessions=100000] [seconds=5] [threads=4] [redis://host:port/db]

#include "RedisStore.h"
#include "SessionEngine.h"
#include "SqliteStore.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char **environ;

using namespace hourglass;
using Steady = std::chrono::steady_clock;

namespace {

struct Throughput
{
    double opsPerSecond = 0;
    double p50Us = 0;
    double p99Us = 0;
};

Throughput validateLoad(SessionEngine &engine, const std::vector<std::string> &tokens, int threads, double seconds)
{
    std::atomic<bool> stop{false};
    std::vector<std::vector<double>> samples(static_cast<std::size_t>(threads));
    std::vector<std::thread> workers;
    const auto start = Steady::now();
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t + 1));
            auto &mine = samples[static_cast<std::size_t>(t)];
            mine.reserve(1 << 20);
            while (!stop.load(std::memory_order_relaxed)) {
                const auto begin = Steady::now();
                if (engine.validate(tokens[rng() % tokens.size()]).error != SessionError::None)
                    std::abort();
                mine.push_back(std::chrono::duration<double, std::micro>(Steady::now() - begin).count());
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto &w : workers)
        w.join();
    const double elapsed = std::chrono::duration<double>(Steady::now() - start).count();
    std::vector<double> all;
    for (auto &s : samples)
        all.insert(all.end(), s.begin(), s.end());
    std::sort(all.begin(), all.end());
    return {double(all.size()) / elapsed, all[all.size() / 2], all[all.size() * 99 / 100]};
}

double createAll(SessionEngine &engine, std::size_t n, std::vector<std::string> &tokens)
{
    const auto start = Steady::now();
    // Two writers, as two request threads would: each create waits until durable.
    std::vector<std::thread> writers;
    std::vector<std::vector<std::string>> made(2);
    for (std::size_t w = 0; w < 2; ++w) {
        writers.emplace_back([&, w] {
            for (std::size_t i = w; i < n; i += 2) {
                CreateResult r = engine.create({"user" + std::to_string(i % 50000), Area::Storefront, false,
                                                "10.0." + std::to_string(i % 250) + "." + std::to_string(i % 200),
                                                "Mozilla/5.0 (X11; Linux x86_64) bench"});
                if (r.error != SessionError::None)
                    std::abort();
                made[w].push_back(std::move(r.token));
            }
        });
    }
    for (auto &w : writers)
        w.join();
    for (auto &m : made)
        tokens.insert(tokens.end(), std::make_move_iterator(m.begin()), std::make_move_iterator(m.end()));
    return double(n) / std::chrono::duration<double>(Steady::now() - start).count();
}

long long usedMemory(const RedisStore::Url &url)
{
    timeval tv{2, 0};
    redisContext *c = redisConnectWithTimeout(url.host.c_str(), url.port, tv);
    if (!c || c->err)
        return -1;
    auto *reply = static_cast<redisReply *>(redisCommand(c, "INFO memory"));
    long long used = -1;
    if (reply && reply->type == REDIS_REPLY_STRING) {
        const std::string info(reply->str, reply->len);
        const auto at = info.find("used_memory:");
        if (at != std::string::npos)
            used = std::atoll(info.c_str() + at + 12);
    }
    freeReplyObject(reply);
    redisFree(c);
    return used;
}

pid_t startRedis(int port, const std::string &dir)
{
    const std::string portText = std::to_string(port);
    std::vector<std::string> args{"redis-server", "--port", portText, "--bind", "127.0.0.1", "--dir", dir,
                                  "--save", "", "--appendonly", "no", "--loglevel", "warning"};
    std::vector<char *> argv;
    for (auto &a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawnp(&pid, "redis-server", nullptr, nullptr, argv.data(), environ) != 0)
        return 0;
    return pid;
}

} // namespace

int main(int argc, char **argv)
{
    const std::size_t sessions = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
    const double seconds = argc > 2 ? std::atof(argv[2]) : 5.0;
    const int threads = argc > 3 ? std::atoi(argv[3]) : 4;
    std::string error;
    std::string url = argc > 4 ? argv[4] : std::string();

    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("bench_redis." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    pid_t redisPid = 0;
    if (url.empty()) {
        const int port = 20000 + ::getpid() % 20000;
        redisPid = startRedis(port, dir.string());
        if (!redisPid) {
            std::fprintf(stderr, "bench_redis: cannot start redis-server (apt install redis-server)\n");
            return 1;
        }
        url = "redis://127.0.0.1:" + std::to_string(port) + "/0";
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    const auto parsed = RedisStore::parseUrl(url, &error);
    if (!parsed) {
        std::fprintf(stderr, "bench_redis: %s\n", error.c_str());
        return 1;
    }
    Policy policy;
    policy.maxSessionsPerIp = 0;
    policy.area(Area::Storefront).maxSessionsPerUser = 0;

    // Reference: the embedded store (SQLite, durable) in the same run.
    SqliteStore::Options so;
    so.path = (dir / "sessions.db").string();
    auto sqlite = SqliteStore::open(so, &error);
    SessionEngine::Options eo;
    eo.store = sqlite.get();
    std::vector<std::string> embeddedTokens;
    double embeddedCreate = 0;
    Throughput embedded;
    {
        SessionEngine engine(eo, policy);
        embeddedCreate = createAll(engine, sessions, embeddedTokens);
        embedded = validateLoad(engine, embeddedTokens, threads, seconds);
    }

    RedisStore::Options ro;
    ro.url = *parsed;
    std::unique_ptr<RedisStore> redisA;
    for (int i = 0; i < 50 && !redisA; ++i) {
        redisA = RedisStore::open(ro, &error);
        if (!redisA)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!redisA) {
        std::fprintf(stderr, "bench_redis: %s\n", error.c_str());
        return 1;
    }
    const long long memoryBefore = usedMemory(*parsed);
    eo.store = redisA.get();
    SessionEngine nodeA(eo, policy);
    std::vector<std::string> redisTokens;
    const double redisCreate = createAll(nodeA, sessions, redisTokens);
    const long long memoryAfter = usedMemory(*parsed);
    const Throughput warm = validateLoad(nodeA, redisTokens, threads, seconds);

    // A second node meets every session for the first time (lookup key, then the script).
    auto redisB = RedisStore::open(ro, &error);
    eo.store = redisB.get();
    SessionEngine nodeB(eo, policy);
    const std::size_t coldCount = std::min<std::size_t>(sessions, 20000);
    const auto coldStart = Steady::now();
    for (std::size_t i = 0; i < coldCount; ++i) {
        if (nodeB.validate(redisTokens[i]).error != SessionError::None)
            std::abort();
    }
    const double coldUs =
        std::chrono::duration<double, std::micro>(Steady::now() - coldStart).count() / double(coldCount);

    const unsigned cores = std::thread::hardware_concurrency();
    std::printf("bench_redis: %zu sessions, %d validating threads, %.0f s each, %u cores, %s\n", sessions, threads,
                seconds, cores, redisA->describe().c_str());
    std::printf("%-34s %14s %10s %10s\n", "workload", "ops/s", "p50 us", "p99 us");
    std::printf("%-34s %14.0f %10s %10s\n", "create, embedded (reference)", embeddedCreate, "-", "-");
    std::printf("%-34s %14.0f %10s %10s\n", "create, Redis", redisCreate, "-", "-");
    std::printf("%-34s %14.0f %10.1f %10.1f\n", "validate+touch, embedded (ref.)", embedded.opsPerSecond,
                embedded.p50Us, embedded.p99Us);
    std::printf("%-34s %14.0f %10.1f %10.1f\n", "validate+touch, Redis", warm.opsPerSecond, warm.p50Us, warm.p99Us);
    std::printf("%-34s %14.0f %10s %10s\n", "validate, Redis, first sight", 1e6 / coldUs, "-", "-");
    std::printf("ratios: create Redis/embedded %.2fx; validate Redis/embedded %.3fx; first sight/warm %.2fx\n",
                redisCreate / embeddedCreate, warm.opsPerSecond / embedded.opsPerSecond,
                (1e6 / coldUs) / (warm.opsPerSecond / threads));
    std::printf("Redis memory: %.0f bytes per session (used_memory %lld -> %lld over %zu sessions; "
                "session hash, lookup key, per-user and per-area index entries)\n",
                double(memoryAfter - memoryBefore) / double(sessions), memoryBefore, memoryAfter, sessions);

    redisA.reset();
    redisB.reset();
    if (redisPid) {
        ::kill(redisPid, SIGTERM);
        ::waitpid(redisPid, nullptr, 0);
    }
    std::filesystem::remove_all(dir);
    return 0;
}
