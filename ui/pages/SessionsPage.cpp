#include "SessionsPage.h"

#include "ActivityCharts.h"
#include "AdminClient.h"
#include "MessageBox.h"
#include "SessionTableModel.h"

#include <QAction>
#include <QClipboard>
#include <QComboBox>
#include <QDateTime>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenu>
#include <QPointer>
#include <QProgressDialog>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

#include <memory>

namespace hourglass::ui {

namespace {
constexpr int kFilterDelayMs = 300;   // after the last keystroke
constexpr int kRefreshEveryMs = 1000; // change notifications are coalesced to one re-fetch per second
constexpr int kSampleEveryMs = 1000;  // chart resolution
enum FilterField
{
    FilterUser,
    FilterClientIp,
    FilterContains,
};
} // namespace

SessionsPage::SessionsPage(AdminClient &client, QWidget *parent)
    : QWidget(parent), m_client(client), m_model(new SessionTableModel(client, this))
{
    setObjectName(QStringLiteral("sessionsPage"));
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("<h2>Sessions</h2>"), this));

    auto *splitter = new QSplitter(Qt::Vertical, this);
    splitter->setObjectName(QStringLiteral("sessionsSplitter"));
    m_charts = new ActivityCharts(splitter);

    auto *tablePane = new QWidget(splitter);
    auto *tableLayout = new QVBoxLayout(tablePane);
    tableLayout->setContentsMargins(0, 0, 0, 0);
    auto *filterRow = new QHBoxLayout();
    m_filterFieldComboBox = new QComboBox(tablePane);
    m_filterFieldComboBox->setObjectName(QStringLiteral("filterFieldComboBox"));
    m_filterFieldComboBox->addItem(tr("User is"), FilterUser);
    m_filterFieldComboBox->addItem(tr("Client IP is"), FilterClientIp);
    m_filterFieldComboBox->addItem(tr("User or IP contains"), FilterContains);
    m_filterFieldComboBox->setAccessibleName(tr("Filter by"));
    m_filterLineEdit = new QLineEdit(tablePane);
    m_filterLineEdit->setObjectName(QStringLiteral("sessionFilterLineEdit"));
    m_filterLineEdit->setPlaceholderText(tr("Filter sessions"));
    m_filterLineEdit->setClearButtonEnabled(true);
    m_filterLineEdit->setAccessibleName(tr("Filter text"));
    m_areaComboBox = new QComboBox(tablePane);
    m_areaComboBox->setObjectName(QStringLiteral("areaFilterComboBox"));
    m_areaComboBox->addItem(tr("All areas"), -1);
    m_areaComboBox->addItem(tr("Admin"), int(Area::Admin));
    m_areaComboBox->addItem(tr("Storefront"), int(Area::Storefront));
    m_areaComboBox->setAccessibleName(tr("Area"));
    m_countLabel = new QLabel(tablePane);
    m_countLabel->setObjectName(QStringLiteral("sessionCountLabel"));
    auto *filterLabel = new QLabel(tr("&Filter:"), tablePane);
    filterLabel->setBuddy(m_filterFieldComboBox);
    filterRow->addWidget(filterLabel);
    filterRow->addWidget(m_filterFieldComboBox);
    filterRow->addWidget(m_filterLineEdit, 1);
    filterRow->addWidget(m_areaComboBox);
    filterRow->addWidget(m_countLabel);
    tableLayout->addLayout(filterRow);

    m_tableView = new QTableView(tablePane);
    m_tableView->setObjectName(QStringLiteral("sessionsTableView"));
    m_tableView->setAccessibleName(tr("Sessions"));
    m_tableView->setModel(m_model);
    m_tableView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_tableView->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_tableView->setContextMenuPolicy(Qt::CustomContextMenu);
    m_tableView->setAlternatingRowColors(true);
    m_tableView->setWordWrap(false);
    // Fixed row heights keep a 1,000,000-row view cheap: Qt never measures rows.
    m_tableView->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_tableView->verticalHeader()->hide();
    m_tableView->horizontalHeader()->setStretchLastSection(true);
    m_tableView->horizontalHeader()->setDefaultSectionSize(120);
    m_tableView->setColumnWidth(SessionTableModel::CreatedColumn, 150);
    m_tableView->setColumnWidth(SessionTableModel::LastActivityColumn, 150);
    tableLayout->addWidget(m_tableView, 1);

    auto *actionRow = new QHBoxLayout();
    m_terminateButton = new QPushButton(tr("&Terminate"), tablePane);
    m_terminateButton->setObjectName(QStringLiteral("terminateButton"));
    m_terminateButton->setToolTip(tr("End the selected sessions now."));
    m_forceLogoutButton = new QPushButton(tr("Force &logout user"), tablePane);
    m_forceLogoutButton->setObjectName(QStringLiteral("forceLogoutButton"));
    m_forceLogoutButton->setToolTip(tr("End every session of this user except the selected one."));
    m_copyHashButton = new QPushButton(tr("&Copy ID hash"), tablePane);
    m_copyHashButton->setObjectName(QStringLiteral("copyHashButton"));
    m_statusLabel = new QLabel(tablePane);
    m_statusLabel->setObjectName(QStringLiteral("sessionsStatusLabel"));
    actionRow->addWidget(m_terminateButton);
    actionRow->addWidget(m_forceLogoutButton);
    actionRow->addWidget(m_copyHashButton);
    actionRow->addWidget(m_statusLabel, 1);
    tableLayout->addLayout(actionRow);
    splitter->addWidget(m_charts);
    splitter->addWidget(tablePane);
    splitter->setStretchFactor(1, 1);
    layout->addWidget(splitter, 1);

    m_contextMenu = new QMenu(this);
    m_contextMenu->setObjectName(QStringLiteral("sessionsContextMenu"));
    QAction *terminate = m_contextMenu->addAction(tr("&Terminate"));
    terminate->setObjectName(QStringLiteral("terminateAction"));
    QAction *forceLogout = m_contextMenu->addAction(tr("Force &logout user (keep this session)"));
    forceLogout->setObjectName(QStringLiteral("forceLogoutAction"));
    QAction *copy = m_contextMenu->addAction(tr("&Copy ID hash"));
    copy->setObjectName(QStringLiteral("copyHashAction"));
    copy->setShortcut(QKeySequence::Copy);
    copy->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_tableView->addAction(copy);
    auto *deleteAction = new QAction(tr("Terminate"), m_tableView);
    deleteAction->setShortcut(QKeySequence::Delete);
    deleteAction->setShortcutContext(Qt::WidgetShortcut);
    m_tableView->addAction(deleteAction);

    connect(terminate, &QAction::triggered, this, &SessionsPage::terminateSelected);
    connect(deleteAction, &QAction::triggered, this, &SessionsPage::terminateSelected);
    connect(forceLogout, &QAction::triggered, this, &SessionsPage::forceLogoutCurrentUser);
    connect(copy, &QAction::triggered, this, &SessionsPage::copySelectedHashes);
    connect(m_terminateButton, &QPushButton::clicked, this, &SessionsPage::terminateSelected);
    connect(m_forceLogoutButton, &QPushButton::clicked, this, &SessionsPage::forceLogoutCurrentUser);
    connect(m_copyHashButton, &QPushButton::clicked, this, &SessionsPage::copySelectedHashes);
    connect(m_tableView, &QTableView::customContextMenuRequested, this, [this](const QPoint &pos) {
        if (m_tableView->indexAt(pos).isValid())
            m_contextMenu->popup(m_tableView->viewport()->mapToGlobal(pos));
    });
    connect(m_tableView->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &SessionsPage::updateActions);
    connect(m_tableView->selectionModel(), &QItemSelectionModel::currentChanged, this,
            &SessionsPage::updateActions);

    m_filterTimer = new QTimer(this);
    m_filterTimer->setSingleShot(true);
    m_filterTimer->setInterval(kFilterDelayMs);
    connect(m_filterTimer, &QTimer::timeout, this, &SessionsPage::applyFilter);
    connect(m_filterLineEdit, &QLineEdit::textChanged, m_filterTimer, qOverload<>(&QTimer::start));
    connect(m_filterLineEdit, &QLineEdit::returnPressed, this, &SessionsPage::applyFilter);
    connect(m_filterFieldComboBox, &QComboBox::currentIndexChanged, this, &SessionsPage::applyFilter);
    connect(m_areaComboBox, &QComboBox::currentIndexChanged, this, &SessionsPage::applyFilter);

    m_refreshTimer = new QTimer(this);
    m_refreshTimer->setSingleShot(true);
    m_refreshTimer->setInterval(kRefreshEveryMs);
    connect(m_refreshTimer, &QTimer::timeout, this, [this] {
        // Rows move as sessions come and go: select the same sessions again when their pages arrive.
        m_reselect.clear();
        for (const Selected &s : selectedSessions())
            m_reselect.push_back(QString::fromStdString(s.hash.toHex()));
        m_model->refresh();
    });
    connect(&m_client, &AdminClient::changed, this, &SessionsPage::scheduleRefresh);
    connect(m_model, &SessionTableModel::totalChanged, this, [this](qulonglong total) {
        m_countLabel->setText(tr("%1 sessions").arg(QLocale().toString(total)));
    });
    connect(m_model, &SessionTableModel::pageLoaded, this, [this] {
        m_countLabel->setText(tr("%1 sessions").arg(QLocale().toString(qulonglong(m_model->total()))));
        if (m_reselect.empty())
            return;
        QItemSelection selection;
        for (int row : m_model->loadedRows(m_reselect))
            selection.select(m_model->index(row, 0), m_model->index(row, SessionTableModel::ColumnCount - 1));
        m_tableView->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
    });

    m_tickTimer = new QTimer(this);
    m_tickTimer->setInterval(kSampleEveryMs);
    connect(m_tickTimer, &QTimer::timeout, this, [this] {
        m_model->tick();
        sample();
    });
    m_tickTimer->start();

    updateActions();
    applyFilter();
    sample();
}

