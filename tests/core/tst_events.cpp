#include "EventHub.h"
#include "EventLog.h"
#include "FileSizeLimit.h"
#include "JsonText.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

using namespace hourglass;

namespace {
SessionEvent sample(EventType type, const std::string &detail = "d")
{
    SessionEvent e;
    e.type = type;
    e.timeMs = 1700000000000;
    e.user = "alice";
    e.detail = detail;
    return e;
}

std::vector<std::string> lines(const std::filesystem::path &file)
{
    std::ifstream in(file);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}
} // namespace

class TestEvents final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void hubSequencesAndKeepsRecent()
    {
        EventHub hub(3);
        std::vector<std::uint64_t> delivered;
        const int id = hub.subscribe([&](const SessionEvent &e) { delivered.push_back(e.sequence); });
        for (int i = 0; i < 5; ++i)
            hub.publish(sample(EventType::Created));
        QCOMPARE(delivered, (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
        QCOMPARE(hub.recent(10).size(), std::size_t(3));
        QCOMPARE(hub.recent(10).front().sequence, 3u);
        QCOMPARE(hub.since(3, 10).size(), std::size_t(2));
        QCOMPARE(hub.since(4, 10).front().sequence, 5u);
        QCOMPARE(hub.lastSequence(), 5u);
        hub.unsubscribe(id);
        hub.publish(sample(EventType::Created));
        QCOMPARE(delivered.size(), std::size_t(5));
    }

    // Several threads publish while readers page with since(lastSequence()) as a cursor (as the
    // admin API's last_seq invites): every event is delivered and seen once, in order, none
    // skipped — an event is counted in lastSequence() only once since() can return it.
    void concurrentPublishersAndCursorReaders()
    {
        EventHub hub(100000);
        std::mutex mutex;
        std::vector<std::uint64_t> delivered;
        hub.subscribe([&](const SessionEvent &e) {
            std::lock_guard lock(mutex);
            delivered.push_back(e.sequence);
        });
        constexpr int kThreads = 4, kEach = 5000;
        std::atomic<bool> done{false};
        std::vector<std::uint64_t> seen;
        bool ordered = true;
        std::thread reader([&] {
            std::uint64_t cursor = 0;
            for (bool last = false; !last;) {
                last = done.load();
                const std::uint64_t upTo = hub.lastSequence();
                for (const SessionEvent &e : hub.since(cursor, SIZE_MAX)) {
                    if (e.sequence > upTo)
                        break; // kept after lastSequence() was read: the next round takes it
                    ordered = ordered && e.sequence == cursor + 1;
                    seen.push_back(e.sequence);
                    cursor = e.sequence;
                }
                ordered = ordered && cursor == upTo;
            }
        });
        std::vector<std::thread> publishers;
        for (int t = 0; t < kThreads; ++t) {
            publishers.emplace_back([&] {
                for (int i = 0; i < kEach; ++i) {
                    std::vector<SessionEvent> events{sample(EventType::Created), sample(EventType::Expired)};
                    hub.publish(events);
                }
            });
        }
        for (auto &p : publishers)
            p.join();
        done = true;
        reader.join();
        constexpr std::size_t kTotal = std::size_t(kThreads) * kEach * 2;
        QVERIFY(ordered);
        QCOMPARE(seen.size(), kTotal);
        QCOMPARE(delivered.size(), kTotal);
        for (std::size_t i = 0; i < kTotal; ++i)
            QCOMPARE(delivered[i], std::uint64_t(i + 1)); // delivered in sequence order
        QCOMPARE(hub.lastSequence(), std::uint64_t(kTotal));
    }

    void jsonLinesEscape()
    {
        SessionEvent e = sample(EventType::SizeExceeded, "quote \" backslash \\ newline \n ctl \x01");
        const std::string line = e.toJsonLine();
        QCOMPARE(line.back(), '\n');
        QCOMPARE(std::count(line.begin(), line.end(), '\n'), 1);
        QVERIFY(line.find("\"type\":\"size-exceeded\"") != std::string::npos);
        QVERIFY(line.find("\\\"") != std::string::npos);
        QVERIFY(line.find("\\u0001") != std::string::npos);
        QVERIFY(line.find("\\n") != std::string::npos);
        // Every byte below 0x20, quotes, backslashes and UTF-8 in every text field: the line is JSON
        // and reads back as the text written.
        std::string text = "zo\xc3\xab \xe6\xbc\xa2 \"\\";
        for (char c = 1; c < 0x20; ++c)
            text.push_back(c);
        e.user = e.clientIp = e.idHash = e.detail = text;
        const std::string all = e.toJsonLine();
        // No raw control character but the line's end (JSON forbids them in strings; Qt's reader
        // would not notice).
        QCOMPARE(std::count_if(all.begin(), all.end(),
                               [](char c) { return static_cast<unsigned char>(c) < 0x20; }),
                 1);
        QVERIFY(all.find("\\t") != std::string::npos);
        QJsonParseError error;
        const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(all), &error).object();
        QCOMPARE(error.error, QJsonParseError::NoError);
        for (const char *key : {"user", "client_ip", "id_hash", "detail"})
            QCOMPARE(o.value(QLatin1String(key)).toString().toStdString(), text);
    }

    // Response bodies are sized with jsonStringSize() and written by writeJsonString() without a
    // capacity check, 16 bytes at a time where nothing needs escaping. Every byte value at every
    // position of a 40-byte text (the 16-byte blocks and the tail after them), in a clean text and
    // in one that is all escapes, against a plain byte-by-byte escaper; nothing written past the
    // exact size.
    void jsonStringSizeAndWritingAreExact()
    {
        const auto reference = [](const std::string &text) {
            std::string out = "\"";
            for (const char c : text) {
                const auto u = static_cast<unsigned char>(c);
                if (c == '"' || c == '\\')
                    out += std::string("\\") + c;
                else if (c == '\n')
                    out += "\\n";
                else if (c == '\r')
                    out += "\\r";
                else if (c == '\t')
                    out += "\\t";
                else if (u < 0x20)
                    out += "\\u00" + std::string(1, "0123456789abcdef"[u >> 4]) + "0123456789abcdef"[u & 15];
                else
                    out += c;
            }
            return out + '"';
        };
        int checked = 0;
        for (const char fill : {'a', '\x01', '"', '\xe9'}) {
            for (std::size_t position = 0; position < 40; ++position) {
                for (int b = 0; b < 256; ++b) {
                    std::string text(40, fill);
                    text[position] = static_cast<char>(b);
                    const std::string expected = reference(text);
                    QCOMPARE(jsonStringSize(text), expected.size());
                    std::string out(expected.size() + 16, '#');
                    char *const end = writeJsonString(out.data(), text);
                    QCOMPARE(std::string(out.data(), end), expected);
                    QCOMPARE(out.substr(expected.size()), std::string(16, '#'));
                    ++checked;
                }
            }
        }
        QCOMPARE(checked, 4 * 40 * 256);
        for (const std::string text : {"", "plain", "zo\xc3\xab \xe6\xbc\xa2", "\"\\\n\r\t\x01\x1f\x7f"}) {
            QCOMPARE(jsonStringSize(text), reference(text).size());
            std::string out(jsonStringSize(text), '#');
            char *const end = writeJsonString(out.data(), text);
            QCOMPARE(std::string(out.data(), end), reference(text));
        }
    }

    void logWritesAndRotates()
    {
        QTemporaryDir dir;
        EventLog::Options o;
        o.directory = std::filesystem::path(dir.path().toStdString()) / "var" / "log";
        o.maxFileBytes = 4096;
        o.keepFiles = 2;
        {
            EventLog log(o);
            for (int i = 0; i < 200; ++i)
                log.append(sample(EventType::Expired, std::string(50, 'x')));
            log.flush();
            QVERIFY(log.lastError().empty());
        }
        const auto current = lines(o.directory / o.fileName);
        const auto first = lines(o.directory / (o.fileName + ".1"));
        const auto second = lines(o.directory / (o.fileName + ".2"));
        QVERIFY(!current.empty());
        QVERIFY(!first.empty());
        QVERIFY(!second.empty());
        QVERIFY(!std::filesystem::exists(o.directory / (o.fileName + ".3")));
        for (const auto &file : {o.fileName, o.fileName + ".1", o.fileName + ".2"})
            QVERIFY(std::filesystem::file_size(o.directory / file) <= o.maxFileBytes);
        for (const std::string &l : current)
            QVERIFY(l.rfind("{\"seq\":", 0) == 0);
    }

    // Every field reaches the file as the event renders it, whatever the texts' sizes and bytes,
    // and events of different shapes follow one another in order.
    void logWritesEveryFieldOfEveryEvent()
    {
        QTemporaryDir dir;
        EventLog::Options o;
        o.directory = dir.path().toStdString();
        std::vector<SessionEvent> events;
        for (int i = 0; i < 50; ++i) {
            SessionEvent e;
            e.sequence = std::uint64_t(1) << 40 | std::uint64_t(i);
            e.timeMs = 1700000000000 + i;
            e.type = EventType(i % (int(EventType::IpUnblocked) + 1));
            e.area = i % 2 ? Area::Admin : Area::Storefront;
            e.user = std::string(std::size_t(i * 7), char('a' + i % 26)) + "\"\\\n\xc3\xab";
            e.idHash = i % 3 ? std::string(64, 'f') : std::string();
            e.clientIp = i % 5 ? "2001:db8::" + std::to_string(i) : "10.0.0." + std::to_string(i);
            e.detail = i % 4 ? std::string(std::size_t(i * 40), 'x') : std::string();
            e.count = -i * 1000;
            events.push_back(e);
        }
        {
            EventLog log(o);
            for (const SessionEvent &e : events)
                log.append(e);
            log.flush();
        }
        const std::vector<std::string> written = lines(o.directory / o.fileName);
        QCOMPARE(written.size(), events.size());
        for (std::size_t i = 0; i < events.size(); ++i) {
            std::string expected = events[i].toJsonLine();
            expected.pop_back(); // the newline
            QCOMPARE(written[i], expected);
        }
    }

    // The writer gathers events for a moment instead of waking for each: a burst still arrives
    // whole, in order, without anyone calling flush(); the file is the owner's only.
    void logWritesBurstsWithoutFlush()
    {
        QTemporaryDir dir;
        EventLog::Options o;
        o.directory = dir.path().toStdString();
        EventLog log(o);
        constexpr int kEvents = 10000; // more than one gathered batch
        for (int i = 0; i < kEvents; ++i)
            log.append(sample(EventType::Created, std::to_string(i)));
        std::vector<std::string> written;
        QTRY_VERIFY_WITH_TIMEOUT((written = lines(o.directory / o.fileName)).size() == std::size_t(kEvents),
                                 10000);
        for (int i = 0; i < kEvents; ++i)
            QVERIFY(written[std::size_t(i)].find("\"detail\":\"" + std::to_string(i) + "\"") !=
                    std::string::npos);
        QCOMPARE(std::filesystem::status(o.directory / o.fileName).permissions() &
                     std::filesystem::perms::all,
                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        QVERIFY(log.lastError().empty());
    }

    // The queue is bounded: events beyond it are dropped, counted, and the count is written into
    // the log itself after the events that fitted; flush() still returns.
    void logCountsWhatOverflowsItsQueue()
    {
        QTemporaryDir dir;
        EventLog::Options o;
        o.directory = dir.path().toStdString();
        o.maxQueuedEvents = 4;
        o.gatherInterval = std::chrono::seconds(60); // nothing is written before the flush
        EventLog log(o);
        for (int i = 0; i < 10; ++i)
            log.append(sample(EventType::Created, std::to_string(i)));
        QCOMPARE(log.droppedEvents(), std::uint64_t(6));
        log.flush();
        const std::vector<std::string> written = lines(o.directory / o.fileName);
        QCOMPARE(written.size(), std::size_t(5));
        for (int i = 0; i < 4; ++i)
            QVERIFY(written[std::size_t(i)].find("\"detail\":\"" + std::to_string(i) + "\"") !=
                    std::string::npos);
        QCOMPARE(written[4], std::string("{\"type\":\"log-overflow\",\"dropped\":6}"));
        // Room again once written.
        log.append(sample(EventType::Created, "later"));
        log.flush();
        QCOMPARE(lines(o.directory / o.fileName).size(), std::size_t(6));
    }

    // A write that fails (here: the file may not grow, as on a full disk) is reported with the
    // system's reason, and the log writes again once it can.
    void logReportsWriteErrorsAndRecovers()
    {
        QTemporaryDir dir;
        EventLog::Options o;
        o.directory = dir.path().toStdString();
        EventLog log(o);
        log.append(sample(EventType::Created, "before"));
        log.flush();
        {
            test::FileSizeLimit full(1);
            QVERIFY(full.active());
            log.append(sample(EventType::Created, "refused"));
            log.flush();
        }
        QVERIFY2(log.lastError().find("File too large") != std::string::npos, log.lastError().c_str());
        log.append(sample(EventType::Created, "after"));
        log.flush();
        const auto written = lines(o.directory / o.fileName);
        QCOMPARE(written.size(), std::size_t(2));
        QVERIFY(written[0].find("before") != std::string::npos);
        QVERIFY(written[1].find("after") != std::string::npos);
    }

    void logAppendsAcrossRestarts()
    {
        QTemporaryDir dir;
        EventLog::Options o;
        o.directory = dir.path().toStdString();
        for (int run = 0; run < 2; ++run) {
            EventLog log(o);
            log.append(sample(EventType::Created));
            log.flush();
        }
        QCOMPARE(lines(o.directory / o.fileName).size(), std::size_t(2));
    }
};

QTEST_GUILESS_MAIN(TestEvents)
#include "tst_events.moc"
