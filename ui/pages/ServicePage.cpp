#include "ServicePage.h"

#include "AdminConnection.h"

#include <QClipboard>
#include <QFormLayout>
#include <QGroupBox>
#include <QGuiApplication>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>

namespace hourglass::ui {

ServicePage::ServicePage(AdminClient &client, QWidget *parent)
    : QWidget(parent), m_client(client), m_connection(qobject_cast<AdminConnection *>(&client))
{
    setObjectName(QStringLiteral("servicePage"));
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("<h2>Service</h2>"), this));
    auto *form = new QFormLayout();
    const auto addLabel = [&](const QString &title, const QString &name) {
        auto *label = new QLabel(this);
        label->setObjectName(name);
        label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
        form->addRow(title, label);
        return label;
    };
    m_serviceLabel = addLabel(tr("Service:"), QStringLiteral("serviceLabel"));
    m_statusLabel = addLabel(tr("Status:"), QStringLiteral("serviceStatusLabel"));
    m_statusLabel->setWordWrap(true);
    m_urlLabel = addLabel(tr("URL:"), QStringLiteral("serviceUrlLabel"));
    m_bindLabel = addLabel(tr("Bind address and port:"), QStringLiteral("serviceBindLabel"));
    m_tlsLabel = addLabel(tr("TLS:"), QStringLiteral("serviceTlsLabel"));
    m_certificateLabel = addLabel(tr("TLS certificate:"), QStringLiteral("serviceCertificateLabel"));
    m_dataDirLabel = addLabel(tr("Data directory:"), QStringLiteral("dataDirLabel"));
    m_startStopButton = new QPushButton(this);
    m_startStopButton->setObjectName(QStringLiteral("startStopButton"));
    m_copyTokenButton = new QPushButton(tr("&Copy admin token"), this);
    m_copyTokenButton->setObjectName(QStringLiteral("copyTokenButton"));
    m_copyTokenButton->setToolTip(
        tr("Copies the token that hourglass-ctl and monitoring use for the admin API."));
    auto *buttonRow = new QHBoxLayout();
    buttonRow->addWidget(m_startStopButton);
    buttonRow->addWidget(m_copyTokenButton);
    buttonRow->addStretch(1);
    form->addRow(QString(), buttonRow);
    connect(m_copyTokenButton, &QPushButton::clicked, this,
            [this] { QGuiApplication::clipboard()->setText(m_client.serviceStatus().adminToken); });
    connect(m_startStopButton, &QPushButton::clicked, this, &ServicePage::toggleService);
    m_activeAdminLabel = addLabel(tr("Active admin sessions:"), QStringLiteral("activeAdminLabel"));
    m_activeStorefrontLabel =
        addLabel(tr("Active storefront sessions:"), QStringLiteral("activeStorefrontLabel"));
    m_createdLabel = addLabel(tr("Sessions created:"), QStringLiteral("createdLabel"));
    m_validationsLabel = addLabel(tr("Validations:"), QStringLiteral("validationsLabel"));
    m_rejectionsLabel = addLabel(tr("Rejections:"), QStringLiteral("rejectionsLabel"));
    m_expiredLabel = addLabel(tr("Expired:"), QStringLiteral("expiredLabel"));
    layout->addLayout(form);

    m_remoteGroupBox = new QGroupBox(tr("Remote service"), this);
    m_remoteGroupBox->setObjectName(QStringLiteral("remoteGroupBox"));
    auto *remoteForm = new QFormLayout(m_remoteGroupBox);
    m_remoteUrlLineEdit = new QLineEdit(m_remoteGroupBox);
    m_remoteUrlLineEdit->setObjectName(QStringLiteral("remoteUrlLineEdit"));
    m_remoteUrlLineEdit->setPlaceholderText(QStringLiteral("https://sessions.example.net:8410"));
    m_remoteTokenLineEdit = new QLineEdit(m_remoteGroupBox);
    m_remoteTokenLineEdit->setObjectName(QStringLiteral("remoteTokenLineEdit"));
    m_remoteTokenLineEdit->setEchoMode(QLineEdit::Password);
    m_remoteTokenLineEdit->setPlaceholderText(tr("content of admin.token in the service's data directory"));
    remoteForm->addRow(tr("&URL:"), m_remoteUrlLineEdit);
    remoteForm->addRow(tr("Admin &token:"), m_remoteTokenLineEdit);
    m_connectButton = new QPushButton(tr("C&onnect"), m_remoteGroupBox);
    m_connectButton->setObjectName(QStringLiteral("connectRemoteButton"));
    m_useEmbeddedButton = new QPushButton(tr("Use &embedded service"), m_remoteGroupBox);
    m_useEmbeddedButton->setObjectName(QStringLiteral("useEmbeddedButton"));
    m_remoteStatusLabel = new QLabel(m_remoteGroupBox);
    m_remoteStatusLabel->setObjectName(QStringLiteral("remoteStatusLabel"));
    m_remoteStatusLabel->setWordWrap(true);
    auto *remoteButtons = new QHBoxLayout();
    remoteButtons->addWidget(m_connectButton);
    remoteButtons->addWidget(m_useEmbeddedButton);
    remoteButtons->addWidget(m_remoteStatusLabel, 1);
    remoteForm->addRow(QString(), remoteButtons);
    m_remoteGroupBox->setVisible(m_connection != nullptr);
    layout->addWidget(m_remoteGroupBox);
    layout->addStretch(1);
    connect(m_connectButton, &QPushButton::clicked, this, &ServicePage::connectRemote);
    connect(m_remoteTokenLineEdit, &QLineEdit::returnPressed, this, &ServicePage::connectRemote);
    connect(m_useEmbeddedButton, &QPushButton::clicked, this, &ServicePage::useEmbedded);
    connect(&m_client, &AdminClient::changed, this, &ServicePage::refresh);
    refresh();
}

