#pragma once

#include <csignal>
#include <sys/resource.h>

namespace hourglass::test {

// Makes every write that would grow a file past `bytes` fail with EFBIG — for root too — as a full
// disk would, until restore() or the end of the scope (also when an assertion returns early).
class FileSizeLimit
{
public:
    explicit FileSizeLimit(rlim_t bytes)
    {
        std::signal(SIGXFSZ, SIG_IGN); // the write fails instead of killing the process
        getrlimit(RLIMIT_FSIZE, &m_saved);
        rlimit limited = m_saved;
        limited.rlim_cur = bytes;
        m_active = setrlimit(RLIMIT_FSIZE, &limited) == 0;
    }
    ~FileSizeLimit() { restore(); }
    FileSizeLimit(const FileSizeLimit &) = delete;
    FileSizeLimit &operator=(const FileSizeLimit &) = delete;

    bool active() const { return m_active; }
    void restore()
    {
        if (m_active)
            setrlimit(RLIMIT_FSIZE, &m_saved);
        m_active = false;
    }

private:
    rlimit m_saved{};
    bool m_active = false;
};

} // namespace hourglass::test
