// hourglass-ctl: command-line administration of an Hourglass data directory.
// All validation is the core's (SettingsSchema); this file only parses arguments and prints.

#include "ConfigFile.h"
#include "DataDirectory.h"
#include "Runtime.h"
#include "SettingsSchema.h"
#include "SqliteStore.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLockFile>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRegularExpression>
#include <QTimer>
#include <QUrlQuery>

#include <algorithm>

#include <cstdio>

using namespace hourglass;

namespace {

enum ExitCode
{
    Ok = 0,
    Failed = 1,
    Usage = 2,
    Busy = 3, // the data directory is owned by a running console or service
};

void out(const QString &text)
{
    std::fputs(qPrintable(text + QLatin1Char('\n')), stdout);
}

void err(const QString &text)
{
    std::fputs(qPrintable(QStringLiteral("hourglass-ctl: ") + text + QLatin1Char('\n')), stderr);
}

QString q(const std::string &s)
{
    return QString::fromStdString(s);
}

QString isoTime(TimeMs ms)
{
    if (ms == SessionInfo::kNoDeadline)
        return QStringLiteral("-");
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODate);
}

// The admin API of the service that owns the data directory (found through service.json and
// admin.token), used when a console or hourglassd is running.
class RemoteAdmin
{
public:
    static std::unique_ptr<RemoteAdmin> discover(const DataDirectory &dir)
    {
        QFile info(dir.root() + QStringLiteral("/service.json"));
        QFile token(dir.root() + QStringLiteral("/admin.token"));
        if (!info.open(QIODevice::ReadOnly) || !token.open(QIODevice::ReadOnly))
            return nullptr;
        const QString url =
            QJsonDocument::fromJson(info.readAll()).object().value(QStringLiteral("url")).toString();
        if (url.isEmpty())
            return nullptr;
        return std::unique_ptr<RemoteAdmin>(new RemoteAdmin(url, token.readAll().trimmed()));
    }

    struct Reply
    {
        int status = 0; // 0: no answer
        QJsonObject body;
        QString error;
    };

    Reply call(const QByteArray &method, const QString &path, const QUrlQuery &query = {},
               const QJsonObject &body = {})
    {
        QUrl url(m_url + path);
        url.setQuery(query);
        QNetworkRequest request(url);
        request.setRawHeader("Authorization", "Bearer " + m_token);
        request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
        request.setTransferTimeout(30000);
        QNetworkReply *reply = m_network.sendCustomRequest(
            request, method,
            body.isEmpty() ? QByteArray() : QJsonDocument(body).toJson(QJsonDocument::Compact));
        QEventLoop loop;
        QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
        loop.exec();
        Reply r;
        r.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        r.body = QJsonDocument::fromJson(reply->readAll()).object();
        r.error = r.status == 0 ? reply->errorString() : r.body.value(QStringLiteral("message")).toString();
        reply->deleteLater();
        return r;
    }

    const QString &url() const { return m_url; }

private:
    RemoteAdmin(QString url, QByteArray token) : m_url(std::move(url)), m_token(std::move(token)) {}
    Q_DISABLE_COPY_MOVE(RemoteAdmin)
    QString m_url;
    QByteArray m_token;
    QNetworkAccessManager m_network;
};

void printSessionHeader()
{
    out(QStringLiteral("%1\t%2\t%3\t%4\t%5\t%6\t%7")
            .arg(QStringLiteral("ID-HASH"), QStringLiteral("USER"), QStringLiteral("AREA"),
                 QStringLiteral("CLIENT-IP"), QStringLiteral("CREATED"), QStringLiteral("LAST-ACTIVITY"),
                 QStringLiteral("EXPIRES")));
}

void printSession(const QString &hash, const QString &user, const QString &area, const QString &ip,
                  TimeMs created, TimeMs last, TimeMs expires)
{
    out(QStringLiteral("%1\t%2\t%3\t%4\t%5\t%6\t%7")
            .arg(hash, user, area, ip, isoTime(created), isoTime(last), isoTime(expires)));
}

class Ctl
{
public:
    explicit Ctl(QString dataDir) : m_dir(std::move(dataDir)) {}

