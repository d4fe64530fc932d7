#pragma once

#include <QJsonObject>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace hourglass::service {

// The 400 invalid_request answers about a request body, in one place for both body readers
// (JsonBody and FlatJsonBody), which must answer the same body alike.
struct BodyError
{
    [[noreturn]] static void notJson(const std::string &reason, std::size_t byte);
    [[noreturn]] static void notAnObject();
    [[noreturn]] static void unknownField(const std::string &name);
    [[noreturn]] static void notAString(std::string_view field);
    [[noreturn]] static void notABoolean(std::string_view field);
    [[noreturn]] static void required(std::string_view field);
    static void checkLength(std::string_view field, const std::string &text, std::size_t maxBytes);
};

// Strict JSON request bodies: an object, known fields only, checked types. Every problem is an
// HttpError(400, "invalid_request") that names the field.
class JsonBody
{
public:
    // An empty body is an empty object.
    static QJsonObject parse(const std::string &body, std::initializer_list<std::string_view> allowedFields);
    static std::string requiredString(const QJsonObject &object, const char *field, std::size_t maxBytes);
    static std::optional<std::string> optionalString(const QJsonObject &object, const char *field,
                                                     std::size_t maxBytes);
    static bool optionalBool(const QJsonObject &object, const char *field, bool fallback);
    static std::string serialize(const QJsonObject &object);
};

} // namespace hourglass::service
