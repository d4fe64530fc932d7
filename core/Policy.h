#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hourglass {

// Sessions live in one of two areas with independent policy, as in Magento's admin/storefront split.
enum class Area : std::uint8_t
{
    Admin = 0,
    Storefront = 1,
};

constexpr std::array<Area, 2> kAreas{Area::Admin, Area::Storefront};

std::string_view areaName(Area area);
std::optional<Area> parseArea(std::string_view name);

// What happens when a user already holds the per-user maximum of concurrent sessions.
enum class UserLimitAction : std::uint8_t
{
    Deny = 0,
    TerminateOldest = 1,
};

// Session policy of one area. Defaults and bounds are documented in one place, the settings key
// table (SettingsSchema.cpp); a default-constructed Policy carries those defaults.
struct AreaPolicy
{
    std::int64_t idleTimeoutMinutes = 0;
    std::int64_t rememberMePeriodMinutes = 0;
    bool maxTimeoutEnabled = false;
    std::int64_t maxTimeoutMinutes = 0;
    std::int64_t maxSessionSizeBytes = 0; // 0 disables the limit
    std::int64_t maxSessionsPerUser = 0;  // 0 = unlimited
    UserLimitAction perUserLimitAction = UserLimitAction::Deny;

    bool operator==(const AreaPolicy &) const = default;
};

struct Policy
{
    Policy(); // fills every field from the key table defaults

    std::array<AreaPolicy, kAreas.size()> areas{};
    std::int64_t maxSessionsPerIp = 0;        // 0 = unlimited
    std::int64_t authSessionsLimit = 0;       // sub-sessions per root authentication session
    std::int64_t loginFlowTimeoutMinutes = 0; // lifetime of an unfinished login flow

    AreaPolicy &area(Area a) { return areas[static_cast<std::size_t>(a)]; }
    const AreaPolicy &area(Area a) const { return areas[static_cast<std::size_t>(a)]; }

    bool operator==(const Policy &) const = default;
};

} // namespace hourglass
