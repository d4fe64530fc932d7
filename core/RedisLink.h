#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

struct redisReader;
struct redisReply;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace hourglass {

// One connection to a Redis server over TCP, optionally TLS (OpenSSL 3), with a deadline on every
// step. hiredis formats the commands and parses the replies (its RESP reader); the transport is
// ours because Debian 12's hiredis (0.14) has no TLS. TLS always verifies the server: its chain
// against the given CA file (or the system's), and its name or IP address against the host.
class RedisLink
{
public:
    struct Tls
    {
        bool enabled = false;
        std::string caFile;   // empty: the system's trusted CAs
        std::string certFile; // client certificate (chain) for servers that ask for one
        std::string keyFile;
    };
    struct Options
    {
        std::string host;
        int port = 6379;
        Tls tls;
        std::chrono::milliseconds connectTimeout{500};
        std::chrono::milliseconds commandTimeout{2000};
    };

    // Null on failure, with error saying what failed (resolution, connection, TLS handshake,
    // certificate verification).
    static std::unique_ptr<RedisLink> connect(const Options &options, std::string *error);
    ~RedisLink();
    RedisLink(const RedisLink &) = delete;
    RedisLink &operator=(const RedisLink &) = delete;

    using Command = std::vector<std::string>;
    // Writes the commands (pipelined); false when the connection failed.
    bool send(const std::vector<Command> &commands, std::string *error);
    // The next reply (caller frees it with freeReplyObject); null when the connection failed or
    // the deadline passed.
    redisReply *read(std::string *error);

private:
    explicit RedisLink(const Options &options);
    bool waitFor(short events, std::chrono::steady_clock::time_point deadline);
    bool handshake(std::string *error);
    bool writeAll(const std::string &bytes, std::string *error);

    Options m_options;
    int m_fd = -1;
    SSL_CTX *m_context = nullptr;
    SSL *m_ssl = nullptr;
    redisReader *m_reader = nullptr;
};

} // namespace hourglass
