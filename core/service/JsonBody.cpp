#include "JsonBody.h"

#include "HttpError.h"

#include <QJsonDocument>

namespace hourglass::service {

namespace {
[[noreturn]] void invalid(const std::string &message)
{
    throw http::HttpError(400, "invalid_request", message);
}
} // namespace

QJsonObject JsonBody::parse(const std::string &body, std::initializer_list<std::string_view> allowedFields)
{
    if (body.find_first_not_of(" \t\r\n") == std::string::npos)
        return {};
    QJsonParseError error{};
    const QJsonDocument doc =
        QJsonDocument::fromJson(QByteArray::fromRawData(body.data(), qsizetype(body.size())), &error);
    if (error.error != QJsonParseError::NoError)
        invalid("the body is not valid JSON: " + error.errorString().toStdString() + " at byte " +
                std::to_string(error.offset));
    if (!doc.isObject())
        invalid("the body must be a JSON object");
    const QJsonObject object = doc.object();
    for (auto it = object.begin(); it != object.end(); ++it) {
        const std::string key = it.key().toStdString();
        bool known = false;
        for (const std::string_view allowed : allowedFields)
            known = known || key == allowed;
        if (!known)
            invalid("unknown field '" + key + "'");
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
        invalid(std::string("'") + field + "' must be a string");
    std::string text = value.toString().toStdString();
    if (text.size() > maxBytes)
        invalid(std::string("'") + field + "' is longer than " + std::to_string(maxBytes) + " bytes");
    return text;
}

std::string JsonBody::requiredString(const QJsonObject &object, const char *field, std::size_t maxBytes)
{
    std::optional<std::string> text = optionalString(object, field, maxBytes);
    if (!text || text->empty())
        invalid(std::string("'") + field + "' is required");
    return *text;
}

bool JsonBody::optionalBool(const QJsonObject &object, const char *field, bool fallback)
{
    const QJsonValue value = object.value(QLatin1String(field));
    if (value.isUndefined() || value.isNull())
        return fallback;
    if (!value.isBool())
        invalid(std::string("'") + field + "' must be true or false");
    return value.toBool();
}

std::string JsonBody::serialize(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact).toStdString();
}

} // namespace hourglass::service
