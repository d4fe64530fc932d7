#include "DataDirectory.h"

#include <QDir>
#include <QStandardPaths>

namespace hourglass {

DataDirectory::DataDirectory(QString root) : m_root(QDir(root).absolutePath()) {}

QString DataDirectory::resolve(const QString &explicitDir)
{
    if (!explicitDir.isEmpty())
        return explicitDir;
    const QString fromEnv = qEnvironmentVariable("HOURGLASS_DATA_DIR");
    if (!fromEnv.isEmpty())
        return fromEnv;
    const QString base = QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation);
    return base + QStringLiteral("/hourglass");
}

QString DataDirectory::configFile() const
{
    return m_root + QStringLiteral("/hourglass.json");
}

QString DataDirectory::storeFile() const
{
    return m_root + QStringLiteral("/sessions.db");
}

QString DataDirectory::logDirectory() const
{
    return m_root + QStringLiteral("/var/log");
}

QString DataDirectory::lockFile() const
{
    return m_root + QStringLiteral("/hourglass.lock");
}

} // namespace hourglass
