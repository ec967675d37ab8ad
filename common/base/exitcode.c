/*
 * exitcode.c — the single home of walship's exit-status policy.
 *
 * archive_command: PostgreSQL retries any nonzero status, but a status above
 * 125 (or death by signal) makes the archiver process FATAL and restart
 * (PostgreSQL docs, "Setting Up WAL Archiving"; pgarch.c).  So every archive
 * failure maps into 1..125.
 *
 * restore_command: exit 1 means "file not in the archive", which PostgreSQL
 * treats as normal — during archive recovery it ends recovery there.  A
 * failure that must not pass for "not found" must therefore stop recovery:
 * PostgreSQL aborts recovery when the command exits above 125 (it treats that
 * like death by signal; see "Recovering Using a Continuous Archive Backup"
 * and shell_restore.c / wait_result_is_any_signal).  On a standby an exit
 * above 125 would shut the standby down, so there persistent failures map
 * to 1 (after retries and a logged error) and the standby keeps trying and
 * can stream.
 *
 * Operator tools (walship-basebackup, walship-recover, walship): small distinct codes
 * a cron job or systemd unit can act on; 7 (transient) is worth retrying
 * later as it is.
 *
 * docs/exit-codes.md says the same at length; tests/unit/test_exitcode.c
 * reads it and fails when the two differ.  --help texts print this table
 * (exitcode_usage) rather than numbers of their own.
 */
#include "exitcode.h"

#include <string.h>

enum row_kind
{
    ROW_SUCCESS,                /* WS_OK */
    ROW_CODE,                   /* this ws_code */
    ROW_OTHER                   /* every code without a row of its own */
};

static const struct exit_row
{
    enum ws_program prog;
    enum row_kind kind;
    enum ws_code code;
    int         status;
    const char *meaning;        /* for --help, words of docs/exit-codes.md */
}           exit_table[] = {
    {WS_PROG_ARCHIVE, ROW_SUCCESS, WS_OK, 0, "durably in the repository"},
    {WS_PROG_ARCHIVE, ROW_OTHER, WS_OK, 1, "other failure"},
    {WS_PROG_ARCHIVE, ROW_CODE, WS_ECONFIG, 2, "configuration or usage error"},
    {WS_PROG_ARCHIVE, ROW_CODE, WS_EINPUT, 3, "bad input"},
    {WS_PROG_ARCHIVE, ROW_CODE, WS_EEXISTS_DIFFERENT, 4, "different content"},
    {WS_PROG_ARCHIVE, ROW_CODE, WS_EMISMATCH, 5, "another database system"},
    {WS_PROG_ARCHIVE, ROW_CODE, WS_EAUTH, 6, "authentication failed"},
    {WS_PROG_ARCHIVE, ROW_CODE, WS_ECORRUPT, 7, "corrupt"},
    {WS_PROG_ARCHIVE, ROW_CODE, WS_ENOSPC, 8, "no space left"},

    {WS_PROG_RESTORE, ROW_SUCCESS, WS_OK, 0, "restored"},
    {WS_PROG_RESTORE, ROW_CODE, WS_ENOTFOUND, 1, "not in the archive"},
    {WS_PROG_RESTORE, ROW_CODE, WS_ECONFIG, 150, "configuration or usage error"},
    {WS_PROG_RESTORE, ROW_CODE, WS_ECORRUPT, 151, "corrupt"},
    {WS_PROG_RESTORE, ROW_CODE, WS_EAUTH, 152, "authentication failed"},
    {WS_PROG_RESTORE, ROW_CODE, WS_EMISMATCH, 153, "another database system"},
    {WS_PROG_RESTORE, ROW_CODE, WS_ENOSPC, 154, "no space left"},
    {WS_PROG_RESTORE, ROW_CODE, WS_EINPUT, 155, "bad input"},
    {WS_PROG_RESTORE, ROW_CODE, WS_EARCHIVED, 157, "in an archive storage class"},
    /* I/O, transient retries exhausted, internal */
    {WS_PROG_RESTORE, ROW_OTHER, WS_OK, 156, "I/O error"},

    {WS_PROG_RESTORE_STANDBY, ROW_SUCCESS, WS_OK, 0, "restored"},
    {WS_PROG_RESTORE_STANDBY, ROW_OTHER, WS_OK, 1, "any failure (the standby keeps trying)"},

    {WS_PROG_TOOL, ROW_SUCCESS, WS_OK, 0, "success"},
    {WS_PROG_TOOL, ROW_OTHER, WS_OK, 1, "other failure"},
    {WS_PROG_TOOL, ROW_CODE, WS_ECONFIG, 2, "configuration or usage error"},
    {WS_PROG_TOOL, ROW_CODE, WS_ENOTFOUND, 3, "not found"},
    {WS_PROG_TOOL, ROW_CODE, WS_ECORRUPT, 4, "corrupt"},
    {WS_PROG_TOOL, ROW_CODE, WS_EAUTH, 5, "authentication failed"},
    {WS_PROG_TOOL, ROW_CODE, WS_EMISMATCH, 6, "wrong cluster"},
    {WS_PROG_TOOL, ROW_CODE, WS_ETRANSIENT, 7, "transient"},
    {WS_PROG_TOOL, ROW_CODE, WS_ENOSPC, 8, "no space left"},
    {WS_PROG_TOOL, ROW_CODE, WS_ETIMEOUT, 9, "timeout"},
    {WS_PROG_TOOL, ROW_CODE, WS_EINPUT, 10, "bad input"},
    {WS_PROG_TOOL, ROW_CODE, WS_EGAP, 11, "WAL missing"},
    {WS_PROG_TOOL, ROW_CODE, WS_EBACKUP_AGE, 12, "no recent backup"},
    {WS_PROG_TOOL, ROW_CODE, WS_EBACKUP_SIZE, 13, "backup size changed"},
    {WS_PROG_TOOL, ROW_CODE, WS_EARCHIVE_LAG, 14, "archive lag"},
    {WS_PROG_TOOL, ROW_CODE, WS_EARCHIVING, 15, "archiving failing"},
    {WS_PROG_TOOL, ROW_CODE, WS_EARCHIVED, 16, "in an archive storage class"},
    {WS_PROG_TOOL, ROW_CODE, WS_EEXISTS, 17, "already exists"},
    /* walship drill; 18..19 left for the other subcommands */
    {WS_PROG_TOOL, ROW_CODE, WS_ESERVER, 20, "server failed"},
    {WS_PROG_TOOL, ROW_CODE, WS_ECHECK, 21, "drill check failed"},
};

