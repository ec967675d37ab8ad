/*
 * test_backup_info.c — base backup descriptors (backup_info.h), as the
 * catalog lists them and backup_choose picks from them.
 *
 * Pure functions first: backup ids, the descriptor text (round trip with
 * awkward labels and tablespace locations; every kind of parse error must be
 * WS_ECORRUPT naming the descriptor and the key or line).  Timestamps are
 * test_backup_time.c's, the choice over lists built in memory
 * test_backup_choose.c's.  Then the repository side: descriptors stored
 * and loaded as walship objects in a filesystem repository, plain and
 * encrypted, listed with an incomplete backup beside them; a descriptor
 * with a flipped byte, swapped or truncated fails its load (WS_ECORRUPT) and
 * is listed as unreadable without hiding the other backups.
 *
 * Every test runs in its own forked process (so setenv("TZ") stays there):
 * .init clears WALSHIP_*, points WALSHIP_CONFIG at an empty file and makes a
 * scratch directory under /tmp, removed by .fini.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup_choose.h"
#include "backup_info.h"
#include "backup_time.h"
#include "catalog.h"
#include "harness.h"
#include "cfg.h"
#include "log.h"
#include "object.h"
#include "pg.h"
#include "pgcontrol.h"
#include "repo.h"
#include "storage.h"


#define SYSID 7301234567890123456ULL
#define SEG_SIZE (16u * 1024 * 1024)
#define PASSPHRASE "correct horse battery staple"
#define WHAT "backups/20261203T205322Z/backup.info"

/* 2026-12-03 20:53:22 UTC */
#define T0 INT64_C(1796331202)

static char scratch[64];
static char repo_dir[PATH_MAX];

/* ---- fixtures ----------------------------------------------------------- */

static void
setup(void)
{
    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
    harness_scratch(scratch, sizeof(scratch), "backup_info");
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo", scratch);
    cr_assert_eq(mkdir(repo_dir, 0700), 0);
}

static void
teardown(void)
{
    harness_rm_scratch(scratch);
}

TestSuite(backup_info, .init = setup, .fini = teardown);

/* ---- helpers ---------------------------------------------------------------- */

static void
add_object(struct backup_info *b, const char *name, uint32_t ts, uint32_t part, uint64_t size,
           uint64_t stored, uint64_t xxh)
{
    struct backup_object o;
    struct ws_err err = WS_ERR_INIT;

    memset(&o, 0, sizeof(o));
    snprintf(o.name, sizeof(o.name), "%s", name);
    o.tablespace = ts;
    o.part = part;
    o.size = size;
    o.stored = stored;
    o.xxh64 = xxh;
    cr_assert_eq(backup_info_add_object(b, &o, &err), 0, "%s", err.msg);
}

/* A complete descriptor for a backup starting at unix second `start`. */
static void
sample_info(struct backup_info *b, int64_t start, const char *label)
{
    struct ws_err err = WS_ERR_INIT;

    memset(b, 0, sizeof(*b));
    b->format = BACKUP_INFO_FORMAT;
    backup_id_format(start, b->id);
    snprintf(b->label, sizeof(b->label), "%s", label);
    b->complete = true;
    b->system_identifier = UINT64_MAX - 77;        /* needs all 64 bits */
    b->pg_version = 150018;
    b->start_timeline = 3;
    b->timeline = 4;
    b->start_lsn = UINT64_C(0x16B374D848);
    b->stop_lsn = UINT64_C(0x16B374D848) + 0x1234;
    strcpy(b->start_wal, "00000003000000160000006B");
    strcpy(b->stop_wal, "00000004000000160000006C");
    b->start_time_us = start * 1000000 + 123456;
    b->stop_time_us = (start + 61) * 1000000 + 1;
    b->wal_time_us = (start + 75) * 1000000 + 999999;
    strcpy(b->compression, "zstd");
    strcpy(b->encryption, "aes-256-gcm");
    b->size = UINT64_C(123456789012);
    b->stored = UINT64_C(23456789012);
    cr_assert_eq(backup_info_add_tablespace(b, 16385, "/srv/pg ts/one", &err), 0, "%s", err.msg);
    cr_assert_eq(backup_info_add_tablespace(b, 4294967295u, "/mnt/it's \"here\" \\ \t end ",
                                            &err), 0, "%s", err.msg);
    add_object(b, "base.tar.0", 0, 0, 1073741824, 300000000, UINT64_C(0x0123456789abcdef));
    add_object(b, "base.tar.1", 0, 1, 5, 77, 0);
    add_object(b, "16385.tar.0", 16385, 0, 0, 53, UINT64_MAX);
    add_object(b, "4294967295.tar.12", 4294967295u, 12, UINT64_MAX, UINT64_MAX, 1);
    add_object(b, BACKUP_MANIFEST_NAME, 0, 0, 4096, 1000, UINT64_C(0xfeedface));
}

