#include "SessionManagementPage.h"

#include "AdminClient.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace hourglass::ui {

namespace {

QLabel *errorLabel(QWidget *parent, const QString &name)
{
    auto *label = new QLabel(parent);
    label->setObjectName(name);
    return label;
}

} // namespace

SessionManagementPage::SessionManagementPage(AdminClient &client, QWidget *parent)
    : QWidget(parent), m_client(client)
{
    setObjectName(QStringLiteral("sessionManagementPage"));
    auto *layout = new QVBoxLayout(this);
    auto *title = new QLabel(tr("<h2>Session Management</h2>"
                                "<p>Customize session timeout and remember-me settings.</p>"),
                             this);
    layout->addWidget(title);

    auto *form = new QFormLayout();
    m_areaComboBox = new QComboBox(this);
    m_areaComboBox->setObjectName(QStringLiteral("areaComboBox"));
    m_areaComboBox->addItem(tr("Admin"), int(Area::Admin));
    m_areaComboBox->addItem(tr("Storefront"), int(Area::Storefront));
    m_areaComboBox->setAccessibleName(tr("Area"));
    form->addRow(tr("&Area:"), m_areaComboBox);

    m_idleTimeoutLineEdit = new QLineEdit(this);
    m_idleTimeoutLineEdit->setObjectName(QStringLiteral("idleTimeoutLineEdit"));
    m_idleTimeoutLineEdit->setAccessibleName(tr("Idle Session Timeout in minutes"));
    m_idleTimeoutLineEdit->setToolTip(tr("Time in minutes before an inactive session is ended."));
    m_idleError = errorLabel(this, QStringLiteral("idleTimeoutErrorLabel"));
    form->addRow(tr("&Idle Session Timeout (minutes):"), m_idleTimeoutLineEdit);
    form->addRow(QString(), m_idleError);

    m_rememberMePeriodLineEdit = new QLineEdit(this);
    m_rememberMePeriodLineEdit->setObjectName(QStringLiteral("rememberMePeriodLineEdit"));
    m_rememberMePeriodLineEdit->setAccessibleName(tr("Remember Me Period in minutes"));
    m_rememberMePeriodLineEdit->setToolTip(tr("How long, in minutes, a remember-me session is kept."));
    m_rememberError = errorLabel(this, QStringLiteral("rememberMePeriodErrorLabel"));
    form->addRow(tr("&Remember Me Period (minutes):"), m_rememberMePeriodLineEdit);
    form->addRow(QString(), m_rememberError);

    m_maxTimeoutEnabledCheckBox = new QCheckBox(tr("&Enable Maximum Session Timeout"), this);
    m_maxTimeoutEnabledCheckBox->setObjectName(QStringLiteral("maxTimeoutEnabledCheckBox"));
    m_maxTimeoutEnabledCheckBox->setToolTip(
        tr("Users must sign in again after this lifetime, even when active or remembered."));
    form->addRow(QString(), m_maxTimeoutEnabledCheckBox);

    m_maxTimeoutLineEdit = new QLineEdit(this);
    m_maxTimeoutLineEdit->setObjectName(QStringLiteral("maxTimeoutLineEdit"));
    m_maxTimeoutLineEdit->setAccessibleName(tr("Maximum Session Timeout in minutes"));
    m_maxError = errorLabel(this, QStringLiteral("maxTimeoutErrorLabel"));
    form->addRow(tr("Ma&ximum Session Timeout (minutes):"), m_maxTimeoutLineEdit);
    form->addRow(QString(), m_maxError);
    layout->addLayout(form);

    m_updateButton = new QPushButton(tr("&Update"), this);
    m_updateButton->setObjectName(QStringLiteral("updateButton"));
    m_updateButton->setDefault(true);
    m_statusLabel = new QLabel(this);
    m_statusLabel->setObjectName(QStringLiteral("sessionManagementStatusLabel"));
    addActionRow(layout, m_updateButton, m_statusLabel);
    layout->addStretch(1);

    connect(m_maxTimeoutEnabledCheckBox, &QCheckBox::toggled, m_maxTimeoutLineEdit, &QWidget::setEnabled);
    connect(m_areaComboBox, &QComboBox::currentIndexChanged, this, [this] {
        bindFields();
        for (const auto &field : m_fields)
            field->show(m_policy);
        m_maxTimeoutEnabledCheckBox->setChecked(m_policy.area(area()).maxTimeoutEnabled);
        m_maxTimeoutLineEdit->setEnabled(m_maxTimeoutEnabledCheckBox->isChecked());
    });
    connect(m_updateButton, &QPushButton::clicked, this, &SessionManagementPage::update);
    bindFields();
    reload();
}

SessionManagementPage::~SessionManagementPage() = default;

Area SessionManagementPage::area() const
{
    return static_cast<Area>(m_areaComboBox->currentData().toInt());
}

void SessionManagementPage::bindFields()
{
    m_fields.clear();
    m_fields.push_back(std::make_unique<SettingField>(SettingsSchema::idleTimeoutKey(area()),
                                                      m_idleTimeoutLineEdit, m_idleError));
    m_fields.push_back(std::make_unique<SettingField>(SettingsSchema::rememberMePeriodKey(area()),
                                                      m_rememberMePeriodLineEdit, m_rememberError));
    m_fields.push_back(std::make_unique<SettingField>(SettingsSchema::maxTimeoutKey(area()),
                                                      m_maxTimeoutLineEdit, m_maxError));
}

void SessionManagementPage::reload()
{
    m_client.policy(this, [this](Policy policy) {
        m_policy = policy;
        for (const auto &field : m_fields)
            field->show(m_policy);
        m_maxTimeoutEnabledCheckBox->setChecked(m_policy.area(area()).maxTimeoutEnabled);
        m_maxTimeoutLineEdit->setEnabled(m_maxTimeoutEnabledCheckBox->isChecked());
    });
}

void SessionManagementPage::update()
{
    m_statusLabel->clear();
    std::vector<std::pair<std::string, std::string>> entries;
    bool valid = true;
    for (const auto &field : m_fields) {
        if (!field->check())
            valid = false;
        else
            entries.emplace_back(field->path(), field->text());
    }
    if (!valid) {
        m_statusLabel->setText(tr("Nothing was saved: correct the highlighted fields."));
        return;
    }
    entries.emplace_back(SettingsSchema::maxTimeoutEnabledKey(area()),
                         m_maxTimeoutEnabledCheckBox->isChecked() ? "1" : "0");
    m_updateButton->setEnabled(false);
    m_client.setSettings(entries, Confirmation::NotConfirmed, this, [this](ConfigResult result) {
        m_updateButton->setEnabled(true);
        if (!result.ok()) {
            // Cross-key errors belong to the maximum timeout field.
            bool shown = false;
            for (const auto &field : m_fields) {
                if (field->path() == result.path) {
                    field->setError(configErrorText(result));
                    shown = true;
                }
            }
            m_statusLabel->setText(shown ? tr("Nothing was saved: correct the highlighted fields.")
                                         : tr("Nothing was saved: %1").arg(configErrorText(result)));
            return;
        }
        m_statusLabel->setText(tr("Session management settings updated."));
        reload();
        Q_EMIT saved();
    });
}

} // namespace hourglass::ui