    int configSet(const QString &path, const QString &value, bool confirmed)
    {
        QLockFile lock(m_dir.lockFile());
        if (!tryLock(lock)) {
            if (auto remote = RemoteAdmin::discover(m_dir))
                return remoteConfigSet(*remote, path, value, confirmed);
            explainBusy(lock, QStringLiteral("which does not serve its admin API"));
            return Busy;
        }
        const ConfigFile file(m_dir.configFile());
        ConfigFile::LoadResult loaded = file.load();
        if (!loaded.ok) {
            err(loaded.error);
            return Failed;
        }
        Policy policy = loaded.policy;
        const ConfigResult r =
            SettingsSchema::apply(policy, path.toStdString(), value.toStdString(),
                                  confirmed ? Confirmation::Confirmed : Confirmation::NotConfirmed);
        if (r.needsConfirmation()) {
            err(q(r.message));
            err(QStringLiteral("Nothing was changed. Run again with --yes to keep %1.").arg(r.value));
            return Failed;
        }
        if (!r.ok()) {
            err(q(r.message));
            err(QStringLiteral("Nothing was changed."));
            return Failed;
        }
        QString error;
        if (!file.save(policy, loaded.sections, &error)) {
            err(error);
            return Failed;
        }
        const SettingKey *key = SettingsSchema::find(path.toStdString());
        out(QStringLiteral("%1 = %2").arg(path, q(SettingsSchema::format(*key, key->get(policy)))));
        return Ok;
    }

    int configGet(const QString &path)
    {
        const SettingKey *key = SettingsSchema::find(path.toStdString());
        if (!key) {
            err(QStringLiteral("unknown configuration path '%1' (see config:show)").arg(path));
            return Failed;
        }
        Policy policy;
        if (const int rc = currentPolicy(&policy); rc != Ok)
            return rc;
        out(q(SettingsSchema::format(*key, key->get(policy))));
        return Ok;
    }

    int configShow()
    {
        Policy policy;
        if (const int rc = currentPolicy(&policy); rc != Ok)
            return rc;
        for (const SettingKey &key : SettingsSchema::keys()) {
            const std::int64_t value = key.get(policy);
            QString line = QStringLiteral("%1 = %2").arg(q(key.path), q(SettingsSchema::format(key, value)));
            if (!key.unit.empty())
                line += QLatin1Char(' ') + QString::fromLatin1(key.unit.data(), qsizetype(key.unit.size()));
            if (value != key.defaultValue)
                line +=
                    QStringLiteral("  (default %1)").arg(q(SettingsSchema::format(key, key.defaultValue)));
            out(line);
        }
        return Ok;
    }

    int sessionsList(const QString &user, const QString &area, int offset, int limit)
    {
        SessionQuery query;
        query.user = user.toStdString();
        if (!area.isEmpty()) {
            query.area = parseArea(area.toStdString());
            if (!query.area) {
                err(QStringLiteral("unknown area '%1' (admin or storefront)").arg(area));
                return Usage;
            }
        }
        query.offset = static_cast<std::size_t>(offset);
        query.limit = static_cast<std::size_t>(limit);
        if (auto remote = runningService()) {
            QUrlQuery params;
            if (!user.isEmpty())
                params.addQueryItem(QStringLiteral("user"), user);
            if (!area.isEmpty())
                params.addQueryItem(QStringLiteral("area"), area);
            params.addQueryItem(QStringLiteral("offset"), QString::number(offset));
            params.addQueryItem(QStringLiteral("limit"), QString::number(limit));
            const auto r = remote->call("GET", QStringLiteral("/admin/v1/sessions"), params);
            if (r.status != 200)
                return remoteFailure(*remote, r);
            printSessionHeader();
            const QJsonArray rows = r.body.value(QStringLiteral("sessions")).toArray();
            for (const auto &v : rows) {
                const QJsonObject o = v.toObject();
                const auto text = [&](const char *k) {
                    return o.value(QLatin1String(k)).toString();
                };
                const auto ms = [&](const char *k) {
                    return TimeMs(o.value(QLatin1String(k)).toInteger());
                };
                printSession(text("id_hash"), text("user"), text("area"), text("client_ip"), ms("created_ms"),
                             ms("last_activity_ms"), ms("expires_ms"));
            }
            out(QStringLiteral("%1 of %2 sessions")
                    .arg(rows.size())
                    .arg(r.body.value(QStringLiteral("total")).toInteger()));
            return Ok;
        }
        auto rt = openRuntime();
        if (!rt)
            return m_openStatus;
        const SessionPage page = rt->engine().list(query);
        printSessionHeader();
        for (const SessionInfo &s : page.rows)
            printSession(q(s.hash.toHex()), q(std::string(textOf(s.user))), q(std::string(areaName(s.area))), q(s.clientIp),
                         s.createdMs, s.lastActivityMs, s.expiresAtMs);
        out(QStringLiteral("%1 of %2 sessions").arg(page.rows.size()).arg(page.total));
        return Ok;
    }

