/*
 * test_exitcode.c — the exit-status policy (common/base/exitcode.c) against its
 * documentation (docs/exit-codes.md), so that the two cannot drift.
 *
 * The doc is parsed: each "## walship-..." section's table gives status ->
 * meaning.  Every ws_code of every program kind must map to the status of
 * the doc row that describes it (pinned below by a phrase of that row, so
 * the numbers come from the doc, not from this file), every row must be
 * reachable, and the words --help prints must be the doc's.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "exitcode.h"

#define MAX_ROWS 32

struct doc_row
{
    int         status;         /* -1 for "128+N" */
    char        meaning[512];   /* markdown emphasis removed */
};

struct doc_section
{
    int         nrows;
    struct doc_row rows[MAX_ROWS];
};

/* archive, restore, tool */
static struct doc_section doc[3];

static int
section_of(enum ws_program prog)
{
    return prog == WS_PROG_ARCHIVE ? 0 : prog == WS_PROG_TOOL ? 2 : 1;
}

static void
trim(char *s)
{
    size_t      n = strlen(s);
    char       *p = s;

    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n'))
        s[--n] = '\0';
    while (*p == ' ')
        p++;
    memmove(s, p, strlen(p) + 1);
}

static void
read_doc(void)
{
    FILE       *f = fopen(WS_SOURCE_DIR "/docs/exit-codes.md", "r");
    char        line[2048];
    int         sec = -1;

    cr_assert_not_null(f, "docs/exit-codes.md");
    memset(doc, 0, sizeof(doc));
    while (fgets(line, sizeof(line), f) != NULL)
    {
        char       *bar[3];
        char        status[32];
        char        meaning[1024];
        struct doc_row *r;
        char       *out;

        if (strncmp(line, "## ", 3) == 0)
            sec = strstr(line, "walship-archive") ? 0 : strstr(line, "walship-restore") ? 1
                : strstr(line, "walship-basebackup") ? 2 : -1;
        if (sec < 0 || line[0] != '|')
            continue;
        bar[0] = line;
        bar[1] = strchr(bar[0] + 1, '|');
        bar[2] = bar[1] != NULL ? strchr(bar[1] + 1, '|') : NULL;
        if (bar[2] == NULL)
            continue;
        snprintf(status, sizeof(status), "%.*s", (int) (bar[1] - bar[0] - 1), bar[0] + 1);
        snprintf(meaning, sizeof(meaning), "%.*s", (int) (bar[2] - bar[1] - 1), bar[1] + 1);
        trim(status);
        trim(meaning);
        if (status[0] == '\0' || (strcmp(status, "128+N") != 0 &&
                                  strspn(status, "0123456789") != strlen(status)))
            continue;           /* the header and the |---| line */
        cr_assert_lt(doc[sec].nrows, MAX_ROWS);
        r = &doc[sec].rows[doc[sec].nrows++];
        r->status = strcmp(status, "128+N") == 0 ? -1 : atoi(status);
        out = r->meaning;
        for (const char *c = meaning; *c != '\0' && out < r->meaning + sizeof(r->meaning) - 1; c++)
            if (*c != '*' && *c != '`')
                *out++ = *c;
        *out = '\0';
    }
    fclose(f);
}

static const struct doc_row *
doc_row(enum ws_program prog, int status)
{
    const struct doc_section *s = &doc[section_of(prog)];

    for (int i = 0; i < s->nrows; i++)
        if (s->rows[i].status == status)
            return &s->rows[i];
    return NULL;
}

/* The one row of prog's section whose meaning contains phrase. */
static const struct doc_row *
doc_row_saying(enum ws_program prog, const char *phrase)
{
    const struct doc_section *s = &doc[section_of(prog)];
    const struct doc_row *found = NULL;

    for (int i = 0; i < s->nrows; i++)
        if (strstr(s->rows[i].meaning, phrase) != NULL)
        {
            cr_assert_null(found, "two rows say \"%s\"", phrase);
            found = &s->rows[i];
        }
    cr_assert_not_null(found, "no row of docs/exit-codes.md says \"%s\"", phrase);
    return found;
}

TestSuite(exitcode, .init = read_doc);

