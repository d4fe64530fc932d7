#pragma once

#include <QWidget>

class QGroupBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace hourglass {
class AdminClient;
class AdminConnection;
} // namespace hourglass

namespace hourglass::ui {

// Service: which service the console administers (the embedded one, which it can start and stop,
// or a remote hourglassd reached by URL and admin token), its address, TLS and live counters.
class ServicePage final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ServicePage)

public:
    explicit ServicePage(AdminClient &client, QWidget *parent = nullptr);
    ~ServicePage() override;

    void refresh();
    void toggleService();
    void connectRemote();
    void useEmbedded();

Q_SIGNALS:
    // A start/stop or connect attempt finished; message is empty on success.
    void serviceActionFinished(const QString &message);

private:
    AdminClient &m_client;
    AdminConnection *m_connection; // null when the console cannot switch services
    QLabel *m_bindLabel;
    QLabel *m_certificateLabel;
    QPushButton *m_startStopButton;
    QGroupBox *m_remoteGroupBox;
    QLineEdit *m_remoteUrlLineEdit;
    QLineEdit *m_remoteTokenLineEdit;
    QPushButton *m_connectButton;
    QPushButton *m_useEmbeddedButton;
    QLabel *m_remoteStatusLabel;
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
