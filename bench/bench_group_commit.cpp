// Durable session creation: group commit vs one transaction (one fsync) per create.
// Both runs happen in this one invocation, on the same disk, with the same load; the figure that
// matters is their ratio. Usage: bench_group_commit [threads=16] [seconds=5] [dir=/var/tmp]

#include "SessionEngine.h"
#include "SqliteStore.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace hourglass;

namespace {

struct Run
{
    std::uint64_t creates = 0;
    std::uint64_t commits = 0;
    double seconds = 0;
    double perSecond() const { return double(creates) / seconds; }
};

Run measure(const std::filesystem::path &dir, std::size_t maxBatch, int threads, double seconds)
{
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    SqliteStore::Options options;
    options.path = (dir / "sessions.db").string();
    options.maxBatchSubmits = maxBatch;
    std::string error;
    auto store = SqliteStore::open(options, &error);
    if (!store) {
        std::fprintf(stderr, "%s\n", error.c_str());
        std::exit(1);
    }
    Policy policy;
    policy.maxSessionsPerIp = 0;
    SessionEngine::Options eo;
    eo.store = store.get();
    SessionEngine engine(eo, policy);

    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> created{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            std::uint64_t n = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                const CreateResult r = engine.create({"user" + std::to_string(n++ % 1000), Area::Storefront,
                                                      false, "10.0.0." + std::to_string(t), "bench"});
                if (r.error == SessionError::None)
                    created.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto &w : workers)
        w.join();
    Run run;
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    run.creates = created.load();
    run.commits = store->commits();
    return run;
}

} // namespace

int main(int argc, char *argv[])
{
    const int threads = argc > 1 ? std::atoi(argv[1]) : 16;
    const double seconds = argc > 2 ? std::atof(argv[2]) : 5.0;
    const std::filesystem::path base = argc > 3 ? argv[3] : "/var/tmp";
    const auto dir = base / ("hourglass-bench-" + std::to_string(::getpid()));

    const Run single = measure(dir, 1, threads, seconds);
    const Run group = measure(dir, 0, threads, seconds);
    std::filesystem::remove_all(dir);

    std::printf("durable creates, %d threads, %.0f s each, SQLite WAL synchronous=FULL in %s\n", threads,
                seconds, base.c_str());
    std::printf("  one fsync per create : %10.0f creates/s  (%llu creates, %llu commits)\n",
                single.perSecond(), static_cast<unsigned long long>(single.creates),
                static_cast<unsigned long long>(single.commits));
    std::printf(
        "  group commit         : %10.0f creates/s  (%llu creates, %llu commits, %.1f creates/commit)\n",
        group.perSecond(), static_cast<unsigned long long>(group.creates),
        static_cast<unsigned long long>(group.commits),
        double(group.creates) / double(std::max<std::uint64_t>(1, group.commits)));
    std::printf("  ratio group/single   : %10.2fx\n", group.perSecond() / single.perSecond());
    return 0;
}
