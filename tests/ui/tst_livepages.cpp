// The console's live pages against a real engine and service: Sessions (paged table, filters,
// Terminate, Force logout, bulk terminate, Copy ID hash, charts), Security Events (filters,
// Unblock), Service (start/stop, connecting to a remote hourglassd).

#include "ActivityCharts.h"
#include "AdminConnection.h"
#include "EmbeddedAdminClient.h"
#include "EventTableModel.h"
#include "MainWindow.h"
#include "MessageBox.h"
#include "RandomSource.h"
#include "SecurityEventsPage.h"
#include "ServiceFixture.h"
#include "SessionTableModel.h"
#include "SessionsPage.h"

#include <QAbstractProxyModel>
#include <QClipboard>
#include <QComboBox>
#include <QGuiApplication>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QProgressDialog>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTableWidget>
#include <QTest>

using namespace hourglass;
using hourglass::test::ServiceFixture;

class TestLivePages final : public QObject
{
    Q_OBJECT

    std::unique_ptr<ServiceFixture> m_f;
    std::unique_ptr<EmbeddedAdminClient> m_client;
    std::unique_ptr<AdminConnection> m_connection;
    std::unique_ptr<ui::MainWindow> m_window;

    template<typename T> T *find(const char *name)
    {
        T *widget = m_window->findChild<T *>(QString::fromLatin1(name));
        if (!widget)
            qFatal("no widget %s", name);
        return widget;
    }

    SessionEngine &engine() { return m_f->runtime->engine(); }

    IdHash create(const std::string &user, Area area = Area::Storefront,
                  const std::string &ip = "198.51.100.7")
    {
        const CreateResult r = engine().create({user, area, false, ip, "Mozilla/5.0"});
        if (r.error != SessionError::None)
            qFatal("create failed");
        return r.info.hash;
    }

    std::size_t sessionsOf(const std::string &user)
    {
        SessionQuery q;
        q.user = user;
        return engine().list(q).total;
    }

    ui::SessionsPage *openSessions()
    {
        if (!m_window->showPage(QStringLiteral("sessionsPage")))
            qFatal("no Sessions page");
        return find<ui::SessionsPage>("sessionsPage");
    }

    void filter(const QString &field, const QString &text)
    {
        auto *combo = find<QComboBox>("filterFieldComboBox");
        combo->setCurrentIndex(combo->findText(field));
        auto *edit = find<QLineEdit>("sessionFilterLineEdit");
        edit->setFocus();
        edit->selectAll();
        QTest::keyClick(edit, Qt::Key_Delete);
        QTest::keyClicks(edit, text);
        QTest::keyClick(edit, Qt::Key_Return);
    }

    // Waits until the model shows `rows` rows with the first page loaded.
    bool settled(ui::SessionTableModel *model, int rows)
    {
        return QTest::qWaitFor(
            [&] {
                return !model->isLoading() && model->rowCount() == rows &&
                       (rows == 0 || model->sessionAt(0).has_value());
            },
            10000);
    }

    void selectRows(QTableView *view, std::initializer_list<int> rows)
    {
        view->setFocus();
        view->clearSelection();
        for (int row : rows) {
            view->selectionModel()->select(view->model()->index(row, 0),
                                           QItemSelectionModel::Select | QItemSelectionModel::Rows);
            view->selectionModel()->setCurrentIndex(view->model()->index(row, 0),
                                                    QItemSelectionModel::NoUpdate);
        }
    }

private Q_SLOTS:
    void init()
    {
        m_f = std::make_unique<ServiceFixture>(QJsonObject{{QStringLiteral("guard_failure_threshold"), 3}});
        m_client = std::make_unique<EmbeddedAdminClient>(*m_f->runtime, nullptr, 20);
        m_client->setService(m_f->service.get(), {});
        m_connection = std::make_unique<AdminConnection>(m_client.get());
        m_window = std::make_unique<ui::MainWindow>(*m_connection);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    }

    void cleanup()
    {
        m_window.reset();
        m_connection.reset();
        m_client->setService(nullptr, {});
        m_client.reset();
        m_f.reset();
    }

