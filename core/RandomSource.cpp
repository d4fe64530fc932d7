#include "RandomSource.h"

#include <climits>
#include <openssl/rand.h>

namespace hourglass {

bool OpenSslRandom::fill(std::uint8_t *out, std::size_t size)
{
    while (size > 0) {
        const int chunk = size > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(size);
        if (RAND_bytes(out, chunk) != 1)
            return false;
        out += chunk;
        size -= static_cast<std::size_t>(chunk);
    }
    return true;
}

OpenSslRandom &OpenSslRandom::instance()
{
    static OpenSslRandom random;
    return random;
}

} // namespace hourglass
