#include "SecurityPage.h"

#include "AdminClient.h"
#include "MessageBox.h"

#include <QFormLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace hourglass::ui {

SecurityPage::SecurityPage(AdminClient &client, QWidget *parent) : QWidget(parent), m_client(client)
{
    setObjectName(QStringLiteral("securityPage"));
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("<h2>Security</h2><p>Limit the size of admin and storefront sessions, in "
                                    "bytes. Use 0 to disable a limit.</p>"),
                                 this));
    auto *form = new QFormLayout();
    m_fields.push_back(SettingField::add(this, form, SettingsSchema::maxSessionSizeKey(Area::Admin),
                                         tr("Max Session Size in &Admin (bytes):"),
                                         QStringLiteral("maxSessionSizeAdmin")));
    m_fields.push_back(SettingField::add(this, form, SettingsSchema::maxSessionSizeKey(Area::Storefront),
                                         tr("Max Session Size in &Storefront (bytes):"),
                                         QStringLiteral("maxSessionSizeStorefront")));
    layout->addLayout(form);

    m_saveConfigButton = new QPushButton(tr("Save &Config"), this);
    m_saveConfigButton->setObjectName(QStringLiteral("saveConfigButton"));
    m_statusLabel = new QLabel(this);
    m_statusLabel->setObjectName(QStringLiteral("securityStatusLabel"));
    addActionRow(layout, m_saveConfigButton, m_statusLabel);
    layout->addStretch(1);
    connect(m_saveConfigButton, &QPushButton::clicked, this, &SecurityPage::save);
    reload();
}

SecurityPage::~SecurityPage() = default;

void SecurityPage::reload()
{
    m_client.policy(this, [this](Policy policy) {
        for (const auto &field : m_fields)
            field->show(policy);
    });
}

void SecurityPage::save()
{
    m_statusLabel->clear();
    std::vector<std::pair<std::string, std::string>> entries;
    bool valid = true;
    for (const auto &field : m_fields) {
        const std::optional<ConfigResult> checked = field->check();
        if (!checked) {
            valid = false;
            continue;
        }
        if (checked->needsConfirmation()) {
            const SettingKey *key = SettingsSchema::find(field->path());
            const QString recommended = QString::number(key->recommendedMinimum);
            const auto answer =
                MessageBox::question(this, tr("Session size below the default"),
                                     tr("Setting the session size below %1 bytes can cause issues: sessions "
                                        "that grow past it lose "
                                        "data or fail. Keep %2 bytes?\n\nChoose No to use %1 bytes.")
                                         .arg(recommended)
                                         .arg(checked->value),
                                     QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
            if (answer != QMessageBox::Yes)
                field->edit()->setText(recommended); // as documented: No resets to 256000
        }
        entries.emplace_back(field->path(), field->text());
    }
    if (!valid) {
        m_statusLabel->setText(tr("Nothing was saved: correct the highlighted fields."));
        return;
    }
    // Anything still below the minimum here was confirmed with Yes above.
    m_saveConfigButton->setEnabled(false);
    m_client.setSettings(entries, Confirmation::Confirmed, this, [this](ConfigResult result) {
        m_saveConfigButton->setEnabled(true);
        if (!result.ok()) {
            m_statusLabel->setText(tr("Nothing was saved: %1").arg(configErrorText(result)));
            return;
        }
        m_statusLabel->setText(tr("You saved the configuration."));
        reload();
        Q_EMIT saved();
    });
}

} // namespace hourglass::ui