/* The last code: err_code_name() knows every one. */
static enum ws_code
last_code(void)
{
    int         c = 0;

    while (strcmp(err_code_name((enum ws_code) (c + 1)), "unknown") != 0)
        c++;
    return (enum ws_code) c;
}

/* What the doc says each code means for each kind of program. */
static const struct pin
{
    enum ws_program prog;
    enum ws_code code;
    const char *phrase;
} pins[] = {
    {WS_PROG_ARCHIVE, WS_OK, "durably in the repository"},
    {WS_PROG_ARCHIVE, WS_ENOTFOUND, "other failure"},
    {WS_PROG_ARCHIVE, WS_EEXISTS, "other failure"},
    {WS_PROG_ARCHIVE, WS_EEXISTS_DIFFERENT, "different content"},
    {WS_PROG_ARCHIVE, WS_ETRANSIENT, "other failure"},
    {WS_PROG_ARCHIVE, WS_EAUTH, "authentication failed"},
    {WS_PROG_ARCHIVE, WS_ECONFIG, "configuration or usage error"},
    {WS_PROG_ARCHIVE, WS_EIO, "other failure"},
    {WS_PROG_ARCHIVE, WS_ECORRUPT, "is corrupt"},
    {WS_PROG_ARCHIVE, WS_EINPUT, "bad input"},
    {WS_PROG_ARCHIVE, WS_EMISMATCH, "another database system"},
    {WS_PROG_ARCHIVE, WS_ENOSPC, "no space left"},
    {WS_PROG_ARCHIVE, WS_EINTERNAL, "other failure"},
    {WS_PROG_ARCHIVE, WS_ETIMEOUT, "other failure"},
    {WS_PROG_ARCHIVE, WS_EINTERRUPTED, "other failure"},
    {WS_PROG_ARCHIVE, WS_EGAP, "other failure"},
    {WS_PROG_ARCHIVE, WS_EARCHIVED, "other failure"},
    {WS_PROG_ARCHIVE, WS_EBACKUP_AGE, "other failure"},
    {WS_PROG_ARCHIVE, WS_EBACKUP_SIZE, "other failure"},
    {WS_PROG_ARCHIVE, WS_EARCHIVE_LAG, "other failure"},
    {WS_PROG_ARCHIVE, WS_EARCHIVING, "other failure"},
    {WS_PROG_ARCHIVE, WS_ESERVER, "other failure"},
    {WS_PROG_ARCHIVE, WS_ECHECK, "other failure"},

    {WS_PROG_RESTORE, WS_OK, "restored: verified"},
    {WS_PROG_RESTORE, WS_ENOTFOUND, "not in the archive"},
    {WS_PROG_RESTORE, WS_EEXISTS, "I/O error"},
    {WS_PROG_RESTORE, WS_EEXISTS_DIFFERENT, "I/O error"},
    {WS_PROG_RESTORE, WS_ETRANSIENT, "I/O error"},
    {WS_PROG_RESTORE, WS_EAUTH, "authentication failed"},
    {WS_PROG_RESTORE, WS_ECONFIG, "configuration or usage error"},
    {WS_PROG_RESTORE, WS_EIO, "I/O error"},
    {WS_PROG_RESTORE, WS_ECORRUPT, "the object is corrupt"},
    {WS_PROG_RESTORE, WS_EINPUT, "bad input"},
    {WS_PROG_RESTORE, WS_EMISMATCH, "another database system"},
    {WS_PROG_RESTORE, WS_ENOSPC, "no space left"},
    {WS_PROG_RESTORE, WS_EINTERNAL, "I/O error"},
    {WS_PROG_RESTORE, WS_ETIMEOUT, "I/O error"},
    {WS_PROG_RESTORE, WS_EINTERRUPTED, "I/O error"},
    {WS_PROG_RESTORE, WS_EGAP, "I/O error"},
    {WS_PROG_RESTORE, WS_EARCHIVED, "archive storage class"},
    {WS_PROG_RESTORE, WS_EBACKUP_AGE, "I/O error"},
    {WS_PROG_RESTORE, WS_EBACKUP_SIZE, "I/O error"},
    {WS_PROG_RESTORE, WS_EARCHIVE_LAG, "I/O error"},
    {WS_PROG_RESTORE, WS_EARCHIVING, "I/O error"},
    {WS_PROG_RESTORE, WS_ESERVER, "I/O error"},
    {WS_PROG_RESTORE, WS_ECHECK, "I/O error"},

    {WS_PROG_TOOL, WS_OK, "success"},
    {WS_PROG_TOOL, WS_ENOTFOUND, "not found"},
    {WS_PROG_TOOL, WS_EEXISTS, "already exists"},
    {WS_PROG_TOOL, WS_EEXISTS_DIFFERENT, "other failure"},
    {WS_PROG_TOOL, WS_ETRANSIENT, "transient"},
    {WS_PROG_TOOL, WS_EAUTH, "authentication failed"},
    {WS_PROG_TOOL, WS_ECONFIG, "configuration or usage error"},
    {WS_PROG_TOOL, WS_EIO, "other failure"},
    {WS_PROG_TOOL, WS_ECORRUPT, "corrupt"},
    {WS_PROG_TOOL, WS_EINPUT, "bad input"},
    {WS_PROG_TOOL, WS_EMISMATCH, "wrong cluster"},
    {WS_PROG_TOOL, WS_ENOSPC, "no space left"},
    {WS_PROG_TOOL, WS_EINTERNAL, "other failure"},
    {WS_PROG_TOOL, WS_ETIMEOUT, "timeout"},
    {WS_PROG_TOOL, WS_EINTERRUPTED, "other failure"},
    {WS_PROG_TOOL, WS_EGAP, "WAL missing"},
    {WS_PROG_TOOL, WS_EARCHIVED, "in an archive storage class"},
    {WS_PROG_TOOL, WS_EBACKUP_AGE, "no recent backup"},
    {WS_PROG_TOOL, WS_EBACKUP_SIZE, "backup size changed"},
    {WS_PROG_TOOL, WS_EARCHIVE_LAG, "archive lag"},
    {WS_PROG_TOOL, WS_EARCHIVING, "archiving failing"},
    {WS_PROG_TOOL, WS_ESERVER, "server failed"},
    {WS_PROG_TOOL, WS_ECHECK, "drill check failed"},
};

