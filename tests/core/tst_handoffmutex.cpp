// HandoffMutex: a holder learns that someone waits, and after a batch hands the lock over instead of
// taking it again first.

#include "HandoffMutex.h"

#include <QtTest>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

using namespace hourglass;
using namespace std::chrono_literals;

namespace {

// Waits (bounded) for a condition another thread makes true.
template<typename Condition> bool eventually(Condition condition)
{
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(100us);
    }
    return true;
}

} // namespace

class TestHandoffMutex : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void uncontendedIsNotContended()
    {
        HandoffMutex mutex;
        QVERIFY(!mutex.contended());
        {
            std::lock_guard lock(mutex);
            QVERIFY(!mutex.contended());
            QVERIFY(!mutex.try_lock()); // not recursive: a second lock is refused, not granted
        }
        QVERIFY(mutex.try_lock());
        mutex.unlock();
        mutex.yieldToWaiters(); // nobody waits: returns at once
    }

    // The holder sees a waiter (both while it spins and once it sleeps in the kernel), and
    // yieldToWaiters() returns only once the waiter holds the lock.
    void holderSeesTheWaiterAndHandsTheLockOver()
    {
        HandoffMutex mutex;
        std::atomic<bool> acquired{false}, release{false};
        mutex.lock();
        bool holding = true;
        std::thread waiter([&] {
            std::lock_guard lock(mutex);
            acquired = true;
            while (!release)
                std::this_thread::sleep_for(100us);
        });
        // On a failed check: let the waiter finish, so that the failure is reported, not a crash.
        const auto cleanup = qScopeGuard([&] {
            if (holding)
                mutex.unlock();
            release = true;
            if (waiter.joinable())
                waiter.join();
        });
        QVERIFY(eventually([&] { return mutex.contended(); }));
        std::this_thread::sleep_for(5ms); // past the spin: the waiter is asleep in std::mutex::lock()
        QVERIFY(mutex.contended());
        QVERIFY(!acquired);
        mutex.unlock();
        holding = false;
        // A limit far beyond any scheduling delay: with the default 2 ms, a run under load (ctest
        // -j2) saw the waiter not yet scheduled when the limit ran out.
        mutex.yieldToWaiters(std::chrono::seconds(10));
        QVERIFY(!mutex.contended());
        holding = mutex.try_lock();
        QVERIFY(!holding); // the waiter holds it now, before this thread could lock again
        release = true;
        waiter.join();
        QVERIFY(acquired);
        QVERIFY(mutex.try_lock());
        mutex.unlock();
    }

    // Several threads hammering one counter through the mutex lose no increment (it excludes).
    void excludes()
    {
        HandoffMutex mutex;
        long counter = 0;
        constexpr int kThreads = 4, kRounds = 20000;
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([&] {
                for (int i = 0; i < kRounds; ++i) {
                    std::lock_guard lock(mutex);
                    ++counter;
                    if (i % 64 == 0)
                        mutex.yieldToWaiters(
                            50us); // holding it: a waiter cannot take it, so this ends by time
                }
            });
        for (auto &thread : threads)
            thread.join();
        QCOMPARE(counter, long(kThreads) * kRounds);
        QVERIFY(!mutex.contended());
    }
};

QTEST_APPLESS_MAIN(TestHandoffMutex)
#include "tst_handoffmutex.moc"
