#pragma once

#include <cstdint>
#include <string_view>

namespace hourglass {

enum class IpFamily : std::uint8_t
{
    None, // not an address
    V4,
    V6,
};

// An address in text (a peer's, a client_ip field, X-Real-IP) in binary, as inet_pton writes it:
// IPv4 into v4 (network order), IPv6 into v6. Exactly the text is read: an embedded NUL, where
// inet_pton on a C string would have stopped and accepted what came before, makes the text no
// address. IPv4, the common case, is parsed here by inet_pton's own rules (four decimal octets of
// at most 255, no leading zero, nothing else), without the NUL-terminated copy inet_pton needs
// (callgrind, three calls per session creation: 777 instructions with inet_pton, 651 here); IPv6
// goes to inet_pton.
IpFamily parseIp(std::string_view text, std::uint32_t &v4, std::uint8_t (&v6)[16]);

bool isIpAddress(std::string_view text);

} // namespace hourglass
