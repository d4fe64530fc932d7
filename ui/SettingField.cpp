#include "SettingField.h"

#include <QBoxLayout>
#include <QCoreApplication>
#include <QFormLayout>
#include <QPushButton>

namespace hourglass::ui {

SettingField::SettingField(std::string path, QLineEdit *edit, QLabel *error)
    : m_path(std::move(path)), m_edit(edit), m_error(error)
{
    // Numbers of at most 10 digits: a field as wide as the window only hides its label.
    m_edit->setMaximumWidth(m_edit->fontMetrics().horizontalAdvance(QStringLiteral("0")) * 16);
    // Values load asynchronously: until they have, typing would be overwritten by the load.
    m_edit->setEnabled(false);
    m_error->setVisible(false);
    m_error->setWordWrap(true);
    m_error->setStyleSheet(QStringLiteral("color: palette(highlight); font-weight: bold;"));
    m_error->setProperty("role", QStringLiteral("error"));
}

std::unique_ptr<SettingField> SettingField::add(QWidget *parent, QFormLayout *form, std::string path,
                                                const QString &label, const QString &name)
{
    auto *edit = new QLineEdit(parent);
    edit->setObjectName(name + QStringLiteral("LineEdit"));
    edit->setAccessibleName(label);
    auto *error = new QLabel(parent);
    error->setObjectName(name + QStringLiteral("ErrorLabel"));
    form->addRow(label, edit);
    form->addRow(QString(), error);
    return std::make_unique<SettingField>(std::move(path), edit, error);
}

void addActionRow(QBoxLayout *layout, QPushButton *button, QLabel *status)
{
    auto *row = new QHBoxLayout();
    row->addWidget(button);
    row->addWidget(status, 1);
    layout->addLayout(row);
}

void SettingField::show(const Policy &policy)
{
    const SettingKey *key = SettingsSchema::find(m_path);
    m_edit->setText(QString::fromStdString(SettingsSchema::format(*key, key->get(policy))));
    m_edit->setEnabled(true);
    clearError();
}

std::string SettingField::text() const
{
    return m_edit->text().toStdString();
}

std::optional<ConfigResult> SettingField::check()
{
    const SettingKey *key = SettingsSchema::find(m_path);
    ConfigResult r = SettingsSchema::parse(*key, text());
    if (r.ok())
        r = SettingsSchema::check(*key, r.value, Confirmation::NotConfirmed);
    if (!r.ok() && !r.needsConfirmation()) {
        setError(configErrorText(r));
        return std::nullopt;
    }
    clearError();
    return r;
}

void SettingField::setError(const QString &message)
{
    m_error->setText(message);
    m_error->setVisible(true);
    m_edit->setProperty("invalid", true);
    m_edit->setAccessibleDescription(message);
}

void SettingField::clearError()
{
    m_error->clear();
    m_error->setVisible(false);
    m_edit->setProperty("invalid", false);
    m_edit->setAccessibleDescription(QString());
}

QString configErrorText(const ConfigResult &r)
{
    const SettingKey *key = SettingsSchema::find(r.path);
    const QString max = key ? QString::number(key->maximum) : QString();
    const QString min = key ? QString::number(key->minimum) : QString();
    switch (r.error) {
    case ConfigError::None:
        return {};
    case ConfigError::Empty:
        return QCoreApplication::translate("SettingField", "A value is required.");
    case ConfigError::NotANumber:
        return QCoreApplication::translate("SettingField", "Enter a whole number.");
    case ConfigError::Negative:
        return QCoreApplication::translate("SettingField", "The value must not be negative.");
    case ConfigError::OutOfRange:
        return QCoreApplication::translate("SettingField", "Enter a value from %1 to %2.").arg(min, max);
    case ConfigError::NotABoolean:
        return QCoreApplication::translate("SettingField", "Enter yes or no.");
    case ConfigError::InvalidChoice:
        return QCoreApplication::translate("SettingField", "Choose one of the listed values.");
    case ConfigError::MaxTimeoutBelowIdleTimeout:
        return QCoreApplication::translate(
            "SettingField", "The maximum session timeout must not be shorter than the idle session "
                            "timeout.");
    case ConfigError::BelowRecommendedMinimum:
        return QCoreApplication::translate("SettingField", "The value is below the recommended minimum.");
    case ConfigError::UnknownKey:
    case ConfigError::WriteFailed:
        break;
    }
    return QString::fromStdString(r.message);
}

} // namespace hourglass::ui
