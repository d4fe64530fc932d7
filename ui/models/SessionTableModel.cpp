#include "SessionTableModel.h"

#include "AdminClient.h"

#include <QDateTime>
#include <QLocale>

#include <climits>

namespace hourglass::ui {

namespace {
// After a change notification only the most recently viewed pages are fetched again: each fetch of
// an unfiltered page scans every session, so re-fetching all cached pages would cost the service
// kMaxCachedPages scans per notification.
constexpr int kPagesKeptOnRefresh = 3;

QString timeText(TimeMs ms)
{
    return QLocale().toString(QDateTime::fromMSecsSinceEpoch(ms), QLocale::ShortFormat);
}
} // namespace

SessionTableModel::SessionTableModel(AdminClient &client, QObject *parent)
    : QAbstractTableModel(parent), m_client(client), m_now([] { return QDateTime::currentMSecsSinceEpoch(); })
{}

SessionTableModel::~SessionTableModel() = default;

void SessionTableModel::setQuery(const SessionQuery &query)
{
    beginResetModel();
    m_query = query;
    ++m_queryGeneration;
    m_pages.clear();
    m_recent.clear();
    m_pending.clear();
    m_total = 0;
    endResetModel();
    fetch(0);
}

void SessionTableModel::refresh()
{
    while (m_recent.size() > std::size_t(kPagesKeptOnRefresh)) {
        m_pages.remove(m_recent.back());
        m_recent.pop_back();
    }
    if (m_recent.empty())
        fetch(0);
    for (int page : m_recent)
        fetch(page);
}

void SessionTableModel::tick()
{
    if (rowCount() > 0)
        Q_EMIT dataChanged(index(0, IdleLeftColumn), index(rowCount() - 1, AbsoluteLeftColumn),
                           {Qt::DisplayRole});
}

void SessionTableModel::touchPage(int page) const
{
    if (!m_recent.empty() && m_recent.front() == page)
        return;
    m_recent.remove(page);
    m_recent.push_front(page);
}

void SessionTableModel::fetch(int page) const
{
    if (m_pending.contains(page))
        return;
    m_pending.insert(page);
    SessionQuery q = m_query;
    q.offset = std::size_t(page) * kPageSize;
    q.limit = kPageSize;
    auto *self = const_cast<SessionTableModel *>(this);
    const std::uint64_t generation = m_queryGeneration;
    m_client.listSessions(q, self, [self, page, generation](SessionPage result) {
        if (generation != self->m_queryGeneration)
            return;
        self->m_pending.remove(page);
        self->m_pages.insert(page, std::move(result.rows));
        self->touchPage(page);
        while (self->m_recent.size() > std::size_t(kMaxCachedPages)) {
            self->m_pages.remove(self->m_recent.back());
            self->m_recent.pop_back();
        }
        self->setTotal(result.total);
        const int first = page * kPageSize;
        const int last = std::min(self->rowCount(), first + kPageSize) - 1;
        if (last >= first)
            Q_EMIT self->dataChanged(self->index(first, 0), self->index(last, ColumnCount - 1));
        Q_EMIT self->pageLoaded(page);
    });
}

void SessionTableModel::setTotal(std::size_t total)
{
    total = std::min<std::size_t>(total, INT_MAX);
    if (total == m_total)
        return;
    if (total > m_total) {
        beginInsertRows({}, int(m_total), int(total) - 1);
        m_total = total;
        endInsertRows();
    } else {
        beginRemoveRows({}, int(total), int(m_total) - 1);
        m_total = total;
        // Pages wholly past the end are gone.
        for (auto it = m_recent.begin(); it != m_recent.end();) {
            if (std::size_t(*it) * kPageSize >= total) {
                m_pages.remove(*it);
                it = m_recent.erase(it);
            } else {
                ++it;
            }
        }
        endRemoveRows();
    }
    Q_EMIT totalChanged(qulonglong(m_total));
}

std::optional<SessionInfo> SessionTableModel::sessionAt(int row) const
{
    if (row < 0)
        return std::nullopt;
    const auto it = m_pages.constFind(row / kPageSize);
    if (it == m_pages.cend() || std::size_t(row % kPageSize) >= it->size())
        return std::nullopt;
    return (*it)[std::size_t(row % kPageSize)];
}

std::vector<int> SessionTableModel::loadedRows(const std::vector<QString> &hashes) const
{
    std::vector<int> rows;
    if (hashes.empty())
        return rows;
    std::vector<std::string> wanted;
    for (const QString &h : hashes)
        wanted.push_back(h.toStdString());
    for (auto it = m_pages.cbegin(); it != m_pages.cend(); ++it) {
        for (std::size_t i = 0; i < it->size(); ++i) {
            const std::string hex = (*it)[i].hash.toHex();
            if (std::find(wanted.begin(), wanted.end(), hex) != wanted.end())
                rows.push_back(it.key() * kPageSize + int(i));
        }
    }
    return rows;
}

int SessionTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_total);
}

int SessionTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QString SessionTableModel::formatDuration(TimeMs ms)
{
    if (ms <= 0)
        return tr("expired");
    const qint64 seconds = ms / 1000;
    const qint64 days = seconds / 86400;
    const QString clock = QStringLiteral("%1:%2:%3")
                              .arg((seconds / 3600) % 24, 2, 10, QLatin1Char('0'))
                              .arg((seconds / 60) % 60, 2, 10, QLatin1Char('0'))
                              .arg(seconds % 60, 2, 10, QLatin1Char('0'));
    return days > 0 ? tr("%n d %1", nullptr, int(days)).arg(clock) : clock;
}

QVariant SessionTableModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const int page = index.row() / kPageSize;
    const auto it = m_pages.constFind(page);
    if (it == m_pages.cend()) {
        fetch(page);
        if (role == LoadedRole)
            return false;
        return role == Qt::DisplayRole && index.column() == UserColumn ? QVariant(tr("Loading…"))
                                                                       : QVariant();
    }
    touchPage(page);
    const std::size_t offset = std::size_t(index.row() % kPageSize);
    if (offset >= it->size()) // the session ended while the page was fetched
        return role == LoadedRole ? QVariant(false) : QVariant();
    const SessionInfo &s = (*it)[offset];
    switch (role) {
    case HashRole:
        return QString::fromStdString(s.hash.toHex());
    case UserRole:
        return QString::fromUtf8(textOf(s.user));
    case LoadedRole:
        return true;
    case Qt::ToolTipRole:
        return tr("ID hash %1\nUser agent: %2")
            .arg(QString::fromStdString(s.hash.toHex()),
                 textOf(s.userAgent).empty() ? tr("(none)") : QString::fromUtf8(textOf(s.userAgent)));
    case Qt::TextAlignmentRole:
        switch (index.column()) {
        case IdleLeftColumn:
        case AbsoluteLeftColumn:
        case SizeColumn:
        case SubSessionsColumn:
            return int(Qt::AlignRight | Qt::AlignVCenter);
        default:
            return {};
        }
    case Qt::DisplayRole:
        break;
    default:
        return {};
    }
    const QLocale locale;
    switch (index.column()) {
    case UserColumn:
        return QString::fromUtf8(textOf(s.user));
    case AreaColumn:
        return s.area == Area::Admin ? tr("Admin") : tr("Storefront");
    case ClientIpColumn:
        return QString::fromStdString(s.clientIp);
    case CreatedColumn:
        return timeText(s.createdMs);
    case LastActivityColumn:
        return timeText(s.lastActivityMs);
    case IdleLeftColumn:
        return formatDuration(s.idleDeadlineMs - m_now());
    case AbsoluteLeftColumn:
        return s.absoluteDeadlineMs == SessionInfo::kNoDeadline
                   ? tr("no limit")
                   : formatDuration(s.absoluteDeadlineMs - m_now());
    case RememberMeColumn:
        return s.rememberMe ? tr("Yes") : tr("No");
    case SizeColumn:
        return locale.formattedDataSize(qint64(s.dataSize), 1, QLocale::DataSizeTraditionalFormat);
    case SubSessionsColumn:
        return locale.toString(qulonglong(s.subSessions));
    default:
        return {};
    }
}

QVariant SessionTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case UserColumn:
        return tr("User");
    case AreaColumn:
        return tr("Area");
    case ClientIpColumn:
        return tr("Client IP");
    case CreatedColumn:
        return tr("Created");
    case LastActivityColumn:
        return tr("Last activity");
    case IdleLeftColumn:
        return tr("Idle time left");
    case AbsoluteLeftColumn:
        return tr("Absolute time left");
    case RememberMeColumn:
        return tr("Remember me");
    case SizeColumn:
        return tr("Size");
    case SubSessionsColumn:
        return tr("Sub-sessions");
    default:
        return {};
    }
}

} // namespace hourglass::ui
