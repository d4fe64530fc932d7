#pragma once

#include <QMainWindow>

class QStackedWidget;
class QTreeWidget;
class QTreeWidgetItem;

namespace hourglass {
class AdminClient;
}

namespace hourglass::ui {

// The console: a navigation tree mirroring the documented admin consoles, and one page per leaf.
class MainWindow final : public QMainWindow
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MainWindow)

public:
    explicit MainWindow(AdminClient &client, QWidget *parent = nullptr);
    ~MainWindow() override;

    // Selects the page whose objectName is given (tests, command line).
    bool showPage(const QString &pageObjectName);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    QTreeWidgetItem *addPage(QTreeWidgetItem *parent, const QString &title, QWidget *page);

    AdminClient &m_client;
    QTreeWidget *m_navigationTreeWidget;
    QStackedWidget *m_pagesStackedWidget;
    QString m_service; // describe() of the service the pages show
};

} // namespace hourglass::ui
