#include "SecurityEventsPage.h"

#include "AdminClient.h"
#include "EventTableModel.h"

#include <QComboBox>
#include <QDateTime>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QRegularExpression>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

namespace hourglass::ui {

namespace {
constexpr int kPollEveryMs = 2000; // blocks and unblocks by the guard do not notify
constexpr std::size_t kFetchLimit = 1000;
constexpr int kSecurityEvents = -1;
constexpr int kAllEvents = -2;
} // namespace

SecurityEventsPage::SecurityEventsPage(AdminClient &client, QWidget *parent)
    : QWidget(parent), m_client(client), m_model(new EventTableModel(this))
{
    setObjectName(QStringLiteral("securityEventsPage"));
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("<h2>Security Events</h2>"), this));

    auto *filterRow = new QHBoxLayout();
    m_typeComboBox = new QComboBox(this);
    m_typeComboBox->setObjectName(QStringLiteral("eventTypeComboBox"));
    m_typeComboBox->setAccessibleName(tr("Event type"));
    m_typeComboBox->addItem(tr("Security events"), kSecurityEvents);
    m_typeComboBox->addItem(tr("All events"), kAllEvents);
    for (int t = 0; t <= int(EventType::IpUnblocked); ++t)
        m_typeComboBox->addItem(EventTableModel::typeTitle(static_cast<EventType>(t)), t);
    m_filterLineEdit = new QLineEdit(this);
    m_filterLineEdit->setObjectName(QStringLiteral("eventFilterLineEdit"));
    m_filterLineEdit->setPlaceholderText(tr("Filter by user, address or detail"));
    m_filterLineEdit->setClearButtonEnabled(true);
    m_filterLineEdit->setAccessibleName(tr("Filter text"));
    auto *typeLabel = new QLabel(tr("&Show:"), this);
    typeLabel->setBuddy(m_typeComboBox);
    filterRow->addWidget(typeLabel);
    filterRow->addWidget(m_typeComboBox);
    filterRow->addWidget(m_filterLineEdit, 1);
    layout->addLayout(filterRow);

    m_typeFilter = new QSortFilterProxyModel(this);
    m_typeFilter->setSourceModel(m_model);
    m_typeFilter->setFilterRole(EventTableModel::TypeRole);
    m_typeFilter->setFilterKeyColumn(EventTableModel::TypeColumn);
    m_textFilter = new QSortFilterProxyModel(this);
    m_textFilter->setSourceModel(m_typeFilter);
    m_textFilter->setFilterKeyColumn(-1);
    m_textFilter->setFilterCaseSensitivity(Qt::CaseInsensitive);

    auto *splitter = new QSplitter(Qt::Vertical, this);
    m_eventsTableView = new QTableView(splitter);
    m_eventsTableView->setObjectName(QStringLiteral("eventsTableView"));
    m_eventsTableView->setAccessibleName(tr("Events"));
    m_eventsTableView->setModel(m_textFilter);
    m_eventsTableView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_eventsTableView->setAlternatingRowColors(true);
    m_eventsTableView->setWordWrap(false);
    m_eventsTableView->verticalHeader()->hide();
    m_eventsTableView->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_eventsTableView->horizontalHeader()->setStretchLastSection(true);
    m_eventsTableView->setColumnWidth(EventTableModel::TimeColumn, 150);
    m_eventsTableView->setColumnWidth(EventTableModel::TypeColumn, 150);

    auto *blockedPane = new QWidget(splitter);
    auto *blockedLayout = new QVBoxLayout(blockedPane);
    blockedLayout->setContentsMargins(0, 0, 0, 0);
    blockedLayout->addWidget(
        new QLabel(tr("<b>Blocked addresses</b> — too many invalid session IDs"), blockedPane));
    m_blockedTableWidget = new QTableWidget(0, 3, blockedPane);
    m_blockedTableWidget->setObjectName(QStringLiteral("blockedTableWidget"));
    m_blockedTableWidget->setAccessibleName(tr("Blocked addresses"));
    m_blockedTableWidget->setHorizontalHeaderLabels({tr("Address"), tr("Failures"), tr("Blocked until")});
    m_blockedTableWidget->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_blockedTableWidget->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_blockedTableWidget->verticalHeader()->hide();
    m_blockedTableWidget->horizontalHeader()->setStretchLastSection(true);
    blockedLayout->addWidget(m_blockedTableWidget, 1);
    auto *actionRow = new QHBoxLayout();
    m_unblockButton = new QPushButton(tr("&Unblock address"), blockedPane);
    m_unblockButton->setObjectName(QStringLiteral("unblockButton"));
    m_unblockButton->setEnabled(false);
    m_statusLabel = new QLabel(blockedPane);
    m_statusLabel->setObjectName(QStringLiteral("securityEventsStatusLabel"));
    actionRow->addWidget(m_unblockButton);
    actionRow->addWidget(m_statusLabel, 1);
    blockedLayout->addLayout(actionRow);
    splitter->addWidget(m_eventsTableView);
    splitter->addWidget(blockedPane);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 1);
    layout->addWidget(splitter, 1);

    connect(m_typeComboBox, &QComboBox::currentIndexChanged, this, &SecurityEventsPage::applyFilter);
    connect(m_filterLineEdit, &QLineEdit::textChanged, this, &SecurityEventsPage::applyFilter);
    connect(m_blockedTableWidget, &QTableWidget::itemSelectionChanged, this,
            [this] { m_unblockButton->setEnabled(!m_blockedTableWidget->selectedItems().isEmpty()); });
    connect(m_unblockButton, &QPushButton::clicked, this, &SecurityEventsPage::unblockSelected);
    connect(&m_client, &AdminClient::changed, this, &SecurityEventsPage::poll);
    connect(&m_client, &AdminClient::failed, this, [this] { m_fetching = false; });
    m_pollTimer = new QTimer(this);
    m_pollTimer->setInterval(kPollEveryMs);
    connect(m_pollTimer, &QTimer::timeout, this, &SecurityEventsPage::poll);
    m_pollTimer->start();
    applyFilter();
    poll();
}

