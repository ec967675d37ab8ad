/*
 * walship-archive — PostgreSQL archive_command:
 *
 *     archive_command = 'walship-archive %p %f'
 *
 * Exit 0 only once the file is durably in the repository (or an identical
 * copy already is); every failure exits 1..125 so the archiver retries
 * (docs/exit-codes.md).
 */
#include "archive.h"
#include "cfg.h"
#include "cli.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_spec spec = {
    .progname = "walship-archive",
    .summary = "walship-archive archives one WAL file into a walship repository.",
    .synopsis = "[OPTION]... PATH NAME",
    .notes = "  PATH and NAME are PostgreSQL's %p and %f:\n"
             "    archive_command = 'walship-archive %p %f'",
    .npos = 2,
    .pos_names = "%p %f",
    .exits = WS_PROG_ARCHIVE,
};

int
main(int argc, char **argv)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct archive_stats st;
    const char *pos[2] = {NULL, NULL};
    int         rc;

    if (!cli_begin(&spec, argc, argv, &cfg, NULL, pos, &err, &rc))
        goto out;
    if (archive_push(&cfg, pos[0], pos[1], &st, &err) < 0)
    {
        rc = cli_fail(WS_PROG_ARCHIVE, &err);
        goto out;
    }
    /* a dropped segment (archive_queue_max): archive_push has warned */
    if (st.from_spool)
        log_info("\"%s\" was archived ahead by an earlier call (%.1f ms)", pos[1],
                 st.seconds * 1000);
    else if (st.already_archived)
        log_info("\"%s\" already archived with identical content (%.1f ms)", pos[1],
                 st.seconds * 1000);
    else if (!st.dropped)
        log_info("archived \"%s\": %" PRIu64 " -> %" PRIu64 " bytes (%s, %s) in %.1f ms", pos[1],
                 st.bytes_in, st.bytes_out, cfg_compression_name(cfg.compression),
                 cfg_encryption_name(cfg.encryption), st.seconds * 1000);
    if (st.ahead > 0)
        log_info("also archived %" PRIu32 " next ready WAL files ahead: %" PRIu64 " -> %" PRIu64 " bytes",
                 st.ahead, st.ahead_bytes_in, st.ahead_bytes_out);
    rc = 0;
out:
    cfg_wipe(&cfg);
    return rc;
}
