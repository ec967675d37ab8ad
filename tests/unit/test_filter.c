/*
 * test_filter.c — the chain's ownership rule (filter.h): a constructor owns
 * `next` also when it fails, finish cascades to the sink, freeing an
 * unfinished chain aborts it; the tap and borrow stages; and the file sink
 * (filter_file_new), which walship-restore hands PostgreSQL's %p through: it
 * never writes through a link planted at its temporary name, and a leftover
 * temporary file is replaced, not reused.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "cfg.h"
#include "filter.h"
#include "object.h"

static char scratch[64];

static void
setup(void)
{
    harness_clear_walship_env();
    harness_scratch(scratch, sizeof(scratch), "filter");
}

static void
teardown(void)
{
    harness_rm_scratch(scratch);
}

TestSuite(filter, .init = setup, .fini = teardown);

static void
put_file(const char *path, const char *text)
{
    FILE       *f = fopen(path, "w");

    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

static void
expect_file(const char *path, const char *text)
{
    char        buf[256] = "";
    FILE       *f = fopen(path, "r");
    size_t      n;

    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    cr_assert_str_eq(buf, text, "%s", path);
}

static void
write_through_sink(const char *path, const char *text)
{
    struct ws_err err = WS_ERR_INIT;
    struct filter *f = filter_file_new(path, &err);

    cr_assert_not_null(f, "filter_file_new: %s", err.msg);
    cr_assert_eq(filter_write(f, text, strlen(text), &err), 0, "%s", err.msg);
    cr_assert_eq(filter_finish(f, &err), 0, "%s", err.msg);
    cr_assert_eq(filter_file_commit(f, &err), 0, "%s", err.msg);
    filter_free(f);
}

Test(filter, file_sink_never_writes_through_a_link_at_its_temporary_name)
{
    char        victim[PATH_MAX + 16], out[PATH_MAX + 16], tmp[PATH_MAX + 64];
    struct stat sb;

    snprintf(victim, sizeof(victim), "%s/victim", scratch);
    snprintf(out, sizeof(out), "%s/RECOVERYXLOG", scratch);
    snprintf(tmp, sizeof(tmp), "%s.walship-tmp.%ld", out, (long) getpid());
    put_file(victim, "keep me\n");
    cr_assert_eq(symlink(victim, tmp), 0, "symlink: %s", strerror(errno));

    write_through_sink(out, "restored\n");
    expect_file(victim, "keep me\n");
    expect_file(out, "restored\n");
    cr_assert_eq(lstat(out, &sb), 0);
    cr_assert(S_ISREG(sb.st_mode), "the result is a regular file, not the planted link");
    cr_assert_eq(sb.st_mode & 0777, 0600);
}

Test(filter, file_sink_replaces_a_leftover_temporary_file)
{
    char        out[PATH_MAX + 16], tmp[PATH_MAX + 64];

    snprintf(out, sizeof(out), "%s/seg", scratch);
    snprintf(tmp, sizeof(tmp), "%s.walship-tmp.%ld", out, (long) getpid());
    put_file(tmp, "a longer leftover from a crashed run\n");
    write_through_sink(out, "new\n");
    expect_file(out, "new\n");
    cr_assert_neq(access(tmp, F_OK), 0, "no temporary file left");
}

/* ---- the ownership rule, with a sink that reports what happened to it ---- */

struct probe_log
{
    size_t      bytes;
    int         finishes;
    bool        freed;
    bool        finished_when_freed;    /* false: freed unfinished, i.e. aborted */
};

struct probe
{
    struct filter base;
    struct probe_log *log;
};

static int
probe_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    (void) buf;
    (void) err;
    ((struct probe *) f)->log->bytes += len;
    return 0;
}

static int
probe_finish(struct filter *f, struct ws_err *err)
{
    (void) err;
    ((struct probe *) f)->log->finishes++;
    return 0;
}

