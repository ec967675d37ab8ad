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
 * Operator tools (walship-basebackup, walship-recover): small distinct codes
 * a cron job or systemd unit can act on; 7 (transient) is worth retrying
 * later as it is.
 *
 * docs/exit-codes.md lists the same table; keep them in step.
 */
#include "err.h"

int
exitcode_for(enum ws_program prog, enum ws_code code)
{
    if (code == WS_OK)
        return 0;

    switch (prog)
    {
        case WS_PROG_ARCHIVE:
            switch (code)
            {
                case WS_ECONFIG: return 2;
                case WS_EINPUT: return 3;
                case WS_EEXISTS_DIFFERENT: return 4;
                case WS_EMISMATCH: return 5;
                case WS_EAUTH: return 6;
                case WS_ECORRUPT: return 7;
                case WS_ENOSPC: return 8;
                default: return 1;
            }
        case WS_PROG_RESTORE:
            switch (code)
            {
                case WS_ENOTFOUND: return 1;
                case WS_ECONFIG: return 150;
                case WS_ECORRUPT: return 151;
                case WS_EAUTH: return 152;
                case WS_EMISMATCH: return 153;
                case WS_ENOSPC: return 154;
                case WS_EINPUT: return 155;
                default: return 156;      /* I/O, transient retries exhausted, internal */
            }
        case WS_PROG_RESTORE_STANDBY:
            return 1;
        case WS_PROG_TOOL:
            switch (code)
            {
                case WS_ENOTFOUND: return 3;
                case WS_ECONFIG: return 2;
                case WS_ECORRUPT: return 4;
                case WS_EAUTH: return 5;
                case WS_EMISMATCH: return 6;
                case WS_ETRANSIENT: return 7;
                case WS_ENOSPC: return 8;
                case WS_ETIMEOUT: return 9;
                case WS_EINPUT: return 10;
                default: return 1;
            }
    }
    return 1;
}
