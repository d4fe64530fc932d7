#include "SessionStore.h"

namespace hourglass {

std::string encodeAuthTabs(const std::vector<AuthTabRecord> &tabs)
{
    std::string out;
    for (const AuthTabRecord &tab : tabs) {
        if (!out.empty())
            out += ',';
        out += tab.tabId;
        out += ':';
        out += std::to_string(tab.createdMs);
    }
    return out;
}

bool decodeAuthTabs(const std::string &text, std::vector<AuthTabRecord> &tabs)
{
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find(',', pos);
        if (end == std::string::npos)
            end = text.size();
        const std::string item = text.substr(pos, end - pos);
        const std::size_t colon = item.find(':');
        if (colon == std::string::npos || colon == 0)
            return false;
        try {
            tabs.push_back({item.substr(0, colon), std::stoll(item.substr(colon + 1))});
        } catch (...) {
            return false;
        }
        pos = end + 1;
    }
    return true;
}

// Defaults for stores that are not shared: the engine never calls these on them.

SessionStore::Fetched SessionStore::fetch(const IdHash &, const std::string *, TimeMs, const ExpiryRules &,
                                          bool)
{
    return {};
}

std::optional<std::vector<SessionRecord>> SessionStore::fetchUser(const std::string &, TimeMs,
                                                                  const ExpiryRules &)
{
    return std::nullopt;
}

SessionStore::AuthFetch SessionStore::fetchAuthRoot(const IdHash &, AuthRootRecord *)
{
    return AuthFetch::Unavailable;
}

std::optional<std::array<std::uint64_t, kAreas.size()>> SessionStore::sharedCounts()
{
    return std::nullopt;
}

std::optional<SessionStore::SharedPage> SessionStore::sharedList(const SharedQuery &, TimeMs,
                                                                 const ExpiryRules &)
{
    return std::nullopt;
}

std::optional<SessionStore::SharedConfig> SessionStore::readSharedConfig()
{
    return std::nullopt;
}

bool SessionStore::writeSharedConfig(const std::string &, std::uint64_t *)
{
    return false;
}

} // namespace hourglass