SecurityEventsPage::~SecurityEventsPage() = default;

void SecurityEventsPage::applyFilter()
{
    const int type = m_typeComboBox->currentData().toInt();
    if (type == kAllEvents) {
        m_typeFilter->setFilterRegularExpression(QString());
    } else if (type == kSecurityEvents) {
        QStringList types;
        for (int t = 0; t <= int(EventType::IpUnblocked); ++t) {
            if (EventTableModel::isSecurityEvent(static_cast<EventType>(t)))
                types.append(QString::number(t));
        }
        m_typeFilter->setFilterRegularExpression(
            QRegularExpression(QStringLiteral("^(%1)$").arg(types.join(QLatin1Char('|')))));
    } else {
        m_typeFilter->setFilterRegularExpression(QRegularExpression(QStringLiteral("^%1$").arg(type)));
    }
    m_textFilter->setFilterFixedString(m_filterLineEdit->text().trimmed());
}

void SecurityEventsPage::poll()
{
    // Another service (the console switched to a remote hourglassd or back) numbers its own events.
    if (const QString service = m_client.describe(); service != m_service) {
        m_service = service;
        m_model->clear();
    }
    fetchEvents();
    m_client.blockedAddresses(this, [this](std::vector<BlockedAddress> blocked) {
        const QString selected =
            m_blockedTableWidget->selectedItems().isEmpty()
                ? QString()
                : m_blockedTableWidget->item(m_blockedTableWidget->currentRow(), 0)->text();
        m_blockedTableWidget->setRowCount(int(blocked.size()));
        const QLocale locale;
        for (int row = 0; row < int(blocked.size()); ++row) {
            const BlockedAddress &b = blocked[std::size_t(row)];
            const QString ip = QString::fromStdString(b.ip);
            m_blockedTableWidget->setItem(row, 0, new QTableWidgetItem(ip));
            m_blockedTableWidget->setItem(row, 1,
                                          new QTableWidgetItem(locale.toString(qulonglong(b.failures))));
            m_blockedTableWidget->setItem(
                row, 2,
                new QTableWidgetItem(
                    locale.toString(QDateTime::fromMSecsSinceEpoch(b.untilMs), QLocale::ShortFormat)));
            if (ip == selected)
                m_blockedTableWidget->selectRow(row);
        }
        m_unblockButton->setEnabled(!m_blockedTableWidget->selectedItems().isEmpty());
        Q_EMIT polled();
    });
}

void SecurityEventsPage::fetchEvents()
{
    if (m_fetching)
        return;
    m_fetching = true;
    m_client.events(m_model->lastSequence(), kFetchLimit, this, [this](std::vector<SessionEvent> events) {
        m_fetching = false;
        const bool more = events.size() == kFetchLimit;
        m_model->append(events);
        if (more)
            fetchEvents(); // catching up with a backlog, one bounded page at a time
    });
}

void SecurityEventsPage::unblockSelected()
{
    const int row = m_blockedTableWidget->currentRow();
    if (row < 0 || !m_blockedTableWidget->item(row, 0))
        return;
    const QString ip = m_blockedTableWidget->item(row, 0)->text();
    m_client.unblockAddress(ip.toStdString(), this, [this, ip](bool wasBlocked) {
        m_statusLabel->setText(wasBlocked ? tr("%1 is no longer blocked.").arg(ip)
                                          : tr("%1 was not blocked any more.").arg(ip));
        Q_EMIT unblocked(ip, wasBlocked);
        poll();
    });
}

} // namespace hourglass::ui
