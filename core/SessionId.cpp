#include "SessionId.h"

#include "RandomSource.h"

#include <array>
#include <cstdlib>
#include <memory>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hourglass {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kHexDigits[] = "0123456789abcdef";

// base64url digit values, -1 for every other byte.
constexpr auto kBase64UrlValues = [] {
    std::array<std::int8_t, 256> values{};
    for (auto &v : values)
        v = -1;
    for (int i = 0; i < 64; ++i)
        values[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
    return values;
}();

int base64UrlValue(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

} // namespace

int hexDigitValue(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::string IdHash::toHex() const
{
    std::string out(kSize * 2, '\0');
    writeHex(out.data());
    return out;
}

char *IdHash::writeHex(char *at) const
{
#if defined(__SSE2__)
    // Every validation answers with the hash in hex (nginx's X-Hourglass-Session header, the
    // session JSON): 16 bytes at a time, each nibble n written as '0' + n, plus 39 ('a' - '0' -
    // 10) where n > 9. A byte's high nibble comes first.
    static_assert(kSize % 16 == 0);
    const __m128i low = _mm_set1_epi8(0x0f);
    const auto ascii = [](__m128i nibbles) {
        const __m128i letters = _mm_and_si128(_mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9)), _mm_set1_epi8(39));
        return _mm_add_epi8(_mm_add_epi8(nibbles, _mm_set1_epi8('0')), letters);
    };
    for (std::size_t i = 0; i < kSize; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(m_bytes.data() + i));
        const __m128i high = _mm_and_si128(_mm_srli_epi16(v, 4), low);
        const __m128i lowNibbles = _mm_and_si128(v, low);
        _mm_storeu_si128(reinterpret_cast<__m128i *>(at), ascii(_mm_unpacklo_epi8(high, lowNibbles)));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(at + 16), ascii(_mm_unpackhi_epi8(high, lowNibbles)));
        at += 32;
    }
    return at;
#else
    for (const std::uint8_t byte : m_bytes) {
        *at++ = kHexDigits[byte >> 4];
        *at++ = kHexDigits[byte & 0x0f];
    }
    return at;
#endif
}

std::optional<IdHash> IdHash::fromHex(std::string_view hex)
{
    if (hex.size() != kSize * 2)
        return std::nullopt;
    std::array<std::uint8_t, kSize> bytes{};
    for (std::size_t i = 0; i < kSize; ++i) {
        const int hi = hexDigitValue(hex[2 * i]);
        const int lo = hexDigitValue(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        bytes[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    return IdHash(bytes);
}

IdHash sha256(std::string_view data)
{
    // SHA256_Init/Update/Final on a context on the stack: OpenSSL 3 deprecates them for EVP, but
    // they run the same code (SHA-NI here) and are what OpenSSL 3 itself runs under the EVP calls.
    // The EVP route (a method fetched once, a context reused per thread) frees and allocates the
    // digest's state on every EVP_DigestInit_ex2 in OpenSSL 3.0: ~120 ns per identifier against
    // ~60 ns, on every request (bench/HISTORY.md, where the time goes). The one thing lost is a FIPS
    // provider's say over this hash, which Debian does not configure; tst_sessionid checks the
    // result against EVP's.
    std::array<std::uint8_t, IdHash::kSize> digest{};
    SHA256_CTX context;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    const bool hashed = SHA256_Init(&context) == 1 &&
                        SHA256_Update(&context, data.data(), data.size()) == 1 &&
                        SHA256_Final(digest.data(), &context) == 1;
#pragma GCC diagnostic pop
    if (!hashed) // cannot happen with OpenSSL's own implementation; never go on without the hash
        std::abort();
    return IdHash(digest);
}

std::string base64UrlEncode(const std::uint8_t *data, std::size_t size)
{
    // Sized once and written in place: a push_back per character checked the capacity 43 times
    // per identifier (3.7 % of an in-memory create).
    std::string out((size * 4 + 2) / 3, '\0');
    char *at = out.data();
    std::size_t i = 0;
    for (; i + 3 <= size; i += 3) {
        const std::uint32_t v =
            (std::uint32_t(data[i]) << 16) | (std::uint32_t(data[i + 1]) << 8) | data[i + 2];
        *at++ = kAlphabet[(v >> 18) & 63];
        *at++ = kAlphabet[(v >> 12) & 63];
        *at++ = kAlphabet[(v >> 6) & 63];
        *at++ = kAlphabet[v & 63];
    }
    if (size - i == 1) {
        const std::uint32_t v = std::uint32_t(data[i]) << 16;
        *at++ = kAlphabet[(v >> 18) & 63];
        *at++ = kAlphabet[(v >> 12) & 63];
    } else if (size - i == 2) {
        const std::uint32_t v = (std::uint32_t(data[i]) << 16) | (std::uint32_t(data[i + 1]) << 8);
        *at++ = kAlphabet[(v >> 18) & 63];
        *at++ = kAlphabet[(v >> 12) & 63];
        *at++ = kAlphabet[(v >> 6) & 63];
    }
    return out;
}

std::optional<std::string> base64UrlDecode(std::string_view text)
{
    if (text.size() % 4 == 1)
        return std::nullopt;
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : text) {
        const int value = base64UrlValue(c);
        if (value < 0)
            return std::nullopt;
        buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xff));
        }
    }
    // Non-canonical spellings (non-zero padding bits) are rejected.
    if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0)
        return std::nullopt;
    return out;
}