static void
assert_info_eq(const struct backup_info *a, const struct backup_info *b)
{
    cr_assert_eq(a->format, b->format);
    cr_assert_str_eq(a->id, b->id);
    cr_assert_str_eq(a->label, b->label);
    cr_assert_eq(a->complete, b->complete);
    cr_assert_eq(a->system_identifier, b->system_identifier);
    cr_assert_eq(a->pg_version, b->pg_version);
    cr_assert_eq(a->timeline, b->timeline);
    cr_assert_eq(a->start_timeline, b->start_timeline);
    cr_assert_eq(a->start_lsn, b->start_lsn);
    cr_assert_eq(a->stop_lsn, b->stop_lsn);
    cr_assert_str_eq(a->start_wal, b->start_wal);
    cr_assert_str_eq(a->stop_wal, b->stop_wal);
    cr_assert_eq(a->start_time_us, b->start_time_us);
    cr_assert_eq(a->stop_time_us, b->stop_time_us);
    cr_assert_eq(a->wal_time_us, b->wal_time_us);
    cr_assert_str_eq(a->compression, b->compression);
    cr_assert_str_eq(a->encryption, b->encryption);
    cr_assert_eq(a->size, b->size);
    cr_assert_eq(a->stored, b->stored);
    cr_assert_eq(a->ntablespaces, b->ntablespaces);
    for (int i = 0; i < a->ntablespaces; i++)
    {
        cr_assert_eq(a->tablespaces[i].oid, b->tablespaces[i].oid);
        cr_assert_str_eq(a->tablespaces[i].location, b->tablespaces[i].location);
    }
    cr_assert_eq(a->nobjects, b->nobjects);
    for (int i = 0; i < a->nobjects; i++)
    {
        const struct backup_object *x = &a->objects[i];
        const struct backup_object *y = &b->objects[i];

        cr_assert_str_eq(x->name, y->name);
        cr_assert_eq(x->tablespace, y->tablespace, "object %d", i);
        cr_assert_eq(x->part, y->part, "object %d", i);
        cr_assert_eq(x->size, y->size, "object %d", i);
        cr_assert_eq(x->stored, y->stored, "object %d", i);
        cr_assert_eq(x->xxh64, y->xxh64, "object %d", i);
    }
}

/*
 * A copy of text with its first line starting with prefix replaced by repl
 * (no newline; NULL deletes the line).  *lineno gets that line's number.
 */
static char *
edit(const char *text, const char *prefix, const char *repl, int *lineno)
{
    const char *line = text;
    int         n = 1;
    char       *out;

    while (strncmp(line, prefix, strlen(prefix)) != 0)
    {
        line = strchr(line, '\n');
        cr_assert_not_null(line, "no line starting with \"%s\" in\n%s", prefix, text);
        line++;
        n++;
    }
    {
        const char *eol = strchr(line, '\n');
        const char *rest = eol ? eol + 1 : line + strlen(line);
        size_t      head = (size_t) (line - text);
        size_t      rl = repl ? strlen(repl) : 0;

        out = malloc(head + rl + 1 + strlen(rest) + 1);
        cr_assert_not_null(out);
        memcpy(out, text, head);
        if (repl)
        {
            memcpy(out + head, repl, rl);
            out[head + rl] = '\n';
            strcpy(out + head + rl + 1, rest);
        }
        else
            strcpy(out + head, rest);
    }
    if (lineno)
        *lineno = n;
    return out;
}

static char *
sample_text(void)
{
    struct backup_info b;
    char       *text;

    sample_info(&b, T0, "nightly");
    text = backup_info_format(&b);
    cr_assert_not_null(text);
    backup_info_free(&b);
    return text;
}

static void
assert_parse_fails(const char *text, const char *sub1, const char *sub2)
{
    struct backup_info b;
    struct ws_err err = WS_ERR_INIT;

    memset(&b, 0x5a, sizeof(b));
    cr_assert_eq(backup_info_parse(text, WHAT, &b, &err), -1, "parsed:\n%s", text);
    cr_assert_eq(err.code, WS_ECORRUPT, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, WHAT), "\"%s\" not in \"%s\"", WHAT, err.msg);
    if (sub1)
        cr_assert_not_null(strstr(err.msg, sub1), "\"%s\" not in \"%s\"", sub1, err.msg);
    if (sub2)
        cr_assert_not_null(strstr(err.msg, sub2), "\"%s\" not in \"%s\"", sub2, err.msg);
    /* nothing is left allocated on failure */
    cr_assert_null(b.objects);
    cr_assert_null(b.tablespaces);
    cr_assert_eq(b.nobjects, 0);
    cr_assert_eq(b.ntablespaces, 0);
}

static void
set_tz(const char *tz)
{
    cr_assert_eq(setenv("TZ", tz, 1), 0);
    tzset();
}

#define DAY INT64_C(86400)

static int
choose(const struct backup_info *list, int n, const char *id, struct backup_target t,
       struct ws_err *err)
{
    return backup_choose(list, n, id, &t, err);
}

static struct backup_target
at_time(int64_t us)
{
    struct backup_target t = {BACKUP_TARGET_TIME, us, 0};

    return t;
}

static struct backup_target
of_kind(enum backup_target_kind k)
{
    struct backup_target t = {k, 0, 0};

    return t;
}

/* ---- ids ------------------------------------------------------------------------ */

Test(backup_info, id_valid)
{
    static const char *const good[] = {"20261203T205322Z", "19700101T000000Z",
                                       "99999999T999999Z", NULL};
    static const char *const bad[] = {
        "", "20261203T205322", "20261203T205322ZZ", "20261203t205322Z", "20261203T205322z",
        "20261203 205322Z", "2026120T3205322Z", "2026-12-03T2053Z", "20261203T20532xZ",
        "x0261203T205322Z", "20261203T205322Z ", " 20261203T205322Z", "20261203T2053221",
        "../../etc/passwd", "20261203T205322Z/", "２0261203T205322Z", NULL};

    for (int i = 0; good[i] != NULL; i++)
        cr_assert(backup_id_valid(good[i]), "\"%s\" refused", good[i]);
    for (int i = 0; bad[i] != NULL; i++)
        cr_assert_not(backup_id_valid(bad[i]), "\"%s\" accepted", bad[i]);
    cr_assert_not(backup_id_valid(NULL));
}

