/*
 * recover.c — build a data directory from a base backup and configure
 * point-in-time recovery.  See recover.h.
 */
#define _GNU_SOURCE
#include "recover.h"
#include "catalog.h"
#include "clock.h"
#include "fileutil.h"
#include "log.h"
#include "pgconf_quote.h"
#include "pg.h"
#include "repo.h"
#include "sigstop.h"
#include "tar.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- directories ---------------------------------------------------------- */

/* Remove everything below dirfd's directory (not following symlinks). */
static int
empty_dir_at(int dirfd, const char *what, struct ws_err *err)
{
    DIR        *d;
    struct dirent *e;
    int         fd2 = dup(dirfd);
    int         rc = 0;

    if (fd2 < 0)
        return err_set_errno(err, WS_EIO, errno, "could not read directory \"%s\"", what);
    d = fdopendir(fd2);
    if (d == NULL)
    {
        close(fd2);
        return err_set_errno(err, WS_EIO, errno, "could not read directory \"%s\"", what);
    }
    while ((e = readdir(d)) != NULL)
    {
        struct stat sb;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (fstatat(dirfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
        {
            rc = err_set_errno(err, WS_EIO, errno, "could not stat \"%s/%s\"", what, e->d_name);
            break;
        }
        if (S_ISDIR(sb.st_mode))
        {
            int         sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            char        path[PATH_MAX];

            snprintf(path, sizeof(path), "%s/%s", what, e->d_name);
            if (sub < 0)
            {
                rc = err_set_errno(err, WS_EIO, errno, "could not open directory \"%s\"", path);
                break;
            }
            rc = empty_dir_at(sub, path, err);
            close(sub);
            if (rc < 0)
                break;
            if (unlinkat(dirfd, e->d_name, AT_REMOVEDIR) < 0)
            {
                rc = err_set_errno(err, WS_EIO, errno, "could not remove directory \"%s\"", path);
                break;
            }
        }
        else if (unlinkat(dirfd, e->d_name, 0) < 0)
        {
            rc = err_set_errno(err, WS_EIO, errno, "could not remove \"%s/%s\"", what, e->d_name);
            break;
        }
    }
    closedir(d);
    return rc;
}

static int
empty_dir(const char *path, struct ws_err *err)
{
    int         fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int         rc;

    if (fd < 0)
        return err_set_errno(err, WS_EIO, errno, "could not open directory \"%s\"", path);
    rc = empty_dir_at(fd, path, err);
    close(fd);
    return rc;
}

/* 1 empty, 0 not empty, -1 error; ENOENT sets *missing. */
static int
dir_state(const char *path, bool *missing, struct ws_err *err)
{
    DIR        *d;
    struct dirent *e;
    int         rc = 1;

    *missing = false;
    d = opendir(path);
    if (d == NULL)
    {
        if (errno == ENOENT)
        {
            *missing = true;
            return 1;
        }
        if (errno == ENOTDIR)
            return err_set(err, WS_EINPUT, "\"%s\" exists but is not a directory", path);
        return err_set_errno(err, WS_EIO, errno, "could not open directory \"%s\"", path);
    }
    while ((e = readdir(d)) != NULL)
    {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
        {
            rc = 0;
            break;
        }
    }
    closedir(d);
    return rc;
}

/* mkdir path (mode 0700) and fsync its parent, so that the new entry is durable. */
static int
make_dir_durable(const char *path, struct ws_err *err)
{
    if (mkdir(path, 0700) < 0)
    {
        if (errno == EEXIST)
            return 0;
        return err_set_errno(err, WS_OK, errno, "could not create directory \"%s\"", path);
    }
    return file_fsync_parent(path, err);
}

/*
 * mkdir -p with mode 0700 for what we create; each directory created is
 * fsynced into its parent (what is created inside is synced at the end).
 */
static int
make_dirs(const char *path, struct ws_err *err)
{
    char        buf[PATH_MAX];
    size_t      len = strlen(path);

    if (len >= sizeof(buf))
        return err_set(err, WS_EINPUT, "path \"%s\" is too long", path);
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++)
    {
        if (*p != '/')
            continue;
        *p = '\0';
        if (make_dir_durable(buf, err) < 0)
            return -1;
        *p = '/';
    }
    return make_dir_durable(buf, err);
}

/* A live postmaster.pid in dir? */
static bool
postmaster_running(const char *dir, long *pid_out)
{
    char        path[PATH_MAX];
    FILE       *f;
    long        pid = 0;

    snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
    f = fopen(path, "r");
    if (f == NULL)
        return errno != ENOENT;     /* unreadable: assume the worst */
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    *pid_out = pid;
    if (pid <= 0)
        return true;            /* unreadable: assume the worst */
    return kill((pid_t) pid, 0) == 0 || errno == EPERM;
}

/* ---- planning ------------------------------------------------------------- */

struct place
{
    char        dir[PATH_MAX];      /* where this tablespace goes */
    bool        created;            /* we created the directory */
    bool        prepared;           /* it is ours to clean on failure */
};

struct job
{
    const struct backup_object *obj;
    const char *dir;
};

struct shared
{
    const struct cfg *cfg;
    const struct recover_options *o;
    struct repo *repo;
    const struct backup_info *b;
    struct place *places;           /* [0] = data dir, then per b->tablespaces[] */

    pthread_mutex_t lock;
    struct job *jobs;
    int         njobs;
    int         next;
    bool        failed;
    struct ws_err err;              /* first failure */
    uint64_t    done;               /* stored bytes fetched */
    uint64_t    total;
    uint64_t    bytes;
    uint64_t    files;
};

static const char *
map_lookup(const struct recover_options *o, uint32_t oid, const char *location)
{
    char        num[16];

    snprintf(num, sizeof(num), "%u", oid);
    for (int i = 0; i < o->nmaps; i++)
        if (strcmp(o->maps[i].from, location) == 0 || strcmp(o->maps[i].from, num) == 0)
            return o->maps[i].to;
    return NULL;
}

static int
map_symlink(const char *path, const char *target, char *out, size_t outlen, void *arg)
{
    struct shared *s = arg;
    const char *name = strrchr(path, '/');
    unsigned long oid;

    (void) target;
    if (name == NULL)
        return -1;
    oid = strtoul(name + 1, NULL, 10);
    for (int i = 0; i < s->b->ntablespaces; i++)
    {
        if (s->b->tablespaces[i].oid == oid)
        {
            if ((size_t) snprintf(out, outlen, "%s", s->places[i + 1].dir) >= outlen)
                return -1;
            return 0;
        }
    }
    return -1;                  /* a link the descriptor does not know */
}

/* ---- workers -------------------------------------------------------------- */

/* Progress over the stored bytes read; stops a worker once another failed. */
static int
meter(void *arg, uint64_t len, struct ws_err *err)
{
    struct shared *s = arg;
    uint64_t    done, total;
    bool        failed;

    pthread_mutex_lock(&s->lock);
    s->done += len;
    done = s->done;
    total = s->total;
    failed = s->failed;
    pthread_mutex_unlock(&s->lock);
    if (failed)
        return err_set(err, WS_EINTERNAL, "cancelled");
    /* a stop signal taken by sigstop.h (walship drill): stop, and remove what was made */
    if (sigstop_caught() != 0)
        return err_set(err, WS_EINTERRUPTED, "interrupted by signal %d", sigstop_caught());
    if (s->o->progress)
        s->o->progress(s->o->arg, done, total);
    return 0;
}

static int
extract_one(struct shared *s, const struct job *j, struct ws_err *err)
{
    const struct backup_object *obj = j->obj;
    struct tar_extract_opts to;
    struct tar_extract_stats st;
    struct repo_read rd;
    struct filter *tar = NULL;
    char        key[REPO_KEY_MAX];
    int         rc = -1;

    if (backup_key(s->b->id, obj->name, key, sizeof(key), err) < 0)
        return -1;
    memset(&to, 0, sizeof(to));
    to.target_dir = j->dir;
    /* no fsync here: recover_run syncs the whole tree once every part is in */
    to.fsync = false;
    if (obj->tablespace == 0)
    {
        to.symlinks = TAR_SYMLINKS_TABLESPACE;
        to.map_symlink = map_symlink;
        to.map_arg = s;
    }
    else
        to.symlinks = TAR_SYMLINKS_NONE;
    tar = tar_extract_new(&to, err);
    if (tar == NULL)
        goto out;
    memset(&rd, 0, sizeof(rd));
    rd.progress = meter;
    rd.arg = s;
    if (repo_get(s->repo, key, tar, &rd, err) < 0)
    {
        if (err->code == WS_ENOTFOUND)
        {
            err_set(err, WS_ECORRUPT, "object \"%s\" of backup %s is missing from repository \"%s\"",
                    key, s->b->id, repo_location(s->repo));
            err_hint(err, "The backup cannot be restored; choose another with --backup.");
        }
        goto out;
    }
    if (rd.obj.size != obj->size || rd.obj.xxh64 != obj->xxh64)
    {
        err_set(err, WS_ECORRUPT, "object \"%s\" does not match the descriptor of backup %s",
                key, s->b->id);
        err_detail(err, "It holds %" PRIu64 " bytes with checksum %016" PRIx64
                   ", the descriptor says %" PRIu64 " bytes with checksum %016" PRIx64 ".",
                   rd.obj.size, rd.obj.xxh64, obj->size, obj->xxh64);
        goto out;
    }
    tar_extract_stats(tar, &st);
    pthread_mutex_lock(&s->lock);
    s->bytes += st.bytes;
    s->files += st.files;
    pthread_mutex_unlock(&s->lock);
    log_debug("extracted \"%s\": %" PRIu64 " files, %" PRIu64 " bytes", key, st.files, st.bytes);
    rc = 0;
out:
    filter_free(tar);
    if (rc < 0 && strstr(err->msg, key) == NULL)
        err_prefix(err, "could not restore \"%s\"", key);
    return rc;
}

static void *
worker(void *arg)
{
    struct shared *s = arg;

    for (;;)
    {
        struct ws_err e = WS_ERR_INIT;
        int         idx;

        pthread_mutex_lock(&s->lock);
        if (s->failed || s->next >= s->njobs)
        {
            pthread_mutex_unlock(&s->lock);
            break;
        }
        idx = s->next++;
        pthread_mutex_unlock(&s->lock);
        if (extract_one(s, &s->jobs[idx], &e) < 0)
        {
            pthread_mutex_lock(&s->lock);
            if (!s->failed)
            {
                s->failed = true;
                s->err = e;
            }
            pthread_mutex_unlock(&s->lock);
            break;
        }
    }
    return NULL;
}

static int
cmp_job(const void *a, const void *b)
{
    const struct job *x = a, *y = b;

    if (x->obj->stored != y->obj->stored)
        return x->obj->stored < y->obj->stored ? 1 : -1;
    return strcmp(x->obj->name, y->obj->name);
}

/* ---- recovery settings ---------------------------------------------------- */

static void
append(char *buf, size_t len, const char *s)
{
    size_t      n = strlen(buf);

    snprintf(buf + n, len - n, "%s", s);
}

static int
build_restore_command(const struct cfg *cfg, const struct recover_options *o, char *out,
                      size_t len, struct ws_err *err)
{
    char        prog[PATH_MAX] = "";
    int         nopt;
    const struct cfg_option *opts = cfg_options(&nopt);

    if (o->restore_program != NULL)
        snprintf(prog, sizeof(prog), "%s", o->restore_program);
    else
    {
        char        self[PATH_MAX];
        ssize_t     n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        char       *slash;

        if (n > 0)
        {
            self[n] = '\0';
            slash = strrchr(self, '/');
            if (slash != NULL)
            {
                *slash = '\0';
                if ((size_t) snprintf(prog, sizeof(prog), "%s/walship-restore", self) >= sizeof(prog) ||
                    access(prog, X_OK) != 0)
                    prog[0] = '\0';
            }
        }
        if (prog[0] == '\0')
        {
            snprintf(prog, sizeof(prog), "walship-restore");
            log_warning("walship-restore was not found beside walship-recover; restore_command relies on PATH");
        }
    }
    /*
     * The server reads the value from postgresql.auto.conf, replaces %f, %p
     * and %% in it, and runs it with /bin/sh -c: so each word is quoted for
     * the shell with its % doubled, and only the final %f %p are placeholders
     * (pgconf_quote.h).
     */
    out[0] = '\0';
    if (pgconf_command_word(out, len, prog, err) < 0)
        goto too_long;
    if (cfg->config_file[0] != '\0')
    {
        char        abs[PATH_MAX];
        char        word[PATH_MAX + 16];

        if (realpath(cfg->config_file, abs) == NULL)
            return err_set_errno(err, WS_ECONFIG, errno, "could not resolve configuration file \"%s\"",
                                 cfg->config_file);
        snprintf(word, sizeof(word), "--config=%s", abs);
        if (pgconf_command_word(out, len, word, err) < 0)
            goto too_long;
    }
    for (int i = 0; i < nopt; i++)
    {
        char        num[64];
        char        word[CFG_MAX_VALUE + 64];
        const char *v;

        if (cfg->source[i] != CFG_SRC_ENV && cfg->source[i] != CFG_SRC_ARGV)
            continue;
        if (strcmp(opts[i].name, "pgdata") == 0 || strcmp(opts[i].name, "pg_conninfo") == 0 ||
            strncmp(opts[i].name, "backup_", 7) == 0 || strncmp(opts[i].name, "recover_", 8) == 0 ||
            strncmp(opts[i].name, "drill_", 6) == 0)
            continue;
        if (opts[i].secret)
        {
            char        env[80];

            for (size_t k = 0; k <= strlen(opts[i].name) && k < sizeof(env) - 1; k++)
                env[k] = (char) toupper((unsigned char) opts[i].name[k]);
            env[sizeof(env) - 1] = '\0';
            log_warning("%s was given in the environment; restore_command cannot carry it",
                        opts[i].name);
            log_hint("Put it in the configuration file, or give PostgreSQL the environment variable WALSHIP_%s.",
                     env);
            continue;
        }
        v = cfg_value_text(cfg, i, num, sizeof(num));
        snprintf(word, sizeof(word), "--%s=%s", opts[i].name, v);
        if (pgconf_command_word(out, len, word, err) < 0)
            goto too_long;
    }
    if (strlen(out) + strlen(" %f %p") + 1 >= len)
        goto too_long;
    append(out, len, " %f %p");

    /*
     * Every value write_recovery_conf hands to conf_line must be one a
     * configuration file can hold: refuse it now, before anything is
     * written, and name the setting.
     */
    if (pgconf_check_value("restore_command", out, err) < 0)
    {
        err_hint(err, "The path of walship-restore or of the configuration file, or a setting given in the environment or on the command line, holds a newline; rename it.");
        return -1;
    }
    if (o->target.kind == BACKUP_TARGET_XID || o->target.kind == BACKUP_TARGET_NAME)
    {
        const char *key = o->target.kind == BACKUP_TARGET_XID ? "recovery_target_xid" :
            "recovery_target_name";

        if (o->target_text != NULL && pgconf_check_value(key, o->target_text, err) < 0)
            return -1;
    }
    if (o->target_timeline != NULL &&
        pgconf_check_value("recovery_target_timeline", o->target_timeline, err) < 0)
        return -1;
    if (o->target_action != NULL &&
        pgconf_check_value("recovery_target_action", o->target_action, err) < 0)
        return -1;
    return 0;
too_long:
    return err_set(err, WS_ECONFIG, "restore_command would be too long");
}

/*
 * key = 'value' in postgresql.conf quoting (pgconf_quote_value).  The
 * values were checked by build_restore_command before anything was
 * restored; one that cannot be written is still an error here, never a
 * setting silently left out.
 */
static int
conf_line(FILE *f, const char *key, const char *value, struct ws_err *err)
{
    char        q[PGCONF_QUOTED_MAX] = "";

    if (pgconf_quote_value(q, sizeof(q), key, value, err) < 0)
        return -1;
    fprintf(f, "%s = %s\n", key, q);
    return 0;
}

static bool
dropped_key(const char *line)
{
    static const char *keys[] = {"restore_command", "recovery_target", "recovery_target_time",
        "recovery_target_lsn", "recovery_target_xid", "recovery_target_name",
        "recovery_target_inclusive", "recovery_target_timeline", "recovery_target_action",
        "recovery_end_command", NULL};

    while (*line == ' ' || *line == '\t')
        line++;
    for (int i = 0; keys[i]; i++)
    {
        size_t      n = strlen(keys[i]);

        if (strncmp(line, keys[i], n) == 0 &&
            (line[n] == ' ' || line[n] == '\t' || line[n] == '='))
            return true;
    }
    return false;
}

/*
 * Files walship-recover writes into the restored tree are new: created with
 * O_EXCL | O_NOFOLLOW (mode 0600 whatever the umask), so nothing is ever
 * written through a symbolic link planted where they go.  Their data and
 * entries become durable in the final sync of the tree.
 */
static int
create_new_fd(const char *path, int *fd, struct ws_err *err)
{
    *fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd < 0)
    {
        err_set_errno(err, WS_OK, errno, "could not create file \"%s\"", path);
        if (err->code == WS_ENOTFOUND)
            err->code = WS_EIO;
        return -1;
    }
    if (fchmod(*fd, 0600) < 0)
    {
        err_set_errno(err, WS_OK, errno, "could not change permissions of file \"%s\"", path);
        close(*fd);
        *fd = -1;
        unlink(path);
        return -1;
    }
    return 0;
}

