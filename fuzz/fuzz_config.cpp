// libFuzzer target: configuration files (bytes as hourglass.json, with migration) and single
// setting values typed by an admin (every key of the key table).

#include "ConfigFile.h"
#include "SettingsSchema.h"

#include <cstdint>
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
    return 0;
}
