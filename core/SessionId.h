#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace hourglass {

class RandomSource;

// SHA-256 of a session (or authentication session) identifier. This is the only form in which an
// identifier is kept in memory indexes, on disk and in logs.
class IdHash
{
public:
    static constexpr std::size_t kSize = 32;

    IdHash() = default;
    explicit IdHash(const std::array<std::uint8_t, kSize> &bytes) : m_bytes(bytes) {}

    const std::array<std::uint8_t, kSize> &bytes() const & { return m_bytes; }
    // On a temporary, a copy: a reference would dangle at the end of the full expression.
    std::array<std::uint8_t, kSize> bytes() const && { return m_bytes; }
    std::string toHex() const;
    // The 64 hex digits written at `at`; returns their end.
    char *writeHex(char *at) const;
    static std::optional<IdHash> fromHex(std::string_view hex);

    // Constant-time comparison: the hash is derived from a secret. Every word is compared and the
    // differences are combined without a branch; the empty asm keeps the compiler from turning the
    // loop into an early exit. Inline, because it runs for every hash-table probe (it was a call
    // to CRYPTO_memcmp, 8 % of the engine's validation profile).
    bool operator==(const IdHash &other) const
    {
        std::uint64_t difference = 0;
        for (std::size_t i = 0; i < kSize; i += sizeof(std::uint64_t)) {
            std::uint64_t a;
            std::uint64_t b;
            std::memcpy(&a, m_bytes.data() + i, sizeof a);
            std::memcpy(&b, other.m_bytes.data() + i, sizeof b);
            difference |= a ^ b;
            __asm__("" : "+r"(difference));
        }
        return difference == 0;
    }

    // The hash is uniformly distributed already, so any 8 bytes make a good bucket hash.
    std::size_t bucketHash() const
    {
        std::size_t h;
        std::memcpy(&h, m_bytes.data(), sizeof h);
        return h;
    }

private:
    std::array<std::uint8_t, kSize> m_bytes{};
};

struct IdHashHasher
{
    std::size_t operator()(const IdHash &hash) const noexcept { return hash.bucketHash(); }
};

// A 256-bit secret identifier as issued to a client, in base64url without padding (RFC 4648 §5),
// which is 43 characters and safe in cookie values (RFC 6265 cookie-octet) and HTTP headers.
class SessionToken
{
public:
    static constexpr std::size_t kBytes = 32;
    static constexpr std::size_t kEncodedLength = 43;

    // Fails (nullopt) when the random source fails: never issue a weaker identifier.
    static std::optional<SessionToken> generate(RandomSource &random);
    // Strict parser: exactly 43 base64url characters whose unused trailing bits are zero, so every
    // identifier has exactly one accepted spelling.
    static std::optional<SessionToken> parse(std::string_view text);
    // parse(text)->hash() without copying the text: the hot path of every request.
    static std::optional<IdHash> hashOf(std::string_view text);
    // True when text is a well-formed identifier (the rules of parse).
    static bool isWellFormed(std::string_view text);

    const std::string &text() const { return m_text; }
    IdHash hash() const;

private:
    explicit SessionToken(std::string text) : m_text(std::move(text)) {}
    std::string m_text;
};

IdHash sha256(std::string_view data);

// Value of one hexadecimal digit (either case), -1 when c is not one.
int hexDigitValue(char c);

std::string base64UrlEncode(const std::uint8_t *data, std::size_t size);
std::optional<std::string> base64UrlDecode(std::string_view text);

} // namespace hourglass

template<> struct std::hash<hourglass::IdHash>
{
    std::size_t operator()(const hourglass::IdHash &id) const noexcept { return id.bucketHash(); }
};
