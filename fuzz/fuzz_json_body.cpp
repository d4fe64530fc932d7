// libFuzzer target: request bodies through the JSON readers of the admin API (JsonBody) and the
// session API (FlatJsonBody), with the field readers the handlers use; bad input must end in
// HttpError, nothing else. FlatJsonBody is the stricter: what it accepts, JsonBody accepts with
// the same values (abort otherwise), but for one QJsonDocument quirk noted below.

#include "ConfigFile.h"
#include "FlatJsonBody.h"
#include "HttpError.h"
#include "JsonBody.h"

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    using namespace hourglass;
    const std::string body(reinterpret_cast<const char *>(data), size);
    const std::initializer_list<std::string_view> allowed = {"user", "area", "remember_me", "client_ip",
                                                             "user_agent"};
    std::optional<service::FlatJsonBody> flat;
    try {
        flat = service::FlatJsonBody::parse(body, allowed);
    } catch (const http::HttpError &) {
    }
    if (flat) {
        QJsonObject o;
        try {
            o = service::JsonBody::parse(body, allowed);
        } catch (const http::HttpError &) {
            std::abort(); // accepted by the strict reader, refused by the lax one
        }
        // A field's value as read, or nullopt when the reader refuses it.
        const auto read = [](auto readField) -> std::optional<std::optional<std::string>> {
            try {
                return readField();
            } catch (const http::HttpError &) {
                return std::nullopt;
            }
        };
        for (const std::string_view field : allowed) {
            const std::string name(field);
            const auto a = read([&] { return flat->optionalString(name, 1 << 20); });
            const auto b = read([&] { return service::JsonBody::optionalString(o, name.c_str(), 1 << 20); });
            // QJsonDocument drops a U+FEFF (unescaped) that starts a string; the flat reader keeps it.
            const bool markDropped =
                a && b && *a && *b && (*a)->starts_with("\xef\xbb\xbf") && (*a)->substr(3) == **b;
            if (a != b && !markDropped)
                std::abort();
        }
    }
    try {
        const QJsonObject o = service::JsonBody::parse(body, {"user", "area", "remember_me", "client_ip",
                                                              "user_agent", "settings", "confirm", "except"});
        (void)service::JsonBody::optionalString(o, "user", 256);
        (void)service::JsonBody::optionalString(o, "area", 16);
        (void)service::JsonBody::optionalBool(o, "remember_me", false);
        if (o.value(QStringLiteral("settings")).isObject()) {
            std::vector<std::pair<std::string, std::string>> entries;
            QString error;
            (void)ConfigFile::entriesFromJson(o.value(QStringLiteral("settings")).toObject(), entries,
                                              &error);
        }
        (void)service::JsonBody::requiredString(o, "user", 256);
    } catch (const http::HttpError &) {
    }
    return 0;
}
