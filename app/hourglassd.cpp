// hourglassd: the headless Hourglass session service.

#include "DataDirectory.h"
#include "Runtime.h"
#include "SessionService.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QJsonObject>
#include <QSocketNotifier>

#include <csignal>
#include <cstdio>
#include <sys/socket.h>
#include <unistd.h>

using namespace hourglass;

namespace {

int g_signalFd[2] = {-1, -1};

void onSignal(int)
{
    const char byte = 1;
    [[maybe_unused]] const auto n = ::write(g_signalFd[1], &byte, 1);
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("hourglassd"));
    QCoreApplication::setApplicationVersion(QStringLiteral(HOURGLASS_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Hourglass headless session service."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption dataDirOption(QStringLiteral("data-dir"), QStringLiteral("Data directory."),
                                           QStringLiteral("dir"));
    const QCommandLineOption bindOption(QStringLiteral("bind"),
                                        QStringLiteral("Address to listen on (default 127.0.0.1)."),
                                        QStringLiteral("address"));
    const QCommandLineOption portOption(
        QStringLiteral("port"), QStringLiteral("Port to listen on (default 8410; 0 picks a free one)."),
        QStringLiteral("port"));
    const QCommandLineOption certOption(QStringLiteral("tls-certificate"),
                                        QStringLiteral("PEM certificate chain: serve HTTPS."),
                                        QStringLiteral("file"));
    const QCommandLineOption keyOption(QStringLiteral("tls-private-key"),
                                       QStringLiteral("PEM private key of the certificate."),
                                       QStringLiteral("file"));
    const QCommandLineOption logDirOption(
        QStringLiteral("log-dir"),
        QStringLiteral("Event log directory (default: $HOURGLASS_LOG_DIR, else <data dir>/var/log)."),
        QStringLiteral("dir"));
    const QCommandLineOption initialConfigOption(
        QStringLiteral("initial-config"),
        QStringLiteral("Configuration copied into the data directory when it has none yet."),
        QStringLiteral("file"));
    const QCommandLineOption storeOption(
        QStringLiteral("store"),
        QStringLiteral(
            "Session store: \"embedded\" (default) or redis[s]://[[user]:password@]host[:port][/db] "
            "shared with other nodes (default: $HOURGLASS_STORE, else the configuration's "
            "\"store\" section)."),
        QStringLiteral("url"));
    parser.addOptions({dataDirOption, bindOption, portOption, certOption, keyOption, logDirOption,
                       initialConfigOption, storeOption});
    parser.process(app);

    Runtime::Options options;
    options.dataDir = DataDirectory::resolve(parser.value(dataDirOption));
    options.logDir =
        parser.isSet(logDirOption) ? parser.value(logDirOption) : qEnvironmentVariable("HOURGLASS_LOG_DIR");
    options.initialConfig = parser.value(initialConfigOption);
    options.storeUrl =
        parser.isSet(storeOption) ? parser.value(storeOption) : qEnvironmentVariable("HOURGLASS_STORE");
    Runtime::OpenError code;
    QString error;
    auto runtime = Runtime::open(options, &code, &error);
    if (!runtime) {
        std::fprintf(stderr, "hourglassd: %s\n", qPrintable(error));
        return 1;
    }
    // Command-line options override the "service" section of the configuration.
    QJsonObject overrides;
    if (parser.isSet(bindOption))
        overrides.insert(QStringLiteral("bind"), parser.value(bindOption));
    if (parser.isSet(portOption)) {
        bool ok = false;
        const int port = parser.value(portOption).toInt(&ok);
        overrides.insert(QStringLiteral("port"),
                         ok ? QJsonValue(port) : QJsonValue(parser.value(portOption)));
    }
    if (parser.isSet(certOption))
        overrides.insert(QStringLiteral("tls_certificate"), parser.value(certOption));
    if (parser.isSet(keyOption))
        overrides.insert(QStringLiteral("tls_private_key"), parser.value(keyOption));
    const auto service = service::SessionService::startFromConfig(*runtime, overrides, &error);
    if (!service) {
        std::fprintf(stderr, "hourglassd: %s\n", qPrintable(error));
        return 1;
    }
    std::printf("hourglassd %s: data directory %s, %s, %zu session(s) and %zu login flow(s) restored; "
                "listening on %s\n",
                HOURGLASS_VERSION, qPrintable(options.dataDir), runtime->store().describe().c_str(),
                runtime->restored().sessions, runtime->restored().authRoots, service->url().c_str());
    std::fflush(stdout);

    // Clean shutdown on SIGINT/SIGTERM through the event loop (self-pipe).
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, g_signalFd) == 0) {
        auto *notifier = new QSocketNotifier(g_signalFd[0], QSocketNotifier::Read, &app);
        QObject::connect(notifier, &QSocketNotifier::activated, &app, [] { QCoreApplication::quit(); });
        std::signal(SIGINT, onSignal);
        std::signal(SIGTERM, onSignal);
    }
    const int rc = QCoreApplication::exec();
    service->stop();
    runtime->shutdown();
    return rc;
}