Test(backup_info, id_format)
{
    char        id[BACKUP_ID_LEN];

    memset(id, 'x', sizeof(id));
    backup_id_format(T0, id);
    cr_assert_str_eq(id, "20261203T205322Z");
    cr_assert(backup_id_valid(id));
    backup_id_format(0, id);
    cr_assert_str_eq(id, "19700101T000000Z");
    backup_id_format(1709251199, id);             /* leap day, last second */
    cr_assert_str_eq(id, "20240229T235959Z");
    backup_id_format(INT64_C(253402300799), id);  /* 9999-12-31 23:59:59 */
    cr_assert_str_eq(id, "99991231T235959Z");
    cr_assert(backup_id_valid(id));

    /* always UTC, whatever the local zone */
    set_tz("Asia/Kolkata");
    backup_id_format(T0, id);
    cr_assert_str_eq(id, "20261203T205322Z");

    /* ids sort like the times they name */
    {
        char        a[BACKUP_ID_LEN], b[BACKUP_ID_LEN];

        backup_id_format(999999999, a);           /* 2001-09-09 01:46:39 */
        backup_id_format(1000000000, b);
        cr_assert_lt(strcmp(a, b), 0, "%s %s", a, b);
    }
}

Test(backup_info, key)
{
    char        buf[64];
    char        small[20];
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(backup_key("20261203T205322Z", BACKUP_INFO_NAME, buf, sizeof(buf), &err), 0);
    cr_assert_str_eq(buf, WHAT);
    cr_assert_eq(backup_key("20261203T205322Z", "base.tar.0", small, sizeof(small), &err), -1);
    cr_assert_eq(err.code, WS_EINTERNAL);
}

/* ---- the descriptor text ------------------------------------------------------------ */

Test(backup_info, format_parse_round_trip)
{
    static const char label[] = "it's a \"test\" \\ with\ttab\nnewline\r\x01\x1f\x7f "
                                "caf\xc3\xa9 'end\\";
    struct backup_info b, back;
    struct ws_err err = WS_ERR_INIT;
    char       *text, *again;

    sample_info(&b, T0, label);
    text = backup_info_format(&b);
    cr_assert_not_null(text);

    /* one key per line; the odd bytes of the label are escaped */
    for (const char *p = text; *p != '\0'; p++)
        cr_assert((unsigned char) *p >= 0x20 || *p == '\n', "raw control byte 0x%02x in\n%s",
                  (unsigned char) *p, text);
    cr_assert_not_null(strstr(text, "\nformat = 1\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\nid = 20261203T205322Z\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\nstatus = complete\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\nstart_lsn = 16/B374D848\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\nstop_time = '2026-12-03 20:54:23.000001+00'\n"), "%s",
                       text);
    cr_assert_not_null(strstr(text, "\ntablespace.16385 = '/srv/pg ts/one'\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\nobject = base.tar.0 0 0 1073741824 300000000 "
                              "0123456789abcdef\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\\x0a"), "%s", text);

    memset(&back, 0x5a, sizeof(back));
    cr_assert_eq(backup_info_parse(text, WHAT, &back, &err), 0, "%s\n%s", err.msg, text);
    cr_assert_str_eq(back.label, label);
    cr_assert_str_eq(back.tablespaces[1].location, "/mnt/it's \"here\" \\ \t end ");
    cr_assert(back.complete);
    cr_assert_eq(back.format, BACKUP_INFO_FORMAT);
    assert_info_eq(&back, &b);

    again = backup_info_format(&back);
    cr_assert_not_null(again);
    cr_assert_str_eq(again, text);

    free(text);
    free(again);
    backup_info_free(&b);
    backup_info_free(&back);
    backup_info_free(&back);        /* twice is fine */
    backup_info_free(NULL);
}

Test(backup_info, format_parse_minimal)
{
    struct backup_info b, back;
    struct ws_err err = WS_ERR_INIT;
    char       *text;

    /* no label, no tablespaces, no objects, zero sizes */
    memset(&b, 0, sizeof(b));
    b.format = BACKUP_INFO_FORMAT;
    strcpy(b.id, "20000101T000000Z");
    b.complete = true;
    b.system_identifier = 1;
    b.start_timeline = b.timeline = 1;
    strcpy(b.start_wal, "000000010000000000000002");
    strcpy(b.stop_wal, "000000010000000000000002");
    strcpy(b.compression, "none");
    strcpy(b.encryption, "none");
    text = backup_info_format(&b);
    cr_assert_not_null(text);
    cr_assert_not_null(strstr(text, "\nlabel = ''\n"), "%s", text);
    cr_assert_eq(backup_info_parse(text, WHAT, &back, &err), 0, "%s\n%s", err.msg, text);
    assert_info_eq(&back, &b);
    cr_assert_null(back.objects);
    cr_assert_null(back.tablespaces);
    free(text);
    backup_info_free(&back);
}

Test(backup_info, parse_tolerates_comments_unknown_keys_crlf_and_no_final_newline)
{
    struct backup_info b, back;
    struct ws_err err = WS_ERR_INIT;
    char       *text = sample_text();
    char       *crlf, *q;
    size_t      len = strlen(text);

    sample_info(&b, T0, "nightly");

    /* no final newline, extra comments, blank lines, unknown keys, indentation */
    {
        char       *t2 = malloc(len + 200);

        cr_assert_not_null(t2);
        snprintf(t2, len + 200, "\n# leading comment\n\n  future_key = whatever it is\n"
                 "another.one='x'\n%.*s", (int) (len - 1), text);
        cr_assert_eq(backup_info_parse(t2, WHAT, &back, &err), 0, "%s\n%s", err.msg, t2);
        assert_info_eq(&back, &b);
        backup_info_free(&back);
        free(t2);
    }

    /* CRLF line ends */
    crlf = malloc(2 * len + 1);
    cr_assert_not_null(crlf);
    q = crlf;
    for (const char *p = text; *p != '\0'; p++)
    {
        if (*p == '\n')
            *q++ = '\r';
        *q++ = *p;
    }
    *q = '\0';
    cr_assert_eq(backup_info_parse(crlf, WHAT, &back, &err), 0, "%s\n%s", err.msg, crlf);
    assert_info_eq(&back, &b);
    backup_info_free(&back);
    free(crlf);

    /* optional keys may be missing; start_timeline then defaults to timeline */
    {
        static const char *const optional[] = {
            "label =", "pg_version =", "start_timeline =", "start_wal =", "stop_wal =",
            "start_time =", "wal_time =", "compression =", "encryption =", "size =",
            "stored =", "tablespace.16385 =", "object = ", NULL};
        char       *t = strdup(text);

        for (int i = 0; optional[i] != NULL; i++)
        {
            char       *t2 = edit(t, optional[i], NULL, NULL);

            free(t);
            t = t2;
            if (strcmp(optional[i], "object = ") == 0)
                while (strstr(t, "\nobject = ") != NULL)
                {
                    t2 = edit(t, optional[i], NULL, NULL);
                    free(t);
                    t = t2;
                }
        }
        cr_assert_eq(backup_info_parse(t, WHAT, &back, &err), 0, "%s\n%s", err.msg, t);
        cr_assert_eq(back.start_timeline, 4);
        cr_assert_eq(back.timeline, 4);
        cr_assert_eq(back.nobjects, 0);
        cr_assert_eq(back.ntablespaces, 1);
        cr_assert_eq(back.tablespaces[0].oid, 4294967295u);
        cr_assert_str_eq(back.label, "");
        cr_assert_eq(back.start_time_us, 0);
        cr_assert_eq(back.stop_time_us, b.stop_time_us);
        backup_info_free(&back);
        free(t);
    }
    backup_info_free(&b);
    free(text);
}

