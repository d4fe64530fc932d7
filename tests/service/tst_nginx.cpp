// nginx auth_request in front of an application: Debian's nginx asks Hourglass's GET /v1/auth
// whether to let each request through.

#include "ManualClock.h"
#include "RandomSource.h"
#include "ServiceFixture.h"

#include <QFile>
#include <QProcess>
#include <QTcpServer>
#include <QTest>

using namespace hourglass;
using test::ServiceFixture;

namespace {

std::uint16_t freePort()
{
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort();
}

QString nginxBinary()
{
    for (const char *candidate : {"/usr/sbin/nginx", "/usr/bin/nginx"}) {
        if (QFile::exists(QString::fromLatin1(candidate)))
            return QString::fromLatin1(candidate);
    }
    return {};
}

} // namespace

class TestNginx final : public QObject
{
    Q_OBJECT

    test::ManualClock m_clock;
    std::unique_ptr<ServiceFixture> m_service;
    QTemporaryDir m_nginxDir;
    QProcess m_nginx;
    std::uint16_t m_port = 0;

    test::RawResponse app(const std::vector<std::pair<std::string, std::string>> &headers)
    {
        return test::rawRequest(m_port, "GET", "/app/orders", headers);
    }

private Q_SLOTS:
    void initTestCase()
    {
        const QString nginx = nginxBinary();
        QVERIFY2(!nginx.isEmpty(), "nginx is not installed (installer/bootstrap.sh installs it)");
        m_service = std::make_unique<ServiceFixture>(QJsonObject{}, Policy(), &m_clock);
        m_port = freePort();
        const std::uint16_t upstream = freePort();
        const QString d = m_nginxDir.path();
        const QString config = QStringLiteral(R"(
daemon off;
master_process off;
pid %1/nginx.pid;
error_log %1/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %1/body; proxy_temp_path %1/proxy; fastcgi_temp_path %1/fastcgi;
    uwsgi_temp_path %1/uwsgi; scgi_temp_path %1/scgi;
    server {
        listen 127.0.0.1:%2;
        location = /_hourglass_auth {
            internal;
            proxy_pass http://127.0.0.1:%3/v1/auth;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Real-IP $remote_addr;
        }
        location /app/ {
            auth_request /_hourglass_auth;
            auth_request_set $hourglass_user $upstream_http_x_hourglass_user;
            proxy_set_header X-User $hourglass_user;
            proxy_pass http://127.0.0.1:%4;
        }
    }
    server {
        listen 127.0.0.1:%4;
        location / { return 200 "hello $http_x_user"; }
    }
}
)")
                                   .arg(d)
                                   .arg(m_port)
                                   .arg(m_service->port)
                                   .arg(upstream);
        QFile file(d + QStringLiteral("/nginx.conf"));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(config.toUtf8());
        file.close();
        m_nginx.setProcessChannelMode(QProcess::MergedChannels);
        m_nginx.start(nginx,
                      {QStringLiteral("-p"), d, QStringLiteral("-c"), d + QStringLiteral("/nginx.conf")});
        QVERIFY(m_nginx.waitForStarted());
        // Ready when it answers.
        QTRY_VERIFY_WITH_TIMEOUT(test::rawRequest(m_port, "GET", "/app/").status != 0, 10000);
    }

    void cleanupTestCase()
    {
        m_nginx.terminate();
        if (!m_nginx.waitForFinished(5000))
            m_nginx.kill();
    }

    void validCookiePasses()
    {
        const std::string id = m_service->create("alice");
        const auto r = app({{"Cookie", "__Host-hg_session=" + id}});
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, std::string("hello alice"));
    }

    void forgedCookieIsRefused()
    {
        const auto forged = SessionToken::generate(OpenSslRandom::instance())->text();
        QCOMPARE(app({{"Cookie", "__Host-hg_session=" + forged}}).status, 401);
        QCOMPARE(app({{"Cookie", "__Host-hg_session=garbage"}}).status, 401);
        QCOMPARE(app({}).status, 401);
    }

    void expiredCookieIsRefused()
    {
        const std::string id = m_service->create("bob");
        QCOMPARE(app({{"Cookie", "__Host-hg_session=" + id}}).status, 200);
        m_clock.advanceMinutes(15); // the default idle timeout
        QCOMPARE(app({{"Cookie", "__Host-hg_session=" + id}}).status, 401);
    }

    void loggedOutCookieIsRefused()
    {
        const std::string id = m_service->create("carol");
        QCOMPARE(app({{"Cookie", "__Host-hg_session=" + id}}).status, 200);
        QCOMPARE(m_service->request("DELETE", "/v1/session", {{"Cookie", "__Host-hg_session=" + id}}).status,
                 200);
        QCOMPARE(app({{"Cookie", "__Host-hg_session=" + id}}).status, 401);
    }
};

QTEST_GUILESS_MAIN(TestNginx)
#include "tst_nginx.moc"
