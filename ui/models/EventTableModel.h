#pragma once

#include "SessionEvent.h"

#include <QAbstractTableModel>

#include <deque>

namespace hourglass::ui {

// The most recent events, newest first, bounded to kCapacity (older ones stay in the service's
// event log on disk). Events are appended in sequence order as the page polls for them.
class EventTableModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventTableModel)

public:
    enum Column
    {
        TimeColumn,
        TypeColumn,
        AreaColumn,
        UserColumn,
        ClientIpColumn,
        CountColumn,
        DetailColumn,
        ColumnCount
    };
    enum Role
    {
        TypeRole = Qt::UserRole + 1, // EventType as int
        ClientIpRole,
    };
    static constexpr std::size_t kCapacity = 10000;

    explicit EventTableModel(QObject *parent = nullptr);
    ~EventTableModel() override;

    // Appends events with a sequence above lastSequence(), oldest first.
    void append(const std::vector<SessionEvent> &events);
    void clear();
    std::uint64_t lastSequence() const { return m_lastSequence; }

    static QString typeTitle(EventType type);
    static bool isSecurityEvent(EventType type);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    std::deque<SessionEvent> m_events; // newest first
    std::uint64_t m_lastSequence = 0;
};

} // namespace hourglass::ui
