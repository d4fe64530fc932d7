#pragma once

#include "Policy.h"

#include <QJsonObject>
#include <QString>

namespace hourglass {

// The persisted configuration: a JSON document with a schema version, the policy as a flat map of
// key-table paths, and room for other sections (service, store) that are preserved on save.
//
// Writes are crash-safe (AtomicFile: temporary file, fsync, rename). A file that cannot
// be parsed or validated is reported with its path and what to do, and is never overwritten or
// silently replaced by defaults. Older schemas are migrated by numbered steps; the original file
// is kept next to it as <name>.v<N>.bak.
class ConfigFile
{
public:
    static constexpr int kSchemaVersion = 2;

    explicit ConfigFile(QString path);

    struct LoadResult
    {
        bool ok = false;
        QString error;
        Policy policy;
        QJsonObject sections; // everything but "schema" and "settings"
        int migratedFrom = 0; // schema version migrated from, 0 when none
        bool existed = false;
    };

    // A missing file yields the defaults (ok, existed = false); it is created on first save.
    LoadResult load() const;
    // The same checks on bytes already read; `path` only names the file in messages (fuzzing).
    static LoadResult parse(const QByteArray &bytes, const QString &path);
    bool save(const Policy &policy, const QJsonObject &sections, QString *error) const;

    const QString &path() const { return m_path; }

    static QJsonObject settingsToJson(const Policy &policy);
    // Strict: unknown keys, wrong JSON types and invalid values are errors naming the key.
    static bool settingsFromJson(const QJsonObject &settings, Policy &policy, QString *error);
    // JSON values (numbers, booleans, choice strings) to key-table text, with type checks.
    static bool entriesFromJson(const QJsonObject &settings,
                                std::vector<std::pair<std::string, std::string>> &entries, QString *error);
    // Numbered migrations; each takes the document of version N and returns version N + 1.
    static bool migrate(QJsonObject &document, int fromVersion, QString *error);

private:
    QString m_path;
};

} // namespace hourglass