/*
 * Forward compatibility: a newer walship of the same format may add keys,
 * and a key name may hold digits (part2_size) or a dot.  Such a line is
 * ignored, and so is a key separated from its '=' by a tab; a known key
 * followed by a tab is still recognised (not taken for an unknown
 * "size\t" and dropped).
 */
Test(backup_info, parse_ignores_new_keys_with_digits)
{
    struct backup_info b, back;
    struct ws_err err = WS_ERR_INIT;
    char       *text = sample_text();
    char       *t;

    sample_info(&b, T0, "nightly");
    t = edit(text, "size =", "part2_size = 5\nsize = 123456789012\nx9 = 'a b'\n"
             "v2.key\t=\tanything at all", NULL);
    cr_assert_eq(backup_info_parse(t, WHAT, &back, &err), 0, "%s\n%s", err.msg, t);
    assert_info_eq(&back, &b);
    backup_info_free(&back);
    free(t);

    t = edit(text, "size =", "size\t=\t42", NULL);
    cr_assert_eq(backup_info_parse(t, WHAT, &back, &err), 0, "%s\n%s", err.msg, t);
    cr_assert_eq(back.size, 42);
    backup_info_free(&back);
    free(t);

    backup_info_free(&b);
    free(text);
}

/*
 * start_wal and stop_wal are optional when parsing, so a descriptor without
 * them must also format into text that parses: the writer leaves an empty
 * WAL name out instead of writing "stop_wal = " (found by fuzz_backup_info).
 */
Test(backup_info, format_leaves_out_missing_wal_names)
{
    struct backup_info back, again;
    struct ws_err err = WS_ERR_INIT;
    char       *text = sample_text();
    char       *t = edit(text, "stop_wal =", NULL, NULL);
    char       *t2 = edit(t, "start_wal =", NULL, NULL);
    char       *out;

    cr_assert_eq(backup_info_parse(t2, WHAT, &back, &err), 0, "%s\n%s", err.msg, t2);
    cr_assert_str_eq(back.stop_wal, "");
    out = backup_info_format(&back);
    cr_assert_not_null(out);
    cr_assert_null(strstr(out, "_wal ="), "%s", out);
    cr_assert_eq(backup_info_parse(out, WHAT, &again, &err), 0, "%s\n%s", err.msg, out);
    cr_assert_str_eq(again.start_wal, "");
    backup_info_free(&again);
    backup_info_free(&back);
    free(out);
    free(t2);
    free(t);
    free(text);
}

Test(backup_info, parse_missing_required_keys)
{
    static const char *const required[] = {"format =", "id =", "status =",
                                           "system_identifier =", "start_lsn =", "stop_lsn =",
                                           "timeline =", "stop_time =", NULL};
    char       *text = sample_text();

    for (int i = 0; required[i] != NULL; i++)
    {
        char       *t = edit(text, required[i], NULL, NULL);

        /*
         * The message names the descriptor and says it is incomplete; it does
         * not say which key is missing.
         */
        assert_parse_fails(t, "incomplete", NULL);
        free(t);
    }
    assert_parse_fails("", "incomplete", NULL);
    assert_parse_fails("# only a comment\n", "incomplete", NULL);
    free(text);
}

struct bad_line
{
    const char *prefix;         /* line to replace */
    const char *repl;
    const char *sub;            /* must be in the message besides the line number */
};