    void tablePagesFromTheEngineAndFilters()
    {
        for (int i = 0; i < 450; ++i)
            create("u" + std::to_string(i), i % 2 ? Area::Storefront : Area::Admin,
                   "10.0.0." + std::to_string(i % 200));
        ui::SessionsPage *page = openSessions();
        ui::SessionTableModel *model = page->model();
        filter(QStringLiteral("User or IP contains"), QString());
        QVERIFY(settled(model, 450));
        QCOMPARE(find<QLabel>("sessionCountLabel")->text(), QStringLiteral("450 sessions"));
        // Only what the view shows was fetched: the last page arrives when scrolled to.
        QVERIFY(!model->sessionAt(449));
        find<QTableView>("sessionsTableView")->scrollToBottom();
        QTRY_VERIFY(model->sessionAt(449).has_value());
        // Newest first.
        QVERIFY(model->sessionAt(0)->createdMs >= model->sessionAt(449)->createdMs);

        filter(QStringLiteral("User is"), QStringLiteral("u7"));
        QVERIFY(settled(model, 1));
        QCOMPARE(model->data(model->index(0, ui::SessionTableModel::UserColumn)).toString(),
                 QStringLiteral("u7"));
        QCOMPARE(model->data(model->index(0, ui::SessionTableModel::AreaColumn)).toString(),
                 QStringLiteral("Storefront"));
        QCOMPARE(model->data(model->index(0, ui::SessionTableModel::ClientIpColumn)).toString(),
                 QStringLiteral("10.0.0.7"));
        QCOMPARE(model->data(model->index(0, ui::SessionTableModel::RememberMeColumn)).toString(),
                 QStringLiteral("No"));
        // 15 minutes idle timeout by default, no maximum.
        QVERIFY(model->data(model->index(0, ui::SessionTableModel::IdleLeftColumn))
                    .toString()
                    .startsWith(QStringLiteral("00:1")));
        QCOMPARE(model->data(model->index(0, ui::SessionTableModel::AbsoluteLeftColumn)).toString(),
                 QStringLiteral("no limit"));

        filter(QStringLiteral("Client IP is"), QStringLiteral("10.0.0.7"));
        QVERIFY(settled(model, 3)); // u7, u207, u407
        filter(QStringLiteral("User or IP contains"), QStringLiteral("u4"));
        QVERIFY(settled(model, 61)); // u4, u40–u49, u400–u449
        auto *area = find<QComboBox>("areaFilterComboBox");
        area->setCurrentIndex(area->findText(QStringLiteral("Admin")));
        QVERIFY(settled(model, 31)); // the even ones
        filter(QStringLiteral("User or IP contains"), QString());
        QVERIFY(settled(model, 225));
    }

    void tableFollowsTheEngine()
    {
        ui::SessionsPage *page = openSessions();
        QVERIFY(settled(page->model(), 0));
        create("erin");
        create("erin");
        QVERIFY(settled(page->model(), 2)); // change notification → refresh, no user action
        engine().forceLogout("erin", std::nullopt);
        QVERIFY(settled(page->model(), 0));
    }

    void terminateFromTheTable()
    {
        const IdHash target = create("alice", Area::Admin);
        create("zoe");
        ui::SessionsPage *page = openSessions();
        filter(QStringLiteral("User is"), QStringLiteral("alice"));
        QVERIFY(settled(page->model(), 1));
        auto *view = find<QTableView>("sessionsTableView");
        selectRows(view, {0});
        QTRY_VERIFY(find<QPushButton>("terminateButton")->isEnabled());
        // No: nothing happens.
        ui::MessageBox::setNextAnswer(QMessageBox::No);
        QTest::mouseClick(find<QPushButton>("terminateButton"), Qt::LeftButton);
        QTest::qWait(100);
        QVERIFY(engine().find(target));
        QSignalSpy finished(page, &ui::SessionsPage::actionFinished);
        ui::MessageBox::setNextAnswer(QMessageBox::Yes);
        QTest::mouseClick(find<QPushButton>("terminateButton"), Qt::LeftButton);
        QTRY_COMPARE(finished.count(), 1);
        QVERIFY(!engine().find(target));
        QVERIFY(settled(page->model(), 0));
        QCOMPARE(sessionsOf("zoe"), std::size_t(1));
    }

