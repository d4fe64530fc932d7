#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hourglass::service {

// The session API's request bodies: one JSON object (RFC 8259) whose fields the handler reads as
// strings or booleans. Read in one pass straight into std::string, without the document model
// QJsonDocument builds (UTF-16 strings, a CBOR container per body), which was ~6 % of the I/O
// thread's time per session creation (bench/README.md). The admin API, whose bodies nest, keeps
// JsonBody; both give the same answers and the same 400 messages for the same body.
//
// Strict: the whole body must be valid JSON (RFC 8259: strings valid UTF-8 without raw control
// characters, escapes well-formed, surrogate escapes paired, numbers in the RFC's grammar, nesting
// at most kMaxDepth deep), the top level an object, every field name one of the allowed ones.
// QJsonDocument is laxer on exactly those points (it reads "\x" as "x", "1." and ".5" as numbers,
// keeps raw tabs, turns a lone surrogate into '?'); this reader refuses them, and accepts nothing
// QJsonDocument refuses (tst_flatjsonbody checks both on random bodies; fuzz_json_body too). It
// also keeps an unescaped U+FEFF that starts a string value, which QJsonDocument drops. A field
// given twice takes its last value, as in QJsonObject; a leading UTF-8 byte order mark before the
// body is ignored, as there. An
// empty body (only white space) is an empty object. Errors are thrown as http::HttpError 400
// invalid_request.
class FlatJsonBody
{
public:
    static constexpr int kMaxDepth = 64;

    static FlatJsonBody parse(std::string_view body, std::initializer_list<std::string_view> allowedFields);

    // Absent and null read as nullopt; any other type than a string is an error.
    std::optional<std::string> optionalString(std::string_view field, std::size_t maxBytes) const;
    std::string requiredString(std::string_view field, std::size_t maxBytes) const; // not empty
    bool optionalBool(std::string_view field, bool fallback) const;
    // The same two, moving the text out of the body instead of copying it (a request's hot path):
    // the field then reads as absent.
    std::optional<std::string> takeString(std::string_view field, std::size_t maxBytes);
    std::string takeRequiredString(std::string_view field, std::size_t maxBytes);

private:
    enum class Kind : unsigned char
    {
        Null,
        String,
        True,
        False,
        Other, // a number, array or object: checked, not kept
    };
    struct Field
    {
        std::string name;
        Kind kind = Kind::Null;
        std::string text;
    };
    class Reader;

    const Field *find(std::string_view name) const;
    // The field when it holds a string within maxBytes; nullptr when absent or null; else throws.
    const Field *stringField(std::string_view field, std::size_t maxBytes) const;

    std::vector<Field> m_fields; // at most one per allowed name
};

} // namespace hourglass::service