static int
create_new_file(const char *path, FILE **f, struct ws_err *err)
{
    int         fd;

    if (create_new_fd(path, &fd, err) < 0)
        return -1;
    *f = fdopen(fd, "w");
    if (*f == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        close(fd);
        unlink(path);
        return -1;
    }
    return 0;
}

/*
 * Open a file of the restored tree for reading, never through a symbolic
 * link (O_NOFOLLOW) and only if it is a regular file.  *f is NULL if there is
 * no such file.
 */
static int
open_target_file(const char *path, FILE **f, struct ws_err *err)
{
    struct stat st;
    int         fd;

    *f = NULL;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
    {
        if (errno == ENOENT)
            return 0;
        if (errno == ELOOP)
        {
            err_set(err, WS_EINPUT, "refusing to read \"%s\": it is a symbolic link", path);
            err_detail(err, "walship-recover never reads or writes a file of the restored "
                       "directory through a symbolic link.");
            return -1;
        }
        return err_set_errno(err, WS_EIO, errno, "could not open file \"%s\"", path);
    }
    if (fstat(fd, &st) < 0)
    {
        err_set_errno(err, WS_EIO, errno, "could not stat file \"%s\"", path);
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode))
    {
        err_set(err, WS_EINPUT, "refusing to read \"%s\": it is not a regular file", path);
        close(fd);
        return -1;
    }
    *f = fdopen(fd, "r");
    if (*f == NULL)
    {
        close(fd);
        return err_set(err, WS_EINTERNAL, "out of memory");
    }
    return 0;
}

