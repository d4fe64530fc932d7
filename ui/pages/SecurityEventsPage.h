#pragma once

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;
class QTableWidget;
class QTimer;

namespace hourglass {
class AdminClient;
}

namespace hourglass::ui {

class EventTableModel;

// Security Events: the service's recent events (size limit exceeded, blocked addresses, evicted
// sub-sessions, limit hits, force logouts, policy changes) filtered by type and text, and the
// addresses the anomaly guard blocks now, with Unblock.
class SecurityEventsPage final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SecurityEventsPage)

public:
    explicit SecurityEventsPage(AdminClient &client, QWidget *parent = nullptr);
    ~SecurityEventsPage() override;

    // Fetches new events and the blocked addresses now (otherwise on change and every few seconds).
    void poll();
    void unblockSelected();
    EventTableModel *model() const { return m_model; }

Q_SIGNALS:
    void polled();
    void unblocked(const QString &ip, bool wasBlocked);

private:
    void applyFilter();
    void fetchEvents();

    AdminClient &m_client;
    EventTableModel *m_model;
    QSortFilterProxyModel *m_typeFilter;
    QSortFilterProxyModel *m_textFilter;
    QComboBox *m_typeComboBox;
    QLineEdit *m_filterLineEdit;
    QTableView *m_eventsTableView;
    QTableWidget *m_blockedTableWidget;
    QPushButton *m_unblockButton;
    QLabel *m_statusLabel;
    QTimer *m_pollTimer;
    bool m_fetching = false;
    QString m_service; // describe() of the service the events came from
};

} // namespace hourglass::ui
