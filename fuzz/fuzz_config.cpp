// libFuzzer target: configuration files (bytes as hourglass.json, with migration), single setting
// values typed by an admin (every key of the key table) and store URLs.

#include "ConfigFile.h"
#include "RedisStore.h"
#include "SettingsSchema.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    using namespace hourglass;
    const auto result = ConfigFile::parse(QByteArray(reinterpret_cast<const char *>(data), qsizetype(size)),
                                          QStringLiteral("fuzz.json"));
    if (result.ok && !(SettingsSchema::validate(result.policy).ok()))
        __builtin_trap(); // a loaded configuration always satisfies every rule
    const std::string_view text(reinterpret_cast<const char *>(data), std::min<std::size_t>(size, 64));
    for (const SettingKey &key : SettingsSchema::keys()) {
        Policy policy;
        (void)SettingsSchema::apply(policy, key.path, text, Confirmation::Confirmed);
    }
    // The store URL (configuration "store".url, --store): a parsed URL never carries an empty host,
    // an out-of-range port or database, or TLS files without TLS.
    std::string error;
    const std::string_view url(reinterpret_cast<const char *>(data), std::min<std::size_t>(size, 512));
    if (const auto parsed = RedisStore::parseUrl(url, &error)) {
        if (parsed->host.empty() || parsed->port < 1 || parsed->port > 65535 || parsed->db < 0 ||
            parsed->db > 15 ||
            (!parsed->tls &&
             !(parsed->caFile.empty() && parsed->certFile.empty() && parsed->keyFile.empty())))
            __builtin_trap();
    }
    return 0;
}
