// The machine's memory latency: what one dependent cache miss costs here, with 4 KiB pages and
// with transparent huge pages. It bounds every lookup in a table too large for the caches (the
// engine at a million sessions: bench/README.md, where the time goes).
//
//   bench_memlat [MiB=256]
//
// A pointer chase: the buffer's cache lines are linked into one cycle in random order, and each
// load's address comes from the previous load, so no two misses overlap and the prefetcher cannot
// guess the next line. Prints one JSON object.

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>

namespace {

constexpr std::size_t kLine = 64;
constexpr std::size_t kHugePage = std::size_t(2) << 20;

double nanosecondsPerMiss(std::size_t bytes, bool huge)
{
    void *raw = mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        std::perror("mmap");
        std::exit(1);
    }
    auto *base = reinterpret_cast<char *>((reinterpret_cast<std::uintptr_t>(raw) + kHugePage - 1) &
                                          ~std::uintptr_t(kHugePage - 1));
    madvise(base, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);

    const std::size_t lines = bytes / kLine;
    std::vector<std::size_t> order(lines);
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::shuffle(order.begin(), order.end(), std::mt19937_64(42));
    for (std::size_t i = 0; i < lines; ++i) // one cycle through every line, in shuffled order
        *reinterpret_cast<std::size_t *>(base + order[i] * kLine) = order[(i + 1) % lines] * kLine;

    std::size_t at = order.front() * kLine;
    for (std::size_t i = 0; i < lines; ++i) // once round, untimed: every page is mapped
        at = *reinterpret_cast<const std::size_t *>(base + at);
    constexpr std::size_t kSteps = 20'000'000;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < kSteps; ++i)
        at = *reinterpret_cast<const volatile std::size_t *>(base + at);
    const double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    munmap(raw, bytes + kHugePage);
    if (at == SIZE_MAX) // keeps the chase
        std::puts("");
    return ns / double(kSteps);
}

} // namespace

int main(int argc, char **argv)
{
    const std::size_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 256;
    const std::size_t bytes = std::max<std::size_t>(mib, 4) << 20;
    const double small = nanosecondsPerMiss(bytes, false);
    const double huge = nanosecondsPerMiss(bytes, true);
    std::printf("{\"mib\": %zu, \"ns_per_miss_4k_pages\": %.1f, \"ns_per_miss_huge_pages\": %.1f}\n", mib,
                small, huge);
    return 0;
}
