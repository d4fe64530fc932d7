#pragma once

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <thread>

namespace hourglass {

// Names a thread, as shown by top -H, ps -L, perf and gdb; named by its creator, so the name is
// there as soon as the thread exists. Linux keeps at most 15 characters; a longer name is cut.
inline void nameThread(std::thread &thread, std::string_view name)
{
    char buffer[16] = {};
    std::memcpy(buffer, name.data(), std::min(name.size(), sizeof buffer - 1));
    pthread_setname_np(thread.native_handle(), buffer);
}

} // namespace hourglass
