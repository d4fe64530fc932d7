#include "RedisLink.h"

#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hourglass {

namespace {

using Deadline = std::chrono::steady_clock::time_point;

std::string opensslError(const char *what)
{
    std::string out = what;
    char buffer[256];
    while (const unsigned long code = ERR_get_error()) {
        ERR_error_string_n(code, buffer, sizeof buffer);
        out += ": ";
        out += buffer;
    }
    return out;
}

bool isIpAddress(const std::string &host)
{
    unsigned char buffer[sizeof(in6_addr)];
    return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

// OpenSSL writes to the socket with write(2): a peer that went away would raise SIGPIPE and end
// the process. While one of these is alive the calling thread blocks SIGPIPE, and a SIGPIPE raised
// meanwhile is taken off the thread before it is unblocked (the write reports EPIPE instead).
class SigPipeGuard
{
public:
    SigPipeGuard()
    {
        sigemptyset(&m_pipe);
        sigaddset(&m_pipe, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        m_wasPending = sigismember(&pending, SIGPIPE) == 1; // someone else's: leave it alone
        pthread_sigmask(SIG_BLOCK, &m_pipe, &m_previous);
    }
    ~SigPipeGuard()
    {
        if (!m_wasPending) {
            sigset_t pending;
            sigpending(&pending);
            if (sigismember(&pending, SIGPIPE) == 1) {
                const timespec zero{0, 0};
                sigtimedwait(&m_pipe, nullptr, &zero);
            }
        }
        pthread_sigmask(SIG_SETMASK, &m_previous, nullptr);
    }
    SigPipeGuard(const SigPipeGuard &) = delete;
    SigPipeGuard &operator=(const SigPipeGuard &) = delete;

private:
    sigset_t m_pipe{};
    sigset_t m_previous{};
    bool m_wasPending = false;
};

int remainingMs(Deadline deadline)
{
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
            .count();
    return left < 0 ? 0 : static_cast<int>(left);
}

} // namespace

RedisLink::RedisLink(const Options &options) : m_options(options) {}

RedisLink::~RedisLink()
{
    if (m_ssl) {
        const SigPipeGuard guard;
        SSL_shutdown(m_ssl); // best effort, non-blocking socket: never waits
        SSL_free(m_ssl);
    }
    if (m_context)
        SSL_CTX_free(m_context);
    if (m_fd >= 0)
        ::close(m_fd);
    if (m_reader)
        redisReaderFree(m_reader);
}

bool RedisLink::waitFor(short events, Deadline deadline)
{
    pollfd p{m_fd, events, 0};
    for (;;) {
        const int n = ::poll(&p, 1, remainingMs(deadline));
        if (n > 0)
            return true;
        if (n == 0 || errno != EINTR)
            return false;
    }
}

std::unique_ptr<RedisLink> RedisLink::connect(const Options &options, std::string *error)
{
    std::unique_ptr<RedisLink> link(new RedisLink(options));
    const Deadline deadline = std::chrono::steady_clock::now() + options.connectTimeout;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *addresses = nullptr;
    const std::string port = std::to_string(options.port);
    if (const int rc = ::getaddrinfo(options.host.c_str(), port.c_str(), &hints, &addresses); rc != 0) {
        *error = "cannot resolve " + options.host + ": " + gai_strerror(rc);
        return nullptr;
    }
    std::string lastError = "no address";
    for (addrinfo *a = addresses; a && link->m_fd < 0; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0)
            continue;
        link->m_fd = fd;
        if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
            lastError = std::strerror(errno);
        } else if (!link->waitFor(POLLOUT, deadline)) {
            lastError = "Connection timed out";
        } else {
            int soError = 0;
            socklen_t length = sizeof soError;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length);
            if (soError == 0)
                break;
            lastError = std::strerror(soError);
        }
        ::close(fd);
        link->m_fd = -1;
    }
    ::freeaddrinfo(addresses);
    if (link->m_fd < 0) {
        *error = lastError;
        return nullptr;
    }
    int one = 1;
    ::setsockopt(link->m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(link->m_fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    if (options.tls.enabled && !link->handshake(error))
        return nullptr;
    // Connected: from here on the socket blocks, bounded by the command timeout, so that reading a
    // reply is one recv() rather than recv (EAGAIN), poll, recv — a quarter of the throughput on
    // loopback. A timeout surfaces as EAGAIN (or WANT_READ/WANT_WRITE under TLS), handled below.
    const timeval tv{static_cast<time_t>(options.commandTimeout.count() / 1000),
                     static_cast<suseconds_t>(options.commandTimeout.count() % 1000 * 1000)};
    ::setsockopt(link->m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(link->m_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::fcntl(link->m_fd, F_SETFL, ::fcntl(link->m_fd, F_GETFL) & ~O_NONBLOCK);
    link->m_reader = redisReaderCreate();
    if (!link->m_reader) {
        *error = "out of memory";
        return nullptr;
    }
    return link;
}

bool RedisLink::handshake(std::string *error)
{
    ERR_clear_error();
    m_context = SSL_CTX_new(TLS_client_method());
    if (!m_context) {
        *error = opensslError("TLS: cannot create a context");
        return false;
    }
    SSL_CTX_set_min_proto_version(m_context, TLS1_2_VERSION);
    SSL_CTX_set_verify(m_context, SSL_VERIFY_PEER, nullptr);
    const Tls &tls = m_options.tls;
    const bool trusted = tls.caFile.empty()
                             ? SSL_CTX_set_default_verify_paths(m_context) == 1
                             : SSL_CTX_load_verify_locations(m_context, tls.caFile.c_str(), nullptr) == 1;
    if (!trusted) {
        *error = opensslError(("TLS: cannot load the CA certificates " + tls.caFile).c_str());
        return false;
    }
    if (!tls.certFile.empty()) {
        if (SSL_CTX_use_certificate_chain_file(m_context, tls.certFile.c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(m_context, (tls.keyFile.empty() ? tls.certFile : tls.keyFile).c_str(),
                                        SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(m_context) != 1) {
            *error = opensslError(("TLS: cannot use the client certificate " + tls.certFile).c_str());
            return false;
        }
    }
    m_ssl = SSL_new(m_context);
    if (!m_ssl || SSL_set_fd(m_ssl, m_fd) != 1) {
        *error = opensslError("TLS: cannot create a session");
        return false;
    }
    // The server must prove it is the host named in the URL (a name or an IP address).
    if (isIpAddress(m_options.host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(m_ssl), m_options.host.c_str());
    } else {
        // SSL_set_tlsext_host_name() without its C cast: SNI for servers behind a TLS proxy.
        SSL_ctrl(m_ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char *>(m_options.host.c_str()));
        SSL_set1_host(m_ssl, m_options.host.c_str());
    }
    const Deadline deadline = std::chrono::steady_clock::now() + m_options.connectTimeout;
    const SigPipeGuard guard;
    for (;;) {
        const int rc = SSL_connect(m_ssl);
        if (rc == 1)
            return true;
        const int reason = SSL_get_error(m_ssl, rc);
        if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) {
            if (waitFor(reason == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
                continue;
            *error = "TLS handshake timed out";
            return false;
        }
        const long verify = SSL_get_verify_result(m_ssl);
        if (verify != X509_V_OK) {
            *error = std::string("TLS: the server's certificate was refused: ") +
                     X509_verify_cert_error_string(verify);
        } else {
            *error = opensslError("TLS handshake failed");
        }
        return false;
    }
}

bool RedisLink::writeAll(const std::string &bytes, std::string *error)
{
    const Deadline deadline = std::chrono::steady_clock::now() + m_options.commandTimeout;
    std::optional<SigPipeGuard> guard;
    if (m_ssl)
        guard.emplace();
    std::size_t done = 0;
    while (done < bytes.size()) {
        if (m_ssl) {
            ERR_clear_error();
            const int n = SSL_write(m_ssl, bytes.data() + done, static_cast<int>(bytes.size() - done));
            if (n > 0) {
                done += std::size_t(n);
                continue;
            }
            const int reason = SSL_get_error(m_ssl, n);
            if ((reason == SSL_ERROR_WANT_WRITE || reason == SSL_ERROR_WANT_READ) &&
                waitFor(reason == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
                continue;
            *error = reason == SSL_ERROR_WANT_WRITE ? "write timed out" : opensslError("TLS write failed");
            return false;
        }
        const ssize_t n = ::send(m_fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += std::size_t(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (!waitFor(POLLOUT, deadline)) {
                *error = "write timed out";
                return false;
            }
        } else {
            *error = std::strerror(errno);
            return false;
        }
    }
    return true;
}

bool RedisLink::send(const std::vector<Command> &commands, std::string *error)
{
    std::string bytes;
    std::vector<const char *> argv;
    std::vector<std::size_t> lengths;
    for (const Command &command : commands) {
        argv.clear();
        lengths.clear();
        for (const std::string &a : command) {
            argv.push_back(a.data());
            lengths.push_back(a.size());
        }
        char *formatted = nullptr;
        const int length =
            redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(), lengths.data());
        if (length < 0) {
            *error = "out of memory";
            return false;
        }
        bytes.append(formatted, std::size_t(length));
        redisFreeCommand(formatted);
    }
    return writeAll(bytes, error);
}

redisReply *RedisLink::read(std::string *error)
{
    const Deadline deadline = std::chrono::steady_clock::now() + m_options.commandTimeout;
    // TLS 1.3 may answer post-handshake messages (key updates) from inside SSL_read.
    std::optional<SigPipeGuard> guard;
    if (m_ssl)
        guard.emplace();
    char buffer[16384];
    for (;;) {
        void *reply = nullptr;
        if (redisReaderGetReply(m_reader, &reply) != REDIS_OK) {
            *error = std::string("protocol error: ") + m_reader->errstr;
            return nullptr;
        }
        if (reply)
            return static_cast<redisReply *>(reply);
        ssize_t n;
        if (m_ssl) {
            ERR_clear_error();
            const int rc = SSL_read(m_ssl, buffer, sizeof buffer);
            if (rc > 0) {
                n = rc;
            } else {
                const int reason = SSL_get_error(m_ssl, rc);
                if ((reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) &&
                    waitFor(reason == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
                    continue;
                *error = reason == SSL_ERROR_ZERO_RETURN || reason == SSL_ERROR_SYSCALL
                             ? "Server closed the connection"
                             : (reason == SSL_ERROR_WANT_READ ? "read timed out"
                                                              : opensslError("TLS read failed"));
                return nullptr;
            }
        } else {
            n = ::recv(m_fd, buffer, sizeof buffer, 0);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                if (waitFor(POLLIN, deadline))
                    continue;
                *error = "read timed out";
                return nullptr;
            }
            if (n <= 0) {
                *error = n == 0 ? "Server closed the connection" : std::strerror(errno);
                return nullptr;
            }
        }
        redisReaderFeed(m_reader, buffer, std::size_t(n));
    }
}

} // namespace hourglass
