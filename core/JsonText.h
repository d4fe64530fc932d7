#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hourglass {

// Text written as a JSON string (RFC 8259 §7), for the bodies and event lines written by hand:
// quotes and backslashes escaped, control characters as \n, \r, \t or \u00XX, every other byte
// as is (the text is UTF-8, as everything stored came in through a JSON body or a header).

// The most room text takes as a JSON string: its quotes and six bytes for each byte.
constexpr std::size_t jsonStringRoom(std::string_view text)
{
    return 2 + 6 * text.size();
}

// Writes `text` as a JSON string at `at`, which has jsonStringRoom(text) bytes of room, and returns
// the end of what it wrote. No capacity check or call per byte: this runs for every response.
inline char *writeJsonString(char *at, std::string_view text)
{
    static constexpr char kHex[] = "0123456789abcdef";
    *at++ = '"';
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && c != '"' && c != '\\') {
            *at++ = c;
            continue;
        }
        *at++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *at++ = c;
            break;
        case '\n':
            *at++ = 'n';
            break;
        case '\r':
            *at++ = 'r';
            break;
        case '\t':
            *at++ = 't';
            break;
        default:
            *at++ = 'u';
            *at++ = '0';
            *at++ = '0';
            *at++ = kHex[u >> 4];
            *at++ = kHex[u & 15];
        }
    }
    *at++ = '"';
    return at;
}

inline void appendJsonString(std::string &out, std::string_view text)
{
    const std::size_t start = out.size();
    out.resize(start + jsonStringRoom(text));
    char *const end = writeJsonString(out.data() + start, text);
    out.resize(static_cast<std::size_t>(end - out.data()));
}

} // namespace hourglass