static int
write_recovery_conf(const struct recover_options *o, const char *dir, const char *restore_cmd,
                    const struct backup_info *b, struct ws_err *err)
{
    char        path[PATH_MAX], tmp[PATH_MAX + 32];
    char        line[8192];
    FILE       *in = NULL;
    FILE       *out = NULL;
    char        stamp[64];
    int         rc = -1;

    if ((size_t) snprintf(path, sizeof(path), "%s/postgresql.auto.conf", dir) >= sizeof(path))
        return err_set(err, WS_EINPUT, "path \"%s\" is too long", dir);
    snprintf(tmp, sizeof(tmp), "%s.walship-tmp", path);
    if (create_new_file(tmp, &out, err) < 0)
        return -1;
    if (open_target_file(path, &in, err) < 0)
        goto out;
    if (in != NULL)
    {
        while (fgets(line, sizeof(line), in) != NULL)
        {
            if (dropped_key(line))
                fprintf(out, "# %s", line);     /* keep it visible, inactive */
            else
                fputs(line, out);
            if (strchr(line, '\n') == NULL && !feof(in))
                fputc('\n', out);
        }
        if (ferror(in))
        {
            err_set_errno(err, WS_EIO, errno ? errno : EIO, "could not read file \"%s\"", path);
            goto out;
        }
        fclose(in);
        in = NULL;
    }
    backup_time_format((int64_t) time(NULL) * 1000000, stamp, sizeof(stamp));
    fprintf(out, "# Recovery settings written by walship-recover at %s from backup %s\n", stamp, b->id);
    if (conf_line(out, "restore_command", restore_cmd, err) < 0)
        goto out;
    switch (o->target.kind)
    {
        case BACKUP_TARGET_END:
            break;
        case BACKUP_TARGET_IMMEDIATE:
            if (conf_line(out, "recovery_target", "immediate", err) < 0)
                goto out;
            break;
        case BACKUP_TARGET_TIME:
            {
                char        t[64];

                backup_time_format(o->target.time_us, t, sizeof(t));
                if (conf_line(out, "recovery_target_time", t, err) < 0)
                    goto out;
                break;
            }
        case BACKUP_TARGET_LSN:
            {
                char        l[PG_LSN_LEN];

                pg_lsn_format(o->target.lsn, l, sizeof(l));
                if (conf_line(out, "recovery_target_lsn", l, err) < 0)
                    goto out;
                break;
            }
        case BACKUP_TARGET_XID:
            if (conf_line(out, "recovery_target_xid", o->target_text, err) < 0)
                goto out;
            break;
        case BACKUP_TARGET_NAME:
            if (conf_line(out, "recovery_target_name", o->target_text, err) < 0)
                goto out;
            break;
    }
    if (o->target_exclusive && (o->target.kind == BACKUP_TARGET_TIME ||
                                o->target.kind == BACKUP_TARGET_LSN ||
                                o->target.kind == BACKUP_TARGET_XID) &&
        conf_line(out, "recovery_target_inclusive", "false", err) < 0)
        goto out;
    if (conf_line(out, "recovery_target_timeline", o->target_timeline ? o->target_timeline : "latest", err) < 0)
        goto out;
    if (o->target.kind != BACKUP_TARGET_END &&
        conf_line(out, "recovery_target_action", o->target_action ? o->target_action : "pause", err) < 0)
            goto out;
    if (fflush(out) != 0 || ferror(out) || fsync(fileno(out)) < 0)
    {
        err_set_errno(err, WS_OK, errno, "could not write file \"%s\"", tmp);
        goto out;
    }
    if (fclose(out) != 0)
    {
        out = NULL;
        err_set_errno(err, WS_OK, errno, "could not write file \"%s\"", tmp);
        goto out;
    }
    out = NULL;
    /* rename replaces whatever is at path (never writes through a link there) */
    if (rename(tmp, path) < 0)
    {
        err_set_errno(err, WS_OK, errno, "could not rename \"%s\" to \"%s\"", tmp, path);
        goto out;
    }
    rc = 0;
out:
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/*
 * Remove dir/name if the backup brought one: BASE_BACKUP sends
 * recovery.signal and standby.signal like any file (a backup of a standby
 * holds standby.signal).  unlink removes a link itself, never its target.
 */
static int
remove_signal(const char *dir, const char *name, struct ws_err *err)
{
    char        path[PATH_MAX];

    if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return err_set(err, WS_EINPUT, "path \"%s\" is too long", dir);
    if (unlink(path) == 0)
    {
        log_info("removed \"%s\", which came with the backup", path);
        return 0;
    }
    if (errno == ENOENT)
        return 0;
    return err_set_errno(err, WS_EIO, errno, "could not remove \"%s\"", path);
}

/*
 * The empty signal file dir/name, new: one from the backup is removed first,
 * then it is created with O_EXCL | O_NOFOLLOW, so that nothing is written
 * through whatever was there.
 */
static int
touch(const char *dir, const char *name, struct ws_err *err)
{
    char        path[PATH_MAX];
    int         fd;

    if (remove_signal(dir, name, err) < 0)
        return -1;
    if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return err_set(err, WS_EINPUT, "path \"%s\" is too long", dir);
    if (create_new_fd(path, &fd, err) < 0)
        return -1;
    if (close(fd) < 0)
        return err_set_errno(err, WS_OK, errno, "could not close file \"%s\"", path);
    return 0;
}

/* ---- backup_manifest ------------------------------------------------------ */

/*
 * A sink into a new file (create_new_fd).  No temporary name: the target
 * directory is new or was empty, and on failure recover_run removes what it
 * holds.
 */
struct new_file
{
    struct filter base;
    int         fd;
    char        path[PATH_MAX];
};

static int
new_file_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct new_file *nf = (struct new_file *) f;

    return file_write_all(nf->fd, buf, len, nf->path, err);
}

