// A pass-through FUSE file system for tests whose disk must turn read-only under a running
// program, the way ext4 remounts itself read-only on an error: files already open stay open, and
// every write, create, fsync or rename fails with EROFS from that moment on. Linux refuses a real
// read-only remount while files are open for writing (EBUSY), and a read-only bind mount does not
// affect descriptors opened before it, so the switch lives here.
//
//   switchable_fs <backing directory> <mount point> [fuse options, e.g. -f]
//   kill -USR1 <pid>   writes fail with EROFS from now on
//   kill -USR2 <pid>   writable again
//   fusermount3 -u <mount point>   (or umount) ends it
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE

#include <fuse.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static char g_backing[PATH_MAX];
static volatile sig_atomic_t g_readOnly = 0;

static int full(char *out, const char *path)
{
    if (snprintf(out, PATH_MAX, "%s%s", g_backing, path) >= PATH_MAX)
        return -ENAMETOOLONG;
    return 0;
}

#define FULL(name, path)                                                                                      \
    char name[PATH_MAX];                                                                                      \
    if (full(name, path) < 0)                                                                                 \
        return -ENAMETOOLONG;

#define REFUSE_WHEN_READ_ONLY()                                                                               \
    if (g_readOnly)                                                                                           \
        return -EROFS;

static int sfGetattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    if (fi)
        return fstat((int)fi->fh, st) == 0 ? 0 : -errno;
    FULL(p, path);
    return lstat(p, st) == 0 ? 0 : -errno;
}

static int sfAccess(const char *path, int mask)
{
    FULL(p, path);
    if ((mask & W_OK) && g_readOnly)
        return -EROFS;
    return access(p, mask) == 0 ? 0 : -errno;
}

static int sfReaddir(const char *path, void *buf, fuse_fill_dir_t fill, off_t offset, struct fuse_file_info *fi,
                     enum fuse_readdir_flags flags)
{
    (void)offset;
    (void)fi;
    (void)flags;
    FULL(p, path);
    DIR *dir = opendir(p);
    if (!dir)
        return -errno;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        struct stat st;
        memset(&st, 0, sizeof st);
        st.st_ino = e->d_ino;
        st.st_mode = (mode_t)(e->d_type << 12);
        if (fill(buf, e->d_name, &st, 0, 0))
            break;
    }
    closedir(dir);
    return 0;
}

static int sfOpen(const char *path, struct fuse_file_info *fi)
{
    if (g_readOnly && ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)))
        return -EROFS;
    FULL(p, path);
    const int fd = open(p, fi->flags);
    if (fd < 0)
        return -errno;
    fi->fh = (uint64_t)fd;
    return 0;
}

static int sfCreate(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    REFUSE_WHEN_READ_ONLY();
    FULL(p, path);
    const int fd = open(p, fi->flags, mode);
    if (fd < 0)
        return -errno;
    fi->fh = (uint64_t)fd;
    return 0;
}

static int sfRead(const char *path, char *buf, size_t size, off_t offset, struct fuse_file_info *fi)
{
    (void)path;
    const ssize_t n = pread((int)fi->fh, buf, size, offset);
    return n < 0 ? -errno : (int)n;
}

static int sfWrite(const char *path, const char *buf, size_t size, off_t offset, struct fuse_file_info *fi)
{
    (void)path;
    REFUSE_WHEN_READ_ONLY();
    const ssize_t n = pwrite((int)fi->fh, buf, size, offset);
    return n < 0 ? -errno : (int)n;
}

static int sfFsync(const char *path, int dataOnly, struct fuse_file_info *fi)
{
    (void)path;
    REFUSE_WHEN_READ_ONLY();
    const int rc = dataOnly ? fdatasync((int)fi->fh) : fsync((int)fi->fh);
    return rc == 0 ? 0 : -errno;
}

static int sfFsyncdir(const char *path, int dataOnly, struct fuse_file_info *fi)
{
    (void)path;
    (void)dataOnly;
    (void)fi;
    REFUSE_WHEN_READ_ONLY();
    return 0;
}

static int sfRelease(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    close((int)fi->fh);
    return 0;
}

