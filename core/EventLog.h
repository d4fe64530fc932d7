#pragma once

#include "SessionEvent.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hourglass {

// Append-only JSON-lines log of engine events under <data>/var/log, rotated by size
// (hourglass-events.log → .1 → … → .N). Writes happen on a background thread so that logging
// never slows the request path; the queue is bounded and overflow is counted and reported in the
// log itself rather than growing memory without limit.
class EventLog
{
public:
    struct Options
    {
        std::filesystem::path directory;
        std::string fileName = "hourglass-events.log";
        std::uint64_t maxFileBytes = 10 * 1024 * 1024;
        int keepFiles = 5;
        std::size_t maxQueuedEvents = 100000;
        // How long the writer lets events gather before writing them; a flush does not wait.
        std::chrono::milliseconds gatherInterval{20};
    };

    explicit EventLog(Options options);
    ~EventLog();
    EventLog(const EventLog &) = delete;
    EventLog &operator=(const EventLog &) = delete;

    void append(const SessionEvent &event);
    // Blocks until everything appended so far is written (tests, shutdown).
    void flush();

    std::filesystem::path currentFile() const;
    std::uint64_t droppedEvents() const;
    std::string lastError() const;

private:
    void run();
    void writeBatch(const std::vector<std::string> &lines);
    void writeOut(const std::string &bytes); // to the current file, opening it when needed
    void closeFile();
    void rotate();

    static constexpr std::size_t kGatherLimit = 4096; // a batch this large is written at once

    Options m_options;
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_drained;
    std::string m_queue;      // the events' bytes (EventLog.cpp), formatted by the writer thread
    std::size_t m_queued = 0; // events in m_queue
    std::uint64_t m_enqueued = 0;
    std::uint64_t m_written = 0;
    std::uint64_t m_dropped = 0;
    std::uint64_t m_droppedReported = 0;
    std::string m_lastError;
    bool m_stopping = false;
    int m_flushing = 0; // threads waiting in flush()
    // Writer thread only:
    std::uint64_t m_fileSize = 0;
    int m_fd = -1;
    std::chrono::steady_clock::time_point m_opened;
    std::thread m_thread;
};

} // namespace hourglass