static int
new_file_finish(struct filter *f, struct ws_err *err)
{
    struct new_file *nf = (struct new_file *) f;
    int         fd = nf->fd;

    nf->fd = -1;
    if (close(fd) < 0)
        return err_set_errno(err, WS_EIO, errno, "could not close file \"%s\"", nf->path);
    return 0;
}

static void
new_file_free(struct filter *f)
{
    struct new_file *nf = (struct new_file *) f;

    if (nf->fd >= 0)
        close(nf->fd);
    free(nf);
}

static const struct filter_ops new_file_ops = {"new-file", new_file_write, new_file_finish,
    new_file_free};

static struct filter *
new_file_open(const char *path, struct ws_err *err)
{
    struct new_file *nf = calloc(1, sizeof(*nf));

    if (nf == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        return NULL;
    }
    nf->base.ops = &new_file_ops;
    snprintf(nf->path, sizeof(nf->path), "%s", path);
    if (create_new_fd(path, &nf->fd, err) < 0)
    {
        free(nf);
        return NULL;
    }
    return &nf->base;
}

static int
fetch_manifest(struct shared *s, const char *dir, struct ws_err *err)
{
    const struct backup_object *obj = NULL;
    struct filter *file = NULL;
    struct repo_read rd;
    char        key[REPO_KEY_MAX];
    char        path[PATH_MAX];
    int         rc = -1;

    for (int i = 0; i < s->b->nobjects; i++)
        if (strcmp(s->b->objects[i].name, BACKUP_MANIFEST_NAME) == 0)
            obj = &s->b->objects[i];
    if (obj == NULL)
        return 0;               /* a backup without a manifest */
    if (backup_key(s->b->id, BACKUP_MANIFEST_NAME, key, sizeof(key), err) < 0)
        return -1;
    if ((size_t) snprintf(path, sizeof(path), "%s/" BACKUP_MANIFEST_NAME, dir) >= sizeof(path))
        return err_set(err, WS_EINPUT, "path \"%s\" is too long", dir);
    file = new_file_open(path, err);
    if (file == NULL)
        return -1;
    memset(&rd, 0, sizeof(rd));
    if (repo_get(s->repo, key, file, &rd, err) < 0)
    {
        if (err->code == WS_ENOTFOUND)
            err_set(err, WS_ECORRUPT, "object \"%s\" of backup %s is missing from repository \"%s\"",
                    key, s->b->id, repo_location(s->repo));
        goto out;
    }
    if (rd.obj.size != obj->size || rd.obj.xxh64 != obj->xxh64)
    {
        err_set(err, WS_ECORRUPT, "object \"%s\" does not match the descriptor of backup %s", key,
                s->b->id);
        goto out;
    }
    rc = 0;
out:
    filter_free(file);
    return rc;
}

