#include "SessionEvent.h"

#include "JsonText.h"

namespace hourglass {

std::string_view eventTypeName(EventType type)
{
    switch (type) {
    case EventType::Created:
        return "created";
    case EventType::Expired:
        return "expired";
    case EventType::Destroyed:
        return "destroyed";
    case EventType::Rotated:
        return "rotated";
    case EventType::SizeExceeded:
        return "size-exceeded";
    case EventType::ForceLogout:
        return "force-logout";
    case EventType::Evicted:
        return "evicted";
    case EventType::LimitHit:
        return "limit-hit";
    case EventType::PolicyChanged:
        return "policy-changed";
    case EventType::IpBlocked:
        return "ip-blocked";
    case EventType::IpUnblocked:
        return "ip-unblocked";
    }
    return "unknown";
}

std::string SessionEvent::toJsonLine() const
{
    std::string out;
    // Room for the worst case, so that no string written below reallocates.
    out.reserve(200 + jsonStringRoom(user) + jsonStringRoom(idHash) + jsonStringRoom(clientIp) +
                jsonStringRoom(detail));
    out += "{\"seq\":";
    out += std::to_string(sequence);
    out += ",\"time_ms\":";
    out += std::to_string(timeMs);
    out += ",\"type\":";
    appendJsonString(out, eventTypeName(type));
    out += ",\"area\":";
    appendJsonString(out, areaName(area));
    out += ",\"user\":";
    appendJsonString(out, user);
    out += ",\"id_hash\":";
    appendJsonString(out, idHash);
    out += ",\"client_ip\":";
    appendJsonString(out, clientIp);
    out += ",\"count\":";
    out += std::to_string(count);
    out += ",\"detail\":";
    appendJsonString(out, detail);
    out += "}\n";
    return out;
}

} // namespace hourglass
