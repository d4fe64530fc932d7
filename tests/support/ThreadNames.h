#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hourglass::test {

// The name of each of this process' threads (/proc/self/task/*/comm), one entry per thread.
inline std::vector<std::string> threadNameList()
{
    std::vector<std::string> names;
    for (const auto &task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(task.path() / "comm");
        std::string name;
        if (std::getline(comm, name))
            names.push_back(std::move(name));
    }
    return names;
}

// The distinct names of this process' threads.
inline std::set<std::string> threadNames()
{
    const std::vector<std::string> list = threadNameList();
    return {list.begin(), list.end()};
}

// How many of this process' threads have a name beginning with `prefix`.
inline std::size_t threadsNamed(std::string_view prefix)
{
    const std::vector<std::string> list = threadNameList();
    return std::size_t(std::count_if(list.begin(), list.end(),
                                     [&](const std::string &name) { return name.starts_with(prefix); }));
}

} // namespace hourglass::test
