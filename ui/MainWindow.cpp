#include "MainWindow.h"

#include "AdminClient.h"
#include "pages/AuthenticationSessionsPage.h"
#include "pages/SecurityEventsPage.h"
#include "pages/SecurityPage.h"
#include "pages/ServicePage.h"
#include "pages/SessionManagementPage.h"
#include "pages/SessionsPage.h"

#include <QCloseEvent>
#include <QHeaderView>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTreeWidget>

// The ui library is static: its resources must be registered explicitly (outside any namespace).
static void initUiResources()
{
    Q_INIT_RESOURCE(resources);
}

namespace hourglass::ui {

namespace {
constexpr int kPageRole = Qt::UserRole + 1;
}

MainWindow::MainWindow(AdminClient &client, QWidget *parent) : QMainWindow(parent), m_client(client)
{
    initUiResources();
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("Hourglass"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/hourglass.svg")));

    auto *splitter = new QSplitter(this);
    m_navigationTreeWidget = new QTreeWidget(splitter);
    m_navigationTreeWidget->setObjectName(QStringLiteral("navigationTreeWidget"));
    m_navigationTreeWidget->setHeaderHidden(true);
    m_navigationTreeWidget->setAccessibleName(tr("Navigation"));
    m_navigationTreeWidget->setMinimumWidth(240);
    m_pagesStackedWidget = new QStackedWidget(splitter);
    m_pagesStackedWidget->setObjectName(QStringLiteral("pagesStackedWidget"));
    splitter->setStretchFactor(1, 1);
    setCentralWidget(splitter);

    const auto group = [this](QTreeWidgetItem *under, const QString &title) {
        auto *item = under ? new QTreeWidgetItem(under, {title})
                           : new QTreeWidgetItem(m_navigationTreeWidget, {title});
        item->setFlags(item->flags() & ~Qt::ItemIsSelectable);
        item->setExpanded(true);
        return item;
    };
    // Login & Registration › Login Security › Session Management (WSO2 Identity Server / Asgardeo)
    QTreeWidgetItem *loginSecurity = group(group(nullptr, tr("Login & Registration")), tr("Login Security"));
    auto *sessionManagement = new SessionManagementPage(m_client);
    QTreeWidgetItem *first = addPage(loginSecurity, tr("Session Management"), sessionManagement);
    // Stores › Settings › Configuration › Advanced › System › Security (Magento)
    QTreeWidgetItem *system =
        group(group(group(group(group(nullptr, tr("Stores")), tr("Settings")), tr("Configuration")),
                    tr("Advanced")),
              tr("System"));
    auto *security = new SecurityPage(m_client);
    addPage(system, tr("Security"), security);
    auto *authenticationSessions = new AuthenticationSessionsPage(m_client);
    addPage(nullptr, tr("Authentication Sessions"), authenticationSessions);
    addPage(nullptr, tr("Sessions"), new SessionsPage(m_client));
    addPage(nullptr, tr("Security Events"), new SecurityEventsPage(m_client));
    addPage(nullptr, tr("Service"), new ServicePage(m_client));
    m_navigationTreeWidget->expandAll();

    connect(m_navigationTreeWidget, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem *item) {
        if (auto *page = item ? item->data(0, kPageRole).value<QWidget *>() : nullptr)
            m_pagesStackedWidget->setCurrentWidget(page);
    });
    m_navigationTreeWidget->setCurrentItem(first);

    statusBar()->showMessage(m_client.describe());
    // When the console switches to another service (Service page), the settings pages show that
    // service's values. Within one service they reload only after their own saves, never over
    // what the admin is typing.
    m_service = m_client.describe();
    connect(&m_client, &AdminClient::changed, this,
            [this, sessionManagement, security, authenticationSessions] {
                const QString service = m_client.describe();
                if (service == m_service)
                    return;
                m_service = service;
                statusBar()->showMessage(service);
                sessionManagement->reload();
                security->reload();
                authenticationSessions->reload();
            });
    connect(&m_client, &AdminClient::failed, this, [this](const QString &message) {
        statusBar()->showMessage(tr("Request failed: %1").arg(message), 10000);
    });

    QSettings settings;
    if (!restoreGeometry(settings.value(QStringLiteral("mainWindow/geometry")).toByteArray()))
        resize(1100, 720);
    splitter->restoreState(settings.value(QStringLiteral("mainWindow/splitter")).toByteArray());
}

MainWindow::~MainWindow() = default;

QTreeWidgetItem *MainWindow::addPage(QTreeWidgetItem *parent, const QString &title, QWidget *page)
{
    auto *item =
        parent ? new QTreeWidgetItem(parent, {title}) : new QTreeWidgetItem(m_navigationTreeWidget, {title});
    item->setData(0, kPageRole, QVariant::fromValue(page));
    m_pagesStackedWidget->addWidget(page);
    page->setAccessibleName(title);
    return item;
}

bool MainWindow::showPage(const QString &pageObjectName)
{
    for (QTreeWidgetItemIterator it(m_navigationTreeWidget); *it; ++it) {
        auto *page = (*it)->data(0, kPageRole).value<QWidget *>();
        if (page && page->objectName() == pageObjectName) {
            m_navigationTreeWidget->setCurrentItem(*it);
            return true;
        }
    }
    return false;
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    QSettings settings;
    settings.setValue(QStringLiteral("mainWindow/geometry"), saveGeometry());
    if (auto *splitter = qobject_cast<QSplitter *>(centralWidget()))
        settings.setValue(QStringLiteral("mainWindow/splitter"), splitter->saveState());
    QMainWindow::closeEvent(event);
}

} // namespace hourglass::ui
