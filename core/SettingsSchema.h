#pragma once

#include "Policy.h"

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hourglass {

enum class SettingType : std::uint8_t
{
    Integer,
    Boolean,
    Choice,
};

// One row of the settings key table: key path → type, default, bounds, and how to read/write it in
// a Policy. The UI, hourglass-ctl and the HTTP admin API all go through this table.
struct SettingKey
{
    std::string path;
    SettingType type = SettingType::Integer;
    std::int64_t defaultValue = 0;
    std::int64_t minimum = 0;
    std::int64_t maximum = 0;
    // Values in (0, recommendedMinimum) are accepted only with an explicit confirmation
    // (Magento warns below 256000 bytes and resets to 256000 when the admin answers No).
    std::int64_t recommendedMinimum = 0;
    std::vector<std::string_view> choices; // for SettingType::Choice, indexed by value
    std::string_view unit;
    std::string_view description;
    std::function<std::int64_t(const Policy &)> get;
    std::function<void(Policy &, std::int64_t)> set;
};

enum class ConfigError : std::uint8_t
{
    None,
    UnknownKey,
    Empty,
    NotANumber,
    Negative,
    OutOfRange,
    NotABoolean,
    InvalidChoice,
    MaxTimeoutBelowIdleTimeout,
    WriteFailed,             // the configuration could not be persisted; nothing was applied
    BelowRecommendedMinimum, // not fatal: the caller must ask and retry with confirmation
};

std::string_view configErrorName(ConfigError error);

struct ConfigResult
{
    ConfigError error = ConfigError::None;
    std::string path;
    std::string message;
    std::int64_t value = 0; // the parsed value when parsing succeeded

    bool ok() const { return error == ConfigError::None; }
    bool needsConfirmation() const { return error == ConfigError::BelowRecommendedMinimum; }
};

enum class Confirmation : std::uint8_t
{
    NotConfirmed,
    Confirmed,
};

class SettingsSchema
{
public:
    static std::span<const SettingKey> keys();
    static const SettingKey *find(std::string_view path);

    // Path helpers so callers never spell keys by hand.
    static std::string idleTimeoutKey(Area area);
    static std::string rememberMePeriodKey(Area area);
    static std::string maxTimeoutEnabledKey(Area area);
    static std::string maxTimeoutKey(Area area);
    static std::string maxSessionSizeKey(Area area);
    static std::string maxSessionsPerUserKey(Area area);
    static std::string perUserLimitActionKey(Area area);
    static std::string_view maxSessionsPerIpKey();
    static std::string_view authSessionsLimitKey();
    static std::string_view loginFlowTimeoutKey();

    // Parses text for one key (strict: no trailing garbage, no silent clamping).
    static ConfigResult parse(const SettingKey &key, std::string_view text);
    // Checks a typed value against the key's bounds and recommended minimum.
    static ConfigResult check(const SettingKey &key, std::int64_t value, Confirmation confirmation);
    // Every key within its bounds, and the rules that span several keys.
    static ConfigResult validate(const Policy &policy);

    // Parses, checks and applies one value to a copy of policy; on success assigns the copy.
    // On any error policy is left untouched.
    static ConfigResult apply(Policy &policy, std::string_view path, std::string_view text,
                              Confirmation confirmation);
    static ConfigResult applyValue(Policy &policy, std::string_view path, std::int64_t value,
                                   Confirmation confirmation);

    // Several values at once, all or nothing: each value is parsed and bounds-checked, then the
    // cross-key rules are checked on the result, so the order of the entries does not matter.
    static ConfigResult applyAll(Policy &policy,
                                 const std::vector<std::pair<std::string, std::string>> &entries,
                                 Confirmation confirmation);

    static std::string format(const SettingKey &key, std::int64_t value);
};

} // namespace hourglass
