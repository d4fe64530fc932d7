// libFuzzer target: arbitrary bytes as sessions.db. Opening and loading must either succeed or
// report a clear error; never crash, hang or leak.

#include "SessionRecord.h"
#include "SqliteStore.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    using namespace hourglass;
    static const std::string dir = [] {
        char pattern[] = "/tmp/hourglass-fuzz-store-XXXXXX";
        return std::string(::mkdtemp(pattern));
    }();
    const std::string path = dir + "/sessions.db";
    std::remove((path + "-wal").c_str());
    std::remove((path + "-shm").c_str());
    if (FILE *f = std::fopen(path.c_str(), "wb")) {
        std::fwrite(data, 1, size, f);
        std::fclose(f);
    }
    SqliteStore::Options options;
    options.path = path;
    std::string error;
    if (auto store = SqliteStore::open(options, &error)) {
        std::size_t n = 0;
        (void)store->load([&](SessionRecord &&) { ++n; }, [&](AuthRootRecord &&) { ++n; });
    }
    return 0;
}
