#include "SessionId.h"

#include "RandomSource.h"

#include <array>
#include <cstdlib>
#include <memory>

#include <openssl/evp.h>
#include <openssl/sha.h>

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
    for (const std::uint8_t byte : m_bytes) {
        *at++ = kHexDigits[byte >> 4];
        *at++ = kHexDigits[byte & 0x0f];
    }
    return at;
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
    // OpenSSL 3's one-shot SHA256() looks the algorithm up in the provider on every call, which
    // costs more than hashing an identifier. The algorithm is fetched once per process and each
    // thread reuses its own context.
    static EVP_MD *const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    thread_local const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX *)> context(EVP_MD_CTX_new(),
                                                                                   &EVP_MD_CTX_free);
    std::array<std::uint8_t, IdHash::kSize> digest{};
    unsigned int size = 0;
    if (!md || !context || EVP_DigestInit_ex2(context.get(), md, nullptr) != 1 ||
        EVP_DigestUpdate(context.get(), data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(context.get(), digest.data(), &size) != 1 || size != digest.size()) {
        // Out of memory in OpenSSL: the one-shot path either works or aborts below.
        if (!SHA256(reinterpret_cast<const unsigned char *>(data.data()), data.size(), digest.data()))
            std::abort();
    }
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
    if (text.size() != kEncodedLength)
        return false;
    int bad = 0;
    for (const char c : text)
        bad |= kBase64UrlValues[static_cast<unsigned char>(c)];
    // Non-canonical spellings (the last character's two unused bits set) are rejected.
    return bad >= 0 && (kBase64UrlValues[static_cast<unsigned char>(text.back())] & 3) == 0;
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
