/*
 * ops_dump.c — logical dumps: put, get, verify, and pg_dump run by walship.
 * See ops_dump.h.
 */
#include "ops_dump.h"

#include "clock.h"
#include "fileutil.h"
#include "log.h"
#include "pg.h"
#include "progress.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#define PUT_BLOCK (256 * 1024)
#define SNIFF_LEN 512               /* a tar header's magic lies at 257 */

/* ---- the SHA-256 stage: hashes, sniffs the format, and checks on finish ---- */

struct sha_filter
{
    struct filter base;
    EVP_MD_CTX *ctx;
    uint64_t    size;
    unsigned char head[SNIFF_LEN];
    size_t      headlen;
    char        hex[DUMP_SHA256_HEX];
    const struct dump_info *expect; /* get, verify: the descriptor to match */
};

static int
sha_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct sha_filter *s = (struct sha_filter *) f;

    if (s->headlen < SNIFF_LEN)
    {
        size_t      n = len < SNIFF_LEN - s->headlen ? len : SNIFF_LEN - s->headlen;

        memcpy(s->head + s->headlen, buf, n);
        s->headlen += n;
    }
    if (EVP_DigestUpdate(s->ctx, buf, len) != 1)
        return err_set(err, WS_EINTERNAL, "SHA-256 failed");
    s->size += len;
    return f->next ? filter_write(f->next, buf, len, err) : 0;
}

static int
sha_finish(struct filter *f, struct ws_err *err)
{
    struct sha_filter *s = (struct sha_filter *) f;
    unsigned char md[32];
    unsigned int mdlen = 0;

    if (EVP_DigestFinal_ex(s->ctx, md, &mdlen) != 1 || mdlen != 32)
        return err_set(err, WS_EINTERNAL, "SHA-256 failed");
    for (int i = 0; i < 32; i++)
        snprintf(s->hex + 2 * i, 3, "%02x", md[i]);
    if (s->expect != NULL)
    {
        if (s->size != s->expect->size)
            return err_set(err, WS_ECORRUPT, "dump \"%s\" is damaged: %" PRIu64 " bytes read, "
                           "its descriptor says %" PRIu64, s->expect->name, s->size,
                           s->expect->size);
        if (strcmp(s->hex, s->expect->sha256) != 0)
            return err_set(err, WS_ECORRUPT, "dump \"%s\" is damaged: its SHA-256 differs "
                           "from its descriptor's", s->expect->name);
    }
    return f->next ? filter_finish(f->next, err) : 0;
}

static void
sha_free(struct filter *f)
{
    struct sha_filter *s = (struct sha_filter *) f;

    EVP_MD_CTX_free(s->ctx);
    free(s);
}

static const struct filter_ops sha_ops = {"sha256", sha_write, sha_finish, sha_free};

/* Owns next (filter.h), also when it fails. */
static struct filter *
sha_new(struct filter *next, const struct dump_info *expect, struct ws_err *err)
{
    struct sha_filter *s = calloc(1, sizeof(*s));

    if (s == NULL || (s->ctx = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1)
    {
        if (s != NULL)
            EVP_MD_CTX_free(s->ctx);
        free(s);
        filter_free(next);
        err_set(err, WS_EINTERNAL, "could not start SHA-256");
        return NULL;
    }
    s->base.ops = &sha_ops;
    s->base.next = next;
    s->expect = expect;
    return &s->base;
}

/* What pg_dump wrote, by its first bytes (pg_backup_archiver.c, pg_backup_tar.c). */
static const char *
sniff_format(const struct sha_filter *s)
{
    if (s->headlen >= 5 && memcmp(s->head, "PGDMP", 5) == 0)
        return "custom";
    if (s->headlen >= 262 && memcmp(s->head + 257, "ustar", 5) == 0)
        return "tar";
    if (s->headlen >= 2 && memcmp(s->head, "--", 2) == 0)
        return "plain";
    return "unknown";
}

/* ---- a sink writing to a descriptor (stdout) -------------------------------- */

struct fd_sink
{
    struct filter base;
    int         fd;
};

static int
fd_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    return file_write_all(((struct fd_sink *) f)->fd, buf, len, "standard output", err);
}

