#include "FlatJsonBody.h"

#include "JsonBody.h"
#include "JsonText.h"
#include "SessionId.h"

#include <algorithm>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h> // the plain-run scan uses _mm_movemask_epi8 itself
#endif

namespace hourglass::service {

namespace {

bool isSpace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void appendUtf8(std::string &out, std::uint32_t code)
{
    if (code < 0x80) {
        out += char(code);
    } else if (code < 0x800) {
        out += char(0xc0 | (code >> 6));
        out += char(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
        out += char(0xe0 | (code >> 12));
        out += char(0x80 | ((code >> 6) & 0x3f));
        out += char(0x80 | (code & 0x3f));
    } else {
        out += char(0xf0 | (code >> 18));
        out += char(0x80 | ((code >> 12) & 0x3f));
        out += char(0x80 | ((code >> 6) & 0x3f));
        out += char(0x80 | (code & 0x3f));
    }
}

} // namespace

class FlatJsonBody::Reader
{
public:
    explicit Reader(std::string_view text) : m_text(text) {}

    [[noreturn]] void fail(const char *reason) const { BodyError::notJson(reason, m_at); }

    void skipSpace()
    {
        while (m_at < m_text.size() && isSpace(m_text[m_at]))
            ++m_at;
    }
    bool atEnd() const { return m_at == m_text.size(); }
    char peek() const { return m_at < m_text.size() ? m_text[m_at] : '\0'; }
    bool take(char c)
    {
        if (atEnd() || m_text[m_at] != c)
            return false;
        ++m_at;
        return true;
    }

    // At the opening quote; appends the decoded string to out (when out is not null).
    void string(std::string *out)
    {
        ++m_at; // the opening quote
        for (;;) {
            // The run of plain characters up to the next quote, escape, control or non-ASCII byte:
            // 16 bytes at a time while as many are left, then byte by byte.
            const std::size_t start = m_at;
#if defined(__SSE2__)
            while (m_text.size() - m_at >= 16) {
                const char *const p = m_text.data() + m_at;
                const unsigned nonAscii = static_cast<unsigned>(
                    _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p))));
                if (const unsigned stop = hourglass::detail::escapeMask16(p) | nonAscii) {
                    m_at += static_cast<std::size_t>(__builtin_ctz(stop));
                    break;
                }
                m_at += 16;
            }
#endif
            while (m_at < m_text.size()) {
                const char c = m_text[m_at];
                if (hourglass::detail::needsEscape(c) || static_cast<unsigned char>(c) >= 0x80)
                    break;
                ++m_at;
            }
            if (out)
                out->append(m_text.data() + start, m_at - start);
            if (atEnd())
                fail("unterminated string");
            const auto c = static_cast<unsigned char>(m_text[m_at]);
            if (c == '"') {
                ++m_at;
                return;
            }
            if (c < 0x20)
                fail("control character in a string");
            if (c >= 0x80) {
                const std::size_t length = utf8Sequence();
                if (out)
                    out->append(m_text.data() + m_at, length);
                m_at += length;
                continue;
            }
            escape(out);
        }
    }

    // At '{': the members up to the closing brace. Each member's name is decoded into *name (when
    // name is not null), then onMember() reads its value.
    template<typename OnMember> void object(std::string *name, OnMember onMember)
    {
        ++m_at;
        skipSpace();
        if (take('}'))
            return;
        for (;;) {
            skipSpace();
            if (peek() != '"')
                fail("expected a field name");
            if (name)
                name->clear();
            string(name);
            skipSpace();
            if (!take(':'))
                fail("expected ':' after a field name");
            onMember();
            skipSpace();
            if (take('}'))
                return;
            if (!take(','))
                fail("expected ',' or '}' in an object");
        }
    }

    // Checks (and skips) any JSON value.
    void skipValue(int depth)
    {
        if (depth > kMaxDepth)
            fail("nested too deeply");
        skipSpace();
        switch (peek()) {
        case '"':
            string(nullptr);
            return;
        case '{':
            object(nullptr, [&] { skipValue(depth + 1); });
            return;
        case '[':
            ++m_at;
            skipSpace();
            if (take(']'))
                return;
            for (;;) {
                skipValue(depth + 1);
                skipSpace();
                if (take(']'))
                    return;
                if (!take(','))
                    fail("expected ',' or ']' in an array");
            }
        default:
            if (literal("true") || literal("false") || literal("null"))
                return;
            number();
            return;
        }
    }

    // A scalar value as a field's kind (and text); arrays, objects and numbers are checked only.
    Kind fieldValue(std::string &text)
    {
        skipSpace();
        if (peek() == '"') {
            string(&text);
            return Kind::String;
        }
        if (literal("true"))
            return Kind::True;
        if (literal("false"))
            return Kind::False;
        if (literal("null"))
            return Kind::Null;
        skipValue(1);
        return Kind::Other;
    }

