// Mass expiry at scale: N sessions expire at the same instant; while the sweeper removes them, a
// second thread validates live sessions and records its worst latency. The reference is the same
// validation loop with no sweep running, in the same invocation.
// Usage: bench_expiry [sessions=1000000] [sweep batch=engine default]

#include "SessionEngine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

using namespace hourglass;
using Clock_ = std::chrono::steady_clock;

namespace {

class SettableClock final : public Clock
{
public:
    TimeMs nowMs() const override { return m_now.load(); }
    void set(TimeMs t) { m_now.store(t); }

private:
    std::atomic<TimeMs> m_now{1'700'000'000'000};
};

struct Latency
{
    std::uint64_t count = 0;
    double maxUs = 0;
    double p99Us = 0;
    double p9999Us = 0;
    std::uint64_t overMs = 0; // validations that took longer than 1 ms
};

Latency validateWhile(SessionEngine &engine, const std::vector<std::string> &live,
                      const std::atomic<bool> &stop)
{
    // Written before the clock starts, so that the loop's own page faults are not measured (they
    // would wait for the kernel's memory map lock, which the sweeper's frees take for unmapping).
    std::vector<double> samples(std::size_t(1) << 23);
    std::size_t taken = 0;
    std::mt19937 rng(7);
    while (!stop.load(std::memory_order_relaxed)) {
        const std::string &token = live[rng() % live.size()];
        const auto t = Clock_::now();
        if (engine.validate(token, SessionEngine::Touch::No).error != SessionError::None)
            std::abort();
        if (taken < samples.size())
            samples[taken++] = std::chrono::duration<double, std::micro>(Clock_::now() - t).count();
    }
    samples.resize(taken);
    Latency l;
    l.count = samples.size();
    if (samples.empty())
        return l;
    std::sort(samples.begin(), samples.end());
    l.maxUs = samples.back();
    l.p99Us = samples[samples.size() * 99 / 100];
    l.p9999Us = samples[samples.size() * 9999 / 10000];
    l.overMs =
        static_cast<std::uint64_t>(samples.end() - std::upper_bound(samples.begin(), samples.end(), 1000.0));
    return l;
}

} // namespace

int main(int argc, char *argv[])
{
    const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    const std::size_t batch =
        argc > 2 ? std::strtoull(argv[2], nullptr, 10) : SessionEngine::Options().sweepBatch;
    SettableClock clock;
    Policy policy;
    policy.maxSessionsPerIp = 0;
    SessionEngine::Options options;
    options.clock = &clock;
    options.sweepBatch = batch;
    SessionEngine engine(options, policy);

    const TimeMs t0 = clock.nowMs();
    auto start = Clock_::now();
    for (std::size_t i = 0; i < n; ++i)
        engine.create({"user" + std::to_string(i % 100000), Area::Storefront, false, "10.0.0.1", "bench"});
    const double createS = std::chrono::duration<double>(Clock_::now() - start).count();
    clock.set(t0 + 10 * kMsPerMinute);
    std::vector<std::string> live;
    for (int i = 0; i < 10000; ++i)
        live.push_back(
            engine.create({"live" + std::to_string(i), Area::Storefront, false, "10.0.0.2", "bench"}).token);

    // Reference: validations with nothing else running, for as long as the sweep will take (~).
    std::atomic<bool> stop{false};
    std::thread refThread([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1000));
        stop = true;
    });
    const Latency reference = validateWhile(engine, live, stop);
    refThread.join();

    // All N expire at t0 + 15 min; the 10,000 live ones at t0 + 25 min.
    clock.set(t0 + 15 * kMsPerMinute);
    stop = false;
    Latency during;
    std::thread validator([&] { during = validateWhile(engine, live, stop); });
    start = Clock_::now();
    const std::size_t expired = engine.sweepExpired();
    const double sweepS = std::chrono::duration<double>(Clock_::now() - start).count();
    stop = true;
    validator.join();

    std::printf(
        "mass expiry: %zu sessions (created in %.2f s), batch %zu, swept %zu in %.3f s (%.0f ns per expired "
        "session)\n",
        n, createS, batch, expired, sweepS, sweepS * 1e9 / double(std::max<std::size_t>(1, expired)));
    for (const auto &[name, l] :
         {std::pair{"validate alone ", reference}, std::pair{"during sweep   ", during}})
        std::printf("  %s: %8llu calls, p99 %7.2f us, p99.99 %8.2f us, max %8.2f us, %llu over 1 ms\n", name,
                    static_cast<unsigned long long>(l.count), l.p99Us, l.p9999Us, l.maxUs,
                    static_cast<unsigned long long>(l.overMs));
    std::printf("  ratio max during/alone: %.2fx; worst stall %.3f ms\n",
                during.maxUs / std::max(0.001, reference.maxUs), during.maxUs / 1000.0);
    return expired == n ? 0 : 1;
}
