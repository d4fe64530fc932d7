// Start-up with many persisted sessions: how long `hourglassd` takes from exec until it answers a
// validation of a persisted session over HTTP. The reference, in the same run, is the least any
// start-up must do: read every row of the same SQLite file once (one SELECT stepped to the end).
//
// Usage: bench_startup <hourglassd> [sessions=1000000] [runs=3] [dir=/var/tmp]
// Prints one JSON object (for bench/run) after a human-readable summary on stderr.

#include "RandomSource.h"
#include "SessionId.h"
#include "SqliteStore.h"

#include <sqlite3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace hourglass;
using Steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double msSince(Steady::time_point t)
{
    return std::chrono::duration<double, std::milli>(Steady::now() - t).count();
}

// Writes n sessions (no data, a realistic user agent) into dir/sessions.db in large transactions;
// returns the token of one of them.
std::string prepare(const fs::path &dir, std::size_t n)
{
    std::string error;
    SqliteStore::Options options;
    options.path = (dir / "sessions.db").string();
    auto store = SqliteStore::open(options, &error);
    if (!store) {
        std::fprintf(stderr, "%s\n", error.c_str());
        std::exit(1);
    }
    OpenSslRandom &random = OpenSslRandom::instance();
    const TimeMs now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    std::string known;
    constexpr std::size_t kBatch = 50'000;
    for (std::size_t done = 0; done < n;) {
        std::vector<StoreMutation> batch;
        batch.reserve(kBatch);
        for (std::size_t i = 0; i < kBatch && done < n; ++i, ++done) {
            const auto token = SessionToken::generate(random);
            if (known.empty())
                known = token->text();
            StoreMutation::PutSession put;
            put.record.hash = token->hash();
            put.record.user = "customer" + std::to_string(done % 400'000) + "@example.com";
            put.record.area = done % 10 == 0 ? Area::Admin : Area::Storefront;
            put.record.clientIp = "10." + std::to_string((done >> 16) & 255) + "." +
                                  std::to_string((done >> 8) & 255) + "." + std::to_string(done & 255);
            put.record.userAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
                                   "like Gecko) Chrome/131.0";
            put.record.createdMs = put.record.authTimeMs = put.record.lastActivityMs = now;
            batch.push_back(StoreMutation{std::move(put)});
        }
        if (!store->waitDurable(store->submit(std::move(batch)))) {
            std::fprintf(stderr, "write failed: %s\n", store->lastError().c_str());
            std::exit(1);
        }
    }
    return known;
}

double readAllRows(const fs::path &db, std::size_t *rows)
{
    sqlite3 *handle = nullptr;
    sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt *select = nullptr;
    const auto t = Steady::now();
    sqlite3_prepare_v2(handle,
                       "SELECT id_hash, user, area, remember_me, client_ip, user_agent, created_ms, "
                       "auth_time_ms, last_activity_ms, data FROM sessions",
                       -1, &select, nullptr);
    std::size_t n = 0;
    std::size_t bytes = 0;
    while (sqlite3_step(select) == SQLITE_ROW) {
        for (int c = 0; c < 10; ++c)
            bytes += std::size_t(sqlite3_column_bytes(select, c));
        ++n;
    }
    const double ms = msSince(t);
    sqlite3_finalize(select);
    sqlite3_close(handle);
    *rows = n + (bytes == 0); // keeps the loop's reads
    return ms;
}

int httpStatus(const std::string &url, const std::string &token)
{
    // url: http://127.0.0.1:PORT
    const auto colon = url.rfind(':');
    const int port = std::atoi(url.c_str() + colon + 1);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(std::uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int status = 0;
    if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0) {
        const std::string request = "GET /v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Session " +
                                    token + "\r\nConnection: close\r\n\r\n";
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size())) {
            char buffer[64] = {};
            if (::recv(fd, buffer, sizeof buffer - 1, 0) > 12)
                status = std::atoi(buffer + 9);
        }
    }
    ::close(fd);
    return status;
}

std::string serviceUrl(const fs::path &dir)
{
    std::ifstream in(dir / "service.json");
    std::stringstream s;
    s << in.rdbuf();
    const std::string json = s.str();
    const auto at = json.find("\"url\":\"");
    if (at == std::string::npos)
        return {};
    const auto end = json.find('"', at + 7);
    return end == std::string::npos ? std::string() : json.substr(at + 7, end - at - 7);
}

std::size_t rssKiB(pid_t pid)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::strtoull(line.c_str() + 6, nullptr, 10);
    return 0;
}

// Starts hourglassd on the directory and returns the milliseconds until a persisted session
// validates over HTTP (or -1).
double startOnce(const std::string &hourglassd, const fs::path &dir, const std::string &token,
                 std::size_t *rss)
{
    fs::remove(dir / "service.json");
    const auto t = Steady::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        const std::string dataDir = dir.string();
        ::execl(hourglassd.c_str(), hourglassd.c_str(), "--data-dir", dataDir.c_str(), "--port", "0",
                static_cast<char *>(nullptr));
        _exit(127);
    }
    double ready = -1;
    while (msSince(t) < 120'000) {
        const std::string url = serviceUrl(dir);
        if (!url.empty() && httpStatus(url, token) == 200) {
            ready = msSince(t);
            break;
        }
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid)
            return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    *rss = rssKiB(pid);
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return ready;
}

} // namespace

int main(int argc, char *argv[])
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s <hourglassd> [sessions] [runs] [dir]\n", argv[0]);
        return 2;
    }
    const std::string hourglassd = argv[1];
    const std::size_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1'000'000;
    const int runs = argc > 3 ? std::atoi(argv[3]) : 3;
    const fs::path base = argc > 4 ? argv[4] : "/var/tmp";
    const fs::path dir = base / ("hourglass-bench-startup-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all);

    auto t = Steady::now();
    const std::string token = prepare(dir, n);
    std::fprintf(stderr, "prepared %zu sessions in %.0f ms (%.0f MB)\n", n, msSince(t),
                 double(fs::file_size(dir / "sessions.db")) / 1e6);

    std::vector<double> reference;
    std::vector<double> startup;
    std::size_t rss = 0;
    for (int r = 0; r < runs; ++r) {
        std::size_t rows = 0;
        reference.push_back(readAllRows(dir / "sessions.db", &rows));
        startup.push_back(startOnce(hourglassd, dir, token, &rss));
        std::fprintf(stderr, "run %d: read all %zu rows %.0f ms, hourglassd ready %.0f ms, RSS %zu MiB\n",
                     r + 1, rows, reference.back(), startup.back(), rss / 1024);
        if (startup.back() < 0) {
            std::fprintf(stderr, "hourglassd did not become ready\n");
            return 1;
        }
    }
    std::sort(reference.begin(), reference.end());
    std::sort(startup.begin(), startup.end());
    const double ref = reference[reference.size() / 2];
    const double ready = startup[startup.size() / 2];
    std::printf("{\"sessions\": %zu, \"read_all_rows_ms\": %.1f, \"ready_ms\": %.1f, \"ratio\": %.2f, "
                "\"rss_kib\": %zu}\n",
                n, ref, ready, ready / ref, rss);
    if (!std::getenv("BENCH_KEEP"))
        fs::remove_all(dir);
    return 0;
}