#define NROWS ((int) (sizeof(exit_table) / sizeof(exit_table[0])))

int
exitcode_for(enum ws_program prog, enum ws_code code)
{
    int         other = 1;

    for (int i = 0; i < NROWS; i++)
    {
        const struct exit_row *r = &exit_table[i];

        if (r->prog != prog)
            continue;
        if ((code == WS_OK && r->kind == ROW_SUCCESS) || (r->kind == ROW_CODE && r->code == code))
            return r->status;
        if (r->kind == ROW_OTHER)
            other = r->status;
    }
    return code == WS_OK ? 0 : other;
}

int
exitcode_signal(int sig)
{
    return 128 + sig;           /* as a shell reports a process killed by sig */
}

const char *
exitcode_meaning(enum ws_program prog, int status)
{
    for (int i = 0; i < NROWS; i++)
        if (exit_table[i].prog == prog && exit_table[i].status == status)
            return exit_table[i].meaning;
    return NULL;
}

/*
 * Write sep and text at column *col; past 79 columns break the line inside
 * sep: its punctuation stays on this line, its words start the next.
 */
static void
put(FILE *out, int *col, const char *sep, const char *text)
{
    int         n = (int) (strlen(sep) + strlen(text));

    if (*col > 0 && *col + n > 79)
    {
        int         k = (int) strspn(sep, ",;.");
        const char *words = sep + k + strspn(sep + k, " ");

        fprintf(out, "%.*s\n%s%s", k, sep, words, text);
        *col = (int) (strlen(words) + strlen(text));
        return;
    }
    fprintf(out, "%s%s", sep, text);
    *col += n;
}

/* "N meaning" for each status of prog in ascending order, the first after first_sep. */
static void
put_list(FILE *out, int *col, enum ws_program prog, const char *first_sep)
{
    int         last = -1;
    const char *sep = first_sep;

    for (;;)
    {
        int         next = -1;
        char        item[128];

        for (int i = 0; i < NROWS; i++)
            if (exit_table[i].prog == prog && exit_table[i].status > last &&
                (next < 0 || exit_table[i].status < next))
                next = exit_table[i].status;
        if (next < 0)
            return;
        last = next;
        snprintf(item, sizeof(item), "%d %s", next, exitcode_meaning(prog, next));
        put(out, col, sep, item);
        sep = ", ";
    }
}

void
exitcode_usage(FILE *out, enum ws_program prog, bool signals)
{
    int         col = 0;

    put_list(out, &col, prog, "Exit status: ");
    if (prog == WS_PROG_RESTORE)    /* the exception that keeps a standby alive */
        put_list(out, &col, WS_PROG_RESTORE_STANDBY, "; with standby.signal: ");
    if (signals)
    {
        char        item[64];

        snprintf(item, sizeof(item), "%d+N stopped by signal N", exitcode_signal(0));
        put(out, &col, ", ", item);
    }
    put(out, &col, " ", "(docs/exit-codes.md).");
    fputc('\n', out);
}
