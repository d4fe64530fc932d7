#include "EventLog.h"

#include "ThreadName.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string_view>
#include <unistd.h>
#include <utility>

namespace hourglass {

namespace {

// An event in the queue: this header, then its user, id hash, client address and detail.
struct Queued
{
    std::uint64_t sequence;
    TimeMs timeMs;
    std::int64_t count;
    std::uint32_t sizes[4];
    EventType type;
    Area area;
};

// A queue buffer larger than this after a burst is given back instead of kept for the next one.
constexpr std::size_t kKeptQueueBytes = 1 << 20;

} // namespace

EventLog::EventLog(Options options) : m_options(std::move(options))
{
    std::error_code ec;
    std::filesystem::create_directories(m_options.directory, ec);
    if (ec)
        m_lastError = "cannot create log directory " + m_options.directory.string() + ": " + ec.message();
    m_fileSize =
        std::filesystem::exists(currentFile(), ec) ? std::filesystem::file_size(currentFile(), ec) : 0;
    if (ec)
        m_fileSize = 0;
    m_thread = std::thread([this] { run(); });
    nameThread(m_thread, "hg-eventlog");
}

EventLog::~EventLog()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    m_thread.join();
    closeFile();
}

std::filesystem::path EventLog::currentFile() const
{
    return m_options.directory / m_options.fileName;
}

void EventLog::append(const SessionEvent &event)
{
    // The event's bytes are queued and formatted on the writer's thread: the publisher is often an
    // HTTP I/O thread, and the JSON line cost it ~3,200 instructions per event under callgrind.
    // Bytes, not a copy of the event: appending them reuses the queue's capacity, where a copy
    // allocated its user name and hash, to be freed on the writer's thread.
    const std::string_view texts[4] = {event.user, event.idHash, event.clientIp, event.detail};
    Queued header{event.sequence, event.timeMs, event.count, {}, event.type, event.area};
    for (int i = 0; i < 4; ++i)
        header.sizes[i] = std::uint32_t(texts[i].size());
    {
        std::lock_guard lock(m_mutex);
        if (m_queued >= m_options.maxQueuedEvents) {
            ++m_dropped;
            return;
        }
        m_queue.append(reinterpret_cast<const char *>(&header), sizeof header);
        for (const std::string_view text : texts)
            m_queue.append(text);
        ++m_queued;
        ++m_enqueued;
        // The writer needs waking only to start a batch, or to end one that grew large; events
        // arriving while it gathers are taken with the batch.
        if (m_queued != 1 && m_queued != kGatherLimit)
            return;
    }
    m_wake.notify_one();
}

void EventLog::flush()
{
    std::unique_lock lock(m_mutex);
    const std::uint64_t target = m_enqueued;
    ++m_flushing;
    m_wake.notify_one();
    m_drained.wait(lock, [&] { return m_written >= target; });
    --m_flushing;
}

std::uint64_t EventLog::droppedEvents() const
{
    std::lock_guard lock(m_mutex);
    return m_dropped;
}

std::string EventLog::lastError() const
{
    std::lock_guard lock(m_mutex);
    return m_lastError;
}

void EventLog::run()
{
    std::string batch;
    std::size_t events = 0;
    SessionEvent event; // refilled for each event: its strings keep their capacity
    std::vector<std::string> lines;
    for (;;) {
        std::uint64_t droppedNow = 0;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_stopping || m_queued > 0; });
            if (m_queued == 0 && m_stopping)
                return;
            // Let a burst gather: one write per interval under load instead of one wake-up and
            // one write per event. A flush, a large batch or shutdown ends the wait.
            m_wake.wait_for(lock, m_options.gatherInterval,
                            [&] { return m_stopping || m_flushing > 0 || m_queued >= kGatherLimit; });
            batch.swap(m_queue);
            events = std::exchange(m_queued, 0);
            if (m_dropped > m_droppedReported) {
                droppedNow = m_dropped - m_droppedReported;
                m_droppedReported = m_dropped;
            }
        }
        lines.reserve(events + 1);
        for (std::size_t at = 0; at < batch.size();) {
            Queued header;
            std::memcpy(&header, batch.data() + at, sizeof header);
            at += sizeof header;
            event.sequence = header.sequence;
            event.timeMs = header.timeMs;
            event.count = header.count;
            event.type = header.type;
            event.area = header.area;
            std::string *const texts[4] = {&event.user, &event.idHash, &event.clientIp, &event.detail};
            for (int i = 0; i < 4; ++i) {
                texts[i]->assign(batch.data() + at, header.sizes[i]);
                at += header.sizes[i];
            }
            lines.push_back(event.toJsonLine());
        }
        if (droppedNow > 0) {
            lines.push_back("{\"type\":\"log-overflow\",\"dropped\":" + std::to_string(droppedNow) + "}\n");
        }
        writeBatch(lines);
        {
            std::lock_guard lock(m_mutex);
            m_written += events;
        }
        batch.clear();
        if (batch.capacity() > kKeptQueueBytes)
            batch = std::string();
        lines.clear();
        m_drained.notify_all();
    }
}

void EventLog::writeBatch(const std::vector<std::string> &lines)
{
    std::string buffer;
    for (const std::string &line : lines) {
        if (m_fileSize + buffer.size() + line.size() > m_options.maxFileBytes &&
            m_fileSize + buffer.size() > 0) {
            writeOut(buffer);
            buffer.clear();
            rotate();
        }
        buffer += line;
    }
    if (!buffer.empty())
        writeOut(buffer);
}

void EventLog::writeOut(const std::string &bytes)
{
    // The file stays open between batches; it is opened again at least once a second, so a log
    // moved away by someone else is followed by a new file soon.
    const auto now = std::chrono::steady_clock::now();
    if (m_fd >= 0 && now - m_opened >= std::chrono::seconds(1))
        closeFile();
    int error = 0;
    if (m_fd < 0) {
        m_fd = ::open(currentFile().c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        m_opened = now;
        if (m_fd < 0)
            error = errno;
    }
    std::size_t done = 0;
    while (m_fd >= 0 && done < bytes.size()) {
        const ssize_t n = ::write(m_fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            error = n < 0 ? errno : EIO;
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    m_fileSize += done;
    if (done < bytes.size()) {
        closeFile();
        std::lock_guard lock(m_mutex);
        m_lastError = "cannot write " + currentFile().string() + ": " + std::strerror(error);
    }
}

void EventLog::closeFile()
{
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
}

void EventLog::rotate()
{
    closeFile();
    std::error_code ec;
    const auto numbered = [&](int n) {
        return m_options.directory / (m_options.fileName + "." + std::to_string(n));
    };
    std::filesystem::remove(numbered(m_options.keepFiles), ec);
    for (int n = m_options.keepFiles - 1; n >= 1; --n) {
        if (std::filesystem::exists(numbered(n), ec))
            std::filesystem::rename(numbered(n), numbered(n + 1), ec);
    }
    std::filesystem::rename(currentFile(), numbered(1), ec);
    m_fileSize = 0;
}

} // namespace hourglass