    void forceLogoutKeepsTheSelectedSession()
    {
        std::vector<IdHash> bob;
        for (int i = 0; i < 4; ++i)
            bob.push_back(create("bob"));
        create("carol");
        ui::SessionsPage *page = openSessions();
        filter(QStringLiteral("User is"), QStringLiteral("bob"));
        QVERIFY(settled(page->model(), 4));
        auto *view = find<QTableView>("sessionsTableView");
        selectRows(view, {2});
        const IdHash kept = page->model()->sessionAt(2)->hash;
        QSignalSpy finished(page, &ui::SessionsPage::actionFinished);
        ui::MessageBox::setNextAnswer(QMessageBox::Yes);
        QTRY_VERIFY(find<QPushButton>("forceLogoutButton")->isEnabled());
        QTest::mouseClick(find<QPushButton>("forceLogoutButton"), Qt::LeftButton);
        QTRY_COMPARE(finished.count(), 1);
        QVERIFY2(finished.first().first().toString().contains(QStringLiteral("3 other session")),
                 qPrintable(finished.first().first().toString()));
        SessionQuery q;
        q.user = "bob";
        const SessionPage left = engine().list(q);
        QCOMPARE(left.total, std::size_t(1));
        QVERIFY(left.rows.front().hash == kept);
        QCOMPARE(sessionsOf("carol"), std::size_t(1));
        QVERIFY(settled(page->model(), 1));
    }

    void bulkTerminateWithProgressAndCopyHashes()
    {
        for (int i = 0; i < 6; ++i)
            create("dora");
        create("ed");
        ui::SessionsPage *page = openSessions();
        filter(QStringLiteral("User is"), QStringLiteral("dora"));
        QVERIFY(settled(page->model(), 6));
        auto *view = find<QTableView>("sessionsTableView");
        selectRows(view, {1, 3});
        QTest::mouseClick(find<QPushButton>("copyHashButton"), Qt::LeftButton);
        QCOMPARE(QGuiApplication::clipboard()->text(),
                 QString::fromStdString(page->model()->sessionAt(1)->hash.toHex()) + QLatin1Char('\n') +
                     QString::fromStdString(page->model()->sessionAt(3)->hash.toHex()));

        view->selectAll();
        QSignalSpy finished(page, &ui::SessionsPage::actionFinished);
        ui::MessageBox::setNextAnswer(QMessageBox::Yes);
        QTest::mouseClick(find<QPushButton>("terminateButton"), Qt::LeftButton);
        auto *progress = page->findChild<QProgressDialog *>(QStringLiteral("bulkProgressDialog"));
        QVERIFY(progress);
        QCOMPARE(progress->maximum(), 6);
        QTRY_COMPARE(finished.count(), 1);
        QCOMPARE(finished.first().first().toString(), QStringLiteral("6 session(s) terminated."));
        QCOMPARE(sessionsOf("dora"), std::size_t(0));
        QCOMPARE(sessionsOf("ed"), std::size_t(1));
    }

    void chartsPlotActivityAndRates()
    {
        ui::ActivityCharts charts;
        EngineCounters c;
        c.active = {2, 3};
        const TimeMs t0 = 1'800'000'000'000;
        charts.addSample(t0, c);
        c.created = 10;
        c.validations = 100;
        c.rejectedUnknown = 4;
        charts.addSample(t0 + 1000, c);
        c.created = 30;
        c.active = {10, 10};
        charts.addSample(t0 + 3000, c);
        charts.addSample(t0 + 3000, c); // same instant: ignored
        QCOMPARE(charts.activeSeries()->count(), 3);
        QCOMPARE(charts.activeSeries()->at(2), QPointF(double(t0 + 3000), 20.0));
        QCOMPARE(charts.creationsSeries()->count(), 2);
        QCOMPARE(charts.creationsSeries()->at(0).y(), 10.0);
        QCOMPARE(charts.creationsSeries()->at(1).y(), 10.0); // 20 in 2 s
        QCOMPARE(charts.validationsSeries()->at(0).y(), 100.0);
        QCOMPARE(charts.validationsSeries()->at(1).y(), 0.0);
        QCOMPARE(charts.rejectionsSeries()->at(0).y(), 4.0);
        // Ten minutes later the first samples fall out of the window.
        charts.addSample(t0 + ui::ActivityCharts::kWindowMs + 2000, c);
        QCOMPARE(charts.activeSeries()->count(), 2);
        QCOMPARE(charts.activeSeries()->at(0).x(), double(t0 + 3000));

        // The page samples the service every second.
        create("fay");
        create("fay");
        ui::SessionsPage *page = openSessions();
        QTRY_VERIFY_WITH_TIMEOUT(
            page->charts()->activeSeries()->count() >= 1 &&
                page->charts()->activeSeries()->at(page->charts()->activeSeries()->count() - 1).y() == 2.0,
            5000);
    }

