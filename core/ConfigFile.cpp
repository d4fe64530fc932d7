#include "ConfigFile.h"

#include "AtomicFile.h"
#include "SettingsSchema.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>

#include <cmath>

namespace hourglass {

namespace {

QString fromStd(const std::string &s)
{
    return QString::fromStdString(s);
}

QString damaged(const QString &path, const QString &what)
{
    return QStringLiteral("Configuration file %1 is damaged: %2. Hourglass did not change it. Fix the file "
                          "(see docs/configuration.md), restore it from a backup, or move it aside to start "
                          "with the default policy.")
        .arg(path, what);
}

// Schema 1 (Hourglass 0.0.x) kept one policy for both areas under "session/<key>" with times in
// seconds; schema 2 splits admin and storefront and counts minutes, as the documented consoles do.
bool migrate1to2(QJsonObject &document, QString *error)
{
    const QJsonObject old = document.value(QStringLiteral("settings")).toObject();
    QJsonObject settings;
    const auto secondsToMinutes = [](double seconds) {
        return std::ceil(seconds / 60.0);
    };
    for (auto it = old.begin(); it != old.end(); ++it) {
        const QString key = it.key();
        const QJsonValue value = it.value();
        const auto bothAreas = [&](const QString &leaf, const QJsonValue &v) {
            settings.insert(QStringLiteral("session/admin/") + leaf, v);
            settings.insert(QStringLiteral("session/storefront/") + leaf, v);
        };
        if (key == QLatin1String("session/idle_timeout_seconds")) {
            bothAreas(QStringLiteral("idle_timeout"), secondsToMinutes(value.toDouble()));
        } else if (key == QLatin1String("session/remember_me_seconds")) {
            bothAreas(QStringLiteral("remember_me_period"), secondsToMinutes(value.toDouble()));
        } else if (key == QLatin1String("session/max_lifetime_seconds")) {
            // 0 meant "no maximum" in schema 1.
            const double seconds = value.toDouble();
            bothAreas(QStringLiteral("enable_max_timeout"), seconds > 0);
            if (seconds > 0)
                bothAreas(QStringLiteral("max_timeout"), secondsToMinutes(seconds));
        } else if (key.startsWith(QLatin1String("system/security/")) ||
                   key.startsWith(QLatin1String("authenticationSessions/"))) {
            settings.insert(key, value);
        } else {
            *error = QStringLiteral("schema 1 key '%1' is not known").arg(key);
            return false;
        }
    }
    document.insert(QStringLiteral("settings"), settings);
    document.insert(QStringLiteral("schema"), 2);
    return true;
}

} // namespace

ConfigFile::ConfigFile(QString path) : m_path(std::move(path)) {}

QJsonObject ConfigFile::settingsToJson(const Policy &policy)
{
    QJsonObject settings;
    for (const SettingKey &key : SettingsSchema::keys()) {
        const std::int64_t value = key.get(policy);
        switch (key.type) {
        case SettingType::Boolean:
            settings.insert(fromStd(key.path), value != 0);
            break;
        case SettingType::Choice:
            settings.insert(fromStd(key.path), fromStd(SettingsSchema::format(key, value)));
            break;
        case SettingType::Integer:
            settings.insert(fromStd(key.path), static_cast<qint64>(value));
            break;
        }
    }
    return settings;
}

bool ConfigFile::entriesFromJson(const QJsonObject &settings,
                                 std::vector<std::pair<std::string, std::string>> &entries, QString *error)
{
    for (auto it = settings.begin(); it != settings.end(); ++it) {
        const std::string path = it.key().toStdString();
        const SettingKey *key = SettingsSchema::find(path);
        if (!key) {
            *error = QStringLiteral("unknown setting '%1'").arg(it.key());
            return false;
        }
        const QJsonValue value = it.value();
        switch (key->type) {
        case SettingType::Boolean:
            if (!value.isBool()) {
                *error = QStringLiteral("setting '%1' must be true or false").arg(it.key());
                return false;
            }
            entries.emplace_back(path, value.toBool() ? "1" : "0");
            break;
        case SettingType::Choice:
            if (!value.isString()) {
                *error = QStringLiteral("setting '%1' must be a string").arg(it.key());
                return false;
            }
            entries.emplace_back(path, value.toString().toStdString());
            break;
        case SettingType::Integer: {
            const double number = value.toDouble(std::nan(""));
            if (!value.isDouble() || number != std::floor(number) || std::fabs(number) > 9.0e15) {
                *error = QStringLiteral("setting '%1' must be a whole number").arg(it.key());
                return false;
            }
            entries.emplace_back(path, std::to_string(static_cast<std::int64_t>(number)));
            break;
        }
        }
    }
    return true;
}

bool ConfigFile::settingsFromJson(const QJsonObject &settings, Policy &policy, QString *error)
{
    std::vector<std::pair<std::string, std::string>> entries;
    if (!entriesFromJson(settings, entries, error))
        return false;
    // Values in the file were confirmed when they were written; bounds and cross-key rules apply.
    const ConfigResult r = SettingsSchema::applyAll(policy, entries, Confirmation::Confirmed);
    if (!r.ok()) {
        *error = fromStd(r.message);
        return false;
    }
    return true;
}

bool ConfigFile::migrate(QJsonObject &document, int fromVersion, QString *error)
{
    switch (fromVersion) {
    case 1:
        return migrate1to2(document, error);
    default:
        *error = QStringLiteral("no migration from schema %1").arg(fromVersion);
        return false;
    }
}

ConfigFile::LoadResult ConfigFile::load() const
{
    LoadResult result;
    QFile file(m_path);
    if (!file.exists()) {
        result.ok = true;
        return result;
    }
    result.existed = true;
    if (!file.open(QIODevice::ReadOnly)) {
        result.error =
            QStringLiteral("Cannot read configuration file %1: %2").arg(m_path, file.errorString());
        return result;
    }
    result = parse(file.readAll(), m_path);
    result.existed = true;
    if (!result.ok)
        return result;
    QString error;
    if (result.migratedFrom > 0) {
        // Keep the original next to the migrated file, then write the new schema.
        const QString backup = m_path + QStringLiteral(".v%1.bak").arg(result.migratedFrom);
        QFile::remove(backup);
        if (!QFile::copy(m_path, backup) || !save(result.policy, result.sections, &error)) {
            result.ok = false;
            result.error =
                QStringLiteral("Configuration file %1 was migrated from schema %2 but could not be "
                               "rewritten: %3")
                    .arg(m_path)
                    .arg(result.migratedFrom)
                    .arg(error.isEmpty() ? QStringLiteral("cannot write backup ") + backup : error);
        }
    }
    return result;
}

ConfigFile::LoadResult ConfigFile::parse(const QByteArray &bytes, const QString &path)
{
    LoadResult result;
    QJsonParseError parseError{};
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        result.error = damaged(
            path, QStringLiteral("%1 at byte %2").arg(parseError.errorString()).arg(parseError.offset));
        return result;
    }
    if (!doc.isObject()) {
        result.error = damaged(path, QStringLiteral("the top level is not a JSON object"));
        return result;
    }
    QJsonObject document = doc.object();
    const QJsonValue schemaValue = document.value(QStringLiteral("schema"));
    if (!schemaValue.isDouble()) {
        result.error = damaged(path, QStringLiteral("the \"schema\" version is missing"));
        return result;
    }
    const int schema = schemaValue.toInt();
    if (schema > kSchemaVersion) {
        result.error =
            QStringLiteral("Configuration file %1 has schema %2, written by a newer Hourglass (this one "
                           "reads up to %3). Hourglass did not change it; upgrade Hourglass.")
                .arg(path)
                .arg(schema)
                .arg(kSchemaVersion);
        return result;
    }
    if (schema < 1) {
        result.error = damaged(path, QStringLiteral("schema %1 is not valid").arg(schema));
        return result;
    }
    if (!document.value(QStringLiteral("settings")).isObject()) {
        result.error = damaged(path, QStringLiteral("\"settings\" is missing or not an object"));
        return result;
    }
    for (int version = schema; version < kSchemaVersion; ++version) {
        QString error;
        if (!migrate(document, version, &error)) {
            result.error =
                damaged(path, QStringLiteral("migration from schema %1 failed: %2").arg(version).arg(error));
            return result;
        }
        result.migratedFrom = schema;
    }
    QString error;
    Policy policy;
    if (!settingsFromJson(document.value(QStringLiteral("settings")).toObject(), policy, &error)) {
        result.error = damaged(path, error);
        return result;
    }
    document.remove(QStringLiteral("schema"));
    document.remove(QStringLiteral("settings"));
    result.policy = policy;
    result.sections = document;
    result.ok = true;

    return result;
}

bool ConfigFile::save(const Policy &policy, const QJsonObject &sections, QString *error) const
{
    QJsonObject document = sections;
    document.insert(QStringLiteral("schema"), kSchemaVersion);
    document.insert(QStringLiteral("settings"), settingsToJson(policy));
    QDir().mkpath(QFileInfo(m_path).absolutePath());
    const QByteArray bytes = QJsonDocument(document).toJson(QJsonDocument::Indented);
    std::string writeError;
    if (!AtomicFile::write(m_path.toStdString(),
                           std::string_view(bytes.constData(), std::size_t(bytes.size())), 0640,
                           &writeError)) {
        *error = QString::fromStdString(writeError);
        return false;
    }
    return true;
}

} // namespace hourglass
