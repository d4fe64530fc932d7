// The running service when its disk fills up: changes are refused with a clear status (never
// acknowledged), sessions already there keep validating from memory, status reports the store as
// degraded and why, the store file is not damaged, and everything resumes by itself once writes
// succeed again. The full disk is RLIMIT_FSIZE on this process (the store's writer runs here).

#include "FileSizeLimit.h"
#include "StoreFault.h"

#include <QTest>

using namespace hourglass;
using namespace hourglass::test;

class TestDiskFull final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void aFullDiskDegradesWithoutLosingOrDamagingAnything()
    {
        ServiceFixture f;
        const std::string before = f.create("alice");
        const std::string doomed = f.create("bob");
        QVERIFY(f.runtime->store().sync());

        FileSizeLimit full(1);
        QVERIFY(full.active());

        const DuringStoreFault during = askDuringStoreFault(f, before, doomed);
        full.restore();

        // The reason here is the file size limit standing in for a full disk.
        verifyRefusedDuringStoreFault(during, QStringLiteral("File too large"));
        if (QTest::currentTestFailed())
            return;
        // Space again.
        verifyRecoveredFromStoreFault(f, doomed);
    }
};

QTEST_GUILESS_MAIN(TestDiskFull)
#include "tst_diskfull.moc"