SessionsPage::~SessionsPage() = default;

void SessionsPage::scheduleRefresh()
{
    if (!m_refreshTimer->isActive())
        m_refreshTimer->start();
}

void SessionsPage::sample()
{
    m_client.counters(
        this, [this](EngineCounters c) { m_charts->addSample(QDateTime::currentMSecsSinceEpoch(), c); });
}

void SessionsPage::applyFilter()
{
    m_filterTimer->stop();
    SessionQuery query;
    const std::string text = m_filterLineEdit->text().trimmed().toStdString();
    if (!text.empty()) {
        switch (m_filterFieldComboBox->currentData().toInt()) {
        case FilterUser:
            query.user = text;
            break;
        case FilterClientIp:
            query.clientIp = text;
            break;
        default:
            query.text = text;
            break;
        }
    }
    if (const int area = m_areaComboBox->currentData().toInt(); area >= 0)
        query.area = static_cast<Area>(area);
    m_reselect.clear();
    m_model->setQuery(query);
}

std::vector<SessionsPage::Selected> SessionsPage::selectedSessions() const
{
    std::vector<Selected> list;
    for (const QModelIndex &index : m_tableView->selectionModel()->selectedRows()) {
        if (const auto session = m_model->sessionAt(index.row()))
            list.push_back({session->hash, std::string(textOf(session->user))});
    }
    return list;
}

