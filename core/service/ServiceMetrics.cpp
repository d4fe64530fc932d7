#include "ServiceMetrics.h"

#include <cstdio>

namespace hourglass::service {

namespace {

void metric(std::string &out, const char *name, const char *type, const char *help)
{
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void sample(std::string &out, const char *name, const std::string &labels, std::uint64_t value)
{
    out += name;
    if (!labels.empty())
        out += "{" + labels + "}";
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}

const char *rejectionLabel(std::size_t i)
{
    switch (static_cast<http::Rejection>(i)) {
    case http::Rejection::HeaderTooLarge:
        return "header_too_large";
    case http::Rejection::UriTooLong:
        return "uri_too_long";
    case http::Rejection::BodyTooLarge:
        return "body_too_large";
    case http::Rejection::Malformed:
        return "malformed";
    case http::Rejection::ConnectionLimit:
        return "connection_limit";
    case http::Rejection::Timeout:
        return "timeout";
    case http::Rejection::Count:
        break;
    }
    return "other";
}

} // namespace

void ServiceMetrics::observe(int status, std::chrono::nanoseconds latency)
{
    const double seconds = std::chrono::duration<double>(latency).count();
    std::size_t bucket = 0;
    while (bucket < kBuckets.size() && seconds > kBuckets[bucket])
        ++bucket;
    m_buckets[bucket].fetch_add(1, std::memory_order_relaxed);
    m_latencyNanos.fetch_add(static_cast<std::uint64_t>(latency.count()), std::memory_order_relaxed);
    const auto cls = static_cast<std::size_t>(status / 100);
    if (cls < m_statusClass.size())
        m_statusClass[cls].fetch_add(1, std::memory_order_relaxed);
}

void ServiceMetrics::rejected(http::Rejection rejection)
{
    const auto i = static_cast<std::size_t>(rejection);
    if (i < m_rejections.size())
        m_rejections[i].fetch_add(1, std::memory_order_relaxed);
}

void ServiceMetrics::blockedRequest()
{
    m_blocked.fetch_add(1, std::memory_order_relaxed);
}

void ServiceMetrics::rateLimited()
{
    m_rateLimited.fetch_add(1, std::memory_order_relaxed);
}

std::string ServiceMetrics::render(const Gauges &g) const
{
    std::string out;
    out.reserve(4096);
    const EngineCounters &c = g.engine;
    metric(out, "hourglass_active_sessions", "gauge", "Sessions alive now, by area.");
    sample(out, "hourglass_active_sessions", "area=\"admin\"", c.active[0]);
    sample(out, "hourglass_active_sessions", "area=\"storefront\"", c.active[1]);
    metric(out, "hourglass_sessions_created_total", "counter", "Sessions created.");
    sample(out, "hourglass_sessions_created_total", "", c.created);
    metric(out, "hourglass_validations_total", "counter", "Session validations (valid or not).");
    sample(out, "hourglass_validations_total", "", c.validations);
    metric(out, "hourglass_rejections_total", "counter", "Requests refused, by reason.");
    sample(out, "hourglass_rejections_total", "reason=\"malformed\"", c.rejectedMalformed);
    sample(out, "hourglass_rejections_total", "reason=\"unknown\"", c.rejectedUnknown);
    sample(out, "hourglass_rejections_total", "reason=\"expired\"", c.rejectedExpired);
    sample(out, "hourglass_rejections_total", "reason=\"limit\"", c.rejectedLimit);
    sample(out, "hourglass_rejections_total", "reason=\"blocked_ip\"", m_blocked.load());
    sample(out, "hourglass_rejections_total", "reason=\"rate_limited\"", m_rateLimited.load());
    metric(out, "hourglass_expirations_total", "counter", "Sessions that expired.");
    sample(out, "hourglass_expirations_total", "", c.expired);
    metric(out, "hourglass_sessions_destroyed_total", "counter",
           "Sessions ended by logout, revocation or limits.");
    sample(out, "hourglass_sessions_destroyed_total", "", c.destroyed + c.forcedLogouts);
    metric(out, "hourglass_rotations_total", "counter", "Session ID rotations.");
    sample(out, "hourglass_rotations_total", "", c.rotated);
    metric(out, "hourglass_size_exceeded_total", "counter", "Session data writes over the size limit.");
    sample(out, "hourglass_size_exceeded_total", "", c.sizeExceeded);
    metric(out, "hourglass_blocked_ips", "gauge", "Client IPs blocked by the anomaly guard now.");
    sample(out, "hourglass_blocked_ips", "", g.blockedIps);
    metric(out, "hourglass_open_connections", "gauge", "Open HTTP connections.");
    sample(out, "hourglass_open_connections", "", g.openConnections);
    metric(out, "hourglass_store_degraded", "gauge", "1 when the last write to the store failed.");
    sample(out, "hourglass_store_degraded", "", g.storeDegraded ? 1 : 0);
    metric(out, "hourglass_http_limit_rejections_total", "counter",
           "Requests or connections refused by HTTP limits.");
    for (std::size_t i = 0; i < m_rejections.size(); ++i)
        sample(out, "hourglass_http_limit_rejections_total",
               std::string("reason=\"") + rejectionLabel(i) + "\"", m_rejections[i].load());
    metric(out, "hourglass_http_responses_total", "counter", "Responses by status class.");
    for (std::size_t i = 1; i < m_statusClass.size(); ++i)
        sample(out, "hourglass_http_responses_total", "code=\"" + std::to_string(i) + "xx\"",
               m_statusClass[i].load());
    metric(out, "hourglass_http_request_duration_seconds", "histogram",
           "Time from a complete request to its response being written.");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        cumulative += m_buckets[i].load();
        char le[32];
        std::snprintf(le, sizeof le, "%g", kBuckets[i]);
        sample(out, "hourglass_http_request_duration_seconds_bucket", std::string("le=\"") + le + "\"",
               cumulative);
    }
    cumulative += m_buckets[kBuckets.size()].load();
    sample(out, "hourglass_http_request_duration_seconds_bucket", "le=\"+Inf\"", cumulative);
    char sum[48];
    std::snprintf(sum, sizeof sum, "%.9f", double(m_latencyNanos.load()) / 1e9);
    out += "hourglass_http_request_duration_seconds_sum ";
    out += sum;
    out += '\n';
    sample(out, "hourglass_http_request_duration_seconds_count", "", cumulative);
    return out;
}

} // namespace hourglass::service
