#pragma once

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace hourglass::test {

// The names of this process' threads (/proc/self/task/*/comm).
inline std::set<std::string> threadNames()
{
    std::set<std::string> names;
    for (const auto &task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(task.path() / "comm");
        std::string name;
        if (std::getline(comm, name))
            names.insert(name);
    }
    return names;
}

} // namespace hourglass::test
