#pragma once

// Blocking loopback HTTP client for tests: sends exactly the bytes given (malformed requests
// included) and parses what comes back. Every wait is bounded.

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace hourglass::test {

struct RawResponse
{
    int status = 0;                                           // 0: no (complete) response
    std::vector<std::pair<std::string, std::string>> headers; // lower-cased names
    std::string body;

    std::optional<std::string> header(const std::string &lowerName) const
    {
        for (const auto &[n, v] : headers)
            if (n == lowerName)
                return v;
        return std::nullopt;
    }
    std::vector<std::string> all(const std::string &lowerName) const
    {
        std::vector<std::string> out;
        for (const auto &[n, v] : headers)
            if (n == lowerName)
                out.push_back(v);
        return out;
    }
};

class RawConnection
{
public:
    // source: a local address to connect from (any of 127.0.0.0/8 works on Linux loopback), so a
    // test can play several clients.
    explicit RawConnection(std::uint16_t port, const char *address = "127.0.0.1",
                           const char *source = nullptr)
    {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (source) {
            sockaddr_in local{};
            local.sin_family = AF_INET;
            ::inet_pton(AF_INET, source, &local.sin_addr);
            ::bind(m_fd, reinterpret_cast<sockaddr *>(&local), sizeof local);
        }
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        ::inet_pton(AF_INET, address, &addr.sin_addr);
        m_connected = ::connect(m_fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
    }
    ~RawConnection()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    RawConnection(const RawConnection &) = delete;
    RawConnection &operator=(const RawConnection &) = delete;

    bool connected() const { return m_connected; }

    bool send(const std::string &bytes)
    {
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::send(m_fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            done += std::size_t(n);
        }
        return true;
    }

    // Reads one response; 0 status when the connection closed or timed out first.
    RawResponse read(std::chrono::milliseconds timeout = std::chrono::seconds(10))
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        RawResponse r;
        std::size_t headerEnd;
        while ((headerEnd = m_buffer.find("\r\n\r\n")) == std::string::npos) {
            if (!fill(deadline))
                return r;
        }
        const std::string head = m_buffer.substr(0, headerEnd);
        m_buffer.erase(0, headerEnd + 4);
        std::size_t pos = head.find("\r\n");
        const std::string statusLine = head.substr(0, pos);
        if (statusLine.size() < 12)
            return r;
        const int status = std::stoi(statusLine.substr(9, 3));
        std::size_t length = 0;
        while (pos != std::string::npos) {
            const std::size_t next = head.find("\r\n", pos + 2);
            const std::string line =
                head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
            const auto colon = line.find(':');
            if (colon != std::string::npos) {
                std::string name = line.substr(0, colon);
                for (char &c : name)
                    c = char(std::tolower(static_cast<unsigned char>(c)));
                std::string value = line.substr(colon + 1);
                while (!value.empty() && value.front() == ' ')
                    value.erase(0, 1);
                if (name == "content-length")
                    length = std::stoul(value);
                r.headers.emplace_back(name, value);
            }
            pos = next;
        }
        while (m_buffer.size() < length) {
            if (!fill(deadline))
                return r;
        }
        r.body = m_buffer.substr(0, length);
        m_buffer.erase(0, length);
        r.status = status;
        return r;
    }

    // True when the server closes the connection within the timeout.
    bool closedByPeer(std::chrono::milliseconds timeout)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     deadline - std::chrono::steady_clock::now())
                                     .count());
            if (left <= 0)
                return false;
            pollfd p{m_fd, POLLIN, 0};
            if (::poll(&p, 1, left) <= 0)
                return false;
            char buf[4096];
            const ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
            if (n <= 0)
                return true;
            m_buffer.append(buf, std::size_t(n));
        }
    }

private:
    bool fill(std::chrono::steady_clock::time_point deadline)
    {
        const int left = int(
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
                .count());
        if (left <= 0)
            return false;
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, left) <= 0)
            return false;
        char buf[16384];
        const ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
        if (n <= 0)
            return false;
        m_buffer.append(buf, std::size_t(n));
        return true;
    }

    int m_fd = -1;
    bool m_connected = false;
    std::string m_buffer;
};

// One request on a fresh connection.
inline RawResponse rawRequest(std::uint16_t port, const std::string &method, const std::string &target,
                              const std::vector<std::pair<std::string, std::string>> &headers = {},
                              const std::string &body = {})
{
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    for (const auto &[n, v] : headers)
        req += n + ": " + v + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT")
        req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    RawConnection c(port);
    c.send(req);
    return c.read();
}

} // namespace hourglass::test
