#pragma once

#include "SessionEngine.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QSet>

#include <functional>
#include <list>

namespace hourglass {
class AdminClient;
}

namespace hourglass::ui {

// Live sessions as a table that pages from the service: rowCount() is the number of matching
// sessions (1,000,000 rows cost nothing), and only the pages the view asks for are fetched, a page
// of kPageSize rows at a time, keeping at most kMaxCachedPages. refresh() re-fetches the cached
// pages and the total; time-left columns follow the clock between fetches.
class SessionTableModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SessionTableModel)

public:
    enum Column
    {
        UserColumn,
        AreaColumn,
        ClientIpColumn,
        CreatedColumn,
        LastActivityColumn,
        IdleLeftColumn,
        AbsoluteLeftColumn,
        RememberMeColumn,
        SizeColumn,
        SubSessionsColumn,
        ColumnCount
    };
    enum Role
    {
        HashRole = Qt::UserRole + 1, // hex SHA-256 of the session ID
        UserRole,                    // the user name (std::string as QString)
        LoadedRole,                  // whether the row's page has arrived
    };
    static constexpr int kPageSize = 200;
    static constexpr int kMaxCachedPages = 32;

    explicit SessionTableModel(AdminClient &client, QObject *parent = nullptr);
    ~SessionTableModel() override;

    // Filters; setQuery re-fetches from the first page. Offset and limit are ignored.
    void setQuery(const SessionQuery &query);
    const SessionQuery &query() const { return m_query; }
    // Re-fetches the pages in view and the total (on a change notification).
    void refresh();
    // For tests and time-left columns; defaults to the system clock.
    void setClock(std::function<TimeMs()> now) { m_now = std::move(now); }
    // Repaints the time-dependent columns (called every second by the page).
    void tick();

    std::optional<SessionInfo> sessionAt(int row) const;
    // Rows of the fetched pages whose ID hash (hex) is one of `hashes`; never fetches.
    std::vector<int> loadedRows(const std::vector<QString> &hashes) const;
    std::size_t total() const { return m_total; }
    bool isLoading() const { return !m_pending.isEmpty(); }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    static QString formatDuration(TimeMs ms);

Q_SIGNALS:
    // A page arrived (tests wait for it; the page restores its selection).
    void pageLoaded(int page);
    void totalChanged(qulonglong total);

private:
    void fetch(int page) const;
    void setTotal(std::size_t total);
    void touchPage(int page) const;

    AdminClient &m_client;
    SessionQuery m_query;
    std::size_t m_total = 0;
    std::uint64_t m_queryGeneration = 0;
    std::function<TimeMs()> m_now;
    // Fetching is triggered from data(), which is const for the view.
    mutable QHash<int, std::vector<SessionInfo>> m_pages;
    mutable std::list<int> m_recent; // most recently used page first
    mutable QSet<int> m_pending;
};

} // namespace hourglass::ui
