#pragma once

#include "HttpServer.h"
#include "SessionEngine.h"

#include <array>
#include <atomic>
#include <chrono>
#include <string>

namespace hourglass::service {

// Service-level counters and the request latency histogram, rendered with the engine's counters in
// the Prometheus text exposition format (version 0.0.4).
class ServiceMetrics
{
public:
    static constexpr std::array<double, 13> kBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                     0.025,  0.05,    0.1,    0.25,  0.5,    1.0};

    void observe(int status, std::chrono::nanoseconds latency);
    void rejected(http::Rejection rejection);
    void blockedRequest();
    void rateLimited();

    struct Gauges
    {
        EngineCounters engine;
        std::size_t blockedIps = 0;
        std::size_t openConnections = 0;
        bool storeDegraded = false;
    };
    std::string render(const Gauges &gauges) const;

private:
    std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> m_buckets{};
    std::atomic<std::uint64_t> m_latencyNanos{0};
    std::array<std::atomic<std::uint64_t>, 6> m_statusClass{}; // 1xx..5xx, index by status/100
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(http::Rejection::Count)> m_rejections{};
    std::atomic<std::uint64_t> m_blocked{0};
    std::atomic<std::uint64_t> m_rateLimited{0};
};

} // namespace hourglass::service
