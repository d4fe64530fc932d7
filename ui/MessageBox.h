#pragma once

#include <QMessageBox>

namespace hourglass::ui {

// All modal questions go through here so that GUI tests can answer them
// (KeePassXC's MessageBox::setNextAnswer seam).
class MessageBox
{
public:
    static QMessageBox::StandardButton question(QWidget *parent, const QString &title, const QString &text,
                                                QMessageBox::StandardButtons buttons,
                                                QMessageBox::StandardButton defaultButton);
    // The next question returns this answer without showing a dialog.
    static void setNextAnswer(QMessageBox::StandardButton answer);

private:
    static QMessageBox::StandardButton s_nextAnswer;
};

} // namespace hourglass::ui
