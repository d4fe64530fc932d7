#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace hourglass {

// Immutable text shared by every holder; null means empty. One allocation holds the reference
// count, the length and the characters, and a holder is one pointer: a session slot holds two
// (its user's name and its user agent), and a std::shared_ptr<const std::string> took 16 bytes
// in the slot plus a control block and, beyond 15 characters, a second allocation per text
// (bench/README.md, Memory). Copies are as thread-safe as std::shared_ptr's.
class SharedText
{
public:
    SharedText() noexcept = default;
    // A copy counts, even of a borrowed text (it may outlive the lock that keeps the owner's).
    SharedText(const SharedText &other) noexcept : m_bits(reinterpret_cast<std::uintptr_t>(other.block()))
    {
        if (m_bits)
            block()->references.fetch_add(1, std::memory_order_relaxed);
    }
    SharedText(SharedText &&other) noexcept : m_bits(std::exchange(other.m_bits, 0)) {}
    SharedText &operator=(SharedText other) noexcept
    {
        swap(other);
        return *this;
    }
    ~SharedText()
    {
        if (m_bits && !(m_bits & kBorrowed) &&
            block()->references.fetch_sub(1, std::memory_order_acq_rel) == 1)
            ::operator delete(block());
    }

    static SharedText make(std::string_view text)
    {
        SharedText shared;
        void *memory = ::operator new(sizeof(Block) + text.size());
        shared.m_bits = reinterpret_cast<std::uintptr_t>(
            new (memory) Block{{1}, static_cast<std::uint32_t>(text.size())});
        if (!text.empty())
            std::memcpy(shared.block()->characters(), text.data(), text.size());
        return shared;
    }

    // `owner`'s text without counting: valid only while `owner` holds it and no longer. For what
    // is handed to a reader as a const reference while a lock keeps the owner (a reader can copy
    // it, which counts, but not move it out): SessionEngine::validate() with a reader hands over
    // a session so, and saves the two counts of a validation and their release (with the session
    // in cache 260-337 ns against 287-369 ns per validation; bench/HISTORY.md, where the time goes).
    static SharedText borrow(const SharedText &owner) noexcept
    {
        SharedText borrowed;
        if (owner.m_bits)
            borrowed.m_bits = reinterpret_cast<std::uintptr_t>(owner.block()) | kBorrowed;
        return borrowed;
    }

    void reset() noexcept { SharedText().swap(*this); }
    void swap(SharedText &other) noexcept { std::swap(m_bits, other.m_bits); }

    explicit operator bool() const noexcept { return m_bits != 0; }
    std::string_view view() const noexcept
    {
        const Block *b = block();
        return b ? std::string_view(b->characters(), b->size) : std::string_view();
    }
    const void *get() const noexcept { return block(); } // identity: equal for copies of one text
    long use_count() const noexcept
    {
        return m_bits ? long(block()->references.load(std::memory_order_relaxed)) : 0;
    }

private:
    struct Block
    {
        std::atomic<std::uint32_t> references;
        std::uint32_t size; // texts are bounded far below 4 GiB (user names, user agents)
        char *characters() { return reinterpret_cast<char *>(this + 1); }
        const char *characters() const { return reinterpret_cast<const char *>(this + 1); }
    };
    static_assert(sizeof(Block) == 8 && alignof(Block) > 1);
    // The low bit of the block's address, which is at least 4-aligned: a borrowed text.
    static constexpr std::uintptr_t kBorrowed = 1;

    Block *block() const noexcept { return reinterpret_cast<Block *>(m_bits & ~kBorrowed); }

    std::uintptr_t m_bits = 0; // the block's address, | kBorrowed when borrowed
};

inline std::string_view textOf(const SharedText &text)
{
    return text.view();
}

