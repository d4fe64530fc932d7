// libFuzzer target: Cookie and Authorization header values as the session API reads them, and
// session tokens and ID hashes as the engine and the admin API parse them.

#include "Cookies.h"
#include "SessionId.h"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    using namespace hourglass;
    if (const auto value = service::cookieValue(text, "__Host-hg_session"))
        (void)SessionToken::parse(*value);
    (void)service::cookieValue(text, "__Host-hg_auth");
    if (const auto token = service::sessionFromAuthorization(text)) {
        if (const auto parsed = SessionToken::parse(*token))
            (void)parsed->hash().toHex();
    }
    (void)SessionToken::parse(text);
    (void)IdHash::fromHex(text);
    return 0;
}
