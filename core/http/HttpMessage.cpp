#include "HttpMessage.h"

#include "SessionId.h"

#include <algorithm>
#include <cctype>

namespace hourglass::http {

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

} // namespace

std::string_view Request::path() const
{
    const std::string_view t(target);
    return t.substr(0, t.find('?'));
}

std::string_view Request::query() const
{
    const std::string_view t(target);
    const auto q = t.find('?');
    return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

std::optional<std::string> Request::queryValue(std::string_view name) const
{
    std::string_view q = query();
    while (!q.empty()) {
        const auto amp = q.find('&');
        const std::string_view pair = q.substr(0, amp);
        const auto eq = pair.find('=');
        if (percentDecode(pair.substr(0, eq), true) == name)
            return eq == std::string_view::npos ? std::string() : percentDecode(pair.substr(eq + 1), true);
        if (amp == std::string_view::npos)
            break;
        q.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

std::optional<std::string_view> Request::header(std::string_view lowerName) const
{
    for (const auto &[name, value] : headers) {
        if (name == lowerName)
            return value;
    }
    return std::nullopt;
}

std::size_t Request::headerCount(std::string_view lowerName) const
{
    return static_cast<std::size_t>(
        std::count_if(headers.begin(), headers.end(), [&](const auto &h) { return h.first == lowerName; }));
}

void Response::setHeader(std::string name, std::string value)
{
    for (auto &[n, v] : headers) {
        if (equalsIgnoreCase(n, name)) {
            v = std::move(value);
            return;
        }
    }
    headers.emplace_back(std::move(name), std::move(value));
}

void Response::addHeader(std::string name, std::string value)
{
    headers.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string_view> Response::header(std::string_view name) const
{
    for (const auto &[n, v] : headers) {
        if (equalsIgnoreCase(n, name))
            return v;
    }
    return std::nullopt;
}

Response Response::json(int status, std::string body)
{
    Response r;
    r.status = status;
    r.body = std::move(body);
    r.headers.reserve(2); // and a second header (Set-Cookie, Retry-After) without reallocating
    r.setHeader("Content-Type", "application/json");
    return r;
}

Response Response::empty(int status)
{
    Response r;
    r.status = status;
    return r;
}

std::string percentDecode(std::string_view text, bool plusIsSpace)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            const int hi = i + 1 < text.size() ? hexDigitValue(text[i + 1]) : -1;
            const int lo = i + 2 < text.size() ? hexDigitValue(text[i + 2]) : -1;
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>((hi << 4) | lo));
                i += 2;
                continue;
            }
        }
        out.push_back(plusIsSpace && c == '+' ? ' ' : c);
    }
    return out;
}

std::string_view reasonPhrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

} // namespace hourglass::http
