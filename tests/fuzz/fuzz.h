/*
 * fuzz.h — helpers shared by the fuzz harnesses (tests/fuzz/fuzz_*.c).
 *
 * Each harness defines LLVMFuzzerTestOneInput(data, size).  A violated
 * property is reported with fuzz_fail(), which prints the reason and aborts,
 * so libFuzzer (and the corpus driver, driver.c) see a crash and keep the
 * input.  Everything here is static: each harness is one translation unit.
 */
#ifndef WS_FUZZ_H
#define WS_FUZZ_H

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

int         LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The object seeds (make_corpus.c) are written under this name, with this key. */
#define FUZZ_OBJECT_NAME "wal/00000001/0000000100000000/000000010000000000000001"
#define FUZZ_KEY "fuzz key of walship fuzz harness"     /* 32 bytes: CRYPT_KEY_LEN */

static inline void fuzz_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static inline void
fuzz_fail(const char *fmt, ...)
{
    va_list     ap;

    fprintf(stderr, "fuzz: property violated: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* A NUL-terminated copy of the input (malloc'd; a NUL inside ends the text). */
static inline char *
fuzz_text(const uint8_t *data, size_t size)
{
    char       *s = malloc(size + 1);

    if (s == NULL)
        abort();
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/*
 * Remove everything below the directory open as dfd, whatever the modes the
 * input gave it; symbolic links are removed, never followed.  Returns the
 * number of entries that could not be removed.
 */
static inline int
fuzz_rm_below(int dfd)
{
    DIR        *d = fdopendir(dfd);
    struct dirent *e;
    int         left = 0;

    if (d == NULL)
    {
        close(dfd);
        return 1;
    }
    while ((e = readdir(d)) != NULL)
    {
        struct stat st;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
            left++;
            continue;
        }
        if (S_ISDIR(st.st_mode))
        {
            int         sub;

            fchmodat(dirfd(d), e->d_name, 0700, 0);
            sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0)
            {
                left++;
                continue;
            }
            left += fuzz_rm_below(sub);
            if (unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0)
                left++;
        }
        else if (unlinkat(dirfd(d), e->d_name, 0) < 0)
            left++;
    }
    closedir(d);
    return left;
}

/* Empty the directory at path (it stays). */
static inline void
fuzz_empty_dir(const char *path)
{
    int         fd;

    chmod(path, 0700);
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fuzz_rm_below(fd) != 0)
        fuzz_fail("could not empty \"%s\": %s", path, strerror(errno));
}

/* The number of names in directory path other than . and .. (-1 if unreadable). */
static inline int
fuzz_count_entries(const char *path)
{
    DIR        *d = opendir(path);
    struct dirent *e;
    int         n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Empty and remove the directory at path; used at exit. */
static inline void
fuzz_rm_dir(const char *path)
{
    int         fd;

    chmod(path, 0700);
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        fuzz_rm_below(fd);
    rmdir(path);
}

/*
 * A private scratch directory for this process, /tmp/walship-fuzz-XXXXXX,
 * created on first use and removed at exit (not after a crash: the
 * directory is then left for a look).
 */
static inline void fuzz_scratch_remove(void);

static inline const char *
fuzz_scratch(void)
{
    static char dir[64];

    if (dir[0] == '\0')
    {
        snprintf(dir, sizeof(dir), "/tmp/walship-fuzz-XXXXXX");
        if (mkdtemp(dir) == NULL)
            fuzz_fail("mkdtemp: %s", strerror(errno));
        atexit(fuzz_scratch_remove);
    }
    return dir;
}

static inline void
fuzz_scratch_remove(void)
{
    fuzz_rm_dir(fuzz_scratch());
}

/*
 * Harnesses that write files (the tar extractor) must not run as root while
 * fuzzing: a bug that escaped the target directory could then damage the
 * system.  Under libFuzzer (not in the corpus driver, which reads its files
 * as it goes) a root process becomes "nobody" for good before the first
 * input; tests/fuzz/run.sh leaves it a writable corpus and artifact
 * directory.
 */
static inline void
fuzz_drop_root(void)
{
#ifndef WS_FUZZ_DRIVER
    if (geteuid() == 0)
    {
        const struct passwd *pw = getpwnam("nobody");
        uid_t       uid = pw ? pw->pw_uid : 65534;
        gid_t       gid = pw ? pw->pw_gid : 65534;

        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0 || setuid(0) == 0)
            fuzz_fail("could not drop root privileges: %s", strerror(errno));
    }
#endif
}

#endif