static int
fd_finish(struct filter *f, struct ws_err *err)
{
    (void) f;
    (void) err;
    return 0;
}

static void
fd_free(struct filter *f)
{
    free(f);
}

static const struct filter_ops fd_ops = {"fd", fd_write, fd_finish, fd_free};

static struct filter *
fd_sink_new(int fd, struct ws_err *err)
{
    struct fd_sink *s = calloc(1, sizeof(*s));

    if (s == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        return NULL;
    }
    s->base.ops = &fd_ops;
    s->fd = fd;
    return &s->base;
}

/* ---- put -------------------------------------------------------------------- */

static bool
stopped(const volatile sig_atomic_t *stop)
{
    return stop != NULL && *stop != 0;
}

/*
 * Read fd to end of file into f.  poll() with a timeout rather than a
 * blocking read: a stop signal may be taken by any thread (the S3 driver's
 * own), so read() is not sure to be interrupted.
 */
static int
pump(int fd, const char *what, struct filter *f, const volatile sig_atomic_t *stop,
     struct ws_err *err)
{
    unsigned char *buf = malloc(PUT_BLOCK);
    int         rc = -1;

    if (buf == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    for (;;)
    {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t     n;

        if (stopped(stop))
        {
            err_set(err, WS_EINTERRUPTED, "interrupted by a signal");
            goto out;
        }
        if (poll(&p, 1, 200) < 0 && errno != EINTR)
        {
            err_set_errno(err, WS_EIO, errno, "could not read %s", what);
            goto out;
        }
        if (p.revents == 0)
            continue;
        n = read(fd, buf, PUT_BLOCK);
        if (n < 0)
        {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            err_set_errno(err, WS_EIO, errno, "could not read %s", what);
            goto out;
        }
        if (n == 0)
            break;
        if (filter_write(f, buf, (size_t) n, err) < 0)
            goto out;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

static int
exists_error(struct repo *repo, const char *name, struct ws_err *err)
{
    err_set(err, WS_EEXISTS, "dump \"%s\" already exists in repository \"%s\"", name,
            repo_location(repo));
    err_hint(err, "Choose another name: a dump is never overwritten.  \"walship list\" shows "
             "the dumps.");
    return -1;
}

int
ops_dump_put_repo(struct repo *repo, const struct cfg *cfg, const struct ops_put_options *o,
                  struct dump_info *out, struct ws_err *err)
{
    char        dkey[REPO_KEY_MAX], ikey[REPO_KEY_MAX];
    struct repo_stat st;
    struct repo_put p;
    struct repo_object obj;
    struct filter *head = NULL, *chain = NULL;
    struct dump_info d;
    const char *what = o->fd_what ? o->fd_what : "the input";
    bool        committed = false;
    int         rc = -1;

    memset(&d, 0, sizeof(d));
    if (dump_name_check(o->name, err) < 0 ||
        dump_key(o->name, DUMP_DATA_NAME, dkey, sizeof(dkey), err) < 0 ||
        dump_key(o->name, DUMP_INFO_NAME, ikey, sizeof(ikey), err) < 0)
        return -1;
    snprintf(d.name, sizeof(d.name), "%s", o->name);
    d.start_time_us = clock_wall_us();

    /* refused before reading anything: the name is taken */
    if (repo_stat(repo, ikey, &st, err) == 0)
        return exists_error(repo, o->name, err);
    if (err->code != WS_ENOTFOUND)
        return -1;
    err_clear(err);
    repo_put_init(&p, cfg);
    if (repo_stat(repo, dkey, &st, err) == 0)
    {
        /* data without a descriptor: a put killed between its two steps */
        log_warning("replacing the data of incomplete dump \"%s\" (an earlier put did not "
                    "finish)", o->name);
        p.mode = REPO_REPLACE;
    }
    else if (err->code != WS_ENOTFOUND)
        return -1;
    err_clear(err);

    head = repo_put_open(repo, dkey, &p, err);
    if (head == NULL)
        goto out;
    chain = filter_borrow_new(head, err);
    if (chain == NULL || (chain = sha_new(chain, NULL, err)) == NULL)
        goto out;
    if (pump(o->fd, what, chain, o->stop, err) < 0)
        goto out;
    if (o->before_commit != NULL && o->before_commit(o->arg, err) < 0)
        goto out;
    if (((struct sha_filter *) chain)->size == 0)
    {
        err_set(err, WS_EINPUT, "no data on %s: dump \"%s\" not stored", what, o->name);
        err_hint(err, "Did pg_dump fail?  Run the pipeline under \"set -o pipefail\" so that "
                 "its failure shows.");
        goto out;
    }
    if (stopped(o->stop))
    {
        err_set(err, WS_EINTERRUPTED, "interrupted by a signal");
        goto out;
    }
    if (filter_finish(chain, err) < 0)
    {
        if (err->code == WS_EEXISTS)
            exists_error(repo, o->name, err);   /* another put of this name won */
        else
            err_prefix(err, "could not store dump \"%s\"", o->name);
        goto out;
    }
    committed = true;
    repo_put_result(head, &obj);
    d.format = DUMP_INFO_FORMAT;
    d.end_time_us = clock_wall_us();
    d.size = obj.size;
    d.stored = obj.stored;
    d.xxh64 = obj.xxh64;
    snprintf(d.sha256, sizeof(d.sha256), "%s", ((struct sha_filter *) chain)->hex);
    snprintf(d.pg_dump_format, sizeof(d.pg_dump_format), "%s",
             sniff_format((struct sha_filter *) chain));
    d.system_identifier = o->system_identifier;
    if (o->database != NULL && dump_name_check(o->database, NULL) == 0 &&
        strlen(o->database) < sizeof(d.database))
        snprintf(d.database, sizeof(d.database), "%s", o->database);
    snprintf(d.compression, sizeof(d.compression), "%s",
             cfg_compression_name((enum cfg_compression) p.compression));
    snprintf(d.encryption, sizeof(d.encryption), "%s",
             repo_encrypted(repo) ? "aes-256-gcm" : "none");
    if (dump_info_store(repo, &d, err) < 0)
    {
        if (err->code == WS_EEXISTS)
            exists_error(repo, o->name, err);
        else
            err_prefix(err, "could not store the descriptor of dump \"%s\"", o->name);
        goto out;
    }
    if (out != NULL)
        *out = d;
    rc = 0;
out:
    filter_free(chain);         /* the borrow stage: head stays */
    filter_free(head);          /* aborts an unfinished upload */
    if (rc < 0 && committed && err->code != WS_EEXISTS)
    {
        struct ws_err e2 = WS_ERR_INIT;

        /* data without its descriptor is useless: take it back */
        if (repo_delete(repo, dkey, &e2) < 0)
            log_warning("could not remove \"%s\": %s", dkey, e2.msg);
    }
    return rc;
}

int
ops_dump_put(const struct cfg *cfg, const struct ops_put_options *o, struct dump_info *out,
             struct ws_err *err)
{
    struct repo *repo = NULL;
    int         rc;

    if (dump_name_check(o->name, err) < 0)
        return -1;
    if (repo_open(cfg, NULL, &repo, err) < 0)
        return -1;
    rc = ops_dump_put_repo(repo, cfg, o, out, err);
    repo_close(repo);
    return rc;
}

/* ---- get and verify ------------------------------------------------------ */

static int
load(struct repo *repo, const char *name, struct dump_info *d, struct ws_err *err)
{
    if (dump_info_load(repo, name, d, err) == 0)
        return 0;
    if (err->code == WS_ENOTFOUND)
    {
        err_set(err, WS_ENOTFOUND, "dump \"%s\" is not in repository \"%s\"", name,
                repo_location(repo));
        err_hint(err, "\"walship list\" shows the dumps.");
    }
    return -1;
}

/* Read d's data into sink (NULL: drop it), checking it against d. */
static int
read_checked(struct repo *repo, const struct dump_info *d, struct filter *sink,
             uint64_t *stored, struct ws_err *err)
{
    char        key[REPO_KEY_MAX];
    struct repo_read rd;
    struct filter *chain;
    int         rc = -1;

    memset(&rd, 0, sizeof(rd));
    if (dump_key(d->name, DUMP_DATA_NAME, key, sizeof(key), err) < 0)
        return -1;
    chain = filter_borrow_new(sink, err);
    if (chain == NULL || (chain = sha_new(chain, d, err)) == NULL)
        return -1;
    if (repo_get(repo, key, chain, &rd, err) < 0)
    {
        if (err->code == WS_ENOTFOUND)
            err_set(err, WS_ECORRUPT, "dump \"%s\" is damaged: its data object \"%s\" is "
                    "missing", d->name, key);
        goto out;
    }
    if (rd.obj.xxh64 != d->xxh64)
    {
        err_set(err, WS_ECORRUPT, "dump \"%s\" is damaged: its data object is not the one "
                "its descriptor describes (XXH64 differs)", d->name);
        goto out;
    }
    if (stored != NULL)
        *stored = rd.obj.stored;
    rc = 0;
out:
    filter_free(chain);
    return rc;
}

int
ops_dump_verify(struct repo *repo, const struct dump_info *d, uint64_t *stored,
                struct ws_err *err)
{
    return read_checked(repo, d, NULL, stored, err);
}

int
ops_dump_get(const struct cfg *cfg, const struct ops_get_options *o, struct dump_info *out,
             struct ws_err *err)
{
    struct repo *repo = NULL;
    struct filter *sink = NULL;
    struct dump_info d;
    int         rc = -1;

    if (dump_name_check(o->name, err) < 0)
        return -1;
    if (repo_open(cfg, NULL, &repo, err) < 0)
        return -1;
    if (load(repo, o->name, &d, err) < 0)
        goto out;
    sink = o->output != NULL ? filter_file_new(o->output, err) : fd_sink_new(o->fd, err);
    if (sink == NULL)
        goto out;
    if (read_checked(repo, &d, sink, NULL, err) < 0)
        goto out;
    if (o->output != NULL && filter_file_commit(sink, err) < 0)
        goto out;
    if (out != NULL)
        *out = d;
    rc = 0;
out:
    filter_free(sink);          /* an uncommitted output file is removed */
    repo_close(repo);
    return rc;
}

/* ---- walship dump: pg_dump run by us ------------------------------------- */

void
ops_dump_default_name(const char *db, int64_t t, char *buf, size_t len)
{
    char        safe[64];
    char        ts[32];
    size_t      n = 0;
    time_t      tt = (time_t) t;
    struct tm   tm;

    /* the name's character set: anything else becomes '_' */
    for (const char *c = db; c != NULL && *c != '\0' && n < sizeof(safe) - 1; c++)
        safe[n++] = dump_name_check((char[]) {'a', *c, '\0'}, NULL) == 0 ? *c : '_';
    safe[n] = '\0';
    if (n == 0 || safe[0] == '.' || safe[0] == '-')
        snprintf(safe, sizeof(safe), "dump");
    gmtime_r(&tt, &tm);
    strftime(ts, sizeof(ts), "%Y%m%d_%H%M%S", &tm);
    snprintf(buf, len, "%s_%s", safe, ts);
}

struct child
{
    pid_t       pid;
    const char *prog;
};

/* Wait for pg_dump; its failure aborts the put before the commit. */
static int
child_wait(void *arg, struct ws_err *err)
{
    struct child *c = arg;
    int         status;
    pid_t       r;

    do
        r = waitpid(c->pid, &status, 0);
    while (r < 0 && errno == EINTR);
    c->pid = -1;
    if (r < 0)
        return err_set_errno(err, WS_EIO, errno, "could not wait for %s", c->prog);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return err_set(err, WS_ECONFIG, "could not run %s", c->prog);
    if (WIFEXITED(status))
        err_set(err, WS_EIO, "%s failed with exit status %d", c->prog, WEXITSTATUS(status));
    else
        err_set(err, WS_EIO, "%s was terminated by signal %d", c->prog, WTERMSIG(status));
    err_detail(err, "Its own messages are above.  Nothing was stored.");
    return -1;
}

static bool
own_option(const char *a)
{
    return strncmp(a, "-F", 2) == 0 || strncmp(a, "--format", 8) == 0 ||
        strncmp(a, "-f", 2) == 0 || strncmp(a, "--file", 6) == 0;
}

int
ops_dump_run(const struct cfg *cfg, const struct ops_dump_options *o, char *name_out,
             struct dump_info *out, struct ws_err *err)
{
    const char *conninfo = o->conninfo != NULL ? o->conninfo : cfg->pg_conninfo;
    const char *prog = o->pg_dump != NULL ? o->pg_dump : "pg_dump";
    struct pg_conn *pc = NULL;
    struct repo *repo = NULL;
    char        vals[2][PG_VALUE_MAX];
    bool        nulls[2];
    char        db[PG_VALUE_MAX] = "";
    char        name[DUMP_NAME_MAX + 1];
    uint64_t    sysid = 0;
    char      **argv = NULL;
    int         pfd[2] = {-1, -1}, n = 0;
    struct child c = {-1, prog};
    struct ops_put_options po;
    int         rc = -1;

    for (int i = 0; i < o->nargs; i++)
        if (own_option(o->args[i]))
        {
            err_set(err, WS_ECONFIG, "pg_dump option \"%s\" is walship dump's own", o->args[i]);
            err_hint(err, "walship dump runs pg_dump -Fc and stores its standard output; "
                     "use \"pg_dump -F... | walship put NAME\" for another format.");
            return -1;
        }
    if (o->name != NULL && dump_name_check(o->name, err) < 0)
        return -1;

    /* the database's name and system identifier, for the name and the descriptor */
    if (pg_connect_sql(conninfo, &pc, err) < 0)
        return -1;
    if (pg_sql_row(pc, "SELECT current_database()", 1, vals, nulls, err) < 0)
        goto out;
    snprintf(db, sizeof(db), "%s", vals[0]);
    if (pg_sql_row(pc, "SELECT system_identifier::text FROM pg_control_system()", 1, vals,
                   nulls, err) == 0 && !nulls[0])
        sysid = strtoull(vals[0], NULL, 10);
    else
        err_clear(err);         /* not granted: the descriptor says "not known" */
    pg_disconnect(pc);
    pc = NULL;
    if (o->name != NULL)
        snprintf(name, sizeof(name), "%s", o->name);
    else
        ops_dump_default_name(db, clock_wall_us() / 1000000, name, sizeof(name));
    if (repo_open(cfg, NULL, &repo, err) < 0)
        goto out;

    argv = calloc((size_t) o->nargs + 5, sizeof(*argv));
    if (argv == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    argv[n++] = (char *) prog;
    argv[n++] = "-Fc";
    if (conninfo[0] != '\0')
    {
        argv[n++] = "-d";
        argv[n++] = (char *) conninfo;
    }
    for (int i = 0; i < o->nargs; i++)
        argv[n++] = o->args[i];
    argv[n] = NULL;
    if (pipe(pfd) < 0)
    {
        err_set_errno(err, WS_EIO, errno, "could not create a pipe");
        goto out;
    }
    log_info("running %s for database \"%s\" into dump \"%s\"", prog, db, name);
    c.pid = fork();
    if (c.pid < 0)
    {
        err_set_errno(err, WS_EIO, errno, "could not fork");
        goto out;
    }
    if (c.pid == 0)
    {
        dup2(pfd[1], STDOUT_FILENO);
        close(pfd[0]);
        close(pfd[1]);
        execvp(prog, argv);
        fprintf(stderr, "walship dump: error: could not run \"%s\": %s\n", prog,
                strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    pfd[1] = -1;

    memset(&po, 0, sizeof(po));
    po.name = name;
    po.fd = pfd[0];
    po.fd_what = "pg_dump's output";
    po.system_identifier = sysid;
    po.database = db;
    po.before_commit = child_wait;
    po.arg = &c;
    po.stop = o->stop;
    if (ops_dump_put_repo(repo, cfg, &po, out, err) < 0)
        goto out;
    if (name_out != NULL)
        snprintf(name_out, DUMP_NAME_MAX + 1, "%s", name);
    rc = 0;
out:
    if (pfd[0] >= 0)
        close(pfd[0]);          /* pg_dump, if still writing, gets EPIPE */
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (c.pid > 0)
    {
        int         status;

        kill(c.pid, SIGTERM);
        while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    free(argv);
    pg_disconnect(pc);
    repo_close(repo);
    return rc;
}
