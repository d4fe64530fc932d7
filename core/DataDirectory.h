#pragma once

#include <QString>

namespace hourglass {

// Layout of the data directory (Magento-like var/log for logs):
//   hourglass.json        configuration (policy and service settings)
//   sessions.db           embedded session store (SQLite, WAL)
//   var/log/              event log (hourglass-events.log, rotated)
//   hourglass.lock        held by the process that owns the store
class DataDirectory
{
public:
    explicit DataDirectory(QString root);

    // --data-dir beats $HOURGLASS_DATA_DIR beats the per-user application data location.
    static QString resolve(const QString &explicitDir);

    const QString &root() const { return m_root; }
    QString configFile() const;
    QString storeFile() const;
    QString logDirectory() const;
    QString lockFile() const;

private:
    QString m_root;
};

} // namespace hourglass
