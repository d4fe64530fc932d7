// libFuzzer target: request bodies through the strict JSON reader of the session and admin APIs,
// with the field readers the handlers use; bad input must end in HttpError, nothing else.

#include "ConfigFile.h"
#include "HttpError.h"
#include "JsonBody.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    using namespace hourglass;
    const std::string body(reinterpret_cast<const char *>(data), size);
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