Test(backup_info, parse_bad_lines)
{
    static const struct bad_line cases[] = {
        {"format =", "format = one", "key \"format\""},
        {"format =", "format = 1x", "key \"format\""},
        {"format =", "format = -1", "key \"format\""},
        {"format =", "format =", "key \"format\""},
        {"id =", "id = 20261203T205322", "key \"id\""},
        {"id =", "id = ../../x", "key \"id\""},
        {"label =", "label = 'unterminated", "key \"label\""},
        {"label =", "label = 'ends in a backslash\\", "key \"label\""},
        {"label =", "label = 'closed' then junk", "key \"label\""},
        {"status =", "status = incomplete", "key \"status\""},
        {"system_identifier =", "system_identifier = -5", "key \"system_identifier\""},
        {"system_identifier =", "system_identifier = 18446744073709551616",
         "key \"system_identifier\""},
        {"system_identifier =", "system_identifier = 0x10", "key \"system_identifier\""},
        {"pg_version =", "pg_version = 10000001", "key \"pg_version\""},
        {"start_timeline =", "start_timeline = 0", "key \"start_timeline\""},
        {"timeline =", "timeline = 0", "key \"timeline\""},
        {"timeline =", "timeline = 4294967296", "key \"timeline\""},
        {"start_lsn =", "start_lsn = 16B374D848", "key \"start_lsn\""},
        {"stop_lsn =", "stop_lsn = 0/XYZ", "key \"stop_lsn\""},
        {"start_wal =", "start_wal = 00000003000000160000006", "key \"start_wal\""},
        {"stop_wal =", "stop_wal = 00000004000000160000006C0", "key \"stop_wal\""},
        {"start_time =", "start_time = 'yesterday'", "key \"start_time\""},
        {"stop_time =", "stop_time = '2026-02-30 00:00:00+00'", "key \"stop_time\""},
        {"wal_time =", "wal_time = '2026-12-03 20:53:22+00 junk'", "key \"wal_time\""},
        {"size =", "size = 12abc", "key \"size\""},
        {"stored =", "stored = ", "key \"stored\""},
        {"tablespace.16385 =", "tablespace.0 = '/x'", "key \"tablespace.0\""},
        {"tablespace.16385 =", "tablespace.x = '/x'", "key \"tablespace.x\""},
        {"tablespace.16385 =", "tablespace.4294967296 = '/x'", "key \"tablespace.4294967296\""},
        {"compression =", "compression zstd", "key \"compression\""},
        {"encryption =", "encryption", "key \"encryption\""},
        /* object lines */
        {"object = base.tar.0 ", "object = base.tar.0 0 0 12 34", "key \"object\""},
        {"object = base.tar.0 ", "object = base.tar.0 0 0 12 34 00ff extra", "key \"object\""},
        {"object = base.tar.0 ", "object = base.tar.0 0 0 1x 34 00ff", "key \"object\""},
        {"object = base.tar.0 ", "object = base.tar.0 zero 0 1 34 00ff", "key \"object\""},
        {"object = base.tar.0 ", "object = base.tar.0 0 0 1 34 xyz", "key \"object\""},
        {"object = base.tar.0 ", "object = base.tar.0", "key \"object\""},
        {"object = base.tar.0 ", "object = ", "key \"object\""},
        {"object = base.tar.0 ", "object = a/b 0 0 1 1 0", "key \"object\""},
        {"object = base.tar.0 ", "object = /base.tar.0 0 0 1 1 0", "key \"object\""},
        {"object = base.tar.0 ", "object = base.tar.0/ 0 0 1 1 0", "key \"object\""},
        {"object = base.tar.0 ", "object = ../x 0 0 1 1 0", "key \"object\""},
        {"object = base.tar.0 ", "object = .hidden 0 0 1 1 0", "key \"object\""},
        {"object = 16385.tar.0 ", "object = 16385.tar.0 16385 0 0 53", "key \"object\""},
        /* not key = value at all */
        {"size =", "just some words", "key \"just\""},
        {NULL, NULL, NULL}};
    char       *text = sample_text();

    for (int i = 0; cases[i].prefix != NULL; i++)
    {
        int         lineno;
        char        where[32];
        char       *t = edit(text, cases[i].prefix, cases[i].repl, &lineno);

        snprintf(where, sizeof(where), "line %d ", lineno);
        cr_log_info("case %d: %s", i, cases[i].repl);
        assert_parse_fails(t, where, cases[i].sub);
        free(t);
    }
    free(text);
}

Test(backup_info, parse_bad_format_number)
{
    char       *text = sample_text();
    char       *t;
    struct backup_info b;
    struct ws_err err = WS_ERR_INIT;

    t = edit(text, "format =", "format = 2", NULL);
    assert_parse_fails(t, "format 2", "format 1");
    cr_assert_eq(backup_info_parse(t, WHAT, &b, &err), -1);
    cr_assert_neq(err.hint[0], '\0', "no hint for a newer format");
    free(t);
    t = edit(text, "format =", "format = 0", NULL);
    assert_parse_fails(t, "format 0", NULL);
    free(t);
    t = edit(text, "format =", "format = 99999999999", NULL);
    assert_parse_fails(t, "format 99999999999", NULL);
    free(t);
    free(text);
}

Test(backup_info, parse_line_too_long)
{
    char       *text = sample_text();
    char       *big = malloc(CFG_MAX_VALUE + 300);
    char       *t;
    int         lineno;
    char        where[32];

    cr_assert_not_null(big);
    strcpy(big, "label = '");
    memset(big + 9, 'x', CFG_MAX_VALUE + 200);
    strcpy(big + 9 + CFG_MAX_VALUE + 200, "'");
    t = edit(text, "label =", big, &lineno);
    snprintf(where, sizeof(where), "line %d is too long", lineno);
    assert_parse_fails(t, where, NULL);
    free(t);

    /* a value longer than a value may be (but the line is not too long) */
    memset(big + 9, 'y', CFG_MAX_VALUE + 50);
    strcpy(big + 9 + CFG_MAX_VALUE + 50, "'");
    t = edit(text, "label =", big, &lineno);
    snprintf(where, sizeof(where), "line %d ", lineno);
    assert_parse_fails(t, where, "key \"label\"");
    free(t);

    /* a long label that fits a value is cut to the field, not refused */
    {
        struct backup_info b;
        struct ws_err err = WS_ERR_INIT;

        memset(big + 9, 'z', 1000);
        strcpy(big + 9 + 1000, "'");
        t = edit(text, "label =", big, NULL);
        cr_assert_eq(backup_info_parse(t, WHAT, &b, &err), 0, "%s", err.msg);
        cr_assert_eq(strlen(b.label), sizeof(b.label) - 1);
        backup_info_free(&b);
        free(t);
    }
    free(big);
    free(text);
}

/* ---- in a repository ------------------------------------------------------------------ */

