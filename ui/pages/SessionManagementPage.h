#pragma once

#include "SettingField.h"

#include <QWidget>

#include <memory>
#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;
class QPushButton;

namespace hourglass {
class AdminClient;
}

namespace hourglass::ui {

// Login & Registration › Login Security › Session Management (WSO2 / Asgardeo): Idle Session
// Timeout, Remember Me Period, Enable Maximum Session Timeout and Maximum Session Timeout, per area.
class SessionManagementPage final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SessionManagementPage)

public:
    explicit SessionManagementPage(AdminClient &client, QWidget *parent = nullptr);
    ~SessionManagementPage() override;

    void reload();

Q_SIGNALS:
    void saved();

private:
    Area area() const;
    void bindFields();
    void update();

    AdminClient &m_client;
    QComboBox *m_areaComboBox;
    QLineEdit *m_idleTimeoutLineEdit;
    QLineEdit *m_rememberMePeriodLineEdit;
    QCheckBox *m_maxTimeoutEnabledCheckBox;
    QLineEdit *m_maxTimeoutLineEdit;
    QPushButton *m_updateButton;
    QLabel *m_statusLabel;
    QLabel *m_idleError;
    QLabel *m_rememberError;
    QLabel *m_maxError;
    std::vector<std::unique_ptr<SettingField>> m_fields;
    Policy m_policy;
};

} // namespace hourglass::ui