std::optional<SessionToken> SessionToken::generate(RandomSource &random)
{
    std::array<std::uint8_t, kBytes> raw{};
    if (!random.fill(raw.data(), raw.size()))
        return std::nullopt;
    SessionToken token(base64UrlEncode(raw.data(), raw.size()));
    OPENSSL_cleanse(raw.data(), raw.size());
    return token;
}

bool SessionToken::isWellFormed(std::string_view text)
{
    static_assert(kEncodedLength * 6 == kBytes * 8 + 2, "two unused bits in the last character");
    static_assert(kEncodedLength > 32 && kEncodedLength <= 48, "three overlapping 16-byte blocks");
    if (text.size() != kEncodedLength)
        return false;
#if defined(__SSE2__)
    // 16 characters at a time, three overlapping blocks. GCC vectorised the table lookup below
    // into ~350 instructions that spill every byte through the stack: 15 % of a validation.
    const auto alphabetMask = [](const char *at) {
        const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i *>(at));
        // Signed bytes: characters from 0x80 up are negative and fall outside every range.
        const auto within = [&c](char first, char last) {
            return _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8(static_cast<char>(first - 1))),
                                 _mm_cmplt_epi8(c, _mm_set1_epi8(static_cast<char>(last + 1))));
        };
        const __m128i letterOrDigit =
            _mm_or_si128(_mm_or_si128(within('A', 'Z'), within('a', 'z')), within('0', '9'));
        const __m128i mark =
            _mm_or_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8('-')), _mm_cmpeq_epi8(c, _mm_set1_epi8('_')));
        return _mm_movemask_epi8(_mm_or_si128(letterOrDigit, mark));
    };
    const char *at = text.data();
    if ((alphabetMask(at) & alphabetMask(at + 16) & alphabetMask(at + kEncodedLength - 16)) != 0xffff)
        return false;
#else
    int bad = 0;
    for (const char c : text)
        bad |= kBase64UrlValues[static_cast<unsigned char>(c)];
    if (bad < 0)
        return false;
#endif
    // Non-canonical spellings (the last character's two unused bits set) are rejected.
    return (kBase64UrlValues[static_cast<unsigned char>(text.back())] & 3) == 0;
}

std::optional<SessionToken> SessionToken::parse(std::string_view text)
{
    if (!isWellFormed(text))
        return std::nullopt;
    return SessionToken(std::string(text));
}

std::optional<IdHash> SessionToken::hashOf(std::string_view text)
{
    if (!isWellFormed(text))
        return std::nullopt;
    return sha256(text);
}

IdHash SessionToken::hash() const
{
    return sha256(m_text);
}

} // namespace hourglass
