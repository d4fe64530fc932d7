#pragma once

// A real redis-server (Debian's) for tests: loopback only, its own temporary directory, an
// append-only file written on every change (so a restart keeps everything acknowledged), and a
// port that stays the same across stop/start so clients can reconnect by themselves.

#include <QProcess>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <hiredis/hiredis.h>

#include <functional>
#include <string>
#include <vector>

namespace hourglass::test {

class RedisServer
{
public:
    RedisServer()
    {
        QTcpServer probe;
        probe.listen(QHostAddress::LocalHost, 0);
        m_port = probe.serverPort();
        probe.close();
    }
    ~RedisServer() { stop(); }

    static bool available()
    {
        return !QStandardPaths::findExecutable(QStringLiteral("redis-server")).isEmpty();
    }

    // TLS only (no plain port): the server presents certFile/keyFile; clients need not present one.
    // Ready when it accepts connections (a plain PING cannot speak TLS).
    bool startTls(const QString &certFile, const QString &keyFile, const QString &caFile)
    {
        return launch({QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--tls-port"),
                       QString::number(m_port), QStringLiteral("--tls-cert-file"), certFile,
                       QStringLiteral("--tls-key-file"), keyFile, QStringLiteral("--tls-ca-cert-file"),
                       caFile, QStringLiteral("--tls-auth-clients"), QStringLiteral("no")},
                      [this] {
                          timeval tv{0, 200000};
                          redisContext *c = redisConnectWithTimeout("127.0.0.1", m_port, tv);
                          const bool up = c && !c->err;
                          if (c)
                              redisFree(c);
                          return up;
                      });
    }

    // Plain TCP with every change in the append-only file. Ready when it answers PING.
    bool start()
    {
        return launch({QStringLiteral("--port"), QString::number(m_port), QStringLiteral("--appendonly"),
                       QStringLiteral("yes"), QStringLiteral("--appendfsync"), QStringLiteral("always")},
                      [this] { return first({"PING"}) == "PONG"; });
    }

    // SIGKILL: no chance to flush anything that was not already on disk.
    void kill()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(5000);
        }
    }
    void stop()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.terminate();
            if (!m_process.waitForFinished(5000))
                kill();
        }
    }

    // One command over a fresh connection; the reply flattened to strings (integers as text,
    // errors prefixed with "ERR:"). Empty when the server does not answer.
    std::vector<std::string> call(const std::vector<std::string> &args) const
    {
        std::vector<std::string> out;
        timeval tv{1, 0};
        redisContext *c = redisConnectWithTimeout("127.0.0.1", m_port, tv);
        if (!c || c->err) {
            if (c)
                redisFree(c);
            return out;
        }
        std::vector<const char *> argv;
        std::vector<std::size_t> lengths;
        for (const std::string &a : args) {
            argv.push_back(a.data());
            lengths.push_back(a.size());
        }
        auto *reply = static_cast<redisReply *>(
            redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data()));
        const auto flatten = [&](const auto &self, const redisReply *r) -> void {
            if (!r)
                return;
            switch (r->type) {
            case REDIS_REPLY_ARRAY:
                for (std::size_t i = 0; i < r->elements; ++i)
                    self(self, r->element[i]);
                break;
            case REDIS_REPLY_INTEGER:
                out.push_back(std::to_string(r->integer));
                break;
            case REDIS_REPLY_NIL:
                out.push_back("(nil)");
                break;
            case REDIS_REPLY_ERROR:
                out.push_back("ERR:" + std::string(r->str, r->len));
                break;
            default:
                out.push_back(std::string(r->str, r->len));
            }
        };
        flatten(flatten, reply);
        if (reply)
            freeReplyObject(reply);
        redisFree(c);
        return out;
    }
    std::string first(const std::vector<std::string> &args) const
    {
        const auto r = call(args);
        return r.empty() ? std::string() : r.front();
    }

    // Every key with everything it holds, as text: what an attacker reading the server would see.
    std::string everything() const
    {
        std::string all;
        for (const std::string &key : call({"KEYS", "*"})) {
            all += key + "\n";
            const std::string type = first({"TYPE", key});
            std::vector<std::string> values;
            if (type == "hash")
                values = call({"HGETALL", key});
            else if (type == "string")
                values = call({"GET", key});
            else if (type == "zset")
                values = call({"ZRANGE", key, "0", "-1", "WITHSCORES"});
            for (const std::string &v : values)
                all += v + "\n";
        }
        return all;
    }

    std::uint16_t port() const { return m_port; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(m_port) + "/0"; }
    QString dataDir() const { return m_dir.path(); }

private:
    bool launch(const QStringList &arguments, const std::function<bool()> &ready)
    {
        m_process.setProgram(QStandardPaths::findExecutable(QStringLiteral("redis-server")));
        m_process.setArguments(arguments +
                               QStringList{QStringLiteral("--bind"), QStringLiteral("127.0.0.1"),
                                           QStringLiteral("--dir"), m_dir.path(), QStringLiteral("--save"),
                                           QString(), QStringLiteral("--daemonize"), QStringLiteral("no"),
                                           QStringLiteral("--loglevel"), QStringLiteral("warning")});
        m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        m_process.setStandardOutputFile(m_dir.filePath(QStringLiteral("redis.log")));
        m_process.start();
        if (!m_process.waitForStarted(5000))
            return false;
        for (int i = 0; i < 200; ++i) {
            if (ready())
                return true;
            QTest::qWait(25);
        }
        return false;
    }

    std::uint16_t m_port = 0;
    QTemporaryDir m_dir;
    QProcess m_process;
};

} // namespace hourglass::test
