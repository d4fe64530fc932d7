#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace hourglass::http {

// Thrown by handlers; the server maps it to a JSON error response in one place:
//   {"error": "<code>", "message": "<text>"}
class HttpError : public std::runtime_error
{
public:
    HttpError(int status, std::string code, const std::string &message)
        : std::runtime_error(message), m_status(status), m_code(std::move(code))
    {}

    // Headers the status requires: WWW-Authenticate on 401, Retry-After on 429, Allow on 405.
    HttpError &withHeader(std::string name, std::string value)
    {
        m_headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }

    int status() const { return m_status; }
    const std::string &code() const { return m_code; }
    const std::vector<std::pair<std::string, std::string>> &headers() const { return m_headers; }

private:
    int m_status;
    std::string m_code;
    std::vector<std::pair<std::string, std::string>> m_headers;
};

} // namespace hourglass::http
