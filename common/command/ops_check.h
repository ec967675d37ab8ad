/*
 * ops_check.h — `walship check`: is backing up and archiving working right
 * now?  One line per check, in a fixed order (docs/walship.md):
 *
 *   configuration, repository, repository writable, server, archiving,
 *   archive failures, backup age, backup size, archive lag
 *
 * each OK, WARN, FAIL or SKIP with a detail.  A FAIL carries the ws_code
 * whose exit status (docs/exit-codes.md) it stands for; the run's verdict
 * is the code of the first FAIL in that order (ops_check_verdict), so the
 * most fundamental problem decides the exit status.
 *
 * The alert rules (backup age, size change, archive lag) are pure
 * functions of their inputs, for unit tests with synthetic backup lists.
 */
#ifndef WS_OPS_CHECK_H
#define WS_OPS_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "backup_info.h"
#include "cfg.h"
#include "err.h"

#define OPS_CHECK_SCHEMA_VERSION 1
#define OPS_CHECK_MAX 16
#define OPS_CHECK_PROBE_PREFIX "check/"

enum ops_check_state
{
    OPS_CHECK_OK = 0,
    OPS_CHECK_WARN,
    OPS_CHECK_FAIL,
    OPS_CHECK_SKIP
};

struct ops_check_line
{
    const char *name;           /* "backup age" */
    enum ops_check_state state;
    enum ws_code code;          /* FAIL: what it stands for; else WS_OK */
    char        detail[512];
};

struct ops_check_report
{
    struct ops_check_line lines[OPS_CHECK_MAX];
    int         n;
};

struct ops_check_options
{
    bool        json;
    bool        no_server;      /* --no-server: skip the server checks */
    int         timeout_s;      /* --timeout: wait for the switched segment */
};

/* "OK", "WARN", "FAIL", "SKIP" */
const char *ops_check_state_name(enum ops_check_state s);

/* The code of the first FAIL, else WS_OK. */
enum ws_code ops_check_verdict(const struct ops_check_report *rep);

/*
 * Backup age: the newest complete backup (by stop time) of list (n, any
 * order) must have stopped at most max_age_s before now_s (0 = no limit).
 * No complete backup at all fails too (WS_EBACKUP_AGE).
 */
void        ops_check_backup_age(const struct backup_info *list, int n, uint64_t max_age_s,
                                 int64_t now_s, struct ops_check_line *line);

/*
 * Backup size: the newest complete backup's size may differ from the
 * previous complete one's by at most max_change_pct percent of the
 * previous (0 = no limit).  Fewer than two complete backups: OK.
 */
void        ops_check_backup_size(const struct backup_info *list, int n, int max_change_pct,
                                  struct ops_check_line *line);

/*
 * Archive lag.  server_segno: the segment the server writes now
 * (pg_current_wal_lsn); repo_segno the newest segment in the repository
 * (have_repo false: none).  Segments complete on the server but not in the
 * repository: server_segno - 1 - repo_segno.  lag->segments: at most that
 * many.  lag->seconds: when any segment waits, the last successful archive
 * (last_archived_s, unix seconds; 0 = never) must be at most that old.
 */
void        ops_check_archive_lag(const struct cfg_lag *lag, uint64_t server_segno,
                                  bool have_repo, uint64_t repo_segno, int64_t last_archived_s,
                                  int64_t now_s, struct ops_check_line *line);

/* Run every check of cfg's repository (and server), printing as it goes. */
int         ops_check_run(const struct cfg *cfg, const struct ops_check_options *o, FILE *out,
                          struct ops_check_report *rep, struct ws_err *err);

/* The report as JSON (schema_version 1, docs/walship.md). */
void        ops_check_print_json(const struct ops_check_report *rep, FILE *out);

#endif
