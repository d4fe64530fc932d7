#include "EventLog.h"

#include <cstdio>
#include <fstream>

namespace hourglass {

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
}

EventLog::~EventLog()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    m_thread.join();
}

std::filesystem::path EventLog::currentFile() const
{
    return m_options.directory / m_options.fileName;
}

void EventLog::append(const SessionEvent &event)
{
    std::string line = event.toJsonLine();
    {
        std::lock_guard lock(m_mutex);
        if (m_queue.size() >= m_options.maxQueuedEvents) {
            ++m_dropped;
            return;
        }
        m_queue.push_back(std::move(line));
        ++m_enqueued;
    }
    m_wake.notify_one();
}

void EventLog::flush()
{
    std::unique_lock lock(m_mutex);
    const std::uint64_t target = m_enqueued;
    m_drained.wait(lock, [&] { return m_written >= target; });
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
    std::vector<std::string> batch;
    for (;;) {
        std::uint64_t droppedNow = 0;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
            if (m_queue.empty() && m_stopping)
                return;
            batch.swap(m_queue);
            if (m_dropped > m_droppedReported) {
                droppedNow = m_dropped - m_droppedReported;
                m_droppedReported = m_dropped;
            }
        }
        if (droppedNow > 0) {
            batch.push_back("{\"type\":\"log-overflow\",\"dropped\":" + std::to_string(droppedNow) + "}\n");
        }
        writeBatch(batch);
        {
            std::lock_guard lock(m_mutex);
            m_written += batch.size() - (droppedNow > 0 ? 1 : 0);
        }
        batch.clear();
        m_drained.notify_all();
    }
}

void EventLog::writeBatch(const std::vector<std::string> &lines)
{
    std::string buffer;
    for (const std::string &line : lines) {
        if (m_fileSize + buffer.size() + line.size() > m_options.maxFileBytes &&
            m_fileSize + buffer.size() > 0) {
            std::ofstream out(currentFile(), std::ios::app | std::ios::binary);
            out << buffer;
            buffer.clear();
            rotate();
        }
        buffer += line;
    }
    if (buffer.empty())
        return;
    std::ofstream out(currentFile(), std::ios::app | std::ios::binary);
    out << buffer;
    out.flush();
    if (!out) {
        std::lock_guard lock(m_mutex);
        m_lastError = "cannot write " + currentFile().string();
        return;
    }
    m_fileSize += buffer.size();
}

void EventLog::rotate()
{
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
