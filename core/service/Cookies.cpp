#include "Cookies.h"

namespace hourglass::service {

namespace {

std::string_view trimSpaces(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

} // namespace

std::optional<std::string> cookieValue(std::string_view header, std::string_view name)
{
    while (!header.empty()) {
        const auto semicolon = header.find(';');
        const std::string_view pair = trimSpaces(header.substr(0, semicolon));
        const auto eq = pair.find('=');
        if (eq != std::string_view::npos && trimSpaces(pair.substr(0, eq)) == name) {
            std::string_view value = trimSpaces(pair.substr(eq + 1));
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);
            return std::string(value);
        }
        if (semicolon == std::string_view::npos)
            break;
        header.remove_prefix(semicolon + 1);
    }
    return std::nullopt;
}

std::string setCookie(std::string_view name, std::string_view value, std::optional<long long> maxAgeSeconds)
{
    std::string out;
    out.reserve(name.size() + value.size() + 64);
    out += name;
    out += '=';
    out += value;
    out += "; Path=/; Secure; HttpOnly; SameSite=Lax";
    if (maxAgeSeconds)
        out += "; Max-Age=" + std::to_string(std::max(0LL, *maxAgeSeconds));
    return out;
}

std::string expireCookie(std::string_view name)
{
    return setCookie(name, "", 0LL);
}

std::optional<std::string> sessionFromAuthorization(std::string_view authorization)
{
    authorization = trimSpaces(authorization);
    constexpr std::string_view scheme = "Session ";
    if (authorization.size() <= scheme.size())
        return std::nullopt;
    for (std::size_t i = 0; i < scheme.size() - 1; ++i) { // scheme names are case-insensitive
        if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i])))
            return std::nullopt;
    }
    if (authorization[scheme.size() - 1] != ' ')
        return std::nullopt;
    return std::string(trimSpaces(authorization.substr(scheme.size())));
}

} // namespace hourglass::service
