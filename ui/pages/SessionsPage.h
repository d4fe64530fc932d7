#pragma once

#include "SessionId.h"

#include <QWidget>

#include <vector>

class QComboBox;
class QLabel;
class QLineEdit;
class QMenu;
class QPushButton;
class QTableView;
class QTimer;

namespace hourglass {
class AdminClient;
}

namespace hourglass::ui {

class ActivityCharts;
class SessionTableModel;

// Sessions (live): activity charts over the last ten minutes and a paged table of every session,
// filtered by user, client IP and area, with Terminate, Force logout user and Copy ID hash.
class SessionsPage final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SessionsPage)

public:
    explicit SessionsPage(AdminClient &client, QWidget *parent = nullptr);
    ~SessionsPage() override;

    SessionTableModel *model() const { return m_model; }
    ActivityCharts *charts() const { return m_charts; }

    // Applies the filter fields now (otherwise shortly after typing stops).
    void applyFilter();
    void terminateSelected();
    void forceLogoutCurrentUser();
    void copySelectedHashes();

Q_SIGNALS:
    // A bulk or single action finished (tests wait for it).
    void actionFinished(const QString &message);

private:
    struct Selected
    {
        IdHash hash;
        std::string user;
    };
    std::vector<Selected> selectedSessions() const;
    void sample();
    void scheduleRefresh();
    void updateActions();
    void finish(const QString &message);

    AdminClient &m_client;
    SessionTableModel *m_model;
    ActivityCharts *m_charts;
    QComboBox *m_filterFieldComboBox;
    QLineEdit *m_filterLineEdit;
    QComboBox *m_areaComboBox;
    QLabel *m_countLabel;
    QLabel *m_statusLabel;
    QTableView *m_tableView;
    QPushButton *m_terminateButton;
    QPushButton *m_forceLogoutButton;
    QPushButton *m_copyHashButton;
    QMenu *m_contextMenu;
    QTimer *m_filterTimer;
    QTimer *m_refreshTimer;
    QTimer *m_tickTimer;
    std::vector<QString> m_reselect; // hashes to select again after a refresh
};

} // namespace hourglass::ui
