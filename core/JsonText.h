#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hourglass {

// Text written as a JSON string (RFC 8259 §7), for the bodies and event lines written by hand:
// quotes and backslashes escaped, control characters as \n, \r, \t or \u00XX, every other byte
// as is (the text is UTF-8, as everything stored came in through a JSON body or a header).

// The most room text takes as a JSON string: its quotes and six bytes for each byte.
constexpr std::size_t jsonStringRoom(std::string_view text)
{
    return 2 + 6 * text.size();
}

namespace detail {

// What one byte that must be escaped adds to the text's size: \" \\ \n \r \t one, \u00XX five.
constexpr std::size_t escapeExtra(char c)
{
    return c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' ? 1 : 5;
}

constexpr bool needsEscape(char c)
{
    return static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\';
}

#if defined(__SSE2__)
// Bit i set when byte i of the 16 at `p` must be escaped.
inline unsigned escapeMask16(const char *p)
{
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v); // v <= 0x1f
    const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    const __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(control, _mm_or_si128(quote, backslash))));
}
#endif

} // namespace detail

// Exactly what writeJsonString() writes for `text`. Sizing a buffer with this instead of
// jsonStringRoom() keeps the buffer of a typical create's response under 1 KiB, which glibc's
// malloc serves from its per-thread cache; the six-fold room asked for ~1.6 KiB, and a request
// that large made malloc consolidate its free chunks on every response.
inline std::size_t jsonStringSize(std::string_view text)
{
    std::size_t size = 2 + text.size();
    const char *p = text.data();
    const char *const end = p + text.size();
#if defined(__SSE2__)
    for (; end - p >= 16; p += 16) {
        for (unsigned mask = detail::escapeMask16(p); mask; mask &= mask - 1)
            size += detail::escapeExtra(p[__builtin_ctz(mask)]);
    }
#endif
    for (; p != end; ++p) {
        if (detail::needsEscape(*p))
            size += detail::escapeExtra(*p);
    }
    return size;
}

// Writes `text` as a JSON string at `at`, which has at least jsonStringSize(text) bytes of room,
// and returns the end of what it wrote. No capacity check or call per byte: this runs for every
// response. Text that needs no escaping is copied 16 bytes at a time.
inline char *writeJsonString(char *at, std::string_view text)
{
    static constexpr char kHex[] = "0123456789abcdef";
    *at++ = '"';
    const char *p = text.data();
    const char *const end = p + text.size();
    for (;;) {
#if defined(__SSE2__)
        // Each of the 16 bytes ahead writes at least one byte, so storing all 16 stays inside
        // the room even when only the first k of them are kept.
        while (end - p >= 16) {
            const unsigned mask = detail::escapeMask16(p);
            _mm_storeu_si128(reinterpret_cast<__m128i *>(at),
                             _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
            if (mask == 0) {
                at += 16;
                p += 16;
                continue;
            }
            const int k = __builtin_ctz(mask);
            at += k;
            p += k;
            break;
        }
#endif
        if (p == end)
            break;
        const char c = *p++;
        if (!detail::needsEscape(c)) {
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
        default: {
            const auto u = static_cast<unsigned char>(c);
            *at++ = 'u';
            *at++ = '0';
            *at++ = '0';
            *at++ = kHex[u >> 4];
            *at++ = kHex[u & 15];
        }
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