private:
    bool literal(std::string_view word)
    {
        if (m_text.substr(m_at, word.size()) != word)
            return false;
        m_at += word.size();
        return true;
    }

    void digits()
    {
        if (m_at >= m_text.size() || m_text[m_at] < '0' || m_text[m_at] > '9')
            fail("expected a digit");
        while (m_at < m_text.size() && m_text[m_at] >= '0' && m_text[m_at] <= '9')
            ++m_at;
    }

    // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    void number()
    {
        const char first = peek();
        if (first != '-' && (first < '0' || first > '9'))
            fail("expected a value");
        take('-');
        if (take('0')) {
            if (peek() >= '0' && peek() <= '9')
                fail("leading zero in a number");
        } else {
            digits();
        }
        if (take('.'))
            digits();
        if (take('e') || take('E')) {
            if (!take('+'))
                take('-');
            digits();
        }
    }

    // The length of the well-formed UTF-8 sequence at m_at (RFC 3629: no overlong forms, no
    // surrogates, nothing above U+10FFFF).
    std::size_t utf8Sequence() const
    {
        const auto byte = [&](std::size_t i) {
            return m_at + i < m_text.size() ? static_cast<unsigned char>(m_text[m_at + i]) : 0u;
        };
        const unsigned lead = byte(0);
        std::size_t length = 0;
        unsigned low = 0x80, high = 0xbf; // the second byte's range
        if (lead >= 0xc2 && lead <= 0xdf) {
            length = 2;
        } else if (lead >= 0xe0 && lead <= 0xef) {
            length = 3;
            if (lead == 0xe0)
                low = 0xa0; // no overlong
            if (lead == 0xed)
                high = 0x9f; // no surrogates
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            length = 4;
            if (lead == 0xf0)
                low = 0x90;
            if (lead == 0xf4)
                high = 0x8f;
        } else {
            fail("invalid UTF-8 in a string");
        }
        if (byte(1) < low || byte(1) > high)
            fail("invalid UTF-8 in a string");
        for (std::size_t i = 2; i < length; ++i) {
            if (byte(i) < 0x80 || byte(i) > 0xbf)
                fail("invalid UTF-8 in a string");
        }
        return length;
    }

    std::uint32_t hex4()
    {
        if (m_text.size() - m_at < 4)
            fail("bad \\u escape");
        std::uint32_t value = 0;
        for (int i = 0; i < 4; ++i) {
            const int digit = hexDigitValue(m_text[m_at + i]);
            if (digit < 0)
                fail("bad \\u escape");
            value = value * 16 + std::uint32_t(digit);
        }
        m_at += 4;
        return value;
    }

    // At the backslash.
    void escape(std::string *out)
    {
        ++m_at;
        if (atEnd())
            fail("unterminated string");
        const char c = m_text[m_at++];
        char plain = 0;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            plain = c;
            break;
        case 'b':
            plain = '\b';
            break;
        case 'f':
            plain = '\f';
            break;
        case 'n':
            plain = '\n';
            break;
        case 'r':
            plain = '\r';
            break;
        case 't':
            plain = '\t';
            break;
        case 'u': {
            std::uint32_t code = hex4();
            if (code >= 0xdc00 && code <= 0xdfff)
                fail("unpaired surrogate escape");
            if (code >= 0xd800 && code <= 0xdbff) {
                if (!take('\\') || !take('u'))
                    fail("unpaired surrogate escape");
                const std::uint32_t low = hex4();
                if (low < 0xdc00 || low > 0xdfff)
                    fail("unpaired surrogate escape");
                code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
            }
            if (out)
                appendUtf8(*out, code);
            return;
        }
        default:
            --m_at;
            fail("illegal escape sequence");
        }
        if (out)
            *out += plain;
    }

    std::string_view m_text;
    std::size_t m_at = 0;
};

