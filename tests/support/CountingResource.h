#pragma once

#include <cstddef>
#include <memory_resource>
#include <new>

namespace hourglass::test {

// Counts what is allocated through it and not yet given back; the memory comes from new/delete.
// With failAfter set, the allocation after that many more throws std::bad_alloc (once).
class CountingResource final : public std::pmr::memory_resource
{
public:
    std::size_t bytes = 0;
    std::size_t blocks = 0;
    std::ptrdiff_t failAfter = -1;

private:
    void *do_allocate(std::size_t size, std::size_t alignment) override
    {
        if (failAfter == 0) {
            failAfter = -1;
            throw std::bad_alloc();
        }
        if (failAfter > 0)
            --failAfter;
        void *p = std::pmr::new_delete_resource()->allocate(size, alignment);
        bytes += size;
        ++blocks;
        return p;
    }
    void do_deallocate(void *p, std::size_t size, std::size_t alignment) override
    {
        bytes -= size;
        --blocks;
        std::pmr::new_delete_resource()->deallocate(p, size, alignment);
    }
    bool do_is_equal(const std::pmr::memory_resource &other) const noexcept override
    {
        return this == &other;
    }
};

} // namespace hourglass::test
