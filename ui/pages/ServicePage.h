#pragma once

#include <QWidget>

class QLabel;
class QPushButton;

namespace hourglass {
class AdminClient;
}

namespace hourglass::ui {

// Service: which service the console administers and its live counters.
class ServicePage final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ServicePage)

public:
    explicit ServicePage(AdminClient &client, QWidget *parent = nullptr);
    ~ServicePage() override;

    void refresh();

private:
    AdminClient &m_client;
    QLabel *m_serviceLabel;
    QLabel *m_statusLabel;
    QLabel *m_urlLabel;
    QLabel *m_tlsLabel;
    QLabel *m_dataDirLabel;
    QPushButton *m_copyTokenButton;
    QLabel *m_activeAdminLabel;
    QLabel *m_activeStorefrontLabel;
    QLabel *m_createdLabel;
    QLabel *m_validationsLabel;
    QLabel *m_rejectionsLabel;
    QLabel *m_expiredLabel;
};

} // namespace hourglass::ui
