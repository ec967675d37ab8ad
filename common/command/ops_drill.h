/*
 * ops_drill.h — `walship drill`: the restore test, automated, and
 * selective recovery (docs/walship.md "walship drill").
 *
 * A drill recovers a backup (the newest, --backup ID, or the one that
 * reaches a --target-*) with recover_run into a private directory made
 * with mkdtemp under drill_tmpdir, starts PostgreSQL there on a Unix
 * socket in that directory only (no TCP listener, archiving off, trust
 * authentication on that socket only), waits for recovery to finish,
 * runs the sanity checks and reports them with the timings; then it stops
 * the server and removes the directory, also on failure and on a stop
 * signal.  The outcome is recorded in the repository object state/drill
 * (OPS_DRILL_STATE_KEY) for `walship metrics`.
 *
 * With a query (--sql, --sql-file) it is selective recovery instead: the
 * server stays paused, read-only, at the target; the query's rows are the
 * only thing written to stdout (or --output FILE, atomically) and the
 * report goes to stderr.  No check runs and state/drill is not written.
 *
 * The pure parts (the check syntax and its evaluation, the state object's
 * text, CSV quoting) are exposed for unit tests.
 */
#ifndef WS_OPS_DRILL_H
#define WS_OPS_DRILL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cfg.h"
#include "err.h"
#include "recover.h"

#define OPS_DRILL_SCHEMA_VERSION 1
#define OPS_DRILL_STATE_KEY "state/drill"
#define OPS_DRILL_MAX_CHECKS 64
#define OPS_DRILL_SQL_MAX (1024 * 1024)     /* --sql-file, a check's SQL: at most this */

/* ---- sanity checks ---------------------------------------------------------- */

enum ops_drill_op
{
    OPS_DRILL_RUNS = 0,         /* no expectation: the query must run without error */
    OPS_DRILL_EQ,               /* = TEXT: the first column of the first row, as text */
    OPS_DRILL_NE,               /* != TEXT */
    OPS_DRILL_LT,               /* < N, <= N, > N, >= N: compared as numbers */
    OPS_DRILL_LE,
    OPS_DRILL_GT,
    OPS_DRILL_GE
};

struct ops_drill_check
{
    char        name[64];
    enum ops_drill_op op;
    char        expect[256];    /* the operand as written ("" for OPS_DRILL_RUNS) */
    char       *sql;            /* malloc'd */
};

struct ops_drill_checks
{
    int         n;
    struct ops_drill_check c[OPS_DRILL_MAX_CHECKS];
};

/*
 * Parse "NAME | EXPECTATION | SQL" (blanks around each part trimmed; the
 * SQL may hold '|').  NAME: 1..63 bytes; EXPECTATION: empty, or one of
 * = != < <= > >= then its operand (a number for the ordering ones).  On
 * error WS_ECONFIG saying what is wrong (the caller adds where).
 */
int         ops_drill_check_parse(const char *line, struct ops_drill_check *out,
                                  struct ws_err *err);
/* Append a parsed line to cs (WS_ECONFIG past OPS_DRILL_MAX_CHECKS). */
int         ops_drill_checks_add(struct ops_drill_checks *cs, const char *line, struct ws_err *err);
/* Every non-blank line of path that does not start with '#'; errors name file and line. */
int         ops_drill_checks_load(struct ops_drill_checks *cs, const char *path, struct ws_err *err);
void        ops_drill_checks_free(struct ops_drill_checks *cs);

/*
 * Judge a check's result: have_row false when the query returned no row;
 * value NULL for SQL NULL.  true if it passes; detail says what was seen
 * against what was expected.
 */
bool        ops_drill_check_eval(const struct ops_drill_check *c, bool have_row,
                                 const char *value, char *detail, size_t len);
/* "=", ">=", ... ("" for OPS_DRILL_RUNS) */
const char *ops_drill_op_name(enum ops_drill_op op);

/* ---- the state object (state/drill) ------------------------------------------ */

/*
 * kv text (kv.h), one "key = value" a line: time (unix seconds of this
 * drill), result (success|failure), duration_seconds (decimal), step (the
 * step that failed, '' on success), last_success_time (unix seconds of the
 * last successful drill, 0 if none).  This is the contract `walship
 * metrics` reads.
 */
