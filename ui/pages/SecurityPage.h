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

// Stores › Settings › Configuration › Advanced › System › Security (Magento): Max Session Size in
// Admin and in Storefront, in bytes; 0 disables. A value below 256000 asks for confirmation: Yes
// keeps it, No puts 256000 back, as the documented console does.
class SecurityPage final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SecurityPage)

public:
    explicit SecurityPage(AdminClient &client, QWidget *parent = nullptr);
    ~SecurityPage() override;

    void reload();

Q_SIGNALS:
    void saved();

private:
    void save();

    AdminClient &m_client;
    QPushButton *m_saveConfigButton;
    QLabel *m_statusLabel;
    std::vector<std::unique_ptr<SettingField>> m_fields;
};

} // namespace hourglass::ui
