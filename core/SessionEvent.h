#pragma once

#include "Clock.h"
#include "Policy.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace hourglass {

enum class EventType : std::uint8_t
{
    Created,
    Expired,
    Destroyed,
    Rotated,
    SizeExceeded,
    ForceLogout,
    Evicted,  // an authentication sub-session pushed out by the per-browser limit
    LimitHit, // a per-user or per-IP concurrent session limit refused or displaced a session
    PolicyChanged,
    IpBlocked,
    IpUnblocked,
};

std::string_view eventTypeName(EventType type);

struct SessionEvent
{
    std::uint64_t sequence = 0; // assigned by the EventHub, strictly increasing
    TimeMs timeMs = 0;
    EventType type = EventType::Created;
    Area area = Area::Admin;
    std::string user;
    std::string idHash; // hex SHA-256 of the identifier concerned, never the identifier
    std::string clientIp;
    std::string detail;
    std::int64_t count = 0; // sessions affected, bytes attempted, …

    // One JSON object on one line, for the var/log event log.
    std::string toJsonLine() const;
};

} // namespace hourglass