struct ops_drill_state
{
    int64_t     time;
    bool        success;
    double      duration_seconds;
    char        step[32];
    int64_t     last_success_time;
};

int         ops_drill_state_format(const struct ops_drill_state *s, char *buf, size_t len);
/* Parse text (modified in place); unknown keys are ignored, a bad value is WS_ECORRUPT. */
int         ops_drill_state_parse(char *text, size_t len, struct ops_drill_state *s,
                                  struct ws_err *err);

/* ---- output ------------------------------------------------------------------- */

/* One CSV field as COPY ... CSV writes it: NULL empty, quoted if it must be. */
void        ops_drill_csv_field(FILE *out, const char *value, bool null);

/* ---- the run ------------------------------------------------------------------- */

/* Lets a stop signal cancel the query in progress (sigstop.h's callback calls interrupt). */
struct ops_drill_control
{
    pthread_mutex_t lock;
    void       *cancel;         /* PGcancel of the running query, or NULL */
};

void        ops_drill_control_init(struct ops_drill_control *c);
void        ops_drill_control_destroy(struct ops_drill_control *c);
void        ops_drill_interrupt(struct ops_drill_control *c);

struct ops_drill_options
{
    const char *backup_id;          /* NULL: choose */
    struct backup_target target;    /* as cli_value_target_* fill it */
    const char *target_text;
    const struct ops_drill_checks *checks;  /* --check lines (drill_checks_file is added) */
    const char *sql;                /* selective recovery: the query, or NULL */
    const char *output;             /* --output FILE, or NULL for stdout */
    bool        json;
    struct ops_drill_control *control;  /* may be NULL */
};

enum ops_drill_step
{
    OPS_DRILL_STEP_NONE = 0,
    OPS_DRILL_STEP_CONFIG,          /* "config" */
    OPS_DRILL_STEP_FETCH,           /* "fetch": choose, fetch and extract the backup */
    OPS_DRILL_STEP_START,           /* "start": start the server */
    OPS_DRILL_STEP_REPLAY,          /* "replay": recovery until the end or the target */
    OPS_DRILL_STEP_CHECK,           /* "check" */
    OPS_DRILL_STEP_QUERY,           /* "query": selective recovery's SQL */
    OPS_DRILL_STEP_CLEANUP          /* "cleanup": the server or the directory would not go */
};

const char *ops_drill_step_name(enum ops_drill_step s);

struct ops_drill_check_result
{
    char        name[64];
    char        expectation[264];   /* "= t", ">= 1000", "" */
    bool        ran;
    bool        passed;
    bool        null;
    char        value[256];
    char        detail[600];
    double      seconds;
};

struct ops_drill_result
{
    enum ops_drill_step failed_step;    /* NONE on success */
    struct ws_err err;                  /* the failure */
    char        backup_id[64];
    char        target[128];
    char        tmpdir[4096];
    char        bindir[4096];
    char        replay_lsn[32];
    bool        promoted;
    uint64_t    bytes;
    uint64_t    files;
    double      restore_s, replay_s, checks_s, query_s, total_s;
    uint64_t    rows;                   /* selective recovery */
    int         nchecks;
    struct ops_drill_check_result checks[OPS_DRILL_MAX_CHECKS];
    bool        state_written;
};

/*
 * The whole drill, or selective recovery when o->sql is set.  Returns 0
 * when every step passed; else -1 with err (and res->err) set: the code
 * says which exit status (WS_ECHECK for a failed check, WS_ESERVER for a
 * server that would not start or died, WS_ETIMEOUT, WS_EINTERRUPTED, or
 * recover_run's code for the fetch).  The report is printed to report
 * (text, or JSON with o->json) in every case; query rows go to stdout or
 * o->output only.  Refuses to run as root (WS_ECONFIG).
 */
int         ops_drill_run(const struct cfg *cfg, const struct ops_drill_options *o, FILE *report,
                          struct ops_drill_result *res, struct ws_err *err);

void        ops_drill_print_text(const struct ops_drill_options *o,
                                 const struct ops_drill_result *res, FILE *out);
void        ops_drill_print_json(const struct ops_drill_options *o,
                                 const struct ops_drill_result *res, FILE *out);

#endif