static int sfTruncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    REFUSE_WHEN_READ_ONLY();
    if (fi)
        return ftruncate((int)fi->fh, size) == 0 ? 0 : -errno;
    FULL(p, path);
    return truncate(p, size) == 0 ? 0 : -errno;
}

static int sfFallocate(const char *path, int mode, off_t offset, off_t length, struct fuse_file_info *fi)
{
    (void)path;
    REFUSE_WHEN_READ_ONLY();
    return fallocate((int)fi->fh, mode, offset, length) == 0 ? 0 : -errno;
}

static int sfUnlink(const char *path)
{
    REFUSE_WHEN_READ_ONLY();
    FULL(p, path);
    return unlink(p) == 0 ? 0 : -errno;
}

static int sfMkdir(const char *path, mode_t mode)
{
    REFUSE_WHEN_READ_ONLY();
    FULL(p, path);
    return mkdir(p, mode) == 0 ? 0 : -errno;
}

static int sfRmdir(const char *path)
{
    REFUSE_WHEN_READ_ONLY();
    FULL(p, path);
    return rmdir(p) == 0 ? 0 : -errno;
}

static int sfRename(const char *from, const char *to, unsigned int flags)
{
    REFUSE_WHEN_READ_ONLY();
    if (flags)
        return -EINVAL;
    FULL(a, from);
    FULL(b, to);
    return rename(a, b) == 0 ? 0 : -errno;
}

static int sfChmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    REFUSE_WHEN_READ_ONLY();
    if (fi)
        return fchmod((int)fi->fh, mode) == 0 ? 0 : -errno;
    FULL(p, path);
    return chmod(p, mode) == 0 ? 0 : -errno;
}

static int sfChown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    REFUSE_WHEN_READ_ONLY();
    if (fi)
        return fchown((int)fi->fh, uid, gid) == 0 ? 0 : -errno;
    FULL(p, path);
    return lchown(p, uid, gid) == 0 ? 0 : -errno;
}

static int sfUtimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    REFUSE_WHEN_READ_ONLY();
    if (fi)
        return futimens((int)fi->fh, tv) == 0 ? 0 : -errno;
    FULL(p, path);
    return utimensat(AT_FDCWD, p, tv, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int sfStatfs(const char *path, struct statvfs *st)
{
    FULL(p, path);
    if (statvfs(p, st) != 0)
        return -errno;
    if (g_readOnly)
        st->f_flag |= ST_RDONLY;
    return 0;
}

static void onSignal(int signal)
{
    g_readOnly = signal == SIGUSR1;
}

static void *sfInit(struct fuse_conn_info *conn, struct fuse_config *config)
{
    (void)conn;
    config->use_ino = 1;
    // No kernel caching of attributes or data: every operation reaches this process, so the
    // switch takes effect at once.
    config->entry_timeout = 0;
    config->attr_timeout = 0;
    config->negative_timeout = 0;
    return NULL;
}

int main(int argc, char *argv[])
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s <backing directory> <mount point> [fuse options]\n", argv[0]);
        return 2;
    }
    if (!realpath(argv[1], g_backing)) {
        perror(argv[1]);
        return 2;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = onSignal;
    sigaction(SIGUSR1, &action, NULL);
    sigaction(SIGUSR2, &action, NULL);

    static const struct fuse_operations ops = {
        .getattr = sfGetattr,
        .mkdir = sfMkdir,
        .unlink = sfUnlink,
        .rmdir = sfRmdir,
        .rename = sfRename,
        .chmod = sfChmod,
        .chown = sfChown,
        .truncate = sfTruncate,
        .open = sfOpen,
        .read = sfRead,
        .write = sfWrite,
        .statfs = sfStatfs,
        .release = sfRelease,
        .fsync = sfFsync,
        .readdir = sfReaddir,
        .fsyncdir = sfFsyncdir,
        .init = sfInit,
        .access = sfAccess,
        .create = sfCreate,
        .utimens = sfUtimens,
        .fallocate = sfFallocate,
    };
    // argv without the backing directory: fuse_main sees <mount point> [options].
    argv[1] = argv[0];
    return fuse_main(argc - 1, argv + 1, &ops, NULL);
}
