#pragma once

#include "Clock.h"
#include "Policy.h"
#include "SessionId.h"

#include <string>
#include <vector>

namespace hourglass {

// The persistent form of a user session: what a store keeps. Identified only by its ID hash.
struct SessionRecord
{
    IdHash hash;
    std::string user;
    Area area = Area::Admin;
    bool rememberMe = false;
    std::string clientIp;
    std::string userAgent;
    TimeMs createdMs = 0;
    TimeMs authTimeMs = 0; // start of the absolute (maximum timeout) horizon
    TimeMs lastActivityMs = 0;
    std::string data;
};

struct AuthTabRecord
{
    std::string tabId;
    TimeMs createdMs = 0;
};

// A root authentication session (one per browser) with its tab sub-sessions, oldest first.
struct AuthRootRecord
{
    IdHash hash;
    std::string clientIp;
    TimeMs createdMs = 0;
    TimeMs lastActivityMs = 0;
    std::vector<AuthTabRecord> tabs;
};

} // namespace hourglass
