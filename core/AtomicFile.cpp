#include "AtomicFile.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hourglass {

namespace {

std::string parentOf(const std::string &path)
{
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

} // namespace

bool AtomicFile::write(const std::string &path, std::string_view contents, mode_t mode, std::string *error)
{
    const auto fail = [&](const std::string &what) {
        *error = "cannot write " + path + ": " + what + ": " + std::strerror(errno);
        return false;
    };
    std::string temp = path + ".tmp-XXXXXX";
    const int fd = ::mkstemp(temp.data());
    if (fd < 0)
        return fail("cannot create temporary file");
    const auto abandon = [&](const std::string &what) {
        const int saved = errno;
        ::close(fd);
        ::unlink(temp.c_str());
        errno = saved;
        return fail(what);
    };
    if (::fchmod(fd, mode) != 0)
        return abandon("fchmod");
    std::size_t done = 0;
    while (done < contents.size()) {
        const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return abandon("write");
        }
        if (n == 0) {
            errno = EIO;
            return abandon("write");
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0)
        return abandon("fsync");
    if (::close(fd) != 0) {
        ::unlink(temp.c_str());
        return fail("close");
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        const int saved = errno;
        ::unlink(temp.c_str());
        errno = saved;
        return fail("rename");
    }
    // Make the rename itself durable.
    const int dir = ::open(parentOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
    return true;
}

} // namespace hourglass
