#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>

namespace hourglass {

// Crash-safe replacement of a file's contents: write a temporary file in the same directory,
// fsync it, rename it over the target, fsync the directory. Either the old or the new contents are
// there after a crash, never a mix.
//
// Not QSaveFile: Qt 6.4's QSaveFile::commit() reports success after a short write (seen here with
// EFBIG, as on a full disk) and renames a truncated file over the original. Every write() result is
// checked here.
class AtomicFile
{
public:
    static bool write(const std::string &path, std::string_view contents, mode_t mode, std::string *error);
};

} // namespace hourglass
