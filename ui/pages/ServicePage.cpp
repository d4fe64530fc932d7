#include "ServicePage.h"

#include "AdminClient.h"

#include <QClipboard>
#include <QFormLayout>
#include <QGuiApplication>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>

namespace hourglass::ui {

ServicePage::ServicePage(AdminClient &client, QWidget *parent) : QWidget(parent), m_client(client)
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
    m_urlLabel = addLabel(tr("Listening on:"), QStringLiteral("serviceUrlLabel"));
    m_tlsLabel = addLabel(tr("TLS:"), QStringLiteral("serviceTlsLabel"));
    m_dataDirLabel = addLabel(tr("Data directory:"), QStringLiteral("dataDirLabel"));
    m_copyTokenButton = new QPushButton(tr("&Copy admin token"), this);
    m_copyTokenButton->setObjectName(QStringLiteral("copyTokenButton"));
    m_copyTokenButton->setToolTip(
        tr("Copies the token that hourglass-ctl and monitoring use for the admin API."));
    auto *tokenRow = new QHBoxLayout();
    tokenRow->addWidget(m_copyTokenButton);
    tokenRow->addStretch(1);
    form->addRow(QString(), tokenRow);
    connect(m_copyTokenButton, &QPushButton::clicked, this,
            [this] { QGuiApplication::clipboard()->setText(m_client.serviceStatus().adminToken); });
    m_activeAdminLabel = addLabel(tr("Active admin sessions:"), QStringLiteral("activeAdminLabel"));
    m_activeStorefrontLabel =
        addLabel(tr("Active storefront sessions:"), QStringLiteral("activeStorefrontLabel"));
    m_createdLabel = addLabel(tr("Sessions created:"), QStringLiteral("createdLabel"));
    m_validationsLabel = addLabel(tr("Validations:"), QStringLiteral("validationsLabel"));
    m_rejectionsLabel = addLabel(tr("Rejections:"), QStringLiteral("rejectionsLabel"));
    m_expiredLabel = addLabel(tr("Expired:"), QStringLiteral("expiredLabel"));
    layout->addLayout(form);
    layout->addStretch(1);
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
    m_urlLabel->setText(status.running ? status.url : tr("—"));
    const QString host = QUrl(status.url).host();
    const bool loopback = host.startsWith(QLatin1String("127.")) || host == QLatin1String("::1");
    m_tlsLabel->setText(status.tls ? tr("On")
                        : loopback ? tr("Off (reachable from this machine only)")
                                   : tr("Off — the service is reachable from the network without TLS"));
    m_dataDirLabel->setText(status.dataDir);
    m_copyTokenButton->setEnabled(!status.adminToken.isEmpty());
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

} // namespace hourglass::ui
