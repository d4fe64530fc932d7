#include "ServicePage.h"

#include "AdminClient.h"

#include <QFormLayout>
#include <QLabel>
#include <QLocale>
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