FlatJsonBody FlatJsonBody::parse(std::string_view body, std::initializer_list<std::string_view> allowedFields)
{
    FlatJsonBody result;
    const bool byteOrderMark = body.starts_with("\xef\xbb\xbf"); // RFC 8259 lets a reader ignore it
    if (byteOrderMark)
        body.remove_prefix(3);
    Reader reader(body);
    reader.skipSpace();
    if (reader.atEnd()) {
        if (byteOrderMark) // not an empty body: a JSON text that lacks its value
            reader.fail("illegal value");
        return result; // an empty body is an empty object
    }
    if (reader.peek() != '[' && reader.peek() != '{')
        reader.fail("illegal value"); // a JSON text at the top level is an object or an array
    if (reader.peek() == '[') {
        reader.skipValue(1);
        reader.skipSpace();
        if (!reader.atEnd())
            reader.fail("garbage after the array");
        BodyError::notAnObject();
    }
    // Unknown fields are refused once the whole body is known to be JSON, naming the first in
    // sorted order, as JsonBody (QJsonObject) does.
    std::optional<std::string> unknown;
    std::string name;
    // At most one field per allowed name: room for all at once, not three reallocations for the
    // four fields of a creation.
    result.m_fields.reserve(allowedFields.size());
    reader.object(&name, [&] {
        Field field;
        field.kind = reader.fieldValue(field.text);
        bool known = false;
        for (const std::string_view allowed : allowedFields)
            known = known || name == allowed;
        if (!known) {
            if (!unknown || name < *unknown)
                unknown = name;
        } else {
            field.name = name;
            auto same = std::find_if(result.m_fields.begin(), result.m_fields.end(),
                                     [&](const Field &f) { return f.name == name; });
            if (same != result.m_fields.end())
                *same = std::move(field); // the last value wins
            else
                result.m_fields.push_back(std::move(field));
        }
    });
    reader.skipSpace();
    if (!reader.atEnd())
        reader.fail("garbage after the object");
    if (unknown)
        BodyError::unknownField(*unknown);
    return result;
}

const FlatJsonBody::Field *FlatJsonBody::find(std::string_view name) const
{
    for (const Field &field : m_fields) {
        if (field.name == name)
            return &field;
    }
    return nullptr;
}

const FlatJsonBody::Field *FlatJsonBody::stringField(std::string_view field, std::size_t maxBytes) const
{
    const Field *f = find(field);
    if (!f || f->kind == Kind::Null)
        return nullptr;
    if (f->kind != Kind::String)
        BodyError::notAString(field);
    BodyError::checkLength(field, f->text, maxBytes);
    return f;
}

std::optional<std::string> FlatJsonBody::optionalString(std::string_view field, std::size_t maxBytes) const
{
    if (const Field *f = stringField(field, maxBytes))
        return f->text;
    return std::nullopt;
}

std::string FlatJsonBody::requiredString(std::string_view field, std::size_t maxBytes) const
{
    std::optional<std::string> text = optionalString(field, maxBytes);
    if (!text || text->empty())
        BodyError::required(field);
    return std::move(*text);
}

std::optional<std::string> FlatJsonBody::takeString(std::string_view field, std::size_t maxBytes)
{
    Field *f = const_cast<Field *>(stringField(field, maxBytes)); // this body is not const
    if (!f)
        return std::nullopt;
    f->kind = Kind::Null;
    return std::move(f->text);
}

std::string FlatJsonBody::takeRequiredString(std::string_view field, std::size_t maxBytes)
{
    std::optional<std::string> text = takeString(field, maxBytes);
    if (!text || text->empty())
        BodyError::required(field);
    return std::move(*text);
}

bool FlatJsonBody::optionalBool(std::string_view field, bool fallback) const
{
    const Field *f = find(field);
    if (!f || f->kind == Kind::Null)
        return fallback;
    if (f->kind != Kind::True && f->kind != Kind::False)
        BodyError::notABoolean(field);
    return f->kind == Kind::True;
}

} // namespace hourglass::service