    void securityEventsFilterAndUnblock()
    {
        create("gus");
        for (int i = 0; i < 3; ++i)
            m_f->request(
                "GET", "/v1/session",
                {{"Authorization", "Session " + SessionToken::generate(OpenSslRandom::instance())->text()},
                 {"X-Real-IP", "203.0.113.99"}});
        QVERIFY(m_window->showPage(QStringLiteral("securityEventsPage")));
        auto *page = find<ui::SecurityEventsPage>("securityEventsPage");
        page->poll();
        auto *blocked = find<QTableWidget>("blockedTableWidget");
        QTRY_COMPARE(blocked->rowCount(), 1);
        QCOMPARE(blocked->item(0, 0)->text(), QStringLiteral("203.0.113.99"));
        QCOMPARE(blocked->item(0, 1)->text(), QStringLiteral("3"));

        auto *view = find<QTableView>("eventsTableView");
        // Security events only by default: the block, not the creation.
        QTRY_COMPARE(view->model()->rowCount(), 1);
        QCOMPARE(view->model()->index(0, ui::EventTableModel::TypeColumn).data().toString(),
                 QStringLiteral("Address blocked"));
        auto *type = find<QComboBox>("eventTypeComboBox");
        type->setCurrentIndex(type->findText(QStringLiteral("All events")));
        QCOMPARE(view->model()->rowCount(), 2);
        type->setCurrentIndex(type->findText(QStringLiteral("Session created")));
        QCOMPARE(view->model()->rowCount(), 1);
        QCOMPARE(view->model()->index(0, ui::EventTableModel::UserColumn).data().toString(),
                 QStringLiteral("gus"));
        type->setCurrentIndex(type->findText(QStringLiteral("All events")));
        QTest::keyClicks(find<QLineEdit>("eventFilterLineEdit"), QStringLiteral("203.0.113"));
        QCOMPARE(view->model()->rowCount(), 1);

        // Unblock: the guard lets the address in again and the event is recorded.
        blocked->selectRow(0);
        QSignalSpy unblocked(page, &ui::SecurityEventsPage::unblocked);
        QTRY_VERIFY(find<QPushButton>("unblockButton")->isEnabled());
        QTest::mouseClick(find<QPushButton>("unblockButton"), Qt::LeftButton);
        QTRY_COMPARE(unblocked.count(), 1);
        QVERIFY(unblocked.first().at(1).toBool());
        QVERIFY(m_f->service->guard().blocked().empty());
        QTRY_COMPARE(blocked->rowCount(), 0);
        QTRY_COMPARE(view->model()->rowCount(), 2);
        QCOMPARE(view->model()->index(0, ui::EventTableModel::TypeColumn).data().toString(),
                 QStringLiteral("Address unblocked"));
    }

