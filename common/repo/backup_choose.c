/*
 * backup_choose.c — which backup a recovery starts from: the target
 * timeline's lineage, then the newest backup that reaches the target.  See
 * backup_choose.h.
 */
#include "backup_choose.h"
#include "backup_time.h"
#include "pg.h"
#include "timeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
backup_mark_lineage(struct repo *repo, struct backup_info *list, int n, const char *timeline,
                    uint32_t *target_tli, struct ws_err *err)
{
    struct timeline_history_entry *hist = NULL;
    int         nhist = 0;
    uint32_t    tli = 0;
    char       *text = NULL;
    int         rc = -1;

    *target_tli = 0;
    if (timeline != NULL && strcmp(timeline, "current") == 0)
        return 0;               /* each backup follows its own timeline */
    if (timeline == NULL || strcmp(timeline, "latest") == 0)
    {
        for (int i = 0; i < n; i++)
            if (list[i].complete && list[i].timeline > tli)
                tli = list[i].timeline;
        if (tli == 0)
            return 0;
        for (;;)
        {
            int         f = timeline_history_fetch(repo, tli + 1, &text, err);

            free(text);
            text = NULL;
            if (f < 0)
                return -1;
            if (f == 0)
                break;
            tli++;
        }
    }
    else
        tli = (uint32_t) strtoul(timeline, NULL, 10);
    *target_tli = tli;
    if (tli > 1)
    {
        char        name[32];
        int         f = timeline_history_fetch(repo, tli, &text, err);

        if (f < 0)
            goto out;
        snprintf(name, sizeof(name), "%08X.history", tli);
        if (f == 0)
        {
            err_set(err, WS_EINPUT, "recovery target timeline %u does not exist in the repository", tli);
            err_detail(err, "Its history file \"%s\" was never archived.", name);
            goto out;
        }
        nhist = timeline_history_parse(text, name, &hist, err);
        if (nhist < 0)
            goto out;
    }
    for (int i = 0; i < n; i++)
    {
        bool        ok = list[i].timeline == tli;

        if (!list[i].complete)
            continue;
        for (int h = 0; h < nhist && !ok; h++)
            if (hist[h].tli == list[i].timeline)
                ok = list[i].stop_lsn <= hist[h].switchpoint;
        list[i].off_lineage = !ok;
    }
    rc = 0;
out:
    free(text);
    free(hist);
    return rc;
}

/* ---- choice --------------------------------------------------------------- */

static bool
reaches(const struct backup_info *b, const struct backup_target *t)
{
    switch (t->kind)
    {
        case BACKUP_TARGET_TIME:
            return b->stop_time_us <= t->time_us;
        case BACKUP_TARGET_LSN:
            return b->stop_lsn <= t->lsn;
        default:
            return true;
    }
}

int
backup_choose(const struct backup_info *list, int n, const char *id,
              const struct backup_target *t, struct ws_err *err)
{
    int         first = -1;
    char        buf[64];

    if (id != NULL)
    {
        for (int i = 0; i < n; i++)
        {
            if (strcmp(list[i].id, id) != 0)
                continue;
            if (list[i].unreadable)
            {
                err_set(err, WS_ECORRUPT, "the descriptor of backup %s is damaged", id);
                err_hint(err, "Choose another backup; \"walship-recover --list\" shows them.");
                return -1;
            }
            if (!list[i].complete)
            {
                err_set(err, WS_EINPUT, "backup %s is incomplete", id);
                err_detail(err, "Its descriptor \"" BACKUP_PREFIX "%s/" BACKUP_INFO_NAME "\" was never written: the backup was interrupted or its WAL never reached the archive.", id);
                return -1;
            }
            if (list[i].off_lineage)
            {
                err_set(err, WS_EINPUT, "backup %s cannot reach the recovery target timeline", id);
                err_detail(err, "It ends on timeline %u after the point where the target timeline branched off.",
                           list[i].timeline);
                err_hint(err, "Choose a backup taken before the branch or on the target timeline, or use --target-timeline=current.");
                return -1;
            }
            if (!reaches(&list[i], t))
            {
                if (t->kind == BACKUP_TARGET_TIME)
                {
                    backup_time_format(list[i].stop_time_us, buf, sizeof(buf));
                    err_set(err, WS_EINPUT, "backup %s cannot reach the recovery target: it is consistent only from %s",
                            id, buf);
                }
                else
                {
                    pg_lsn_format(list[i].stop_lsn, buf, sizeof(buf));
                    err_set(err, WS_EINPUT, "backup %s cannot reach the recovery target: it is consistent only from LSN %s",
                            id, buf);
                }
                err_hint(err, "Choose an earlier backup, or leave out --backup.");
                return -1;
            }
            return i;
        }
        err_set(err, WS_ENOTFOUND, "backup %s does not exist", id);
        err_hint(err, "Use \"walship-recover --list\" to see the backups.");
        return -1;
    }
    for (int i = n - 1; i >= 0; i--)
    {
        if (!list[i].complete || list[i].off_lineage)
            continue;
        if (reaches(&list[i], t))
            return i;
        first = i;
    }
    if (first < 0)
    {
        for (int i = 0; i < n; i++)
            if (list[i].complete)
            {
                err_set(err, WS_ENOTFOUND, "no complete base backup can reach the recovery target timeline");
                err_hint(err, "Every backup ends on another branch after the target timeline left it; try --target-timeline=current.");
                return -1;
            }
        err_set(err, WS_ENOTFOUND, "the repository holds no complete base backup");
        err_hint(err, "Take one with walship-basebackup.");
        return -1;
    }
    /* every complete backup is after the target: name the earliest reachable point */
    for (int i = 0; i < n; i++)
    {
        if (!list[i].complete || list[i].off_lineage)
            continue;
        if (t->kind == BACKUP_TARGET_TIME)
        {
            char        want[64];

            backup_time_format(list[i].stop_time_us, buf, sizeof(buf));
            backup_time_format(t->time_us, want, sizeof(want));
            err_set(err, WS_EINPUT, "recovery target time %s is before the earliest recoverable time %s",
                    want, buf);
            err_detail(err, "The oldest complete backup, %s, is consistent only from %s.",
                       list[i].id, buf);
        }
        else
        {
            char        want[PG_LSN_LEN];

            pg_lsn_format(list[i].stop_lsn, buf, sizeof(buf));
            pg_lsn_format(t->lsn, want, sizeof(want));
            err_set(err, WS_EINPUT, "recovery target LSN %s is before the earliest recoverable LSN %s",
                    want, buf);
            err_detail(err, "The oldest complete backup, %s, is consistent only from LSN %s.",
                       list[i].id, buf);
        }
        break;
    }
    return -1;
}
