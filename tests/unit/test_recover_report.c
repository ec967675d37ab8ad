/*
 * test_recover_report.c — walship-recover's summary on stdout
 * (common/command/recover_report.c), for each kind of target.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recover_report.h"

static char *
report(const struct recover_options *o, const struct recover_result *res)
{
    char       *buf = NULL;
    size_t      size = 0;
    FILE       *f = open_memstream(&buf, &size);

    cr_assert_not_null(f);
    recover_report_print(f, o, res);
    fclose(f);
    return buf;
}

Test(recover_report, targets)
{
    static struct recover_result res;
    struct recover_options o;
    char       *out;

    memset(&o, 0, sizeof(o));
    snprintf(res.backup.id, sizeof(res.backup.id), "20261203T020000Z");
    snprintf(res.backup.label, sizeof(res.backup.label), "nightly");
    snprintf(res.restore_command, sizeof(res.restore_command), "walship-restore %%f %%p");
    res.files = 1234;
    res.seconds = 2.5;
    o.target_dir = "/data/new";

    out = report(&o, &res);
    cr_assert(strstr(out, "restored backup 20261203T020000Z (nightly) into \"/data/new\": 1234 files")
              != NULL, "%s", out);
    cr_assert(strstr(out, "recovery target: the end of the archived WAL; timeline latest\n") != NULL,
              "%s", out);
    cr_assert(strstr(out, "wrote /data/new/postgresql.auto.conf (restore_command = "
                     "'walship-restore %f %p') and /data/new/recovery.signal\n") != NULL, "%s", out);
    free(out);

    /* the command as postgresql.auto.conf holds it: quotes doubled, backslashes too */
    snprintf(res.restore_command, sizeof(res.restore_command),
             "'/opt/o'\\''b\\r/walship-restore' %%f %%p");
    out = report(&o, &res);
    cr_assert(strstr(out, "(restore_command = '''/opt/o''\\\\''''b\\\\r/walship-restore'' %f %p')")
              != NULL, "%s", out);
    cr_assert(strstr(out, "next step: pg_ctl -D /data/new start") != NULL, "%s", out);
    free(out);

    o.target.kind = BACKUP_TARGET_XID;
    o.target_text = "1234";
    o.target_action = "promote";
    o.target_timeline = "current";
    o.standby = true;
    out = report(&o, &res);
    cr_assert(strstr(out, "recovery target: transaction 1234; timeline current; then promote\n")
              != NULL, "%s", out);
    cr_assert(strstr(out, "/data/new/standby.signal") != NULL, "%s", out);
    free(out);

    o.target.kind = BACKUP_TARGET_IMMEDIATE;
    o.target_action = NULL;
    out = report(&o, &res);
    cr_assert(strstr(out, "the end of the backup (immediate); timeline current; then pause") != NULL,
              "%s", out);
    free(out);
}