    int sessionsRevoke(const QString &hashText)
    {
        const auto hash = IdHash::fromHex(hashText.toStdString());
        if (!hash) {
            err(QStringLiteral("'%1' is not a session ID hash (64 hex digits, as shown by sessions:list)")
                    .arg(hashText));
            return Usage;
        }
        if (auto remote = runningService()) {
            const auto r = remote->call("DELETE", QStringLiteral("/admin/v1/sessions/") + hashText.toLower());
            if (r.status == 404) {
                err(QStringLiteral("no session with ID hash %1").arg(hashText));
                return Failed;
            }
            if (r.status != 200)
                return remoteFailure(*remote, r);
            out(QStringLiteral("revoked %1").arg(hashText));
            return Ok;
        }
        auto rt = openRuntime();
        if (!rt)
            return m_openStatus;
        const SessionError e = rt->engine().revoke(*hash);
        if (e == SessionError::Unknown) {
            err(QStringLiteral("no session with ID hash %1").arg(hashText));
            return Failed;
        }
        if (e != SessionError::None) {
            err(QStringLiteral("revocation failed: %1").arg(q(std::string(sessionErrorName(e)))));
            return Failed;
        }
        out(QStringLiteral("revoked %1").arg(hashText));
        return Ok;
    }

    int userLogout(const QString &user, const QString &exceptText, const QString &area)
    {
        std::optional<IdHash> except;
        if (!exceptText.isEmpty()) {
            except = IdHash::fromHex(exceptText.toStdString());
            if (!except) {
                err(QStringLiteral("--except needs a session ID hash (64 hex digits)"));
                return Usage;
            }
        }
        std::optional<Area> onlyArea;
        if (!area.isEmpty()) {
            onlyArea = parseArea(area.toStdString());
            if (!onlyArea) {
                err(QStringLiteral("unknown area '%1' (admin or storefront)").arg(area));
                return Usage;
            }
        }
        if (auto remote = runningService()) {
            QJsonObject body;
            if (except)
                body.insert(QStringLiteral("except"), q(except->toHex()));
            if (onlyArea)
                body.insert(QStringLiteral("area"), area);
            const auto r = remote->call("POST",
                                        QStringLiteral("/admin/v1/users/%1/logout")
                                            .arg(QString::fromLatin1(QUrl::toPercentEncoding(user))),
                                        {}, body);
            if (r.status != 200)
                return remoteFailure(*remote, r);
            out(QStringLiteral("ended %1 session(s) of %2")
                    .arg(r.body.value(QStringLiteral("ended")).toInteger())
                    .arg(user));
            return Ok;
        }
        auto rt = openRuntime();
        if (!rt)
            return m_openStatus;
        const std::size_t ended = rt->engine().forceLogout(user.toStdString(), except, onlyArea);
        out(QStringLiteral("ended %1 session(s) of %2").arg(ended).arg(user));
        return Ok;
    }

    int storeCheck()
    {
        QLockFile lock(m_dir.lockFile());
        if (!lockOrExplain(lock))
            return Busy;
        const std::string result = SqliteStore::integrityCheck(m_dir.storeFile().toStdString());
        out(QStringLiteral("%1: %2").arg(m_dir.storeFile(), q(result)));
        return result == "ok" ? Ok : Failed;
    }

private:
    static bool tryLock(QLockFile &lock)
    {
        lock.setStaleLockTime(0);
        return lock.tryLock(0);
    }

    // The running console or service, when the data directory is owned by one that serves.
    std::unique_ptr<RemoteAdmin> runningService()
    {
        QLockFile lock(m_dir.lockFile());
        // Only a lock held by another process means an owner; a directory that does not exist yet
        // (or cannot be locked at all) is handled, and reported, by opening it directly.
        if (tryLock(lock) || lock.error() != QLockFile::LockFailedError)
            return nullptr; // nobody owns it: work on the files directly
        return RemoteAdmin::discover(m_dir);
    }

    int currentPolicy(Policy *policy)
    {
        if (auto remote = runningService()) {
            const auto r = remote->call("GET", QStringLiteral("/admin/v1/policy"));
            if (r.status != 200)
                return remoteFailure(*remote, r);
            QString error;
            if (!ConfigFile::settingsFromJson(r.body.value(QStringLiteral("settings")).toObject(), *policy,
                                              &error)) {
                err(error);
                return Failed;
            }
            return Ok;
        }
        const ConfigFile::LoadResult loaded = ConfigFile(m_dir.configFile()).load();
        if (!loaded.ok) {
            err(loaded.error);
            return Failed;
        }
        *policy = loaded.policy;
        return Ok;
    }

