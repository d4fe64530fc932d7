#include "SettingsSchema.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace hourglass {

namespace {

constexpr std::int64_t kMinutesPerDay = 24 * 60;

// Documented defaults (see docs/configuration.md):
// WSO2 Identity Server / Asgardeo session management.
constexpr std::int64_t kDefaultIdleTimeoutMinutes = 15;
constexpr std::int64_t kDefaultRememberMePeriodMinutes = 20160; // 14 days
constexpr std::int64_t kDefaultMaxTimeoutMinutes = 43200;       // 30 days, used only when enabled
// Magento "Max Session Size in Admin/Storefront": 256000 bytes; 0 disables; lower values warn.
constexpr std::int64_t kDefaultMaxSessionSizeBytes = 256000;
// Keycloak authenticationSessions SPI "authSessionsLimit".
constexpr std::int64_t kDefaultAuthSessionsLimit = 300;
// Keycloak's default login timeout for an unfinished login flow.
constexpr std::int64_t kDefaultLoginFlowTimeoutMinutes = 30;
// Anomaly guard: a small office behind one NAT stays well below this.
constexpr std::int64_t kDefaultMaxSessionsPerIp = 100;

// Bounds: long enough for any real deployment, small enough that minute → ms never overflows.
constexpr std::int64_t kMaxTimeoutBoundMinutes = 3650 * kMinutesPerDay; // 10 years
constexpr std::int64_t kMaxSessionSizeBound = 64LL * 1024 * 1024;       // 64 MiB
constexpr std::int64_t kMaxCountBound = 1'000'000;

std::vector<SettingKey> buildKeys()
{
    std::vector<SettingKey> keys;
    for (const Area area : kAreas) {
        const auto idx = static_cast<std::size_t>(area);
        keys.push_back({SettingsSchema::idleTimeoutKey(area),
                        SettingType::Integer,
                        kDefaultIdleTimeoutMinutes,
                        1,
                        kMaxTimeoutBoundMinutes,
                        0,
                        {},
                        "minutes",
                        "Time of inactivity after which a session ends",
                        [idx](const Policy &p) { return p.areas[idx].idleTimeoutMinutes; },
                        [idx](Policy &p, std::int64_t v) {
                            p.areas[idx].idleTimeoutMinutes = v;
                        }});
        keys.push_back({SettingsSchema::rememberMePeriodKey(area),
                        SettingType::Integer,
                        kDefaultRememberMePeriodMinutes,
                        1,
                        kMaxTimeoutBoundMinutes,
                        0,
                        {},
                        "minutes",
                        "Inactivity allowed to a remember-me session instead of the idle timeout",
                        [idx](const Policy &p) { return p.areas[idx].rememberMePeriodMinutes; },
                        [idx](Policy &p, std::int64_t v) {
                            p.areas[idx].rememberMePeriodMinutes = v;
                        }});
        keys.push_back({SettingsSchema::maxTimeoutEnabledKey(area),
                        SettingType::Boolean,
                        0,
                        0,
                        1,
                        0,
                        {},
                        "",
                        "Enforce an absolute session lifetime, counted from authentication",
                        [idx](const Policy &p) { return std::int64_t(p.areas[idx].maxTimeoutEnabled); },
                        [idx](Policy &p, std::int64_t v) {
                            p.areas[idx].maxTimeoutEnabled = v != 0;
                        }});
        keys.push_back({SettingsSchema::maxTimeoutKey(area),
                        SettingType::Integer,
                        kDefaultMaxTimeoutMinutes,
                        1,
                        kMaxTimeoutBoundMinutes,
                        0,
                        {},
                        "minutes",
                        "Absolute session lifetime; applies only when enabled",
                        [idx](const Policy &p) { return p.areas[idx].maxTimeoutMinutes; },
                        [idx](Policy &p, std::int64_t v) {
                            p.areas[idx].maxTimeoutMinutes = v;
                        }});
        keys.push_back({SettingsSchema::maxSessionSizeKey(area),
                        SettingType::Integer,
                        kDefaultMaxSessionSizeBytes,
                        0,
                        kMaxSessionSizeBound,
                        kDefaultMaxSessionSizeBytes,
                        {},
                        "bytes",
                        "Largest session data accepted; 0 disables the limit",
                        [idx](const Policy &p) { return p.areas[idx].maxSessionSizeBytes; },
                        [idx](Policy &p, std::int64_t v) {
                            p.areas[idx].maxSessionSizeBytes = v;
                        }});
        keys.push_back({SettingsSchema::maxSessionsPerUserKey(area),
                        SettingType::Integer,
                        0,
                        0,
                        kMaxCountBound,
                        0,
                        {},
                        "sessions",
                        "Concurrent sessions one user may hold; 0 = unlimited",
                        [idx](const Policy &p) { return p.areas[idx].maxSessionsPerUser; },
                        [idx](Policy &p, std::int64_t v) {
                            p.areas[idx].maxSessionsPerUser = v;
                        }});
        keys.push_back({SettingsSchema::perUserLimitActionKey(area),
                        SettingType::Choice,
                        0,
                        0,
                        1,
                        0,
                        {"deny", "terminate-oldest"},
                        "",
                        "At the per-user limit: refuse the new session, or end the oldest one",
                        [idx](const Policy &p) { return std::int64_t(p.areas[idx].perUserLimitAction); },
                        [idx](Policy &p, std::int64_t v) {
                            p.areas[idx].perUserLimitAction = static_cast<UserLimitAction>(v);
                        }});
    }
    keys.push_back({std::string(SettingsSchema::maxSessionsPerIpKey()),
                    SettingType::Integer,
                    kDefaultMaxSessionsPerIp,
                    0,
                    kMaxCountBound,
                    0,
                    {},
                    "sessions",
                    "Concurrent sessions created from one client IP; 0 = unlimited",
                    [](const Policy &p) { return p.maxSessionsPerIp; },
                    [](Policy &p, std::int64_t v) {
                        p.maxSessionsPerIp = v;
                    }});
    keys.push_back({std::string(SettingsSchema::authSessionsLimitKey()),
                    SettingType::Integer,
                    kDefaultAuthSessionsLimit,
                    1,
                    kMaxCountBound,
                    0,
                    {},
                    "sub-sessions",
                    "Authentication sub-sessions (tabs) per browser; the oldest is evicted at the limit",
                    [](const Policy &p) { return p.authSessionsLimit; },
                    [](Policy &p, std::int64_t v) {
                        p.authSessionsLimit = v;
                    }});
    keys.push_back({std::string(SettingsSchema::loginFlowTimeoutKey()),
                    SettingType::Integer,
                    kDefaultLoginFlowTimeoutMinutes,
                    1,
                    kMinutesPerDay,
                    0,
                    {},
                    "minutes",
                    "Lifetime of an unfinished login flow",
                    [](const Policy &p) { return p.loginFlowTimeoutMinutes; },
                    [](Policy &p, std::int64_t v) {
                        p.loginFlowTimeoutMinutes = v;
                    }});
    return keys;
}

std::string_view trim(std::string_view text)
{
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    return text;
}

std::string lower(std::string_view text)
{
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

ConfigResult fail(ConfigError error, std::string_view path, std::string message)
{
    return {error, std::string(path), std::move(message), 0};
}

std::string areaKey(std::string_view prefix, Area area, std::string_view leaf)
{
    std::string key(prefix);
    key += areaName(area);
    key += '/';
    key += leaf;
    return key;
}

} // namespace

Policy::Policy()
{
    for (const SettingKey &key : SettingsSchema::keys())
        key.set(*this, key.defaultValue);
}

std::string_view areaName(Area area)
{
    return area == Area::Admin ? "admin" : "storefront";
}

std::optional<Area> parseArea(std::string_view name)
{
    if (name == "admin")
        return Area::Admin;
    if (name == "storefront")
        return Area::Storefront;
    return std::nullopt;
}

std::string_view configErrorName(ConfigError error)
{
    switch (error) {
    case ConfigError::None:
        return "ok";
    case ConfigError::UnknownKey:
        return "unknown_key";
    case ConfigError::Empty:
        return "empty";
    case ConfigError::NotANumber:
        return "not_a_number";
    case ConfigError::Negative:
        return "negative";
    case ConfigError::OutOfRange:
        return "out_of_range";
    case ConfigError::NotABoolean:
        return "not_a_boolean";
    case ConfigError::InvalidChoice:
        return "invalid_choice";
    case ConfigError::MaxTimeoutBelowIdleTimeout:
        return "max_timeout_below_idle_timeout";
    case ConfigError::WriteFailed:
        return "write_failed";
    case ConfigError::BelowRecommendedMinimum:
        return "below_recommended_minimum";
    }
    return "unknown";
}

std::span<const SettingKey> SettingsSchema::keys()
{
    static const std::vector<SettingKey> table = buildKeys();
    return table;
}

const SettingKey *SettingsSchema::find(std::string_view path)
{
    for (const SettingKey &key : keys()) {
        if (key.path == path)
            return &key;
    }
    return nullptr;
}

std::string SettingsSchema::idleTimeoutKey(Area area)
{
    return areaKey("session/", area, "idle_timeout");
}

std::string SettingsSchema::rememberMePeriodKey(Area area)
{
    return areaKey("session/", area, "remember_me_period");
}

std::string SettingsSchema::maxTimeoutEnabledKey(Area area)
{
    return areaKey("session/", area, "enable_max_timeout");
}

std::string SettingsSchema::maxTimeoutKey(Area area)
{
    return areaKey("session/", area, "max_timeout");
}

std::string SettingsSchema::maxSessionSizeKey(Area area)
{
    // Magento's own paths: system/security/max_session_size_admin, ..._storefront.
    std::string key("system/security/max_session_size_");
    key += areaName(area);
    return key;
}

std::string SettingsSchema::maxSessionsPerUserKey(Area area)
{
    return areaKey("session/", area, "max_per_user");
}

std::string SettingsSchema::perUserLimitActionKey(Area area)
{
    return areaKey("session/", area, "max_per_user_action");
}

std::string_view SettingsSchema::maxSessionsPerIpKey()
{
    return "session/max_per_ip";
}

std::string_view SettingsSchema::authSessionsLimitKey()
{
    return "authenticationSessions/authSessionsLimit";
}

std::string_view SettingsSchema::loginFlowTimeoutKey()
{
    return "authenticationSessions/loginFlowTimeout";
}

ConfigResult SettingsSchema::parse(const SettingKey &key, std::string_view rawText)
{
    const std::string_view text = trim(rawText);
    if (text.empty())
        return fail(ConfigError::Empty, key.path, key.path + ": a value is required");

    switch (key.type) {
    case SettingType::Boolean: {
        const std::string v = lower(text);
        if (v == "1" || v == "true" || v == "yes" || v == "on")
            return {ConfigError::None, key.path, {}, 1};
        if (v == "0" || v == "false" || v == "no" || v == "off")
            return {ConfigError::None, key.path, {}, 0};
        return fail(ConfigError::NotABoolean, key.path,
                    key.path + ": '" + std::string(text) +
                        "' is not a boolean (use 1/0, true/false, yes/no)");
    }
    case SettingType::Choice: {
        for (std::size_t i = 0; i < key.choices.size(); ++i) {
            if (text == key.choices[i])
                return {ConfigError::None, key.path, {}, static_cast<std::int64_t>(i)};
        }
        std::string allowed;
        for (const std::string_view choice : key.choices) {
            if (!allowed.empty())
                allowed += ", ";
            allowed += choice;
        }
        return fail(ConfigError::InvalidChoice, key.path,
                    key.path + ": '" + std::string(text) + "' is not one of: " + allowed);
    }
    case SettingType::Integer:
        break;
    }

    std::string_view digits = text;
    const bool negative = digits.front() == '-';
    if (negative || digits.front() == '+')
        digits.remove_prefix(1);
    if (digits.empty() ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return fail(ConfigError::NotANumber, key.path,
                    key.path + ": '" + std::string(text) + "' is not a whole number");
    if (negative)
        return fail(ConfigError::Negative, key.path, key.path + ": must not be negative");
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc::result_out_of_range || end != digits.data() + digits.size())
        return fail(ConfigError::OutOfRange, key.path,
                    key.path + ": '" + std::string(text) + "' is too large (maximum " +
                        std::to_string(key.maximum) + ")");
    return {ConfigError::None, key.path, {}, value};
}

ConfigResult SettingsSchema::check(const SettingKey &key, std::int64_t value, Confirmation confirmation)
{
    if (value < 0 && key.type == SettingType::Integer)
        return fail(ConfigError::Negative, key.path, key.path + ": must not be negative");
    if (value < key.minimum || value > key.maximum) {
        std::string unit = key.unit.empty() ? std::string() : " " + std::string(key.unit);
        return fail(ConfigError::OutOfRange, key.path,
                    key.path + ": " + std::to_string(value) + " is outside " + std::to_string(key.minimum) +
                        ".." + std::to_string(key.maximum) + unit);
    }
    if (key.recommendedMinimum > 0 && value > 0 && value < key.recommendedMinimum &&
        confirmation != Confirmation::Confirmed) {
        ConfigResult result =
            fail(ConfigError::BelowRecommendedMinimum, key.path,
                 key.path + ": " + std::to_string(value) + " is below the recommended minimum of " +
                     std::to_string(key.recommendedMinimum) + " " + std::string(key.unit) +
                     "; setting it this low can lock users out. Confirm to keep it.");
        result.value = value;
        return result;
    }
    return {ConfigError::None, key.path, {}, value};
}

ConfigResult SettingsSchema::validate(const Policy &policy)
{
    // Confirmation is the business of whoever entered the value; bounds always apply.
    for (const SettingKey &key : keys()) {
        ConfigResult checked = check(key, key.get(policy), Confirmation::Confirmed);
        if (!checked.ok())
            return checked;
    }
    for (const Area area : kAreas) {
        const AreaPolicy &a = policy.area(area);
        // An absolute lifetime shorter than the idle timeout makes the idle timeout meaningless
        // and is almost always a unit mistake.
        if (a.maxTimeoutEnabled && a.maxTimeoutMinutes < a.idleTimeoutMinutes) {
            return fail(ConfigError::MaxTimeoutBelowIdleTimeout, maxTimeoutKey(area),
                        maxTimeoutKey(area) + ": the maximum session timeout (" +
                            std::to_string(a.maxTimeoutMinutes) +
                            " min) must not be below the idle timeout (" +
                            std::to_string(a.idleTimeoutMinutes) + " min)");
        }
    }
    return {};
}

ConfigResult SettingsSchema::apply(Policy &policy, std::string_view path, std::string_view text,
                                   Confirmation confirmation)
{
    const SettingKey *key = find(path);
    if (!key)
        return fail(ConfigError::UnknownKey, path, "unknown configuration path '" + std::string(path) + "'");
    const ConfigResult parsed = parse(*key, text);
    if (!parsed.ok())
        return parsed;
    return applyValue(policy, path, parsed.value, confirmation);
}

ConfigResult SettingsSchema::applyValue(Policy &policy, std::string_view path, std::int64_t value,
                                        Confirmation confirmation)
{
    const SettingKey *key = find(path);
    if (!key)
        return fail(ConfigError::UnknownKey, path, "unknown configuration path '" + std::string(path) + "'");
    ConfigResult checked = check(*key, value, confirmation);
    if (!checked.ok())
        return checked;
    Policy candidate = policy;
    key->set(candidate, value);
    ConfigResult cross = validate(candidate);
    if (!cross.ok())
        return cross;
    policy = candidate;
    return checked;
}

ConfigResult SettingsSchema::applyAll(Policy &policy,
                                      const std::vector<std::pair<std::string, std::string>> &entries,
                                      Confirmation confirmation)
{
    Policy candidate = policy;
    for (const auto &[path, text] : entries) {
        const SettingKey *key = find(path);
        if (!key)
            return fail(ConfigError::UnknownKey, path, "unknown configuration path '" + path + "'");
        const ConfigResult parsed = parse(*key, text);
        if (!parsed.ok())
            return parsed;
        const ConfigResult checked = check(*key, parsed.value, confirmation);
        if (!checked.ok())
            return checked;
        key->set(candidate, checked.value);
    }
    const ConfigResult cross = validate(candidate);
    if (!cross.ok())
        return cross;
    policy = candidate;
    return {};
}

std::string SettingsSchema::format(const SettingKey &key, std::int64_t value)
{
    switch (key.type) {
    case SettingType::Boolean:
        return value ? "1" : "0";
    case SettingType::Choice:
        if (value >= 0 && static_cast<std::size_t>(value) < key.choices.size())
            return std::string(key.choices[static_cast<std::size_t>(value)]);
        return std::to_string(value);
    case SettingType::Integer:
        break;
    }
    return std::to_string(value);
}

} // namespace hourglass
