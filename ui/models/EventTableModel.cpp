#include "EventTableModel.h"

#include <QDateTime>
#include <QLocale>

namespace hourglass::ui {

EventTableModel::EventTableModel(QObject *parent) : QAbstractTableModel(parent) {}

EventTableModel::~EventTableModel() = default;

void EventTableModel::clear()
{
    beginResetModel();
    m_events.clear();
    m_lastSequence = 0;
    endResetModel();
}

void EventTableModel::append(const std::vector<SessionEvent> &events)
{
    std::vector<const SessionEvent *> fresh;
    for (const SessionEvent &e : events) {
        if (e.sequence > m_lastSequence) {
            fresh.push_back(&e);
            m_lastSequence = e.sequence;
        }
    }
    if (fresh.empty())
        return;
    const std::size_t count = std::min(fresh.size(), kCapacity);
    beginInsertRows({}, 0, int(count) - 1);
    for (std::size_t i = fresh.size() - count; i < fresh.size(); ++i)
        m_events.push_front(*fresh[i]);
    endInsertRows();
    if (m_events.size() > kCapacity) {
        beginRemoveRows({}, int(kCapacity), int(m_events.size()) - 1);
        m_events.resize(kCapacity);
        endRemoveRows();
    }
}

QString EventTableModel::typeTitle(EventType type)
{
    switch (type) {
    case EventType::Created:
        return tr("Session created");
    case EventType::Expired:
        return tr("Session expired");
    case EventType::Destroyed:
        return tr("Session ended");
    case EventType::Rotated:
        return tr("ID rotated");
    case EventType::SizeExceeded:
        return tr("Size limit exceeded");
    case EventType::ForceLogout:
        return tr("Force logout");
    case EventType::Evicted:
        return tr("Sub-session evicted");
    case EventType::LimitHit:
        return tr("Limit hit");
    case EventType::PolicyChanged:
        return tr("Policy changed");
    case EventType::IpBlocked:
        return tr("Address blocked");
    case EventType::IpUnblocked:
        return tr("Address unblocked");
    }
    return {};
}

bool EventTableModel::isSecurityEvent(EventType type)
{
    switch (type) {
    case EventType::Created:
    case EventType::Expired:
    case EventType::Destroyed:
    case EventType::Rotated:
        return false;
    default:
        return true;
    }
}

int EventTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_events.size());
}

int EventTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant EventTableModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || std::size_t(index.row()) >= m_events.size())
        return {};
    const SessionEvent &e = m_events[std::size_t(index.row())];
    if (role == TypeRole)
        return int(e.type);
    if (role == ClientIpRole)
        return QString::fromStdString(e.clientIp);
    if (role == Qt::ToolTipRole && !e.idHash.empty())
        return tr("ID hash %1").arg(QString::fromStdString(e.idHash));
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case TimeColumn:
        return QLocale().toString(QDateTime::fromMSecsSinceEpoch(e.timeMs),
                                  QStringLiteral("yyyy-MM-dd HH:mm:ss"));
    case TypeColumn:
        return typeTitle(e.type);
    case AreaColumn:
        return e.user.empty() && e.idHash.empty() ? QString()
               : e.area == Area::Admin            ? tr("Admin")
                                                  : tr("Storefront");
    case UserColumn:
        return QString::fromStdString(e.user);
    case ClientIpColumn:
        return QString::fromStdString(e.clientIp);
    case CountColumn:
        return e.count ? QLocale().toString(qlonglong(e.count)) : QString();
    case DetailColumn:
        return QString::fromStdString(e.detail);
    default:
        return {};
    }
}

QVariant EventTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case TypeColumn:
        return tr("Event");
    case AreaColumn:
        return tr("Area");
    case UserColumn:
        return tr("User");
    case ClientIpColumn:
        return tr("Client IP");
    case CountColumn:
        return tr("Count");
    case DetailColumn:
        return tr("Detail");
    default:
        return {};
    }
}

} // namespace hourglass::ui
