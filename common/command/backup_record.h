/*
 * backup_record.h — walship-basebackup's attempts, recorded in the
 * repository so that `walship metrics` can count them from any host and
 * across any number of runs (backup_success_total / backup_attempts_total).
 *
 * Append-only, one attempt a name, no read-modify-write (S3 has no
 * compare-and-swap):
 *
 *     state/backup/<T>-<R>.running   created (create-if-absent) when the
 *                                    attempt starts
 *     state/backup/<T>-<R>.success   or .failure, created when it ends;
 *                                    then .running is deleted
 *
 * T is the attempt's start (UTC, "20261204T211205Z"), R 16 random hex
 * digits.  The key says everything metrics needs: it lists state/backup/
 * and reads no object.  An attempt is every distinct <T>-<R>; its outcome
 * is success if a .success key exists, else failure if a .failure key
 * exists, else none (killed, or still running).  A run killed between the
 * two steps leaves both keys, which still count once.  The objects hold
 * plain "key = value" text (pid, started, ended, backup id, the error
 * code's name) for people; no error message, no connection string.
 *
 * Nothing else deletes under state/: `walship expire` removes backups and
 * WAL only, so the counters never go down.  docs/walship.md.
 */
#ifndef WS_BACKUP_RECORD_H
#define WS_BACKUP_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "repo.h"

#define BACKUP_RECORD_PREFIX "state/backup/"
#define BACKUP_RECORD_NAME_MAX 48   /* "<T>-<R>" plus NUL */

enum backup_record_outcome
{
    BACKUP_RECORD_RUNNING = 0,
    BACKUP_RECORD_FAILURE,
    BACKUP_RECORD_SUCCESS
};

struct backup_record
{
    char        name[BACKUP_RECORD_NAME_MAX];  /* "<T>-<R>"; "" before begin */
    int64_t     started;        /* unix seconds */
    bool        running_key;    /* the .running key was written */
};

/*
 * Start an attempt: a new name, and its .running key created.  On failure
 * (err set) rec->name is still set, so that backup_record_end can record
 * the outcome all the same.
 */
int         backup_record_begin(struct repo *repo, struct backup_record *rec,
                                struct ws_err *err);

/*
 * End it: create the .success or .failure key (backup_id, may be "" or
 * NULL; code: the failure's ws_code), then delete .running.  Without a
 * begin (the repository could not be opened then) a new name is taken.
 */
int         backup_record_end(struct repo *repo, struct backup_record *rec, bool success,
                              const char *backup_id, int code, struct ws_err *err);

/*
 * Parse the key of a record ("state/backup/<T>-<R>.<outcome>", or its
 * last component): its name into name and its outcome.  false for a key
 * that is no record (to be ignored).
 */
bool        backup_record_parse_key(const char *key, char name[BACKUP_RECORD_NAME_MAX],
                                    enum backup_record_outcome *outcome);

#endif
