// What the console's Sessions page asks of the engine at scale: the first page of 1,000,000
// sessions (newest first), the same filtered by user (per-user index), by client IP and by
// substring, against a reference in the same run: materialising every matching row and sorting
// them (what a model that copied everything would pay before showing anything).
//
//   bench_list [sessions]   (default 1,000,000)

#include "SessionEngine.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace hourglass;
using Clock_ = std::chrono::steady_clock;

namespace {

template<typename F> double bestMs(F f, int runs = 5)
{
    double best = 1e300;
    for (int i = 0; i < runs; ++i) {
        const auto start = Clock_::now();
        f();
        best = std::min(best, std::chrono::duration<double, std::milli>(Clock_::now() - start).count());
    }
    return best;
}

} // namespace

int main(int argc, char *argv[])
{
    const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    Policy policy;
    policy.maxSessionsPerIp = 0;
    SessionEngine engine(SessionEngine::Options(), policy);
    for (std::size_t i = 0; i < n; ++i)
        engine.create({"user" + std::to_string(i % 100000), i % 4 ? Area::Storefront : Area::Admin, false,
                       "10." + std::to_string(i / 65536 % 256) + "." + std::to_string(i / 256 % 256) + "." +
                           std::to_string(i % 256),
                       "Mozilla/5.0 (X11; Linux x86_64)"});

    // Reference: every row copied out and fully sorted, as a copy-everything model would need.
    std::size_t sink = 0;
    const double reference = bestMs(
        [&] {
            SessionQuery all;
            all.limit = n;
            const SessionPage page = engine.list(all);
            sink += page.rows.size();
        },
        3);

    SessionQuery q;
    q.limit = 200;
    const double firstPage = bestMs([&] { sink += engine.list(q).rows.size(); });
    q.offset = n / 2;
    const double middlePage = bestMs([&] { sink += engine.list(q).rows.size(); });
    q = {};
    q.limit = 200;
    q.user = "user4242";
    const double byUser = bestMs([&] { sink += engine.list(q).rows.size(); });
    q = {};
    q.limit = 200;
    q.clientIp = "10.3.2.1";
    const double byIp = bestMs([&] { sink += engine.list(q).rows.size(); });
    q = {};
    q.limit = 200;
    q.text = "user424";
    const double bySubstring = bestMs([&] { sink += engine.list(q).rows.size(); });
    q = {};
    q.limit = 200;
    q.area = Area::Admin;
    const double byArea = bestMs([&] { sink += engine.list(q).rows.size(); });

    std::printf("Sessions page queries at %zu sessions (best of 5; reference = copy and sort every row)\n",
                n);
    std::printf("  reference, all rows     : %9.2f ms\n", reference);
    const auto line = [&](const char *what, double ms) {
        std::printf("  %-24s: %9.3f ms   %8.1fx faster than the reference\n", what, ms, reference / ms);
    };
    line("first page (200 rows)", firstPage);
    line("page in the middle", middlePage);
    line("user is (index)", byUser);
    line("client IP is", byIp);
    line("user or IP contains", bySubstring);
    line("area is admin", byArea);
    return sink > 0 ? 0 : 1;
}