    int remoteConfigSet(RemoteAdmin &remote, const QString &path, const QString &value, bool confirmed)
    {
        // Parse here with the same key table so that the service receives a typed value.
        const SettingKey *key = SettingsSchema::find(path.toStdString());
        if (!key) {
            err(QStringLiteral("unknown configuration path '%1'").arg(path));
            err(QStringLiteral("Nothing was changed."));
            return Failed;
        }
        const ConfigResult parsed = SettingsSchema::parse(*key, value.toStdString());
        if (!parsed.ok()) {
            err(q(parsed.message));
            err(QStringLiteral("Nothing was changed."));
            return Failed;
        }
        QJsonObject settings;
        switch (key->type) {
        case SettingType::Boolean:
            settings.insert(path, parsed.value != 0);
            break;
        case SettingType::Choice:
            settings.insert(path, q(SettingsSchema::format(*key, parsed.value)));
            break;
        case SettingType::Integer:
            settings.insert(path, qint64(parsed.value));
            break;
        }
        const auto r = remote.call(
            "PUT", QStringLiteral("/admin/v1/policy"), {},
            QJsonObject{{QStringLiteral("settings"), settings}, {QStringLiteral("confirm"), confirmed}});
        if (r.status == 409) {
            err(r.error);
            err(QStringLiteral("Nothing was changed. Run again with --yes to keep %1.").arg(parsed.value));
            return Failed;
        }
        if (r.status == 422 || r.status == 400) {
            err(r.error);
            err(QStringLiteral("Nothing was changed."));
            return Failed;
        }
        if (r.status != 200)
            return remoteFailure(remote, r);
        const QJsonValue now = r.body.value(QStringLiteral("settings")).toObject().value(path);
        out(QStringLiteral("%1 = %2").arg(path, now.isBool() ? QString::number(int(now.toBool()))
                                                             : now.toVariant().toString()));
        return Ok;
    }

    int remoteFailure(const RemoteAdmin &remote, const RemoteAdmin::Reply &r)
    {
        err(r.status == 0
                ? QStringLiteral("the running service at %1 did not answer: %2").arg(remote.url(), r.error)
                : QStringLiteral("the running service at %1 answered %2: %3")
                      .arg(remote.url())
                      .arg(r.status)
                      .arg(r.error));
        return Failed;
    }

    void explainBusy(QLockFile &lock, const QString &why)
    {
        if (lock.error() != QLockFile::LockFailedError) {
            err(QStringLiteral(
                    "cannot lock data directory %1: it does not exist or is not writable. Nothing was "
                    "changed.")
                    .arg(m_dir.root()));
            return;
        }
        qint64 pid = 0;
        QString host, app;
        lock.getLockInfo(&pid, &host, &app);
        err(QStringLiteral(
                "data directory %1 is in use by %2 (pid %3), %4; stop it first. Nothing was changed.")
                .arg(m_dir.root(), app)
                .arg(pid)
                .arg(why));
    }

    bool lockOrExplain(QLockFile &lock)
    {
        if (tryLock(lock))
            return true;
        explainBusy(lock, QStringLiteral("and this command needs it to itself"));
        return false;
    }

    std::unique_ptr<Runtime> openRuntime()
    {
        Runtime::Options options;
        options.dataDir = m_dir.root();
        options.logDir = qEnvironmentVariable("HOURGLASS_LOG_DIR");
        options.maintenance = false;
        Runtime::OpenError code;
        QString error;
        auto rt = Runtime::open(options, &code, &error);
        if (!rt) {
            err(error);
            m_openStatus = code == Runtime::OpenError::Locked ? Busy : Failed;
        }
        return rt;
    }

    DataDirectory m_dir;
    int m_openStatus = Failed;
};

