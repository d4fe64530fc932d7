#include "EmbeddedAdminClient.h"
#include "MainWindow.h"
#include "MessageBox.h"
#include "Runtime.h"
#include "SessionService.h"

#include <QClipboard>
#include <QGuiApplication>
#include <QJsonObject>

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QStackedWidget>
#include <QTemporaryDir>
#include <QTest>

using namespace hourglass;

class TestSettingsPages final : public QObject
{
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<Runtime> m_runtime;
    std::unique_ptr<EmbeddedAdminClient> m_client;
    std::unique_ptr<ui::MainWindow> m_window;

    template<typename T> T *find(const char *name)
    {
        T *widget = m_window->findChild<T *>(QString::fromLatin1(name));
        if (!widget)
            qFatal("no widget %s", name);
        return widget;
    }

    void setText(QLineEdit *edit, const QString &text)
    {
        QTRY_VERIFY(edit->isEnabled()); // its page has loaded its values
        edit->setFocus();
        edit->selectAll();
        QTest::keyClick(edit, Qt::Key_Delete);
        QTest::keyClicks(edit, text);
    }

    QByteArray configBytes()
    {
        QFile f(m_runtime->dataDirectory().configFile());
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }

private Q_SLOTS:
    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        Runtime::Options o;
        o.dataDir = m_dir->path();
        o.maintenance = false;
        Runtime::OpenError code;
        QString error;
        m_runtime = Runtime::open(o, &code, &error);
        QVERIFY2(m_runtime, qPrintable(error));
        m_client = std::make_unique<EmbeddedAdminClient>(*m_runtime, nullptr, 20);
        m_window = std::make_unique<ui::MainWindow>(*m_client);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        // Pages load their values asynchronously.
        QTRY_COMPARE(find<QLineEdit>("idleTimeoutLineEdit")->text(), QStringLiteral("15"));
    }

    void cleanup()
    {
        m_window.reset();
        m_client.reset();
        m_runtime.reset();
        m_dir.reset();
    }

    void fieldsStayDisabledUntilTheirValuesHaveLoaded()
    {
        // A page whose load has not been answered yet: the admin cannot type into it (the load
        // would overwrite the input). The client answers on the event loop, so right after
        // construction nothing has been delivered.
        ui::MainWindow second(*m_client);
        auto *field = second.findChild<QLineEdit *>(QStringLiteral("maxSessionSizeAdminLineEdit"));
        QVERIFY(field);
        QVERIFY(!field->isEnabled());
        QTRY_VERIFY(field->isEnabled());
        QCOMPARE(field->text(), QStringLiteral("256000"));
    }

    void navigationMirrorsTheDocumentedConsoles()
    {
        QVERIFY(m_window->showPage(QStringLiteral("securityPage")));
        QCOMPARE(find<QStackedWidget>("pagesStackedWidget")->currentWidget()->objectName(),
                 QStringLiteral("securityPage"));
        QVERIFY(m_window->showPage(QStringLiteral("authenticationSessionsPage")));
        QVERIFY(m_window->showPage(QStringLiteral("servicePage")));
        QVERIFY(m_window->showPage(QStringLiteral("sessionManagementPage")));
        QVERIFY(!m_window->showPage(QStringLiteral("noSuchPage")));
    }

    void idleTimeoutChangeIsAppliedByTheEngine()
    {
        const std::string token =
            m_runtime->engine().create({"alice", Area::Admin, false, "127.0.0.1", "ua"}).token;
        setText(find<QLineEdit>("idleTimeoutLineEdit"), QStringLiteral("45"));
        QTest::mouseClick(find<QPushButton>("updateButton"), Qt::LeftButton);
        QTRY_COMPARE(m_runtime->engine().policy().area(Area::Admin).idleTimeoutMinutes, 45);
        const SessionInfo info = m_runtime->engine().validate(token).info;
        QCOMPARE(info.idleDeadlineMs - info.lastActivityMs, 45 * kMsPerMinute);
        QVERIFY(configBytes().contains("\"session/admin/idle_timeout\": 45"));
        QTRY_COMPARE(find<QLabel>("sessionManagementStatusLabel")->text(),
                     QStringLiteral("Session management settings updated."));
    }

    void storefrontAreaIsIndependent()
    {
        auto *area = find<QComboBox>("areaComboBox");
        area->setCurrentIndex(area->findData(int(Area::Storefront)));
        setText(find<QLineEdit>("rememberMePeriodLineEdit"), QStringLiteral("600"));
        QTest::mouseClick(find<QPushButton>("updateButton"), Qt::LeftButton);
        QTRY_COMPARE(m_runtime->engine().policy().area(Area::Storefront).rememberMePeriodMinutes, 600);
        QCOMPARE(m_runtime->engine().policy().area(Area::Admin).rememberMePeriodMinutes, 20160);
    }

    void maximumTimeoutFieldFollowsTheCheckBox()
    {
        auto *check = find<QCheckBox>("maxTimeoutEnabledCheckBox");
        auto *field = find<QLineEdit>("maxTimeoutLineEdit");
        QVERIFY(!check->isChecked());
        QVERIFY(!field->isEnabled());
        QCOMPARE(field->text(), QStringLiteral("43200"));
        QTest::mouseClick(check, Qt::LeftButton, {}, QPoint(4, check->height() / 2));
        QVERIFY(field->isEnabled());
        setText(field, QStringLiteral("120"));
        QTest::mouseClick(find<QPushButton>("updateButton"), Qt::LeftButton);
        QTRY_VERIFY(m_runtime->engine().policy().area(Area::Admin).maxTimeoutEnabled);
        QCOMPARE(m_runtime->engine().policy().area(Area::Admin).maxTimeoutMinutes, 120);
    }

    void badInputShowsAnInlineErrorAndSavesNothing()
    {
        const QByteArray before = configBytes();
        setText(find<QLineEdit>("idleTimeoutLineEdit"), QStringLiteral("abc"));
        setText(find<QLineEdit>("rememberMePeriodLineEdit"), QStringLiteral("-5"));
        QTest::mouseClick(find<QPushButton>("updateButton"), Qt::LeftButton);
        auto *idleError = find<QLabel>("idleTimeoutErrorLabel");
        auto *rememberError = find<QLabel>("rememberMePeriodErrorLabel");
        QVERIFY(idleError->isVisible());
        QCOMPARE(idleError->text(), QStringLiteral("Enter a whole number."));
        QVERIFY(rememberError->isVisible());
        QCOMPARE(rememberError->text(), QStringLiteral("The value must not be negative."));
        QTest::qWait(100);
        m_client->waitForIdle();
        QCOMPARE(configBytes(), before);
        QCOMPARE(m_runtime->engine().policy(), Policy());
    }

    void crossFieldErrorIsShownAtTheMaximumTimeout()
    {
        QTest::mouseClick(find<QCheckBox>("maxTimeoutEnabledCheckBox"), Qt::LeftButton, {}, QPoint(4, 8));
        setText(find<QLineEdit>("maxTimeoutLineEdit"), QStringLiteral("10"));
        QTest::mouseClick(find<QPushButton>("updateButton"), Qt::LeftButton);
        auto *maxError = find<QLabel>("maxTimeoutErrorLabel");
        QTRY_VERIFY(maxError->isVisible());
        QVERIFY(maxError->text().contains(QStringLiteral("must not be shorter")));
        QCOMPARE(m_runtime->engine().policy(), Policy());
    }

    void sizeBelowMinimumAnsweredNoResetsTo256000()
    {
        m_window->showPage(QStringLiteral("securityPage"));
        setText(find<QLineEdit>("maxSessionSizeAdminLineEdit"), QStringLiteral("1000"));
        ui::MessageBox::setNextAnswer(QMessageBox::No);
        QTest::mouseClick(find<QPushButton>("saveConfigButton"), Qt::LeftButton);
        QCOMPARE(find<QLineEdit>("maxSessionSizeAdminLineEdit")->text(), QStringLiteral("256000"));
        m_client->waitForIdle();
        QTRY_VERIFY(configBytes().contains("\"system/security/max_session_size_admin\": 256000"));
        QCOMPARE(m_runtime->engine().policy().area(Area::Admin).maxSessionSizeBytes, 256000);
    }

    void sizeBelowMinimumAnsweredYesKeepsIt()
    {
        m_window->showPage(QStringLiteral("securityPage"));
        setText(find<QLineEdit>("maxSessionSizeAdminLineEdit"), QStringLiteral("1000"));
        ui::MessageBox::setNextAnswer(QMessageBox::Yes);
        QTest::mouseClick(find<QPushButton>("saveConfigButton"), Qt::LeftButton);
        QTRY_COMPARE(m_runtime->engine().policy().area(Area::Admin).maxSessionSizeBytes, 1000);
        QVERIFY(configBytes().contains("\"system/security/max_session_size_admin\": 1000"));
        QCOMPARE(m_runtime->engine().policy().area(Area::Storefront).maxSessionSizeBytes, 256000);
    }

    void zeroDisablesWithoutAsking()
    {
        m_window->showPage(QStringLiteral("securityPage"));
        setText(find<QLineEdit>("maxSessionSizeStorefrontLineEdit"), QStringLiteral("0"));
        ui::MessageBox::setNextAnswer(QMessageBox::No); // must not be consumed
        QTest::mouseClick(find<QPushButton>("saveConfigButton"), Qt::LeftButton);
        QTRY_COMPARE(m_runtime->engine().policy().area(Area::Storefront).maxSessionSizeBytes, 0);
        ui::MessageBox::setNextAnswer(QMessageBox::NoButton);
    }

    void servicePageShowsTheEmbeddedService()
    {
        m_window->showPage(QStringLiteral("servicePage"));
        QTRY_COMPARE(find<QLabel>("serviceStatusLabel")->text(), QStringLiteral("Not running: not started"));
        QVERIFY(!find<QPushButton>("copyTokenButton")->isEnabled());
        QJsonObject section{{QStringLiteral("port"), 0}};
        service::SessionService::Options options;
        QString error;
        QVERIFY(service::SessionService::optionsFromConfig(section, &options, &error));
        service::SessionService svc(*m_runtime, options);
        QVERIFY2(svc.start(&error), qPrintable(error));
        m_client->setService(&svc, {});
        QTRY_COMPARE(find<QLabel>("serviceStatusLabel")->text(), QStringLiteral("Running"));
        QCOMPARE(find<QLabel>("serviceUrlLabel")->text().toStdString(), svc.url());
        QTest::mouseClick(find<QPushButton>("copyTokenButton"), Qt::LeftButton);
        QCOMPARE(QGuiApplication::clipboard()->text().toStdString(), svc.adminToken());
        // Counters follow sessions created through the service.
        m_runtime->engine().create({"alice", Area::Admin, false, "127.0.0.1", "ua"});
        QTRY_COMPARE(find<QLabel>("activeAdminLabel")->text(), QStringLiteral("1"));
        m_client->setService(nullptr, QStringLiteral("port in use"));
        QTRY_COMPARE(find<QLabel>("serviceStatusLabel")->text(), QStringLiteral("Not running: port in use"));
    }

    void authenticationSessionsPageShowsCountsAndSavesTheLimit()
    {
        m_window->showPage(QStringLiteral("authenticationSessionsPage"));
        const AuthStartResult root = m_runtime->engine().startAuthentication("", "192.0.2.1");
        m_runtime->engine().startAuthentication(root.rootToken, "192.0.2.1");
        QTRY_COMPARE(find<QLabel>("tabsLabel")->text(), QStringLiteral("2"));
        QCOMPARE(find<QLabel>("rootsLabel")->text(), QStringLiteral("1"));
        setText(find<QLineEdit>("authSessionsLimitLineEdit"), QStringLiteral("100"));
        QTest::mouseClick(find<QPushButton>("authenticationSessionsSaveButton"), Qt::LeftButton);
        QTRY_COMPARE(m_runtime->engine().policy().authSessionsLimit, 100);
    }
};

QTEST_MAIN(TestSettingsPages)
#include "tst_settingspages.moc"
