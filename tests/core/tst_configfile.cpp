#include "ConfigFile.h"
#include "FileSizeLimit.h"
#include "SettingsSchema.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

using namespace hourglass;

namespace {

QString fixture(const QString &name)
{
    return QStringLiteral(HOURGLASS_TEST_FIXTURES) + QStringLiteral("/config/") + name;
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

class TestConfigFile final : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;

    QString copyFixture(const QString &name)
    {
        const QString target = m_dir.filePath(name);
        QFile::remove(target);
        QFile::remove(target + QStringLiteral(".v1.bak"));
        if (!QFile::copy(fixture(name), target))
            qFatal("cannot copy fixture %s", qPrintable(name));
        QFile::setPermissions(target, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        return target;
    }

private Q_SLOTS:
    void packagedDefaultConfigurationIsValidAndHoldsTheDefaults()
    {
        // installer/etc/hourglass.json becomes /etc/hourglass/hourglass.json in the .deb.
        const ConfigFile::LoadResult r =
            ConfigFile(QStringLiteral(HOURGLASS_TEST_FIXTURES "/../../installer/etc/hourglass.json")).load();
        QVERIFY2(r.ok, qPrintable(r.error));
        QVERIFY(r.policy == Policy());
        QCOMPARE(
            r.sections.value(QStringLiteral("service")).toObject().value(QStringLiteral("bind")).toString(),
            QStringLiteral("127.0.0.1"));
    }

    void missingFileMeansDefaults()
    {
        const ConfigFile::LoadResult r = ConfigFile(m_dir.filePath(QStringLiteral("none.json"))).load();
        QVERIFY(r.ok);
        QVERIFY(!r.existed);
        QVERIFY(r.policy == Policy());
    }

    void saveAndLoadRoundTrip()
    {
        const QString path = m_dir.filePath(QStringLiteral("sub/dir/hourglass.json"));
        Policy p;
        p.area(Area::Admin).idleTimeoutMinutes = 42;
        p.area(Area::Storefront).maxTimeoutEnabled = true;
        p.area(Area::Storefront).perUserLimitAction = UserLimitAction::TerminateOldest;
        p.authSessionsLimit = 7;
        QJsonObject sections{{QStringLiteral("service"), QJsonObject{{QStringLiteral("port"), 8410}}}};
        QString error;
        QVERIFY2(ConfigFile(path).save(p, sections, &error), qPrintable(error));
        const ConfigFile::LoadResult r = ConfigFile(path).load();
        QVERIFY2(r.ok, qPrintable(r.error));
        QVERIFY(r.policy == p);
        QCOMPARE(r.sections, sections);
        QVERIFY(!(QFile::permissions(path) & QFileDevice::ReadOther));
    }

    void validFixtureLoads()
    {
        const ConfigFile::LoadResult r = ConfigFile(copyFixture(QStringLiteral("valid-custom.json"))).load();
        QVERIFY2(r.ok, qPrintable(r.error));
        QCOMPARE(r.policy.area(Area::Admin).idleTimeoutMinutes, 60);
        QCOMPARE(r.policy.area(Area::Admin).maxTimeoutMinutes, 120);
        QVERIFY(r.policy.area(Area::Admin).maxTimeoutEnabled);
        QCOMPARE(r.policy.area(Area::Storefront).maxSessionSizeBytes, 1000); // confirmed when written
        QCOMPARE(r.policy.area(Area::Storefront).perUserLimitAction, UserLimitAction::TerminateOldest);
        QCOMPARE(r.policy.authSessionsLimit, 100);
        QCOMPARE(r.sections.value(QStringLiteral("service")).toObject().value(QStringLiteral("port")).toInt(),
                 8410);
    }

    void brokenFilesAreReportedAndLeftAlone_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("expected");
        QTest::newRow("truncated") << QStringLiteral("truncated.json") << QStringLiteral("at byte");
        QTest::newRow("binary") << QStringLiteral("binary-garbage.json") << QStringLiteral("damaged");
        QTest::newRow("not an object")
            << QStringLiteral("not-an-object.json") << QStringLiteral("not a JSON object");
        QTest::newRow("missing schema")
            << QStringLiteral("missing-schema.json") << QStringLiteral("\"schema\"");
        QTest::newRow("newer schema")
            << QStringLiteral("newer-schema.json") << QStringLiteral("newer Hourglass");
        QTest::newRow("unknown key") << QStringLiteral("unknown-key.json")
                                     << QStringLiteral("idle_timeout_typo");
        QTest::newRow("wrong type") << QStringLiteral("wrong-type.json") << QStringLiteral("whole number");
        QTest::newRow("fractional") << QStringLiteral("fractional.json") << QStringLiteral("whole number");
        QTest::newRow("negative") << QStringLiteral("negative-size.json") << QStringLiteral("negative");
        QTest::newRow("max below idle")
            << QStringLiteral("max-below-idle.json") << QStringLiteral("must not be below");
    }

    void brokenFilesAreReportedAndLeftAlone()
    {
        QFETCH(QString, name);
        QFETCH(QString, expected);
        const QString path = copyFixture(name);
        const QByteArray before = readAll(path);
        const ConfigFile::LoadResult r = ConfigFile(path).load();
        QVERIFY(!r.ok);
        QVERIFY2(r.error.contains(path), qPrintable(r.error));     // names the file
        QVERIFY2(r.error.contains(expected), qPrintable(r.error)); // says what is wrong
        QVERIFY2(r.error.contains(QStringLiteral("did not change")),
                 qPrintable(r.error)); // and that it is intact
        QCOMPARE(readAll(path), before);
        QVERIFY(!QFile::exists(path + QStringLiteral(".v1.bak")));
    }

    void schema1IsMigrated()
    {
        const QString path = copyFixture(QStringLiteral("schema1.json"));
        const QByteArray original = readAll(path);
        const ConfigFile::LoadResult r = ConfigFile(path).load();
        QVERIFY2(r.ok, qPrintable(r.error));
        QCOMPARE(r.migratedFrom, 1);
        for (const Area area : kAreas) {
            QCOMPARE(r.policy.area(area).idleTimeoutMinutes, 30);         // 1800 s
            QCOMPARE(r.policy.area(area).rememberMePeriodMinutes, 10080); // 7 days
            QVERIFY(r.policy.area(area).maxTimeoutEnabled);
            QCOMPARE(r.policy.area(area).maxTimeoutMinutes, 1441); // 86430 s rounds up
        }
        QCOMPARE(r.policy.area(Area::Admin).maxSessionSizeBytes, 512000);
        QCOMPARE(r.policy.area(Area::Storefront).maxSessionSizeBytes, 256000);
        QCOMPARE(r.policy.authSessionsLimit, 50);
        // The original is kept; the file now has the current schema and loads without migrating.
        QCOMPARE(readAll(path + QStringLiteral(".v1.bak")), original);
        QCOMPARE(QJsonDocument::fromJson(readAll(path)).object().value(QStringLiteral("schema")).toInt(),
                 ConfigFile::kSchemaVersion);
        const ConfigFile::LoadResult again = ConfigFile(path).load();
        QVERIFY(again.ok);
        QCOMPARE(again.migratedFrom, 0);
        QVERIFY(again.policy == r.policy);
    }

    void failedSaveKeepsTheOldFile()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("hourglass.json"));
        QString error;
        QVERIFY(ConfigFile(path).save(Policy(), {}, &error));
        const QByteArray before = readAll(path);
        QVERIFY(before.size() > 200);
        // Make every write past 200 bytes fail (EFBIG), even for root, as a full disk would.
        test::FileSizeLimit small(200);
        QVERIFY(small.active());
        Policy p;
        p.area(Area::Admin).idleTimeoutMinutes = 99;
        const bool saved99 = ConfigFile(path).save(p, {}, &error);
        small.restore();
        QVERIFY(!saved99);
        QVERIFY(error.contains(path));
        QCOMPARE(readAll(path), before);
        QCOMPARE(ConfigFile(path).load().policy.area(Area::Admin).idleTimeoutMinutes, 15);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files),
                 QStringList{QStringLiteral("hourglass.json")}); // no temp left
    }
};

QTEST_GUILESS_MAIN(TestConfigFile)
#include "tst_configfile.moc"