// "config:set KEY -1" must reach validation ("must not be negative") instead of being taken for an
// unknown option "-1": negative numbers are values, so every positional goes after "--".
QStringList withValuesAsPositionals(const QStringList &arguments, const QList<QCommandLineOption> &valued)
{
    static const QRegularExpression negativeNumber(QStringLiteral("^-[0-9]"));
    QStringList options{arguments.value(0)};
    QStringList positionals;
    bool sawNegative = false;
    for (qsizetype i = 1; i < arguments.size(); ++i) {
        const QString &arg = arguments.at(i);
        if (arg == QLatin1String("--")) {
            positionals += arguments.mid(i + 1);
            break;
        }
        if (arg.startsWith(QLatin1Char('-')) && !negativeNumber.match(arg).hasMatch()) {
            options += arg;
            const QString name = arg.mid(arg.startsWith(QLatin1String("--")) ? 2 : 1);
            const bool takesValue =
                std::any_of(valued.begin(), valued.end(),
                            [&](const QCommandLineOption &o) { return o.names().contains(name); });
            if (takesValue && i + 1 < arguments.size())
                options += arguments.at(++i);
            continue;
        }
        sawNegative = sawNegative || negativeNumber.match(arg).hasMatch();
        positionals += arg;
    }
    if (!sawNegative)
        return arguments;
    return options + QStringList{QStringLiteral("--")} + positionals;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("hourglass-ctl"));
    QCoreApplication::setApplicationVersion(QStringLiteral(HOURGLASS_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Administer Hourglass session policy and sessions.\n\nCommands:\n"
        "  config:set PATH VALUE [--yes]    set a policy value (validated; --yes confirms low size limits)\n"
        "  config:get PATH                  print one value\n"
        "  config:show                      print every value with its default\n"
        "  sessions:list [--user U] [--area A] [--offset N] [--limit N]\n"
        "  sessions:revoke ID-HASH          end one session\n"
        "  user:logout USER [--except ID-HASH] [--area A]   end a user's sessions\n"
        "  store:check                      run an integrity check of the session store"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption dataDirOption(QStringLiteral("data-dir"), QStringLiteral("Data directory."),
                                           QStringLiteral("dir"));
    const QCommandLineOption yesOption(QStringLiteral("yes"),
                                       QStringLiteral("Confirm a value below the recommended minimum."));
    const QCommandLineOption userOption(QStringLiteral("user"), QStringLiteral("Only this user."),
                                        QStringLiteral("user"));
    const QCommandLineOption areaOption(QStringLiteral("area"), QStringLiteral("admin or storefront."),
                                        QStringLiteral("area"));
    const QCommandLineOption exceptOption(QStringLiteral("except"), QStringLiteral("Keep this session."),
                                          QStringLiteral("id-hash"));
    const QCommandLineOption offsetOption(QStringLiteral("offset"), QStringLiteral("Rows to skip."),
                                          QStringLiteral("n"), QStringLiteral("0"));
    const QCommandLineOption limitOption(QStringLiteral("limit"), QStringLiteral("Rows to print."),
                                         QStringLiteral("n"), QStringLiteral("100"));
    parser.addOptions(
        {dataDirOption, yesOption, userOption, areaOption, exceptOption, offsetOption, limitOption});
    parser.addPositionalArgument(QStringLiteral("command"), QStringLiteral("What to do (see above)."));
    parser.process(
        withValuesAsPositionals(QCoreApplication::arguments(), {dataDirOption, userOption, areaOption,
                                                                exceptOption, offsetOption, limitOption}));

    const QStringList args = parser.positionalArguments();
    if (args.isEmpty()) {
        err(QStringLiteral("no command given (try --help)"));
        return Usage;
    }
    const QString command = args.first();
    const auto needArgs = [&](int n) {
        if (args.size() == n + 1)
            return true;
        err(QStringLiteral("%1 takes %2 argument(s) (try --help)").arg(command).arg(n));
        return false;
    };
    bool okOffset = false, okLimit = false;
    const int offset = parser.value(offsetOption).toInt(&okOffset);
    const int limit = parser.value(limitOption).toInt(&okLimit);
    if (!okOffset || !okLimit || offset < 0 || limit < 1) {
        err(QStringLiteral("--offset and --limit take whole numbers (limit at least 1)"));
        return Usage;
    }

    Ctl ctl(DataDirectory::resolve(parser.value(dataDirOption)));
    if (command == QLatin1String("config:set"))
        return needArgs(2) ? ctl.configSet(args.at(1), args.at(2), parser.isSet(yesOption)) : Usage;
    if (command == QLatin1String("config:get"))
        return needArgs(1) ? ctl.configGet(args.at(1)) : Usage;
    if (command == QLatin1String("config:show"))
        return needArgs(0) ? ctl.configShow() : Usage;
    if (command == QLatin1String("sessions:list"))
        return needArgs(0)
                   ? ctl.sessionsList(parser.value(userOption), parser.value(areaOption), offset, limit)
                   : Usage;
    if (command == QLatin1String("sessions:revoke"))
        return needArgs(1) ? ctl.sessionsRevoke(args.at(1)) : Usage;
    if (command == QLatin1String("user:logout"))
        return needArgs(1) ? ctl.userLogout(args.at(1), parser.value(exceptOption), parser.value(areaOption))
                           : Usage;
    if (command == QLatin1String("store:check"))
        return needArgs(0) ? ctl.storeCheck() : Usage;
    err(QStringLiteral("unknown command '%1' (try --help)").arg(command));
    return Usage;
}