/* ---- the whole run -------------------------------------------------------- */

static int
prepare_dir(const char *path, bool force, bool is_data, struct place *pl, struct ws_err *err)
{
    bool        missing;
    int         st;

    snprintf(pl->dir, sizeof(pl->dir), "%s", path);
    if (path[0] != '/')
        return err_set(err, WS_EINPUT, "tablespace location \"%s\" is not an absolute path", path);
    st = dir_state(path, &missing, err);
    if (st < 0)
        return -1;
    if (missing)
    {
        if (make_dirs(path, err) < 0)
            return -1;
        pl->created = true;
        pl->prepared = true;
        return 0;
    }
    if (st == 0)
    {
        long        pid = 0;

        if (!force || !is_data)
        {
            err_set(err, WS_EINPUT, "%s \"%s\" exists but is not empty",
                    is_data ? "directory" : "tablespace directory", path);
            if (is_data)
                err_hint(err, "Give an empty or new directory, or --force to empty it first.");
            else
                err_hint(err, "Relocate the tablespace with --tablespace-map=%s=NEWDIR.", path);
            return -1;
        }
        if (postmaster_running(path, &pid))
        {
            err_set(err, WS_EINPUT, "a server (PID %ld) seems to be running in \"%s\"", pid, path);
            err_hint(err, "Stop it first; walship-recover never empties a running data directory.");
            return -1;
        }
        log_info("emptying \"%s\" (--force)", path);
        if (empty_dir(path, err) < 0)
            return -1;
    }
    if (is_data && chmod(path, 0700) < 0)
        return err_set_errno(err, WS_OK, errno, "could not change mode of \"%s\"", path);
    pl->prepared = true;
    return 0;
}

