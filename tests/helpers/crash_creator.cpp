// Test helper for the kill -9 test: opens a data directory and creates (and sometimes revokes)
// sessions in a loop, printing each one only after the engine acknowledged it:
//   C <token>   a session whose creation was acknowledged
//   D <token>   destruction requested (outcome unknown until R: it may or may not be durable)
//   R <token>   a session whose destruction was acknowledged
// Several threads write concurrently so that group commit is exercised too.

#include "DataDirectory.h"
#include "Runtime.h"

#include <QCoreApplication>

#include <cstdio>
#include <mutex>
#include <thread>

using namespace hourglass;

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: crash_creator DATA-DIR\n");
        return 2;
    }
    Runtime::Options options;
    options.dataDir = QString::fromLocal8Bit(argv[1]);
    Runtime::OpenError code;
    QString error;
    auto rt = Runtime::open(options, &code, &error);
    if (!rt) {
        std::fprintf(stderr, "crash_creator: %s\n", qPrintable(error));
        return 1;
    }
    std::printf("READY %zu\n", rt->restored().sessions);
    std::fflush(stdout);
    std::mutex outMutex;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (std::uint64_t n = 0;; ++n) {
                // Distinct client addresses so that the per-IP cap never throttles the loop.
                const std::string ip = "10." + std::to_string(t) + "." + std::to_string(n / 250 % 250) + "." +
                                       std::to_string(n % 250);
                const CreateResult r = rt->engine().create(
                    {"user" + std::to_string(n % 50), Area::Storefront, false, ip, "crash"});
                if (r.error != SessionError::None) {
                    std::fprintf(stderr, "create failed: %s\n",
                                 std::string(sessionErrorName(r.error)).c_str());
                    return;
                }
                {
                    std::lock_guard lock(outMutex);
                    std::printf("C %s\n", r.token.c_str());
                    std::fflush(stdout);
                }
                if (n % 5 == 4) {
                    {
                        std::lock_guard lock(outMutex);
                        std::printf("D %s\n", r.token.c_str());
                        std::fflush(stdout);
                    }
                    if (rt->engine().destroy(r.token) == SessionError::None) {
                        std::lock_guard lock(outMutex);
                        std::printf("R %s\n", r.token.c_str());
                        std::fflush(stdout);
                    }
                }
            }
        });
    }
    for (auto &t : threads)
        t.join();
    return 0;
}
