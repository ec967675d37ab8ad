/*
 * err.h — the error object every fallible function fills.
 *
 * A fallible function returns int (0 ok, -1 failure) and fills a caller-owned
 * struct ws_err.  The function that sees the failure writes the message in the
 * PostgreSQL frontend voice ("could not open file \"%s\": %m"); callers add
 * context only when it adds information (err_prefix).  Only main() maps a
 * ws_code to an exit status, through exitcode.c.
 */
#ifndef WS_ERR_H
#define WS_ERR_H

#include <stddef.h>

enum ws_code
{
    WS_OK = 0,
    WS_ENOTFOUND,           /* object/file does not exist (restore: quiet exit 1) */
    WS_EEXISTS,             /* object exists (internal: create-if-absent lost a race) */
    WS_EEXISTS_DIFFERENT,   /* object exists with different content */
    WS_ETRANSIENT,          /* may succeed if retried (I/O hiccup, network) */
    WS_EAUTH,               /* authentication failed: wrong passphrase/credentials */
    WS_ECONFIG,             /* bad configuration or command line */
    WS_EIO,                 /* local or repository I/O failure, not worth retrying */
    WS_ECORRUPT,            /* object corrupt, truncated, altered or swapped */
    WS_EINPUT,              /* bad input file (wrong size, bad name, unreadable %p) */
    WS_EMISMATCH,           /* repository belongs to another cluster */
    WS_ENOSPC,              /* no space left on device */
    WS_EINTERNAL,           /* out of memory, library failure */
    WS_ETIMEOUT,            /* gave up waiting (a backup's WAL never reached the archive) */
    WS_EINTERRUPTED,        /* stopped by a signal (the executable exits 128 + signal) */
    WS_EGAP,                /* WAL missing from the archive (walship verify) */
    WS_EARCHIVED,           /* object in an archive storage class: walship thaw first */
    /* walship check's alerts (docs/walship.md) */
    WS_EBACKUP_AGE,         /* no complete backup newer than alert_backup_age */
    WS_EBACKUP_SIZE,        /* newest backup's size changed by more than alert_backup_size_change */
    WS_EARCHIVE_LAG,        /* archiving lags by more than alert_archive_lag */
    WS_EARCHIVING,          /* archiving fails: archive_command failing or segment never arrived */
    /* walship drill (docs/walship.md) */
    WS_ESERVER,             /* the recovered server would not start, died, or refused us */
    WS_ECHECK               /* a drill sanity check failed or errored */
};

struct ws_err
{
    enum ws_code code;
    int         sys_errno;      /* errno at the failure, 0 if none */
    char        msg[512];
    char        detail[512];
    char        hint[256];
};

#define WS_ERR_INIT {WS_OK, 0, "", "", ""}

/* Set code and message (printf-style); clears detail and hint.  Returns -1. */
int         err_set(struct ws_err *err, enum ws_code code, const char *fmt, ...)
            __attribute__((format(printf, 3, 4)));
/* Like err_set, appending ": strerror(errnum)" and mapping errno to a code
 * when code is WS_OK (ENOENT -> ENOTFOUND, ENOSPC -> ENOSPC, else EIO). */
int         err_set_errno(struct ws_err *err, enum ws_code code, int errnum,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void        err_detail(struct ws_err *err, const char *fmt, ...)
            __attribute__((format(printf, 2, 3)));
void        err_hint(struct ws_err *err, const char *fmt, ...)
            __attribute__((format(printf, 2, 3)));
/* Prepend "context: " to the message (keeps code). */
void        err_prefix(struct ws_err *err, const char *fmt, ...)
            __attribute__((format(printf, 2, 3)));
void        err_clear(struct ws_err *err);
const char *err_code_name(enum ws_code code);

/* exitcode.c: the one home of the exit-status policy. */
enum ws_program
{
    WS_PROG_ARCHIVE,            /* archive_command: failures 1..125, never above */
    WS_PROG_RESTORE,            /* restore_command: not found 1, fatal > 125 */
    WS_PROG_RESTORE_STANDBY,    /* restore_command with standby.signal: never > 125 */
    WS_PROG_TOOL                /* operator tools: small distinct codes */
};
int         exitcode_for(enum ws_program prog, enum ws_code code);

#endif