static void
unprepare(struct place *pl)
{
    struct ws_err e = WS_ERR_INIT;

    if (!pl->prepared)
        return;
    if (empty_dir(pl->dir, &e) < 0)
        log_warning("could not clean up \"%s\": %s", pl->dir, e.msg);
    else if (pl->created && rmdir(pl->dir) < 0)
        log_warning("could not remove directory \"%s\": %m", pl->dir);
}

/*
 * Everything is written (the parts, backup_manifest, postgresql.auto.conf,
 * the signal file): make it durable as initdb and pg_basebackup do
 * (fsync_pgdata), every file and directory of the data directory, then of
 * each tablespace directory as a tree of its own (the walk does not follow
 * pg_tblspc/<oid>).  Parts were extracted in parallel into the same
 * directories, so only a walk after the last one covers every entry.
 */
static int
sync_result(struct shared *s, struct ws_err *err)
{
    double      t0 = clock_now_s();

    for (int i = 0; i <= s->b->ntablespaces; i++)
        if (file_sync_tree(s->places[i].dir, err) < 0)
            return -1;
    log_debug("synced the restored directories in %.3f s", clock_now_s() - t0);
    return 0;
}

int
recover_run(const struct cfg *cfg, const struct recover_options *o, struct recover_result *res,
            struct ws_err *err)
{
    struct shared s;
    struct backup_info *list = NULL;
    int         nlist = 0;
    int         idx;
    char        datadir[PATH_MAX];
    pthread_t  *threads = NULL;
    int         nthreads = 0;
    int         jobs;
    bool        lock_init = false;
    double      t0 = clock_now_s();
    int         rc = -1;