// Text of 16 bytes, half a std::string: up to 15 characters in place (every IPv4 address and the
// shorter IPv6 ones), longer text in a SharedText. A session slot keeps its client address so.
class CompactText
{
public:
    CompactText() noexcept { m_bytes[kTag] = 0; }
    explicit CompactText(std::string_view text)
    {
        if (text.size() <= kInline) {
            if (!text.empty())
                std::memcpy(m_bytes, text.data(), text.size());
            m_bytes[kTag] = static_cast<unsigned char>(text.size());
        } else {
            new (m_bytes) SharedText(SharedText::make(text));
            m_bytes[kTag] = kShared;
        }
    }
    CompactText(const CompactText &other) noexcept
    {
        if (other.isShared())
            new (m_bytes) SharedText(*other.shared());
        else
            std::memcpy(m_bytes, other.m_bytes, sizeof m_bytes);
        m_bytes[kTag] = other.m_bytes[kTag];
    }
    CompactText(CompactText &&other) noexcept
    {
        std::memcpy(m_bytes, other.m_bytes, sizeof m_bytes); // a SharedText is one pointer: moved so
        other.m_bytes[kTag] = 0;                             // and the other is left empty
    }
    CompactText &operator=(CompactText other) noexcept
    {
        unsigned char bytes[sizeof m_bytes];
        std::memcpy(bytes, m_bytes, sizeof bytes);
        std::memcpy(m_bytes, other.m_bytes, sizeof m_bytes);
        std::memcpy(other.m_bytes, bytes, sizeof bytes); // `other` releases what this held
        return *this;
    }
    ~CompactText()
    {
        if (isShared())
            shared()->~SharedText();
    }

    std::string_view view() const noexcept
    {
        if (isShared())
            return shared()->view();
        return std::string_view(reinterpret_cast<const char *>(m_bytes), m_bytes[kTag]);
    }
    bool empty() const noexcept { return view().empty(); }

private:
    static constexpr std::size_t kInline = 15;
    static constexpr std::size_t kTag = 15; // the length in place, or kShared
    static constexpr unsigned char kShared = 0xff;

    bool isShared() const noexcept { return m_bytes[kTag] == kShared; }
    SharedText *shared() noexcept { return std::launder(reinterpret_cast<SharedText *>(m_bytes)); }
    const SharedText *shared() const noexcept
    {
        return std::launder(reinterpret_cast<const SharedText *>(m_bytes));
    }

    static_assert(sizeof(SharedText) <= kTag);
    alignas(SharedText) unsigned char m_bytes[16];
};
static_assert(sizeof(CompactText) == 16);

inline std::string_view textOf(const CompactText &text)
{
    return text.view();
}

// Interns text that many sessions repeat (user agents: a shop's million sessions come from a few
// thousand browsers), so that each distinct value is stored once. Thread-safe. Bounded: at most
// capacity distinct values are pooled; when the pool is full, values no session holds any more
// are dropped, and if it is still full the new value gets its own copy (correct, just not shared),
// so that clients sending a different value every time cannot grow the pool.
class TextPool
{
public:
    explicit TextPool(std::size_t capacity = 4096) : m_capacity(capacity) {}

    SharedText intern(std::string_view text)
    {
        if (text.empty())
            return {};
        std::lock_guard lock(m_mutex);
        if (auto it = m_pool.find(text); it != m_pool.end())
            return it->second;
        SharedText shared = SharedText::make(text);
        if (m_pool.size() >= m_capacity)
            pruneLocked();
        if (m_pool.size() < m_capacity)
            m_pool.emplace(shared.view(), shared);
        return shared;
    }

    std::size_t size() const
    {
        std::lock_guard lock(m_mutex);
        return m_pool.size();
    }

private:
    void pruneLocked()
    {
        for (auto it = m_pool.begin(); it != m_pool.end();) {
            if (it->second.use_count() == 1) // only the pool holds it
                it = m_pool.erase(it);
            else
                ++it;
        }
    }

    const std::size_t m_capacity;
    mutable std::mutex m_mutex;
    // Keys view the pooled strings themselves.
    std::unordered_map<std::string_view, SharedText> m_pool;
};

} // namespace hourglass
