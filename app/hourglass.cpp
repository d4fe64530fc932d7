// hourglass: the administration console, running the session service embedded.

#include "AdminConnection.h"
#include "DataDirectory.h"
#include "EmbeddedAdminClient.h"
#include "MainWindow.h"
#include "Runtime.h"
#include "SessionService.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QMessageBox>
#include <QTimer>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <unistd.h>

using namespace hourglass;

namespace {

bool haveDisplay()
{
    // An explicit platform (offscreen, xcb, wayland…) is the user's choice; otherwise a display is needed.
    return qEnvironmentVariableIsSet("QT_QPA_PLATFORM") || qEnvironmentVariableIsSet("DISPLAY") ||
           qEnvironmentVariableIsSet("WAYLAND_DISPLAY");
}

// Replaces this process with hourglassd from the same directory, passing the arguments on.
int execHeadless(int argc, char *argv[])
{
    std::fprintf(stderr, "hourglass: no display found (DISPLAY and WAYLAND_DISPLAY are not set); running the "
                         "headless service hourglassd instead.\n");
    char self[4096] = {};
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    std::string daemon = n > 0 ? std::string(self, std::size_t(n)) : std::string(argv[0]);
    daemon = daemon.substr(0, daemon.find_last_of('/') + 1) + "hourglassd";
    std::vector<char *> args{daemon.data()};
    for (int i = 1; i < argc; ++i)
        args.push_back(argv[i]);
    args.push_back(nullptr);
    ::execv(daemon.c_str(), args.data());
    std::perror(daemon.c_str());
    return 1;
}

// Shows each page in turn, gives it time to load and chart, saves it as <dir>/<page>.png, then quits.
void takeScreenshots(ui::MainWindow &window, const QString &directory)
{
    QDir().mkpath(directory);
    static const QStringList pages = {
        QStringLiteral("sessionManagementPage"),      QStringLiteral("securityPage"),
        QStringLiteral("authenticationSessionsPage"), QStringLiteral("sessionsPage"),
        QStringLiteral("securityEventsPage"),         QStringLiteral("servicePage")};
    constexpr int kSettleMs = 2500;
    auto index = std::make_shared<int>(0);
    auto next = std::make_shared<std::function<void()>>();
    *next = [&window, directory, index, next] {
        if (*index > 0) {
            const QString name = pages.at(*index - 1);
            const QString file = directory + QLatin1Char('/') + name + QStringLiteral(".png");
            if (!window.grab().save(file))
                std::fprintf(stderr, "hourglass: cannot write %s\n", qPrintable(file));
            else
                std::printf("%s\n", qPrintable(file));
        }
        if (*index == pages.size()) {
            *next = nullptr;
            QApplication::quit();
            return;
        }
        window.showPage(pages.at((*index)++));
        QTimer::singleShot(kSettleMs, &window, [next] {
            if (*next)
                (*next)();
        });
    };
    // The screenshot script feeds the service traffic before the first page is taken.
    bool ok = false;
    const int initialDelay = qEnvironmentVariableIntValue("HOURGLASS_SCREENSHOT_DELAY_MS", &ok);
    QTimer::singleShot(ok ? std::max(initialDelay, kSettleMs) : kSettleMs, &window, [next] { (*next)(); });
}

} // namespace

int main(int argc, char *argv[])
{
    // --version needs no display (installers and scripts ask it on headless machines).
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--version") == 0 || std::strcmp(argv[i], "-v") == 0) {
            std::printf("hourglass %s\n", HOURGLASS_VERSION);
            return 0;
        }
    }
    if (!haveDisplay())
        return execHeadless(argc, argv);

    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("hourglass"));
    QApplication::setOrganizationName(QStringLiteral("Hourglass"));
    QApplication::setApplicationDisplayName(QStringLiteral("Hourglass"));
    QApplication::setApplicationVersion(QStringLiteral(HOURGLASS_VERSION));
    QApplication::setDesktopFileName(QStringLiteral(HOURGLASS_APP_ID));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/hourglass.svg")));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QApplication::translate("main", "Hourglass session administration console."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption dataDirOption(QStringLiteral("data-dir"),
                                           QApplication::translate("main", "Data directory."),
                                           QStringLiteral("dir"));
    const QCommandLineOption pageOption(QStringLiteral("page"),
                                        QApplication::translate("main", "Page to open (its object name)."),
                                        QStringLiteral("name"));
    const QCommandLineOption screenshotsOption(
        QStringLiteral("screenshots"),
        QApplication::translate("main", "Save a screenshot of every page into this directory, then quit."),
        QStringLiteral("dir"));
    parser.addOptions({dataDirOption, pageOption, screenshotsOption});
    parser.process(app);

    Runtime::Options options;
    options.dataDir = DataDirectory::resolve(parser.value(dataDirOption));
    Runtime::OpenError code;
    QString error;
    auto runtime = Runtime::open(options, &code, &error);
    if (!runtime) {
        std::fprintf(stderr, "hourglass: %s\n", qPrintable(error));
        if (!parser.isSet(screenshotsOption)) // unattended: the message on stderr is enough
            QMessageBox::critical(nullptr, QApplication::translate("main", "Hourglass cannot start"), error);
        return 1;
    }

    // The session service runs embedded in the console. If it cannot start (port in use, TLS
    // set-up failed) the console still opens and says why on the Service page; it never falls back
    // to plain HTTP.
    QString serviceError;
    std::unique_ptr<service::SessionService> sessionService =
        service::SessionService::startFromConfig(*runtime, {}, &serviceError);
    if (!serviceError.isEmpty())
        std::fprintf(stderr, "hourglass: the session service did not start: %s\n", qPrintable(serviceError));

    EmbeddedAdminClient client(*runtime);
    client.setService(sessionService.get(), serviceError);
    AdminConnection connection(&client);
    ui::MainWindow window(connection);
    if (parser.isSet(pageOption))
        window.showPage(parser.value(pageOption));
    window.show();
    if (parser.isSet(screenshotsOption))
        takeScreenshots(window, parser.value(screenshotsOption));
    const int rc = QApplication::exec();
    client.waitForIdle();
    client.setService(nullptr, {});
    sessionService.reset();
    runtime->shutdown();
    return rc;
}