static void
make_cfg(struct cfg *cfg, const char *repo, enum cfg_encryption enc, const char *pass)
{
    struct ws_err err = WS_ERR_INIT;
    char      **rest = NULL;
    int         nrest = 0;

    cr_assert_eq(cfg_load(cfg, 1, (char *[]){"walship-test", NULL}, &rest, &nrest, &err), 0,
                 "cfg_load: %s", err.msg);
    free(rest);
    snprintf(cfg->repo, sizeof(cfg->repo), "%s", repo);
    cfg->encryption = enc;
    snprintf(cfg->encryption_passphrase, sizeof(cfg->encryption_passphrase), "%s",
             pass ? pass : "");
    snprintf(cfg->encryption_key_cache, sizeof(cfg->encryption_key_cache), "%s", "/dev/shm");
}

static struct repo *
open_repo(enum cfg_encryption enc)
{
    struct cfg  cfg;
    struct pg_control pgc;
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;

    memset(&pgc, 0, sizeof(pgc));
    pgc.system_identifier = SYSID;
    pgc.pg_control_version = 1300;
    pgc.catalog_version = 202209061;
    pgc.wal_segment_size = SEG_SIZE;
    pgc.block_size = 8192;
    pgc.wal_block_size = 8192;
    pgc.pg_major = 15;
    make_cfg(&cfg, repo_dir, enc, enc == CFG_ENCRYPT_NONE ? NULL : PASSPHRASE);
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "repo_open: %s", err.msg);
    cr_assert_not_null(r);
    cr_assert_eq(repo_encrypted(r), enc != CFG_ENCRYPT_NONE);
    cfg_wipe(&cfg);
    return r;
}

static unsigned char *
read_file(const char *path, size_t *len)
{
    FILE       *f = fopen(path, "rb");
    unsigned char *buf;
    long        n;

    cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t) n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t) n, f), (size_t) n);
    fclose(f);
    *len = (size_t) n;
    return buf;
}

static void
write_file(const char *path, const unsigned char *buf, size_t len)
{
    int         fd;

    chmod(path, 0600);
    fd = open(path, O_WRONLY | O_TRUNC);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, buf, len), (ssize_t) len);
    close(fd);
}

static bool
mem_contains(const unsigned char *hay, size_t n, const char *needle)
{
    size_t      l = strlen(needle);

    for (size_t i = 0; i + l <= n; i++)
        if (memcmp(hay + i, needle, l) == 0)
            return true;
    return false;
}

/*
 * An empty repository and an empty descriptor object: both once reached
 * qsort(NULL, 0) / memcpy(x, NULL, 0), which UBSan aborts on.
 */