void SessionsPage::updateActions()
{
    const bool any = m_tableView->selectionModel()->hasSelection();
    const bool current = m_model->sessionAt(m_tableView->currentIndex().row()).has_value();
    m_terminateButton->setEnabled(any);
    m_copyHashButton->setEnabled(any);
    m_forceLogoutButton->setEnabled(current);
    for (QAction *action : m_contextMenu->actions())
        action->setEnabled(action->objectName() == QLatin1String("forceLogoutAction") ? current : any);
}

void SessionsPage::finish(const QString &message)
{
    m_statusLabel->setText(message);
    m_model->refresh();
    Q_EMIT actionFinished(message);
}

void SessionsPage::terminateSelected()
{
    const std::vector<Selected> selected = selectedSessions();
    if (selected.empty())
        return;
    const QString question =
        selected.size() == 1 ? tr("Terminate the session of %1? It ends at once.")
                                   .arg(QString::fromStdString(selected.front().user))
                             : tr("Terminate %n sessions? They end at once.", nullptr, int(selected.size()));
    if (MessageBox::question(this, tr("Terminate sessions"), question, QMessageBox::Yes | QMessageBox::No,
                             QMessageBox::No) != QMessageBox::Yes)
        return;

    // One call at a time, with a progress dialog that can cancel between calls: the service is
    // never flooded and the admin sees how far it got.
    struct Bulk
    {
        std::vector<Selected> sessions;
        std::size_t next = 0;
        std::size_t ended = 0;
        QPointer<QProgressDialog> progress;
    };
    auto bulk = std::make_shared<Bulk>();
    bulk->sessions = selected;
    if (selected.size() > 1) {
        bulk->progress =
            new QProgressDialog(tr("Terminating sessions…"), tr("Cancel"), 0, int(selected.size()), this);
        bulk->progress->setObjectName(QStringLiteral("bulkProgressDialog"));
        bulk->progress->setWindowModality(Qt::WindowModal);
        bulk->progress->setMinimumDuration(0);
        bulk->progress->setAttribute(Qt::WA_DeleteOnClose);
        bulk->progress->setValue(0);
    }
    auto step = std::make_shared<std::function<void()>>();
    *step = [this, bulk, step] {
        const bool cancelled = bulk->progress && bulk->progress->wasCanceled();
        if (cancelled || bulk->next == bulk->sessions.size()) {
            if (bulk->progress)
                bulk->progress->close();
            const QString message =
                cancelled ? tr("Cancelled: %n session(s) terminated.", nullptr, int(bulk->ended))
                          : tr("%n session(s) terminated.", nullptr, int(bulk->ended));
            finish(message);
            *step = nullptr; // breaks the self-reference; nothing of this closure is used after it
            return;
        }
        const Selected &s = bulk->sessions[bulk->next++];
        m_client.revoke(s.hash, this, [bulk, step](SessionError error) {
            if (error == SessionError::None)
                ++bulk->ended;
            if (bulk->progress)
                bulk->progress->setValue(int(bulk->next));
            if (*step)
                (*step)();
        });
    };
    (*step)();
}

void SessionsPage::forceLogoutCurrentUser()
{
    const auto current = m_model->sessionAt(m_tableView->currentIndex().row());
    if (!current)
        return;
    const QString user = QString::fromUtf8(textOf(current->user));
    if (MessageBox::question(this, tr("Force logout"),
                             tr("End every session of %1 except the selected one? The user has to log in "
                                "again everywhere else.")
                                 .arg(user),
                             QMessageBox::Yes | QMessageBox::No, QMessageBox::No) != QMessageBox::Yes)
        return;
    m_client.forceLogout(std::string(textOf(current->user)), current->hash, this, [this, user](std::size_t ended) {
        finish(tr("%1: %n other session(s) ended; the selected session was kept.", nullptr, int(ended))
                   .arg(user));
    });
}

void SessionsPage::copySelectedHashes()
{
    QStringList hashes;
    for (const Selected &s : selectedSessions())
        hashes.append(QString::fromStdString(s.hash.toHex()));
    if (hashes.isEmpty())
        return;
    QGuiApplication::clipboard()->setText(hashes.join(QLatin1Char('\n')));
    m_statusLabel->setText(tr("Copied %n ID hash(es).", nullptr, int(hashes.size())));
}

} // namespace hourglass::ui