    memset(&s, 0, sizeof(s));
    memset(res, 0, sizeof(*res));
    s.cfg = cfg;
    s.o = o;

    /* the target, before touching anything */
    if (o->target.kind == BACKUP_TARGET_TIME && o->target.time_us > (int64_t) time(NULL) * 1000000 + 1000000)
    {
        char        t[64];

        backup_time_format(o->target.time_us, t, sizeof(t));
        err_set(err, WS_EINPUT, "recovery target time %s is in the future", t);
        err_hint(err, "Recovery would replay all archived WAL and then fail for want of the target; leave out --target-time to recover to the end of the archive.");
        goto out;
    }
    if (o->target_dir == NULL || o->target_dir[0] == '\0')
    {
        err_set(err, WS_ECONFIG, "no target directory given");
        err_hint(err, "Use -D DIR (or --pgdata=DIR).");
        goto out;
    }
    for (int i = 0; i < o->nmaps; i++)
        if (o->maps[i].to[0] != '/')
        {
            err_set(err, WS_ECONFIG, "new tablespace location \"%s\" is not an absolute path",
                    o->maps[i].to);
            goto out;
        }

    if (repo_open(cfg, NULL, &s.repo, err) < 0)
        goto out;
    if (catalog_backups(s.repo, &list, &nlist, err) < 0)
        goto out;
    {
        uint32_t    tli;

        if (backup_mark_lineage(s.repo, list, nlist, o->target_timeline, &tli, err) < 0)
            goto out;
        if (tli > 0)
            log_debug("recovery target timeline %u", tli);
    }
    idx = backup_choose(list, nlist, o->backup_id, &o->target, err);
    if (idx < 0)
        goto out;
    res->backup = list[idx];
    list[idx].objects = NULL;
    list[idx].tablespaces = NULL;
    list[idx].nobjects = list[idx].ntablespaces = 0;
    s.b = &res->backup;
    if (s.b->system_identifier != repo_system_identifier(s.repo))
    {
        err_set(err, WS_EMISMATCH, "backup %s belongs to system %" PRIu64 ", the repository to %" PRIu64,
                s.b->id, s.b->system_identifier, repo_system_identifier(s.repo));
        goto out;
    }
    for (int i = 0; i < o->nmaps; i++)
    {
        bool        known = false;

        for (int t = 0; t < s.b->ntablespaces; t++)
        {
            char        num[16];

            snprintf(num, sizeof(num), "%u", s.b->tablespaces[t].oid);
            if (strcmp(o->maps[i].from, s.b->tablespaces[t].location) == 0 ||
                strcmp(o->maps[i].from, num) == 0)
                known = true;
        }
        if (!known)
        {
            err_set(err, WS_ECONFIG, "backup %s has no tablespace \"%s\" to relocate", s.b->id,
                    o->maps[i].from);
            err_hint(err, "Name a tablespace by its location or OID, as \"walship-recover --list\" shows.");
            goto out;
        }
    }
    log_info("restoring backup %s (%s, stop LSN %X/%X, timeline %u) into \"%s\"", s.b->id,
             s.b->label, (unsigned) (s.b->stop_lsn >> 32), (unsigned) s.b->stop_lsn,
             s.b->timeline, o->target_dir);

    /* restore_command and every recovery setting can be written: check before restoring */
    if (build_restore_command(cfg, o, res->restore_command, sizeof(res->restore_command), err) < 0)
        goto out;

