/*
 * cli_value.h — the values of the executables' own flags, parsed and
 * checked where unit tests reach them: recovery targets, timelines and
 * actions, tablespace maps, backup ids and labels, checkpoint modes and
 * transfer rates.
 *
 * Each parser has the flag-table signature (cli.h CLI_PARSE): it checks
 * `value` and stores it at dest, whose type its comment names; on a bad
 * value it fills err (WS_ECONFIG, unless said otherwise), stores nothing
 * and returns -1.  Values are kept as pointers into argv where they are
 * text, so they live as long as the process.
 */
#ifndef WS_CLI_VALUE_H
#define WS_CLI_VALUE_H

#include <stdbool.h>

#include "err.h"
#include "recover.h"

/* --backup=ID; dest: const char *.  Not an id: WS_ENOTFOUND (no such backup, exit 3). */
int         cli_value_backup_id(void *dest, const char *value, struct ws_err *err);

/*
 * --target-time, --target-lsn, --target-xid, --target-name, --immediate
 * (value NULL); dest: struct recover_options, whose target and
 * target_text they set.  A second target is "more than one recovery
 * target given".  A time is backup_time_parse's (no zone = local time),
 * an LSN pg_lsn_parse's, an xid a number >= 3 (the first normal one), a
 * name what pg_create_restore_point takes (1..63 bytes, no newline).
 */
int         cli_value_target_time(void *dest, const char *value, struct ws_err *err);
int         cli_value_target_lsn(void *dest, const char *value, struct ws_err *err);
int         cli_value_target_xid(void *dest, const char *value, struct ws_err *err);
int         cli_value_target_name(void *dest, const char *value, struct ws_err *err);
int         cli_value_target_immediate(void *dest, const char *value, struct ws_err *err);

/* --target-timeline=latest|current|N (1..4294967295); dest: const char *. */
int         cli_value_timeline(void *dest, const char *value, struct ws_err *err);

/* --target-action=pause|promote|shutdown; dest: const char *. */
int         cli_value_target_action(void *dest, const char *value, struct ws_err *err);

#define CLI_MAX_TABLESPACE_MAPS 64

/* -T OLDDIR=NEWDIR, repeatable; release with cli_tablespace_maps_free. */
struct cli_tablespace_maps
{
    int         n;
    struct recover_tablespace_map map[CLI_MAX_TABLESPACE_MAPS];
    char       *buf[CLI_MAX_TABLESPACE_MAPS];  /* owns map[i].from and .to */
};

/* Add OLDDIR=NEWDIR (both non-empty; OLDDIR may be an OID); dest: struct cli_tablespace_maps. */
int         cli_value_tablespace_map(void *dest, const char *value, struct ws_err *err);
void        cli_tablespace_maps_free(struct cli_tablespace_maps *m);

/* --label: fewer than 200 bytes, no \n \r \t; dest: const char *. */
int         cli_value_label(void *dest, const char *value, struct ws_err *err);

/* --checkpoint=fast|spread; dest: bool, true for fast. */
int         cli_value_checkpoint(void *dest, const char *value, struct ws_err *err);

/* --max-rate: kB/s, with suffix k (kB/s) or M (MB/s), 32k .. 1024M; dest: int, kB/s. */
int         cli_value_rate(void *dest, const char *value, struct ws_err *err);

#endif
