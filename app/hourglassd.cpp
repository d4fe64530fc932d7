// hourglassd: the headless Hourglass session service.

#include "DataDirectory.h"
#include "Runtime.h"

#include <QCommandLineParser>
#include <QCoreApplication>
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
    parser.addOption(dataDirOption);
    parser.process(app);

    Runtime::Options options;
    options.dataDir = DataDirectory::resolve(parser.value(dataDirOption));
    Runtime::OpenError code;
    QString error;
    auto runtime = Runtime::open(options, &code, &error);
    if (!runtime) {
        std::fprintf(stderr, "hourglassd: %s\n", qPrintable(error));
        return 1;
    }
    std::printf("hourglassd %s: data directory %s, %zu session(s) and %zu login flow(s) restored\n",
                HOURGLASS_VERSION, qPrintable(options.dataDir), runtime->restored().sessions,
                runtime->restored().authRoots);
    std::fflush(stdout);

    // Clean shutdown on SIGINT/SIGTERM through the event loop (self-pipe).
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, g_signalFd) == 0) {
        auto *notifier = new QSocketNotifier(g_signalFd[0], QSocketNotifier::Read, &app);
        QObject::connect(notifier, &QSocketNotifier::activated, &app, [] { QCoreApplication::quit(); });
        std::signal(SIGINT, onSignal);
        std::signal(SIGTERM, onSignal);
    }
    const int rc = QCoreApplication::exec();
    runtime->shutdown();
    return rc;
}