    /* directories */
    s.places = calloc((size_t) s.b->ntablespaces + 1, sizeof(*s.places));
    if (s.places == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    if (o->target_dir[0] == '/')
        snprintf(datadir, sizeof(datadir), "%s", o->target_dir);
    else
    {
        char        cwd[PATH_MAX];

        if (getcwd(cwd, sizeof(cwd)) == NULL)
        {
            err_set_errno(err, WS_EIO, errno, "could not get the current directory");
            goto out;
        }
        if ((size_t) snprintf(datadir, sizeof(datadir), "%s/%s", cwd, o->target_dir) >= sizeof(datadir))
        {
            err_set(err, WS_EINPUT, "path \"%s\" is too long", o->target_dir);
            goto out;
        }
    }
    if (prepare_dir(datadir, o->force, true, &s.places[0], err) < 0)
        goto out;
    for (int i = 0; i < s.b->ntablespaces; i++)
    {
        const char *to = map_lookup(o, s.b->tablespaces[i].oid, s.b->tablespaces[i].location);

        if (prepare_dir(to ? to : s.b->tablespaces[i].location, false, false, &s.places[i + 1],
                        err) < 0)
            goto out;
    }

    /* jobs, biggest first */
    s.jobs = calloc((size_t) s.b->nobjects + 1, sizeof(*s.jobs));
    if (s.jobs == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    for (int i = 0; i < s.b->nobjects; i++)
    {
        const struct backup_object *obj = &s.b->objects[i];
        const char *dir = NULL;

        if (strcmp(obj->name, BACKUP_MANIFEST_NAME) == 0)
            continue;
        if (obj->tablespace == 0)
            dir = s.places[0].dir;
        for (int t = 0; t < s.b->ntablespaces && dir == NULL; t++)
            if (s.b->tablespaces[t].oid == obj->tablespace)
                dir = s.places[t + 1].dir;
        if (dir == NULL)
        {
            err_set(err, WS_ECORRUPT, "backup %s: object \"%s\" belongs to unknown tablespace %u",
                    s.b->id, obj->name, obj->tablespace);
            goto out;
        }
        s.jobs[s.njobs].obj = obj;
        s.jobs[s.njobs].dir = dir;
        s.njobs++;
        s.total += obj->stored;
    }
    if (s.njobs == 0)
    {
        err_set(err, WS_ECORRUPT, "backup %s has no data objects", s.b->id);
        goto out;
    }
    qsort(s.jobs, (size_t) s.njobs, sizeof(*s.jobs), cmp_job);

    pthread_mutex_init(&s.lock, NULL);
    lock_init = true;
    jobs = o->jobs > 0 ? o->jobs : cfg->recover_jobs;
    if (jobs < 1)
        jobs = 1;
    if (jobs > s.njobs)
        jobs = s.njobs;
    threads = calloc((size_t) jobs, sizeof(*threads));
    if (threads == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    for (nthreads = 0; nthreads < jobs; nthreads++)
    {
        int         e = pthread_create(&threads[nthreads], NULL, worker, &s);

        if (e != 0)
        {
            if (nthreads == 0)
            {
                err_set_errno(err, WS_EINTERNAL, e, "could not start a thread");
                goto out;
            }
            break;              /* fewer workers will do */
        }
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    nthreads = 0;
    if (s.failed)
    {
        *err = s.err;
        goto out;
    }
    if (fetch_manifest(&s, datadir, err) < 0)
        goto out;

    /* a data directory? */
    {
        char        path[PATH_MAX];

        if ((size_t) snprintf(path, sizeof(path), "%s/global/pg_control", datadir) >= sizeof(path) ||
            access(path, F_OK) != 0)
        {
            err_set(err, WS_ECORRUPT, "backup %s holds no global/pg_control", s.b->id);
            goto out;
        }
    }
    if (write_recovery_conf(o, datadir, res->restore_command, s.b, err) < 0)
        goto out;
    if (remove_signal(datadir, o->standby ? "recovery.signal" : "standby.signal", err) < 0 ||
        touch(datadir, o->standby ? "standby.signal" : "recovery.signal", err) < 0)
        goto out;
    if (sync_result(&s, err) < 0)
        goto out;
    res->bytes = s.bytes;
    res->files = s.files;
    rc = 0;
out:
    if (nthreads > 0)
    {
        pthread_mutex_lock(&s.lock);
        s.failed = true;
        pthread_mutex_unlock(&s.lock);
        for (int i = 0; i < nthreads; i++)
            pthread_join(threads[i], NULL);
    }
    if (rc < 0 && s.places != NULL)
    {
        unprepare(&s.places[0]);
        for (int i = 0; s.b != NULL && i < s.b->ntablespaces; i++)
            unprepare(&s.places[i + 1]);
    }
    if (lock_init)
        pthread_mutex_destroy(&s.lock);
    free(threads);
    free(s.jobs);
    free(s.places);
    catalog_backups_free(list, nlist);
    repo_close(s.repo);
    if (rc < 0)
        backup_info_free(&res->backup);
    res->seconds = clock_now_s() - t0;
    return rc;
}

int
recover_print_list(const struct cfg *cfg, FILE *out, struct ws_err *err)
{
    struct repo *repo = NULL;
    struct backup_info *list = NULL;
    int         n = 0;
    int         rc = -1;

    if (repo_open(cfg, NULL, &repo, err) < 0)
        return -1;
    if (catalog_backups(repo, &list, &n, err) < 0)
        goto out;
    fprintf(out, "%-17s %-10s %-30s %-30s %-17s %-8s %-14s %s\n", "ID", "STATUS", "START_TIME",
            "STOP_TIME", "STOP_LSN", "TIMELINE", "SIZE", "STORED");
    for (int i = 0; i < n; i++)
    {
        const struct backup_info *b = &list[i];
        char        st[64], sp[64], lsn[PG_LSN_LEN];

        if (!b->complete)
        {
            fprintf(out, "%-17s %-10s %-30s %-30s %-17s %-8s %-14s %s\n", b->id,
                    b->unreadable ? "damaged" : "incomplete", "-",
                    "-", "-", "-", "-", "-");
            continue;
        }
        backup_time_format(b->start_time_us, st, sizeof(st));
        backup_time_format(b->stop_time_us, sp, sizeof(sp));
        st[10] = 'T';           /* one word per column */
        sp[10] = 'T';
        pg_lsn_format(b->stop_lsn, lsn, sizeof(lsn));
        fprintf(out, "%-17s %-10s %-30s %-30s %-17s %-8u %-14" PRIu64 " %" PRIu64 "\n", b->id,
                "complete", st, sp, lsn, b->timeline, b->size, b->stored);
        for (int t = 0; t < b->ntablespaces; t++)
            fprintf(out, "    tablespace %u at %s\n", b->tablespaces[t].oid,
                    b->tablespaces[t].location);
    }
    rc = 0;
out:
    catalog_backups_free(list, n);
    repo_close(repo);
    return rc;
}
