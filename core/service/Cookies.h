#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hourglass::service {

// Session cookie: the "__Host-" prefix makes browsers insist on Secure, Path=/ and no Domain
// (RFC 6265bis §4.1.3.2), so the cookie cannot be set or overwritten by a sibling subdomain.
constexpr std::string_view kSessionCookie = "__Host-hg_session";
// Root authentication session (one per browser), a session cookie.
constexpr std::string_view kAuthCookie = "__Host-hg_auth";
// RFC 6265 §6.1: user agents must support at least 4096 bytes per cookie (name + value + attributes).
constexpr std::size_t kMaxCookieBytes = 4096;

// The value of cookie `name` in a Cookie request header (RFC 6265 §5.4 cookie-string: pairs
// separated by "; "). Malformed pairs are skipped; when the name occurs more than once the first
// one wins, as in browsers' ordering by path length.
std::optional<std::string> cookieValue(std::string_view cookieHeader, std::string_view name);

// Set-Cookie for a session: Secure; HttpOnly; SameSite=Lax; Path=/; no Domain. A persistent
// Max-Age only when maxAgeSeconds is given (remember-me); otherwise a browser-session cookie.
std::string setCookie(std::string_view name, std::string_view value, std::optional<long long> maxAgeSeconds);
// Set-Cookie that makes the browser drop the cookie at once (logout).
std::string expireCookie(std::string_view name);

// "Authorization: Session <id>" → the id.
std::optional<std::string> sessionFromAuthorization(std::string_view authorization);

} // namespace hourglass::service
