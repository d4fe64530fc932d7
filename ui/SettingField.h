#pragma once

#include "SettingsSchema.h"

#include <QLabel>
#include <QLineEdit>

#include <memory>
#include <optional>

class QBoxLayout;
class QFormLayout;
class QPushButton;

namespace hourglass::ui {

// A line edit bound to one key of the settings table, with its inline error label. Parsing and
// bounds come from the core's SettingsSchema; nothing is validated here on its own.
class SettingField final
{
public:
    SettingField(std::string path, QLineEdit *edit, QLabel *error);
    // A labelled line edit ("<name>LineEdit") with its error label ("<name>ErrorLabel") added to
    // form, bound to the key at path.
    static std::unique_ptr<SettingField> add(QWidget *parent, QFormLayout *form, std::string path,
                                             const QString &label, const QString &name);

    const std::string &path() const { return m_path; }
    QLineEdit *edit() const { return m_edit; }

    // Shows the policy's value and enables the field (fields start disabled until first shown).
    void show(const Policy &policy);
    std::string text() const;
    // Parses and bounds-checks the text; shows the error inline and returns nullopt on error.
    // A value below the recommended minimum is returned (the page decides to ask).
    std::optional<ConfigResult> check();
    void setError(const QString &message);
    void clearError();

private:
    std::string m_path;
    QLineEdit *m_edit;
    QLabel *m_error;
};

QString configErrorText(const ConfigResult &result);

// The row under a settings form: the action button and the status line that reports the outcome.
void addActionRow(QBoxLayout *layout, QPushButton *button, QLabel *status);

} // namespace hourglass::ui
