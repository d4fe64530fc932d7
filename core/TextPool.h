#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hourglass {

// Immutable text shared by every holder; null means empty.
using SharedText = std::shared_ptr<const std::string>;

inline std::string_view textOf(const SharedText &text)
{
    return text ? std::string_view(*text) : std::string_view();
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
        auto shared = std::make_shared<const std::string>(text);
        if (m_pool.size() >= m_capacity)
            pruneLocked();
        if (m_pool.size() < m_capacity)
            m_pool.emplace(std::string_view(*shared), shared);
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