ServicePage::~ServicePage() = default;

void ServicePage::refresh()
{
    m_serviceLabel->setText(m_client.describe());
    const ServiceStatus status = m_client.serviceStatus();
    m_statusLabel->setText(
        status.running
            ? tr("Running")
            : tr("Not running: %1").arg(status.error.isEmpty() ? tr("not started") : status.error));
    const QUrl url(status.url);
    m_urlLabel->setText(status.url.isEmpty() ? tr("—") : status.url);
    m_bindLabel->setText(url.host().isEmpty() ? tr("—") : tr("%1, port %2").arg(url.host()).arg(url.port()));
    const QString host = url.host();
    const bool loopback = host.startsWith(QLatin1String("127.")) || host == QLatin1String("::1") ||
                          host == QLatin1String("localhost");
    m_tlsLabel->setText(status.tls ? tr("On")
                        : loopback ? tr("Off (reachable from this machine only)")
                                   : tr("Off — the service is reachable from the network without TLS"));
    m_certificateLabel->setText(status.tlsCertificate.isEmpty() ? tr("—") : status.tlsCertificate);
    m_dataDirLabel->setText(status.dataDir);
    m_copyTokenButton->setEnabled(!status.adminToken.isEmpty());
    m_startStopButton->setVisible(m_client.canControlService());
    m_startStopButton->setText(status.running ? tr("S&top service") : tr("S&tart service"));
    if (m_connection) {
        m_useEmbeddedButton->setEnabled(m_connection->isRemote() && m_connection->hasLocal());
        m_connectButton->setText(m_connection->isRemote() ? tr("Rec&onnect") : tr("C&onnect"));
    }
    m_client.counters(this, [this](EngineCounters c) {
        const QLocale locale;
        const auto n = [&](std::uint64_t v) {
            return locale.toString(qulonglong(v));
        };
        m_activeAdminLabel->setText(n(c.active[0]));
        m_activeStorefrontLabel->setText(n(c.active[1]));
        m_createdLabel->setText(n(c.created));
        m_validationsLabel->setText(n(c.validations));
        m_rejectionsLabel->setText(n(c.rejections()));
        m_expiredLabel->setText(n(c.expired));
    });
}

void ServicePage::toggleService()
{
    const bool running = m_client.serviceStatus().running;
    m_startStopButton->setEnabled(false);
    m_client.setServiceRunning(!running, this, [this](const QString &error) {
        m_startStopButton->setEnabled(true);
        if (!error.isEmpty())
            m_statusLabel->setText(tr("Could not start: %1").arg(error));
        Q_EMIT serviceActionFinished(error);
    });
}

void ServicePage::connectRemote()
{
    if (!m_connection)
        return;
    m_connectButton->setEnabled(false);
    m_remoteStatusLabel->setText(tr("Connecting…"));
    m_connection->connectRemote(QUrl::fromUserInput(m_remoteUrlLineEdit->text().trimmed()),
                                m_remoteTokenLineEdit->text(), this, [this](const QString &error) {
                                    m_connectButton->setEnabled(true);
                                    m_remoteStatusLabel->setText(error.isEmpty() ? tr("Connected.") : error);
                                    refresh();
                                    Q_EMIT serviceActionFinished(error);
                                });
}

void ServicePage::useEmbedded()
{
    if (!m_connection)
        return;
    m_connection->useLocal();
    m_remoteStatusLabel->setText(tr("Using the embedded service."));
    refresh();
}

} // namespace hourglass::ui
