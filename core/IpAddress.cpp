#include "IpAddress.h"

#include <arpa/inet.h>

#include <cstring>

namespace hourglass {

namespace {

bool parseIpv4(std::string_view text, std::uint32_t &address)
{
    std::uint8_t octets[4];
    int count = 0;
    unsigned value = 0;
    bool digits = false; // of the octet under way
    for (const char c : text) {
        if (c >= '0' && c <= '9') {
            if (digits && value == 0) // a leading zero
                return false;
            value = value * 10 + unsigned(c - '0');
            if (value > 255)
                return false;
            digits = true;
        } else if (c == '.' && digits && count < 3) {
            octets[count++] = std::uint8_t(value);
            value = 0;
            digits = false;
        } else {
            return false;
        }
    }
    if (!digits || count != 3)
        return false;
    octets[3] = std::uint8_t(value);
    std::memcpy(&address, octets, sizeof address);
    return true;
}

} // namespace

IpFamily parseIp(std::string_view text, std::uint32_t &v4, std::uint8_t (&v6)[16])
{
    if (parseIpv4(text, v4))
        return IpFamily::V4;
    char copy[INET6_ADDRSTRLEN];
    if (text.empty() || text.size() >= sizeof copy || std::memchr(text.data(), '\0', text.size()))
        return IpFamily::None;
    std::memcpy(copy, text.data(), text.size());
    copy[text.size()] = '\0';
    return inet_pton(AF_INET6, copy, v6) == 1 ? IpFamily::V6 : IpFamily::None;
}

bool isIpAddress(std::string_view text)
{
    std::uint32_t v4;
    std::uint8_t v6[16];
    return parseIp(text, v4, v6) != IpFamily::None;
}

} // namespace hourglass
