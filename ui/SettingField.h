#pragma once

#include "SettingsSchema.h"

#include <QLabel>
#include <QLineEdit>

#include <optional>

namespace hourglass::ui {

// A line edit bound to one key of the settings table, with its inline error label. Parsing and
// bounds come from the core's SettingsSchema; nothing is validated here on its own.
class SettingField final
{
public:
    SettingField(std::string path, QLineEdit *edit, QLabel *error);

    const std::string &path() const { return m_path; }
    QLineEdit *edit() const { return m_edit; }

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

} // namespace hourglass::ui