static void
probe_free(struct filter *f)
{
    struct probe *p = (struct probe *) f;

    cr_assert_not(p->log->freed, "sink freed twice");
    p->log->freed = true;
    p->log->finished_when_freed = f->finished;
    free(p);
}

static const struct filter_ops probe_ops = {"probe", probe_write, probe_finish, probe_free};

static struct filter *
probe_new(struct probe_log *log)
{
    struct probe *p = calloc(1, sizeof(*p));

    cr_assert_not_null(p);
    memset(log, 0, sizeof(*log));
    p->base.ops = &probe_ops;
    p->log = log;
    return &p->base;
}

Test(filter, a_constructor_that_fails_frees_next)
{
    struct ws_err err = WS_ERR_INIT;
    struct probe_log log;
    struct object_params op = {99, -1, 0, NULL, 0, UINT64_MAX, false};
    char        long_name[2048];

    cr_assert_null(filter_compress_new(99, -1, 0, probe_new(&log), &err));
    cr_assert(log.freed, "compress: next left behind");
    cr_assert_not(log.finished_when_freed);

    err_clear(&err);
    cr_assert_null(filter_decompress_new(99, probe_new(&log), &err));
    cr_assert(log.freed, "decompress: next left behind");

    /* the object writer: its sink, whatever it refuses */
    err_clear(&err);
    cr_assert_null(object_writer_new(&op, "n", probe_new(&log), &err));
    cr_assert(log.freed, "object writer, bad compression: sink left behind");

    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    op.compression = CFG_COMPRESS_ZSTD;
    err_clear(&err);
    cr_assert_null(object_writer_new(&op, long_name, probe_new(&log), &err));
    cr_assert_eq(err.code, WS_EINPUT, "%s", err.msg);
    cr_assert(log.freed, "object writer, long name: sink left behind");

    /* a header the reader refuses: the reader and its sink are freed once */
    err_clear(&err);
    {
        struct filter *r = object_reader_new(NULL, "n", probe_new(&log), &err);

        cr_assert_not_null(r);
        cr_assert_eq(filter_write(r, "not an object, certainly", 24, &err), -1);
        filter_free(r);
        cr_assert(log.freed);
        cr_assert_not(log.finished_when_freed);
    }
}

Test(filter, finish_cascades_to_the_sink_once)
{
    struct ws_err err = WS_ERR_INIT;
    struct probe_log log;
    struct filter *head = filter_compress_new(CFG_COMPRESS_NONE, -1, 0, probe_new(&log), &err);

    cr_assert_not_null(head);
    head = filter_tap_new(head, NULL, NULL, &err);
    cr_assert_not_null(head);
    head = filter_hash_new(head, &err);
    cr_assert_not_null(head);
    cr_assert_eq(filter_write(head, "hello", 5, &err), 0, "%s", err.msg);
    cr_assert_eq(log.finishes, 0);
    cr_assert_eq(filter_finish(head, &err), 0, "%s", err.msg);
    cr_assert_eq(filter_finish(head, &err), 0, "%s", err.msg);
    cr_assert_eq(log.finishes, 1, "the sink was finished %d times", log.finishes);
    cr_assert_eq(log.bytes, 5);
    filter_free(head);
    cr_assert(log.freed);
    cr_assert(log.finished_when_freed);
}

Test(filter, freeing_an_unfinished_chain_aborts_the_sink)
{
    struct ws_err err = WS_ERR_INIT;
    struct probe_log log;
    struct object_params op = {CFG_COMPRESS_ZSTD, -1, 0, NULL, 0, UINT64_MAX, false};
    struct filter *head = object_writer_new(&op, "n", probe_new(&log), &err);

    cr_assert_not_null(head, "%s", err.msg);
    cr_assert_eq(filter_write(head, "some bytes", 10, &err), 0, "%s", err.msg);
    filter_free(head);
    cr_assert(log.freed, "the sink was not freed with the chain");
    cr_assert_eq(log.finishes, 0);
    cr_assert_not(log.finished_when_freed, "the sink was finished, not aborted");
}

