#include "AuthenticationSessionsPage.h"

#include "AdminClient.h"

#include <QFormLayout>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QVBoxLayout>

namespace hourglass::ui {

AuthenticationSessionsPage::AuthenticationSessionsPage(AdminClient &client, QWidget *parent)
    : QWidget(parent), m_client(client)
{
    setObjectName(QStringLiteral("authenticationSessionsPage"));
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(
        new QLabel(tr("<h2>Authentication Sessions</h2><p>Every browser that opens a login page gets "
                      "an authentication session; each tab adds a sub-session. When a browser "
                      "reaches the limit, its oldest sub-session is removed.</p>"),
                   this));
    auto *form = new QFormLayout();
    m_fields.push_back(SettingField::add(this, form, std::string(SettingsSchema::authSessionsLimitKey()),
                                         tr("&Sub-sessions per browser:"),
                                         QStringLiteral("authSessionsLimit")));
    m_fields.push_back(SettingField::add(this, form, std::string(SettingsSchema::loginFlowTimeoutKey()),
                                         tr("&Login flow timeout (minutes):"),
                                         QStringLiteral("loginFlowTimeout")));
    layout->addLayout(form);

    m_saveButton = new QPushButton(tr("&Save"), this);
    m_saveButton->setObjectName(QStringLiteral("authenticationSessionsSaveButton"));
    m_statusLabel = new QLabel(this);
    m_statusLabel->setObjectName(QStringLiteral("authenticationSessionsStatusLabel"));
    addActionRow(layout, m_saveButton, m_statusLabel);

    auto *counts = new QFormLayout();
    m_rootsLabel = new QLabel(this);
    m_rootsLabel->setObjectName(QStringLiteral("rootsLabel"));
    m_tabsLabel = new QLabel(this);
    m_tabsLabel->setObjectName(QStringLiteral("tabsLabel"));
    m_memoryLabel = new QLabel(this);
    m_memoryLabel->setObjectName(QStringLiteral("memoryLabel"));
    counts->addRow(tr("Unfinished login flows (browsers):"), m_rootsLabel);
    counts->addRow(tr("Sub-sessions (tabs):"), m_tabsLabel);
    counts->addRow(tr("Estimated memory:"), m_memoryLabel);
    layout->addSpacing(12);
    layout->addLayout(counts);
    layout->addStretch(1);

    connect(m_saveButton, &QPushButton::clicked, this, &AuthenticationSessionsPage::save);
    connect(&m_client, &AdminClient::changed, this, &AuthenticationSessionsPage::refreshCounts);
    reload();
}

AuthenticationSessionsPage::~AuthenticationSessionsPage() = default;

void AuthenticationSessionsPage::reload()
{
    m_client.policy(this, [this](Policy policy) {
        for (const auto &field : m_fields)
            field->show(policy);
    });
    refreshCounts();
}

void AuthenticationSessionsPage::refreshCounts()
{
    m_client.authStats(this, [this](AuthSessionStats stats) {
        const QLocale locale;
        m_rootsLabel->setText(locale.toString(qulonglong(stats.roots)));
        m_tabsLabel->setText(locale.toString(qulonglong(stats.tabs)));
        m_memoryLabel->setText(locale.formattedDataSize(qint64(stats.estimatedBytes)));
    });
}

void AuthenticationSessionsPage::save()
{
    m_statusLabel->clear();
    std::vector<std::pair<std::string, std::string>> entries;
    bool valid = true;
    for (const auto &field : m_fields) {
        if (field->check())
            entries.emplace_back(field->path(), field->text());
        else
            valid = false;
    }
    if (!valid) {
        m_statusLabel->setText(tr("Nothing was saved: correct the highlighted fields."));
        return;
    }
    m_client.setSettings(entries, Confirmation::NotConfirmed, this, [this](ConfigResult result) {
        m_statusLabel->setText(result.ok() ? tr("Authentication session settings saved.")
                                           : tr("Nothing was saved: %1").arg(configErrorText(result)));
        if (result.ok())
            reload();
    });
}

} // namespace hourglass::ui