    void serviceStartsAndStops()
    {
        QVERIFY(m_window->showPage(QStringLiteral("servicePage")));
        auto *status = find<QLabel>("serviceStatusLabel");
        QTRY_COMPARE(status->text(), QStringLiteral("Running"));
        QCOMPARE(find<QLabel>("serviceBindLabel")->text(),
                 QStringLiteral("127.0.0.1, port %1").arg(m_f->service->port()));
        auto *button = find<QPushButton>("startStopButton");
        QVERIFY(button->isVisible());
        QTest::mouseClick(button, Qt::LeftButton);
        QTRY_VERIFY(status->text().startsWith(QStringLiteral("Not running")));
        QVERIFY(m_f->service->url().empty());
        QTRY_VERIFY(button->isEnabled());
        QTest::mouseClick(button, Qt::LeftButton);
        QTRY_COMPARE(status->text(), QStringLiteral("Running"));
        // It answers again, on its (new, ephemeral) port.
        const auto r = hourglass::test::rawRequest(m_f->service->port(), "GET", "/v1/session", {}, {});
        QCOMPARE(r.status, 401);
    }

    void consoleAdministersARemoteService()
    {
        ServiceFixture remote;
        const IdHash victim =
            remote.runtime->engine().create({"remote-user", Area::Admin, false, "192.0.2.1", "ua"}).info.hash;
        remote.runtime->engine().create({"remote-user", Area::Admin, false, "192.0.2.1", "ua"});
        QVERIFY(m_window->showPage(QStringLiteral("servicePage")));
        find<QLineEdit>("remoteUrlLineEdit")->setText(QString::fromStdString(remote.service->url()));
        find<QLineEdit>("remoteTokenLineEdit")->setText(QStringLiteral("wrong"));
        QTest::mouseClick(find<QPushButton>("connectRemoteButton"), Qt::LeftButton);
        QTRY_VERIFY(find<QLabel>("remoteStatusLabel")->text().contains(QStringLiteral("401")));
        QVERIFY(!m_connection->isRemote());

        find<QLineEdit>("remoteTokenLineEdit")->setText(QString::fromStdString(remote.service->adminToken()));
        QTest::mouseClick(find<QPushButton>("connectRemoteButton"), Qt::LeftButton);
        QTRY_COMPARE(find<QLabel>("remoteStatusLabel")->text(), QStringLiteral("Connected."));
        QVERIFY(find<QLabel>("serviceLabel")->text().startsWith(QStringLiteral("Remote service")));
        QTRY_COMPARE(find<QLabel>("dataDirLabel")->text(), remote.runtime->dataDirectory().root());

        // The Sessions page now shows and terminates the remote service's sessions.
        ui::SessionsPage *page = openSessions();
        filter(QStringLiteral("User is"), QStringLiteral("remote-user"));
        QVERIFY(settled(page->model(), 2));
        const int row = page->model()->sessionAt(0)->hash == victim ? 0 : 1;
        selectRows(find<QTableView>("sessionsTableView"), {row});
        QSignalSpy finished(page, &ui::SessionsPage::actionFinished);
        ui::MessageBox::setNextAnswer(QMessageBox::Yes);
        QTest::mouseClick(find<QPushButton>("terminateButton"), Qt::LeftButton);
        QTRY_COMPARE(finished.count(), 1);
        QVERIFY(!remote.runtime->engine().find(victim));
        QVERIFY(settled(page->model(), 1));

        // Settings go to the remote service, not to the embedded one.
        QVERIFY(m_window->showPage(QStringLiteral("sessionManagementPage")));
        auto *idle = find<QLineEdit>("idleTimeoutLineEdit");
        QTRY_VERIFY(idle->isEnabled());
        idle->selectAll();
        QTest::keyClicks(idle, QStringLiteral("42"));
        QTest::mouseClick(find<QPushButton>("updateButton"), Qt::LeftButton);
        QTRY_COMPARE(remote.runtime->engine().policy().area(Area::Admin).idleTimeoutMinutes,
                     std::int64_t(42));
        QCOMPARE(engine().policy().area(Area::Admin).idleTimeoutMinutes, std::int64_t(15));

        // And back to the embedded service.
        QVERIFY(m_window->showPage(QStringLiteral("servicePage")));
        QTest::mouseClick(find<QPushButton>("useEmbeddedButton"), Qt::LeftButton);
        QVERIFY(!m_connection->isRemote());
        QVERIFY(find<QLabel>("serviceLabel")->text().startsWith(QStringLiteral("Embedded service")));
        m_window.reset(); // before `remote` goes away
    }
};

QTEST_MAIN(TestLivePages)
#include "tst_livepages.moc"
