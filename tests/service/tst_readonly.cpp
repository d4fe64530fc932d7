// The running service when its data directory turns read-only (as ext4 remounts itself on an I/O
// error): changes are refused with a clear status, never acknowledged; sessions already there keep
// validating from memory; status reports the store as degraded with the system's reason; the store
// file is not damaged; and everything resumes by itself once the directory is writable again.
//
// The data directory lives on switchable_fs (tests/helpers), a pass-through FUSE file system that
// fails every write with EROFS from the moment it gets SIGUSR1 — Linux itself refuses to remount a
// file system read-only while files are open for writing, which the store's always are.

#include "StoreFault.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTest>

#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace hourglass;
using namespace hourglass::test;

namespace {

bool mounted(const QString &path)
{
    QFile mounts(QStringLiteral("/proc/self/mounts"));
    if (!mounts.open(QIODevice::ReadOnly))
        return false;
    const QByteArray needle = ' ' + QFile::encodeName(path) + ' ';
    return mounts.readAll().contains(needle);
}

} // namespace

class TestReadOnly final : public QObject
{
    Q_OBJECT

    QTemporaryDir m_root;
    QString m_backing;
    QString m_mount;
    QProcess m_fs;

    void switchTo(int signal)
    {
        QVERIFY(::kill(pid_t(m_fs.processId()), signal) == 0);
        // The switch is a flag in the file system's process, set when the signal arrives.
        const bool wantReadOnly = signal == SIGUSR1;
        QTRY_VERIFY_WITH_TIMEOUT(readOnlyNow() == wantReadOnly, 5000);
    }

    // Whether creating a file on the mount fails with EROFS right now.
    bool readOnlyNow() const
    {
        const QByteArray probe = QFile::encodeName(m_mount + QStringLiteral("/.probe"));
        const int fd = ::open(probe.constData(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return errno == EROFS;
        ::close(fd);
        ::unlink(probe.constData());
        return false;
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (::access("/dev/fuse", R_OK | W_OK) != 0)
            QSKIP("no usable /dev/fuse on this machine (FUSE is needed to make a directory read-only under "
                  "open files)");
        m_backing = m_root.filePath(QStringLiteral("backing"));
        m_mount = m_root.filePath(QStringLiteral("mnt"));
        QVERIFY(QDir().mkpath(m_backing));
        QVERIFY(QDir().mkpath(m_mount));
        m_fs.setProcessChannelMode(QProcess::ForwardedChannels);
        m_fs.start(QStringLiteral(HOURGLASS_SWITCHABLE_FS), {m_backing, m_mount, QStringLiteral("-f")});
        QVERIFY(m_fs.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(mounted(m_mount), 10000);
    }

    void cleanupTestCase()
    {
        if (m_fs.state() == QProcess::NotRunning)
            return;
        if (mounted(m_mount))
            QProcess::execute(QStringLiteral("fusermount3"), {QStringLiteral("-u"), m_mount});
        if (!m_fs.waitForFinished(10000)) {
            m_fs.kill();
            m_fs.waitForFinished();
        }
    }

    void aReadOnlyDataDirectoryDegradesWithoutLosingOrDamagingAnything()
    {
        const QString dataDir = m_mount + QStringLiteral("/data");
        std::string before;
        std::string doomed;
        {
            ServiceFixture f({}, Policy(), nullptr, dataDir);
            before = f.create("alice");
            doomed = f.create("bob");
            QVERIFY(f.runtime->store().sync());

            switchTo(SIGUSR1);

            const DuringStoreFault during = askDuringStoreFault(f, before, doomed);
            verifyRefusedDuringStoreFault(during, QStringLiteral("Read-only file system"));
            if (QTest::currentTestFailed())
                return;

            // Writable again. Bob's logout was refused (not durable) but his session ended in memory
            // at once (fail closed), and it stays ended: the store writes the removal with its next
            // successful batch.
            switchTo(SIGUSR2);
            verifyRecoveredFromStoreFault(f, doomed);
            if (QTest::currentTestFailed())
                return;
        }
        // After a restart on the same directory: alice and dave, and bob's session did not come back.
        ServiceFixture again({}, Policy(), nullptr, dataDir);
        QCOMPARE(again.runtime->engine().sessionCount(), std::size_t(2));
        QCOMPARE(again.request("GET", "/v1/session", {{"Authorization", "Session " + before}}).status, 200);
        QCOMPARE(again.request("GET", "/v1/session", {{"Authorization", "Session " + doomed}}).status, 401);
    }
};

QTEST_GUILESS_MAIN(TestReadOnly)
#include "tst_readonly.moc"
