#include "SettingsSchema.h"

#include <QTest>

using namespace hourglass;

namespace {
QByteArray q(const std::string &s)
{
    return QByteArray::fromStdString(s);
}
} // namespace

class TestSettingsSchema final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void defaultsMatchTheDocumentedProducts()
    {
        const Policy p;
        for (const Area area : kAreas) {
            QCOMPARE(p.area(area).idleTimeoutMinutes, 15);
            QCOMPARE(p.area(area).rememberMePeriodMinutes, 20160);
            QCOMPARE(p.area(area).maxTimeoutEnabled, false);
            QCOMPARE(p.area(area).maxTimeoutMinutes, 43200);
            QCOMPARE(p.area(area).maxSessionSizeBytes, 256000);
            QCOMPARE(p.area(area).maxSessionsPerUser, 0);
            QCOMPARE(p.area(area).perUserLimitAction, UserLimitAction::Deny);
        }
        QCOMPARE(p.authSessionsLimit, 300);
        QCOMPARE(p.loginFlowTimeoutMinutes, 30);
        QCOMPARE(p.maxSessionsPerIp, 100);
    }

    void documentedPathsExist()
    {
        QVERIFY(SettingsSchema::find("system/security/max_session_size_admin"));
        QVERIFY(SettingsSchema::find("system/security/max_session_size_storefront"));
        QVERIFY(SettingsSchema::find("authenticationSessions/authSessionsLimit"));
        QVERIFY(SettingsSchema::find("session/admin/idle_timeout"));
        QVERIFY(SettingsSchema::find("session/storefront/remember_me_period"));
        QVERIFY(SettingsSchema::find("session/admin/enable_max_timeout"));
        QVERIFY(SettingsSchema::find("session/admin/max_timeout"));
        QVERIFY(!SettingsSchema::find("system/security/max_session_size"));
    }

    void badValuesAreTypedErrorsAndChangeNothing_data()
    {
        QTest::addColumn<QByteArray>("path");
        QTest::addColumn<QByteArray>("value");
        QTest::addColumn<int>("error");
        const auto add = [](const char *name, const std::string &path, const char *value, ConfigError error) {
            QTest::newRow(name) << q(path) << QByteArray(value) << int(error);
        };
        add("unknown key", "system/security/nope", "1", ConfigError::UnknownKey);
        add("empty", SettingsSchema::idleTimeoutKey(Area::Admin), "", ConfigError::Empty);
        add("blank", SettingsSchema::idleTimeoutKey(Area::Admin), "   ", ConfigError::Empty);
        add("letters", SettingsSchema::idleTimeoutKey(Area::Admin), "abc", ConfigError::NotANumber);
        add("trailing garbage", SettingsSchema::idleTimeoutKey(Area::Admin), "15m", ConfigError::NotANumber);
        add("decimal", SettingsSchema::idleTimeoutKey(Area::Admin), "1.5", ConfigError::NotANumber);
        add("hex", SettingsSchema::maxSessionSizeKey(Area::Admin), "0x100", ConfigError::NotANumber);
        add("negative", SettingsSchema::maxSessionSizeKey(Area::Admin), "-1", ConfigError::Negative);
        add("overflow", SettingsSchema::maxSessionSizeKey(Area::Admin), "99999999999999999999999",
            ConfigError::OutOfRange);
        add("above bound", SettingsSchema::maxSessionSizeKey(Area::Admin), "67108865",
            ConfigError::OutOfRange);
        add("zero idle", SettingsSchema::idleTimeoutKey(Area::Storefront), "0", ConfigError::OutOfRange);
        add("zero auth limit", std::string(SettingsSchema::authSessionsLimitKey()), "0",
            ConfigError::OutOfRange);
        add("bad bool", SettingsSchema::maxTimeoutEnabledKey(Area::Admin), "maybe", ConfigError::NotABoolean);
        add("bad choice", SettingsSchema::perUserLimitActionKey(Area::Admin), "kill",
            ConfigError::InvalidChoice);
        add("below recommended", SettingsSchema::maxSessionSizeKey(Area::Admin), "1000",
            ConfigError::BelowRecommendedMinimum);
        add("one below recommended", SettingsSchema::maxSessionSizeKey(Area::Storefront), "255999",
            ConfigError::BelowRecommendedMinimum);
    }

    void badValuesAreTypedErrorsAndChangeNothing()
    {
        QFETCH(QByteArray, path);
        QFETCH(QByteArray, value);
        QFETCH(int, error);
        Policy policy;
        const Policy before = policy;
        const ConfigResult r = SettingsSchema::apply(policy, path.toStdString(), value.toStdString(),
                                                     Confirmation::NotConfirmed);
        QCOMPARE(int(r.error), error);
        QVERIFY(!r.ok());
        QVERIFY(!r.message.empty());
        QVERIFY(policy == before);
    }

    void sizeLimitBoundaries()
    {
        const std::string key = SettingsSchema::maxSessionSizeKey(Area::Admin);
        Policy p;
        QVERIFY(SettingsSchema::apply(p, key, "256000", Confirmation::NotConfirmed).ok());
        QVERIFY(SettingsSchema::apply(p, key, "256001", Confirmation::NotConfirmed).ok());
        QCOMPARE(p.area(Area::Admin).maxSessionSizeBytes, 256001);
        // 0 disables the limit and is not "below the minimum".
        QVERIFY(SettingsSchema::apply(p, key, "0", Confirmation::NotConfirmed).ok());
        QCOMPARE(p.area(Area::Admin).maxSessionSizeBytes, 0);
        const ConfigResult low = SettingsSchema::apply(p, key, "1000", Confirmation::NotConfirmed);
        QVERIFY(low.needsConfirmation());
        QCOMPARE(low.value, 1000);
        QCOMPARE(p.area(Area::Admin).maxSessionSizeBytes, 0);
        QVERIFY(SettingsSchema::apply(p, key, "1000", Confirmation::Confirmed).ok());
        QCOMPARE(p.area(Area::Admin).maxSessionSizeBytes, 1000);
        QCOMPARE(p.area(Area::Storefront).maxSessionSizeBytes, 256000);
    }

    void maxTimeoutMustNotBeBelowIdleTimeoutWhenEnabled()
    {
        Policy p;
        QVERIFY(SettingsSchema::apply(p, SettingsSchema::maxTimeoutKey(Area::Admin), "10",
                                      Confirmation::NotConfirmed)
                    .ok());
        // Disabled: a short max timeout is stored but not yet a conflict.
        const ConfigResult enable = SettingsSchema::apply(
            p, SettingsSchema::maxTimeoutEnabledKey(Area::Admin), "true", Confirmation::NotConfirmed);
        QCOMPARE(enable.error, ConfigError::MaxTimeoutBelowIdleTimeout);
        QCOMPARE(p.area(Area::Admin).maxTimeoutEnabled, false);
        QVERIFY(SettingsSchema::apply(p, SettingsSchema::maxTimeoutKey(Area::Admin), "15",
                                      Confirmation::NotConfirmed)
                    .ok());
        QVERIFY(SettingsSchema::apply(p, SettingsSchema::maxTimeoutEnabledKey(Area::Admin), "yes",
                                      Confirmation::NotConfirmed)
                    .ok());
        QCOMPARE(p.area(Area::Admin).maxTimeoutEnabled, true);
        const ConfigResult idle = SettingsSchema::apply(p, SettingsSchema::idleTimeoutKey(Area::Admin), "16",
                                                        Confirmation::NotConfirmed);
        QCOMPARE(idle.error, ConfigError::MaxTimeoutBelowIdleTimeout);
        QCOMPARE(p.area(Area::Admin).idleTimeoutMinutes, 15);
    }

    void parsingAcceptsWhitespaceAndBooleanSpellings()
    {
        Policy p;
        QVERIFY(SettingsSchema::apply(p, SettingsSchema::idleTimeoutKey(Area::Admin), " 30 ",
                                      Confirmation::NotConfirmed)
                    .ok());
        QCOMPARE(p.area(Area::Admin).idleTimeoutMinutes, 30);
        for (const char *yes : {"1", "true", "TRUE", "yes", "on"}) {
            Policy b;
            QVERIFY(SettingsSchema::apply(b, SettingsSchema::maxTimeoutEnabledKey(Area::Storefront), yes,
                                          Confirmation::NotConfirmed)
                        .ok());
            QVERIFY(b.area(Area::Storefront).maxTimeoutEnabled);
        }
        QVERIFY(SettingsSchema::apply(p, SettingsSchema::perUserLimitActionKey(Area::Admin),
                                      "terminate-oldest", Confirmation::NotConfirmed)
                    .ok());
        QCOMPARE(p.area(Area::Admin).perUserLimitAction, UserLimitAction::TerminateOldest);
    }

    void applyAllIsOrderIndependentAndAllOrNothing()
    {
        Policy p;
        // Raising idle above the current max only works together with raising max.
        const std::vector<std::pair<std::string, std::string>> entries{
            {SettingsSchema::maxTimeoutEnabledKey(Area::Admin), "1"},
            {SettingsSchema::idleTimeoutKey(Area::Admin), "60"},
            {SettingsSchema::maxTimeoutKey(Area::Admin), "120"}};
        QVERIFY(SettingsSchema::applyAll(p, entries, Confirmation::NotConfirmed).ok());
        QCOMPARE(p.area(Area::Admin).idleTimeoutMinutes, 60);
        QCOMPARE(p.area(Area::Admin).maxTimeoutMinutes, 120);
        const Policy before = p;
        const ConfigResult bad =
            SettingsSchema::applyAll(p,
                                     {{SettingsSchema::idleTimeoutKey(Area::Storefront), "5"},
                                      {SettingsSchema::maxTimeoutKey(Area::Admin), "30"}},
                                     Confirmation::NotConfirmed);
        QCOMPARE(bad.error, ConfigError::MaxTimeoutBelowIdleTimeout);
        QVERIFY(p == before); // the valid first entry was not applied either
        const ConfigResult low = SettingsSchema::applyAll(
            p, {{SettingsSchema::maxSessionSizeKey(Area::Storefront), "5000"}}, Confirmation::NotConfirmed);
        QVERIFY(low.needsConfirmation());
        QVERIFY(p == before);
    }

    void formatRoundTripsEveryKey()
    {
        const Policy p;
        for (const SettingKey &key : SettingsSchema::keys()) {
            Policy copy;
            const std::string text = SettingsSchema::format(key, key.get(p));
            QVERIFY2(SettingsSchema::apply(copy, key.path, text, Confirmation::NotConfirmed).ok(),
                     key.path.c_str());
            QCOMPARE(key.get(copy), key.get(p));
            QVERIFY(!key.description.empty());
            QCOMPARE(key.defaultValue, key.get(p));
        }
    }
};

QTEST_GUILESS_MAIN(TestSettingsSchema)
#include "tst_settingsschema.moc"
