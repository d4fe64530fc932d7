#pragma once

#include "SettingField.h"

#include <QWidget>

#include <memory>
#include <vector>

class QLabel;
class QPushButton;

namespace hourglass {
class AdminClient;
}

namespace hourglass::ui {

// Authentication Sessions (Keycloak authenticationSessions SPI): sub-session limit per browser,
// login-flow timeout, and the current number of unfinished login flows with their memory.
class AuthenticationSessionsPage final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AuthenticationSessionsPage)

public:
    explicit AuthenticationSessionsPage(AdminClient &client, QWidget *parent = nullptr);
    ~AuthenticationSessionsPage() override;

    void reload();
    void refreshCounts();

private:
    void save();

    AdminClient &m_client;
    QPushButton *m_saveButton;
    QLabel *m_statusLabel;
    QLabel *m_rootsLabel;
    QLabel *m_tabsLabel;
    QLabel *m_memoryLabel;
    std::vector<std::unique_ptr<SettingField>> m_fields;
};

} // namespace hourglass::ui
