#include "JsonBody.h"

#include "HttpError.h"

#include <QJsonDocument>

namespace hourglass::service {

namespace {
[[noreturn]] void invalid(const std::string &message)
{
    throw http::HttpError(400, "invalid_request", message);
}

std::string quoted(std::string_view field)
{
    return "'" + std::string(field) + "'";
}
} // namespace

void BodyError::notJson(const std::string &reason, std::size_t byte)
{
    invalid("the body is not valid JSON: " + reason + " at byte " + std::to_string(byte));
}

void BodyError::notAnObject()
{
    invalid("the body must be a JSON object");
}

void BodyError::unknownField(const std::string &name)
{
    invalid("unknown field '" + name + "'");
}

void BodyError::notAString(std::string_view field)
{
    invalid(quoted(field) + " must be a string");
}

void BodyError::notABoolean(std::string_view field)
{
    invalid(quoted(field) + " must be true or false");
}

void BodyError::required(std::string_view field)
{
    invalid(quoted(field) + " is required");
}

void BodyError::checkLength(std::string_view field, const std::string &text, std::size_t maxBytes)
{
    if (text.size() > maxBytes)
        invalid(quoted(field) + " is longer than " + std::to_string(maxBytes) + " bytes");
}

QJsonObject JsonBody::parse(const std::string &body, std::initializer_list<std::string_view> allowedFields)
{
    if (body.find_first_not_of(" \t\r\n") == std::string::npos)
        return {};
    QJsonParseError error{};
    const QJsonDocument doc =
        QJsonDocument::fromJson(QByteArray::fromRawData(body.data(), qsizetype(body.size())), &error);
    if (error.error != QJsonParseError::NoError)
        BodyError::notJson(error.errorString().toStdString(), std::size_t(error.offset));
    if (!doc.isObject())
        BodyError::notAnObject();
    const QJsonObject object = doc.object();
    for (auto it = object.begin(); it != object.end(); ++it) {
        const std::string key = it.key().toStdString();
        bool known = false;
        for (const std::string_view allowed : allowedFields)
            known = known || key == allowed;
        if (!known)
            BodyError::unknownField(key);
    }
    return object;
}

std::optional<std::string> JsonBody::optionalString(const QJsonObject &object, const char *field,
                                                    std::size_t maxBytes)
{
    const QJsonValue value = object.value(QLatin1String(field));
    if (value.isUndefined() || value.isNull())
        return std::nullopt;
    if (!value.isString())
        BodyError::notAString(field);
    std::string text = value.toString().toStdString();
    BodyError::checkLength(field, text, maxBytes);
    return text;
}

std::string JsonBody::requiredString(const QJsonObject &object, const char *field, std::size_t maxBytes)
{
    std::optional<std::string> text = optionalString(object, field, maxBytes);
    if (!text || text->empty())
        BodyError::required(field);
    return *text;
}

bool JsonBody::optionalBool(const QJsonObject &object, const char *field, bool fallback)
{
    const QJsonValue value = object.value(QLatin1String(field));
    if (value.isUndefined() || value.isNull())
        return fallback;
    if (!value.isBool())
        BodyError::notABoolean(field);
    return value.toBool();
}

std::string JsonBody::serialize(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact).toStdString();
}

} // namespace hourglass::service
