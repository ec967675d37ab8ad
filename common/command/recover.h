/*
 * recover.h — build a data directory from a base backup and configure
 * point-in-time recovery (walship-recover's engine).
 */
#ifndef WS_RECOVER_H
#define WS_RECOVER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "backup_choose.h"
#include "backup_info.h"
#include "backup_time.h"            /* target.time_us is what backup_time_parse() reads */
#include "cfg.h"
#include "err.h"

struct recover_tablespace_map
{
    const char *from;               /* old location, or a tablespace OID in digits */
    const char *to;                 /* new location (absolute) */
};

struct recover_options
{
    const char *target_dir;         /* the new data directory */
    const char *backup_id;          /* NULL: choose */
    struct backup_target target;    /* kind and, for time/LSN, the value */
    const char *target_text;        /* the value as given (xid, name; time/LSN as typed) */
    const char *target_timeline;    /* NULL: "latest" */
    const char *target_action;      /* NULL: "pause" */
    bool        target_exclusive;
    bool        standby;
    bool        force;              /* empty a non-empty target directory first */
    int         jobs;               /* 0: cfg->recover_jobs */
    int         nmaps;
    const struct recover_tablespace_map *maps;
    const char *restore_program;    /* walship-restore to call; NULL: beside ourselves */
    /* progress (may be NULL): plaintext bytes extracted so far, total */
    void        (*progress) (void *arg, uint64_t done, uint64_t total);
    void       *arg;
};

struct recover_result
{
    struct backup_info backup;      /* the backup used (release with backup_info_free) */
    uint64_t    bytes;              /* extracted */
    uint64_t    files;
    double      seconds;
    char        restore_command[8192];
};

/*
 * Choose the backup, prepare the target directory and the tablespace
 * directories (they must be absent or empty; with force the target
 * directory is emptied, never when a live postmaster.pid is there),
 * fetch and extract every object with o->jobs threads, verifying each
 * object's checksums and size against the descriptor, write
 * backup_manifest into the directory, the recovery settings into
 * postgresql.auto.conf (earlier restore_command and recovery_target*
 * lines are dropped) and recovery.signal or standby.signal.
 * On failure, what was created is removed again.
 */
int         recover_run(const struct cfg *cfg, const struct recover_options *o,
                        struct recover_result *res, struct ws_err *err);

/* The list for --list, one line per backup, to out. */
int         recover_print_list(const struct cfg *cfg, FILE *out, struct ws_err *err);

#endif
