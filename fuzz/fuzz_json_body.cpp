// libFuzzer target: request bodies through the JSON readers of the admin API (JsonBody) and the
// session API (FlatJsonBody), with the field readers the handlers use; bad input must end in
// HttpError, nothing else. FlatJsonBody is the stricter: what it accepts, JsonBody accepts with
// the same values (abort otherwise), but for one QJsonDocument quirk noted below.

#include "ConfigFile.h"
#include "FlatJsonBody.h"
#include "HttpError.h"
#include "JsonBody.h"

#include <cstdlib>
#include <optional>

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    using namespace hourglass;
    const std::string body(reinterpret_cast<const char *>(data), size);
    const auto allowed = {"user", "area", "remember_me", "client_ip", "user_agent"};
    std::optional<service::FlatJsonBody> flat;
    try {
        flat = service::FlatJsonBody::parse(body, {"user", "area", "remember_me", "client_ip", "user_agent"});
    } catch (const http::HttpError &) {
    }
    if (flat) {
        try {
            const QJsonObject o =
                service::JsonBody::parse(body, {"user", "area", "remember_me", "client_ip", "user_agent"});
            for (const char *field : allowed) {
                std::optional<std::string> a, b;
                bool aThrew = false, bThrew = false;
                try {
                    a = flat->optionalString(field, 1 << 20);
                } catch (const http::HttpError &) {
                    aThrew = true;
                }
                try {
                    b = service::JsonBody::optionalString(o, field, 1 << 20);
                } catch (const http::HttpError &) {
                    bThrew = true;
                }
                // QJsonDocument drops a U+FEFF (unescaped) that starts a string; the flat reader keeps it.
                const bool markDropped = a && b && a->starts_with("\xef\xbb\xbf") && a->substr(3) == *b;
                if ((a != b && !markDropped) || aThrew != bThrew)
                    std::abort();
            }
        } catch (const http::HttpError &) {
            std::abort(); // accepted by the strict reader, refused by the lax one
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