Test(backup_info, list_empty_repository)
{
    struct repo *r = open_repo(CFG_ENCRYPT_NONE);
    struct backup_info *list = (struct backup_info *) 1;
    int         n = -1;
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(catalog_backups(r, &list, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 0);
    cr_assert_null(list);
    catalog_backups_free(list, n);
    repo_close(r);
}

ParameterizedTestParameters(backup_info, store_load_list)
{
    static int  encs[] = {CFG_ENCRYPT_NONE, CFG_ENCRYPT_AES_256_GCM};

    return cr_make_param_array(int, encs, sizeof(encs) / sizeof(encs[0]));
}

ParameterizedTest(int *enc, backup_info, store_load_list)
{
    struct repo *r = open_repo((enum cfg_encryption) *enc);
    struct backup_info b1, b2, got;
    struct backup_info *list = NULL;
    int         n = -1;
    struct ws_err err = WS_ERR_INIT;
    char        id3[BACKUP_ID_LEN];
    char        key[STORAGE_KEY_MAX];
    char        path[PATH_MAX + STORAGE_KEY_MAX];
    unsigned char *raw;
    size_t      rawlen;

    sample_info(&b1, T0, "first 'one' \\ \x01");
    sample_info(&b2, T0 + DAY, "second");
    b2.ntablespaces = 0;            /* keep the array, show only the first... */
    free(b2.tablespaces);
    b2.tablespaces = NULL;
    backup_id_format(T0 + 2 * DAY, id3);

    /* stored newest first: the listing sorts */
    cr_assert_eq(backup_info_store(r, &b2, &err), 0, "%s", err.msg);
    cr_assert_eq(backup_info_store(r, &b1, &err), 0, "%s", err.msg);
    /* data objects beside the descriptors do not make more backups */
    cr_assert_eq(backup_key(b1.id, "base.tar.0", key, sizeof(key), &err), 0);
    cr_assert_eq(repo_raw_put(r, key, REPO_REPLACE, "x", 1, &err), 0, "%s", err.msg);
    cr_assert_eq(backup_key(b1.id, BACKUP_MANIFEST_NAME, key, sizeof(key), &err), 0);
    cr_assert_eq(repo_raw_put(r, key, REPO_REPLACE, "{}", 2, &err), 0, "%s", err.msg);
    /* a third backup with data but no descriptor */
    cr_assert_eq(backup_key(id3, "base.tar.0", key, sizeof(key), &err), 0);
    cr_assert_eq(repo_raw_put(r, key, REPO_REPLACE, "tar?", 4, &err), 0, "%s", err.msg);
    cr_assert_eq(backup_key(id3, "16385.tar.0", key, sizeof(key), &err), 0);
    cr_assert_eq(repo_raw_put(r, key, REPO_REPLACE, "tar?", 4, &err), 0, "%s", err.msg);
    /* things under backups/ that are not backups are ignored */
    cr_assert_eq(repo_raw_put(r, "backups/README", REPO_REPLACE, "hi", 2, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(repo_raw_put(r, "backups/notabackupid/backup.info", REPO_REPLACE, "hi", 2,
                                    &err), 0, "%s", err.msg);
    cr_assert_eq(repo_raw_put(r, "backups/20261203t205322Z/backup.info", REPO_REPLACE, "hi",
                                    2, &err), 0, "%s", err.msg);
    /* nor does anything outside backups/ */
    cr_assert_eq(repo_raw_put(r, "other/20261210T000000Z/backup.info", REPO_REPLACE, "hi",
                                    2, &err), 0, "%s", err.msg);

    /* the stored object is a walship object: plaintext only when not encrypted */
    snprintf(path, sizeof(path), "%s/backups/%s/" BACKUP_INFO_NAME, repo_dir, b1.id);
    raw = read_file(path, &rawlen);
    cr_assert_eq(memcmp(raw, "WSOBJ\r\n\x1a", 8), 0);
    cr_assert_eq(mem_contains(raw, rawlen, "label = 'first"), !repo_encrypted(r));
    cr_assert_eq(mem_contains(raw, rawlen, "status = complete"), !repo_encrypted(r));
    free(raw);

    /* load */
    cr_assert_eq(backup_info_load(r, b1.id, &got, &err), 0, "%s", err.msg);
    assert_info_eq(&got, &b1);
    backup_info_free(&got);
    cr_assert_eq(backup_info_load(r, b2.id, &got, &err), 0, "%s", err.msg);
    assert_info_eq(&got, &b2);
    backup_info_free(&got);
    cr_assert_eq(backup_info_load(r, id3, &got, &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_null(got.objects);
    cr_assert_eq(backup_info_load(r, "../walship.repo", &got, &err), -1);
    cr_assert_eq(err.code, WS_EINPUT, "%s: %s", err_code_name(err.code), err.msg);

    /* a descriptor is never overwritten */
    cr_assert_eq(backup_info_store(r, &b1, &err), -1);
    cr_assert_eq(err.code, WS_EEXISTS, "%s: %s", err_code_name(err.code), err.msg);

    /* list: three, oldest first, the third incomplete */
    cr_assert_eq(catalog_backups(r, &list, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(list[0].id, b1.id);
    cr_assert_str_eq(list[1].id, b2.id);
    cr_assert_str_eq(list[2].id, id3);
    cr_assert(list[0].complete);
    cr_assert(list[1].complete);
    cr_assert_not(list[2].complete);
    assert_info_eq(&list[0], &b1);
    assert_info_eq(&list[1], &b2);
    cr_assert_eq(list[2].nobjects, 0);
    cr_assert_null(list[2].objects);
    cr_assert_eq(list[2].stop_time_us, 0);

    /* and what a recovery would choose from it */
    cr_assert_eq(choose(list, n, NULL, of_kind(BACKUP_TARGET_END), &err), 1, "%s", err.msg);
    cr_assert_eq(choose(list, n, NULL, at_time(b2.stop_time_us - 1), &err), 0, "%s", err.msg);
    cr_assert_eq(choose(list, n, id3, of_kind(BACKUP_TARGET_END), &err), -1);
    cr_assert_eq(err.code, WS_EINPUT);
    catalog_backups_free(list, n);
    catalog_backups_free(NULL, 0);

    backup_info_free(&b1);
    backup_info_free(&b2);
    repo_close(r);
}

/*
 * The listing of b1 (intact) and a damaged descriptor of b2: both listed, b2
 * unreadable with only its id; choosing b2 by id is WS_ECORRUPT, and the
 * automatic choice falls back to b1.
 */
static void
assert_listed_damaged(struct repo *r, const struct backup_info *b1, const char *id2,
                      const char *what)
{
    struct backup_info *list = NULL;
    int         n = -1;
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(catalog_backups(r, &list, &n, &err), 0, "%s: listing failed: %s: %s", what,
                 err_code_name(err.code), err.msg);
    cr_assert_eq(n, 2, "%s", what);
    assert_info_eq(&list[0], b1);
    cr_assert_not(list[0].unreadable);
    cr_assert_str_eq(list[1].id, id2);
    cr_assert(list[1].unreadable, "%s: not marked unreadable", what);
    cr_assert_not(list[1].complete, "%s", what);
    cr_assert_eq(list[1].nobjects, 0);
    cr_assert_null(list[1].objects);
    cr_assert_eq(list[1].ntablespaces, 0);
    cr_assert_eq(list[1].stop_time_us, 0);
    cr_assert_eq(choose(list, n, id2, of_kind(BACKUP_TARGET_END), &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, id2), "%s", err.msg);
    cr_assert_eq(choose(list, n, NULL, of_kind(BACKUP_TARGET_END), &err), 0, "%s", err.msg);
    cr_assert_eq(choose(list, n, NULL, at_time(INT64_MAX), &err), 0, "%s", err.msg);
    catalog_backups_free(list, n);
}

ParameterizedTestParameters(backup_info, damaged_descriptor_listed_unreadable)
{
    static int  encs[] = {CFG_ENCRYPT_NONE, CFG_ENCRYPT_AES_256_GCM};

    return cr_make_param_array(int, encs, sizeof(encs) / sizeof(encs[0]));
}

ParameterizedTest(int *enc, backup_info, damaged_descriptor_listed_unreadable)
{
    struct repo *r = open_repo((enum cfg_encryption) *enc);
    struct backup_info b1, b2, got;
    struct backup_info *list = NULL;
    int         n = -1;
    struct ws_err err = WS_ERR_INIT;
    char        path[PATH_MAX + STORAGE_KEY_MAX];
    unsigned char *orig, *bad;
    size_t      len;

    sample_info(&b1, T0, "one");
    sample_info(&b2, T0 + DAY, "two");
    cr_assert_eq(backup_info_store(r, &b1, &err), 0, "%s", err.msg);
    cr_assert_eq(backup_info_store(r, &b2, &err), 0, "%s", err.msg);
    cr_assert_eq(catalog_backups(r, &list, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 2);
    catalog_backups_free(list, n);

    snprintf(path, sizeof(path), "%s/backups/%s/" BACKUP_INFO_NAME, repo_dir, b2.id);
    orig = read_file(path, &len);
    bad = malloc(len);
    cr_assert_not_null(bad);

    /* in the header, in the data, in the end record, the last byte */
    {
        const size_t where[] = {0, 20, len / 2, len / 2 + 1, len - 40, len - 1};

        for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
        {
            char        what[64];

            memcpy(bad, orig, len);
            bad[where[i]] ^= 0x01;
            write_file(path, bad, len);
            snprintf(what, sizeof(what), "flip at %zu of %zu", where[i], len);
            assert_listed_damaged(r, &b1, b2.id, what);
            cr_assert_eq(backup_info_load(r, b2.id, &got, &err), -1, "flip at %zu", where[i]);
            cr_assert_eq(err.code, WS_ECORRUPT, "flip at %zu: %s", where[i], err.msg);
        }
    }

    /* the other backup's descriptor in its place: refused too */
    {
        char        path1[PATH_MAX + STORAGE_KEY_MAX];
        unsigned char *other;
        size_t      olen;

        snprintf(path1, sizeof(path1), "%s/backups/%s/" BACKUP_INFO_NAME, repo_dir, b1.id);
        other = read_file(path1, &olen);
        write_file(path, other, olen);
        assert_listed_damaged(r, &b1, b2.id, "swapped");
        cr_assert_eq(backup_info_load(r, b2.id, &got, &err), -1);
        cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
        free(other);
    }

    /* truncated */
    write_file(path, orig, len - 1);
    assert_listed_damaged(r, &b1, b2.id, "truncated");
    cr_assert_eq(backup_info_load(r, b2.id, &got, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);

    /* restored: lists again */
    write_file(path, orig, len);
    cr_assert_eq(catalog_backups(r, &list, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 2);
    assert_info_eq(&list[1], &b2);
    catalog_backups_free(list, n);

    free(orig);
    free(bad);
    backup_info_free(&b1);
    backup_info_free(&b2);
    repo_close(r);
}

/* Store text as a walship object under key, as backup_info_store does. */
static void
put_object(struct repo *r, const char *key, const char *text)
{
    struct repo_put p;
    struct ws_err err = WS_ERR_INIT;

    repo_put_init(&p, NULL);
    p.size_hint = strlen(text);
    p.size_exact = true;
    cr_assert_eq(repo_put_buffer(r, key, &p, text, strlen(text), NULL, &err), 0, "%s", err.msg);
}

/*
 * Well-formed objects under the right key whose text is wrong: another
 * backup's id, garbage.  Each fails the load; the listing shows it
 * unreadable.
 */
Test(backup_info, descriptor_content_checked_on_load)
{
    struct repo *r = open_repo(CFG_ENCRYPT_AES_256_GCM);
    struct backup_info b, got;
    struct backup_info *list = NULL;
    int         n = -1;
    struct ws_err err = WS_ERR_INIT;
    char        id2[BACKUP_ID_LEN];
    char        key[STORAGE_KEY_MAX];
    char       *text;

    sample_info(&b, T0, "x");
    text = backup_info_format(&b);
    cr_assert_not_null(text);

    /* the text of T0 at the key of T0 + 1 day */
    backup_id_format(T0 + DAY, id2);
    cr_assert_eq(backup_key(id2, BACKUP_INFO_NAME, key, sizeof(key), &err), 0);
    put_object(r, key, text);
    cr_assert_eq(backup_info_load(r, id2, &got, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, b.id), "%s", err.msg);
    cr_assert_null(got.objects);
    cr_assert_eq(catalog_backups(r, &list, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 1);
    cr_assert(list[0].unreadable);
    cr_assert_not(list[0].complete);
    catalog_backups_free(list, n);
    cr_assert_eq(repo_delete(r, key, &err), 0, "%s", err.msg);

    /* garbage text: the parse error, naming the key */
    put_object(r, key, "format = 1\nid = nope\n");
    cr_assert_eq(backup_info_load(r, id2, &got, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, key), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "line 2"), "%s", err.msg);
    cr_assert_eq(repo_delete(r, key, &err), 0, "%s", err.msg);

    /* the right text at the right key loads */
    cr_assert_eq(backup_info_store(r, &b, &err), 0, "%s", err.msg);
    cr_assert_eq(backup_info_load(r, b.id, &got, &err), 0, "%s", err.msg);
    assert_info_eq(&got, &b);
    backup_info_free(&got);
    cr_assert_eq(catalog_backups(r, &list, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 1);
    catalog_backups_free(list, n);

    free(text);
    backup_info_free(&b);
    repo_close(r);
}

Test(backup_info, empty_descriptor_object)
{
    struct repo *r = open_repo(CFG_ENCRYPT_AES_256_GCM);
    struct backup_info got;
    struct ws_err err = WS_ERR_INIT;
    char        key[STORAGE_KEY_MAX];

    cr_assert_eq(backup_key("20261203T205322Z", BACKUP_INFO_NAME, key, sizeof(key), &err), 0);
    put_object(r, key, "");
    cr_assert_eq(backup_info_load(r, "20261203T205322Z", &got, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, "incomplete"), "%s", err.msg);
    repo_close(r);
}

Test(backup_info, descriptor_with_nul_byte)
{
    struct repo *r = open_repo(CFG_ENCRYPT_NONE);
    struct backup_info b, got;
    struct ws_err err = WS_ERR_INIT;
    char        key[STORAGE_KEY_MAX];
    char       *text;
    struct repo_put p;
    size_t      len;

    sample_info(&b, T0, "x");
    text = backup_info_format(&b);
    cr_assert_not_null(text);
    len = strlen(text);
    text[len - 3] = '\0';           /* inside the last object line */
    cr_assert_eq(backup_key(b.id, BACKUP_INFO_NAME, key, sizeof(key), &err), 0);
    repo_put_init(&p, NULL);
    p.mode = REPO_REPLACE;
    cr_assert_eq(repo_put_buffer(r, key, &p, text, len, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(backup_info_load(r, b.id, &got, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, "NUL"), "%s", err.msg);
    free(text);
    backup_info_free(&b);
    repo_close(r);
}