static const enum ws_program documented[] = {WS_PROG_ARCHIVE, WS_PROG_RESTORE, WS_PROG_TOOL};

Test(exitcode, doc_has_every_table)
{
    cr_assert_geq(doc[0].nrows, 9, "archive rows");
    cr_assert_geq(doc[1].nrows, 9, "restore rows");
    cr_assert_geq(doc[2].nrows, 11, "tool rows");
}

Test(exitcode, every_code_maps_to_its_documented_status)
{
    enum ws_code last = last_code();

    cr_assert_geq(last, WS_EINTERRUPTED);
    for (size_t p = 0; p < sizeof(documented) / sizeof(documented[0]); p++)
        for (int c = WS_OK; c <= (int) last; c++)
        {
            const struct pin *pin = NULL;
            const struct doc_row *row;

            for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
                if (pins[i].prog == documented[p] && pins[i].code == (enum ws_code) c)
                    pin = &pins[i];
            cr_assert_not_null(pin, "program %d, code %s: say in pins[] which row of "
                               "docs/exit-codes.md describes it", documented[p],
                               err_code_name((enum ws_code) c));
            row = doc_row_saying(documented[p], pin->phrase);
            cr_assert_eq(exitcode_for(documented[p], (enum ws_code) c), row->status,
                         "program %d, code %s: exitcode.c says %d, docs/exit-codes.md %d (%s)",
                         documented[p], err_code_name((enum ws_code) c),
                         exitcode_for(documented[p], (enum ws_code) c), row->status, row->meaning);
        }
}