struct tap_count
{
    int         calls;
    uint64_t    seen;
    uint64_t    cancel_after;   /* fail the call that brings seen past this */
};

static int
count_block(void *arg, uint64_t len, struct ws_err *err)
{
    struct tap_count *c = arg;

    c->calls++;
    c->seen += len;
    if (c->seen > c->cancel_after)
        return err_set(err, WS_EINTERRUPTED, "cancelled after %llu bytes",
                       (unsigned long long) c->seen);
    return 0;
}

Test(filter, tap_counts_each_block_and_can_cancel)
{
    struct ws_err err = WS_ERR_INIT;
    struct probe_log log;
    struct tap_count c = {0, 0, 10};
    struct filter *tap = filter_tap_new(probe_new(&log), count_block, &c, &err);

    cr_assert_not_null(tap);
    cr_assert_eq(filter_write(tap, "0123", 4, &err), 0, "%s", err.msg);
    cr_assert_eq(filter_write(tap, "4567", 4, &err), 0, "%s", err.msg);
    cr_assert_eq(filter_tap_bytes(tap), 8);
    cr_assert_eq(c.calls, 2);
    cr_assert_eq(log.bytes, 8);
    cr_assert_not(filter_tap_failed(tap));

    /* the block that crosses the limit is cancelled before it is passed on */
    cr_assert_eq(filter_write(tap, "89abcdef", 8, &err), -1);
    cr_assert_eq(err.code, WS_EINTERRUPTED, "%s", err.msg);
    cr_assert_eq(log.bytes, 8, "a cancelled block reached the sink");
    cr_assert(filter_tap_failed(tap));
    filter_free(tap);
    cr_assert(log.freed);
    cr_assert_not(log.finished_when_freed);
}

Test(filter, tap_says_a_later_stage_failed)
{
    struct ws_err err = WS_ERR_INIT;
    struct filter *tap = filter_tap_new(filter_mem_new(4), NULL, NULL, &err);

    cr_assert_not_null(tap);
    cr_assert_eq(filter_write(tap, "0123456789", 10, &err), -1);
    cr_assert(filter_tap_failed(tap));
    cr_assert_eq(filter_tap_bytes(tap), 10);
    filter_free(tap);
}

Test(filter, borrow_finishes_the_sink_but_leaves_it_to_its_owner)
{
    struct ws_err err = WS_ERR_INIT;
    struct probe_log log;
    struct filter *sink = probe_new(&log);
    struct filter *head = filter_hash_new(filter_borrow_new(sink, &err), &err);

    cr_assert_not_null(head);
    cr_assert_eq(filter_write(head, "abc", 3, &err), 0, "%s", err.msg);
    cr_assert_eq(filter_finish(head, &err), 0, "%s", err.msg);
    filter_free(head);
    cr_assert_eq(log.bytes, 3);
    cr_assert_eq(log.finishes, 1);
    cr_assert_not(log.freed, "the borrowed sink was freed with the chain");
    filter_free(sink);
    cr_assert(log.freed);

    /* no sink: the bytes are dropped */
    head = filter_borrow_new(NULL, &err);
    cr_assert_not_null(head);
    cr_assert_eq(filter_write(head, "abc", 3, &err), 0);
    cr_assert_eq(filter_finish(head, &err), 0);
    filter_free(head);
}

Test(filter, mem_copy_is_nul_terminated)
{
    struct ws_err err = WS_ERR_INIT;
    struct filter *mem = filter_mem_new(16);
    unsigned char *buf;
    size_t      len;

    cr_assert_eq(filter_mem_copy(mem, &buf, &len, &err), 0);
    cr_assert_eq(len, 0);
    cr_assert_eq(buf[0], '\0');
    free(buf);
    cr_assert_eq(filter_write(mem, "abc", 3, &err), 0);
    cr_assert_eq(filter_mem_copy(mem, &buf, &len, &err), 0);
    cr_assert_eq(len, 3);
    cr_assert_str_eq((char *) buf, "abc");
    free(buf);
    filter_free(mem);
}
