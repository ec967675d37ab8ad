/*
 * recover_report.c — walship-recover's summary.  See recover_report.h.
 */
#include "recover_report.h"

#include "backup_info.h"
#include "pgconf_quote.h"
#include "progress.h"

#include <inttypes.h>

void
recover_report_print(FILE *out, const struct recover_options *o,
                     const struct recover_result *res)
{
    char        size[32];
    const char *target = "the end of the archived WAL";
    char        tbuf[128];
    char        quoted[PGCONF_QUOTED_MAX] = "";
    struct ws_err e = WS_ERR_INIT;

    progress_bytes(res->bytes, size, sizeof(size));
    switch (o->target.kind)
    {
        case BACKUP_TARGET_TIME:
            backup_time_format(o->target.time_us, tbuf, sizeof(tbuf));
            target = tbuf;
            break;
        case BACKUP_TARGET_IMMEDIATE:
            target = "the end of the backup (immediate)";
            break;
        case BACKUP_TARGET_END:
            break;
        default:
            snprintf(tbuf, sizeof(tbuf), "%s %s", o->target.kind == BACKUP_TARGET_LSN ? "LSN" :
                     o->target.kind == BACKUP_TARGET_XID ? "transaction" : "restore point",
                     o->target_text);
            target = tbuf;
            break;
    }
    fprintf(out, "restored backup %s (%s) into \"%s\": %" PRIu64 " files, %s in %.1f s\n",
            res->backup.id, res->backup.label, o->target_dir, res->files, size, res->seconds);
    fprintf(out, "recovery target: %s; timeline %s", target,
            o->target_timeline ? o->target_timeline : "latest");
    if (o->target.kind != BACKUP_TARGET_END)
        fprintf(out, "; then %s", o->target_action ? o->target_action : "pause");
    /* as the file has it, so that a path with a quote or a backslash reads the same */
    if (pgconf_quote_value(quoted, sizeof(quoted), "restore_command", res->restore_command, &e) < 0)
        snprintf(quoted, sizeof(quoted), "'%s'", res->restore_command);
    fprintf(out, "\nwrote %s/postgresql.auto.conf (restore_command = %s) and %s/%s\n",
            o->target_dir, quoted, o->target_dir,
            o->standby ? "standby.signal" : "recovery.signal");
    fprintf(out, "next step: pg_ctl -D %s start   "
            "(check port, archive_command and other settings first)\n", o->target_dir);
}