Test(exitcode, every_documented_status_is_used_and_worded_alike)
{
    enum ws_code last = last_code();

    for (size_t p = 0; p < sizeof(documented) / sizeof(documented[0]); p++)
    {
        const struct doc_section *s = &doc[section_of(documented[p])];

        for (int i = 0; i < s->nrows; i++)
        {
            const struct doc_row *r = &s->rows[i];
            const char *meaning;
            bool        used = false;

            if (r->status < 0)
                continue;       /* 128+N: below */
            for (int c = WS_OK; c <= (int) last; c++)
                used |= exitcode_for(documented[p], (enum ws_code) c) == r->status;
            cr_assert(used, "program %d: documented status %d is never returned", documented[p],
                      r->status);
            meaning = exitcode_meaning(documented[p], r->status);
            cr_assert_not_null(meaning, "program %d, status %d: no words for --help",
                               documented[p], r->status);
            cr_assert(strstr(r->meaning, meaning) != NULL,
                      "program %d, status %d: --help says \"%s\", docs/exit-codes.md \"%s\"",
                      documented[p], r->status, meaning, r->meaning);
        }
        for (int c = WS_OK; c <= (int) last; c++)
            cr_assert_not_null(doc_row(documented[p], exitcode_for(documented[p], (enum ws_code) c)),
                               "program %d, code %s: status %d is not in docs/exit-codes.md",
                               documented[p], err_code_name((enum ws_code) c),
                               exitcode_for(documented[p], (enum ws_code) c));
    }
}

Test(exitcode, postgresql_contract)
{
    enum ws_code last = last_code();
    int         not_found = doc_row_saying(WS_PROG_RESTORE, "not in the archive")->status;

    cr_assert_eq(not_found, 1, "PostgreSQL reads restore_command's 1 as not found");
    for (int c = WS_OK + 1; c <= (int) last; c++)
    {
        int         a = exitcode_for(WS_PROG_ARCHIVE, (enum ws_code) c);
        int         r = exitcode_for(WS_PROG_RESTORE, (enum ws_code) c);

        /* above 125 the archiver process itself dies */
        cr_assert(a >= 1 && a <= 125, "archive %s -> %d", err_code_name((enum ws_code) c), a);
        /* anything but not-found must stop recovery */
        if (c == WS_ENOTFOUND)
            cr_assert_eq(r, 1);
        else
            cr_assert_gt(r, 125, "restore %s -> %d", err_code_name((enum ws_code) c), r);
        /* a standby must keep running: "exits 1 for every failure" */
        cr_assert_eq(exitcode_for(WS_PROG_RESTORE_STANDBY, (enum ws_code) c), not_found,
                     "standby %s", err_code_name((enum ws_code) c));
    }
    cr_assert_eq(exitcode_for(WS_PROG_RESTORE_STANDBY, WS_OK), 0);
}

Test(exitcode, signals)
{
    const struct doc_row *r = doc_row(WS_PROG_TOOL, -1);

    cr_assert_not_null(r, "the 128+N row");
    cr_assert(strstr(r->meaning, "stopped by signal N") != NULL, "%s", r->meaning);
    cr_assert_eq(exitcode_signal(15), 143);
    cr_assert_eq(exitcode_signal(2), 130);
}

Test(exitcode, usage_lists_the_table, .init = cr_redirect_stdout)
{
    exitcode_usage(stdout, WS_PROG_TOOL, true);
    exitcode_usage(stdout, WS_PROG_RESTORE, false);
    fflush(stdout);
    cr_assert_stdout_eq_str(
        "Exit status: 0 success, 1 other failure, 2 configuration or usage error,\n"
        "3 not found, 4 corrupt, 5 authentication failed, 6 wrong cluster, 7 transient,\n"
        "8 no space left, 9 timeout, 10 bad input, 11 WAL missing, 12 no recent backup,\n"
        "13 backup size changed, 14 archive lag, 15 archiving failing,\n"
        "16 in an archive storage class, 17 already exists, 20 server failed,\n"
        "21 drill check failed, 128+N stopped by signal N (docs/exit-codes.md).\n"
        "Exit status: 0 restored, 1 not in the archive, 150 configuration or usage error,\n"
        "151 corrupt, 152 authentication failed, 153 another database system,\n"
        "154 no space left, 155 bad input, 156 I/O error,\n"
        "157 in an archive storage class; with standby.signal: 0 restored,\n"
        "1 any failure (the standby keeps trying) (docs/exit-codes.md).\n");
}
