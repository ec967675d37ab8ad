/*
 * pg.c — physical replication connection, IDENTIFY_SYSTEM and the PostgreSQL
 * 15 BASE_BACKUP stream.  See pg.h for the contract.
 *
 * Protocol (PostgreSQL 15, src/backend/replication/basebackup_copy.c,
 * "copystream"; docs: protocol-replication.html, BASE_BACKUP):
 *   result 1  TUPLES_OK  recptr text, tli int8           start of the backup
 *   result 2  TUPLES_OK  spcoid oid, spclocation text, size int8 (kB)
 *                        one row per tablespace, base (NULL oid) last
 *   result 3  COPY_OUT   one stream; each CopyData starts with a type byte:
 *                        'n' name\0 location\0   a new archive begins
 *                        'd' bytes               archive or manifest data
 *                        'p' uint64 (network)    bytes of archives sent so far
 *                        'm'                     the manifest begins
 *   result 4  TUPLES_OK  recptr, tli                      end of the backup
 *   result 5  COMMAND_OK (an error here instead, e.g. XX001 checksum failures)
 * There is no explicit end of an archive: the next 'n', the 'm' or the end
 * of the COPY stream says it.  Servers from 15 on send terminated tar files.
 */
#define _GNU_SOURCE             /* memmem */
#include "pg.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* SQLSTATEs we act on (src/backend/utils/errcodes.txt) */
#define SQLSTATE_INSUFFICIENT_PRIVILEGE "42501"
#define SQLSTATE_TOO_MANY_CONNECTIONS   "53300"
#define SQLSTATE_NOT_IN_PREREQ_STATE    "55000"
#define SQLSTATE_DATA_CORRUPTED         "XX001"

/* The server's label limit is MAXPGPATH (basebackup.c: "backup label too long") */
#define LABEL_MAX           1023
/* basebackup.c MAX_RATE_LOWER / MAX_RATE_UPPER, kB/s */
#define MAX_RATE_LOWER      32
#define MAX_RATE_UPPER      1048576
/* A CopyData message holds one server buffer (32 kB in 15); anything far
 * larger is not a base backup stream. */
#define COPY_MESSAGE_CAP    (16 * 1024 * 1024)

#define SECRET_MASK         "********"
/* Shorter passwords are not masked: masking them would mangle messages and
 * show by the gaps which characters the password is made of. */
#define SECRET_MIN_LEN      4
#define MAX_SECRETS         8

struct pg_conn
{
    PGconn     *conn;
    void        (*notice_fn) (void *arg, const char *severity, const char *message);
    void       *notice_arg;
    bool        broken;         /* a failure left the protocol in an unknown state */
};

/* Passwords to mask in messages: spans of text owned by someone else. */
struct secrets
{
    const char *s[MAX_SECRETS];
    size_t      len[MAX_SECRETS];
    int         n;
};

/* ---- masking passwords ------------------------------------------------ */

static void
secrets_add(struct secrets *sec, const char *s, size_t len)
{
    if (s == NULL || len < SECRET_MIN_LEN || sec->n >= MAX_SECRETS)
        return;
    sec->s[sec->n] = s;
    sec->len[sec->n] = len;
    sec->n++;
}

/*
 * Find password values in the raw text of a connection string, so they can
 * be masked even when libpq cannot parse it (some of libpq's parse errors
 * quote the string).  Covers "password = value", "password='v a l'",
 * "?password=value&" and the user:password@ of a URI.
 */
static void
secrets_from_conninfo(struct secrets *sec, const char *ci)
{
    const char *p = ci;
    const char *scheme = strstr(ci, "://");

    while ((p = strstr(p, "password")) != NULL)
    {
        const char *v = p + strlen("password");
        const char *end;

        p = v;
        while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
            v++;
        if (*v != '=')
            continue;
        v++;
        while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
            v++;
        if (*v == '\'')
        {
            v++;
            for (end = v; *end != '\0' && *end != '\''; end++)
                if (*end == '\\' && end[1] != '\0')
                    end++;
        }
        else
            end = v + strcspn(v, " \t\n\r&");
        secrets_add(sec, v, (size_t) (end - v));
    }
    if (scheme != NULL)
    {
        const char *user = scheme + 3;
        size_t      auth_len = strcspn(user, "/?");
        const char *at = memchr(user, '@', auth_len);

        if (at != NULL)
        {
            const char *colon = memchr(user, ':', (size_t) (at - user));

            if (colon != NULL)
                secrets_add(sec, colon + 1, (size_t) (at - colon - 1));
        }
    }
}

/* A malloc'd copy of text with every secret replaced by SECRET_MASK, or NULL. */
static char *
dup_masked(const char *text, const struct secrets *sec)
{
    char       *out = strdup(text);

    for (int i = 0; out != NULL && i < sec->n; i++)
    {
        size_t      off = 0;
        char       *hit;

        while ((hit = memmem(out + off, strlen(out + off), sec->s[i], sec->len[i])) != NULL)
        {
            size_t      pos = (size_t) (hit - out);
            size_t      tail = strlen(hit + sec->len[i]);
            size_t      mlen = strlen(SECRET_MASK);
            char       *n = malloc(pos + mlen + tail + 1);

            if (n == NULL)
            {
                OPENSSL_cleanse(out, strlen(out));
                free(out);
                return NULL;
            }
            memcpy(n, out, pos);
            memcpy(n + pos, SECRET_MASK, mlen);
            memcpy(n + pos + mlen, hit + sec->len[i], tail + 1);
            OPENSSL_cleanse(out, strlen(out));
            free(out);
            out = n;
            off = pos + mlen;
        }
    }
    return out;
}

static void
secrets_from_conn(struct secrets *sec, PGconn *conn)
{
    const char *pw = conn != NULL ? PQpass(conn) : NULL;

    if (pw != NULL)
        secrets_add(sec, pw, strlen(pw));
}

/*
 * Fill err from a (possibly multi-line) libpq message: the first line is the
 * message, the following lines (libpq indents them with a tab) the detail.
 * prefix, if not NULL, goes before the message.  Returns -1.
 */
static int
set_text_err(struct ws_err *err, enum ws_code code, const char *prefix, const char *text,
             const struct secrets *sec)
{
    char       *clean = dup_masked(text != NULL ? text : "", sec);
    char       *nl;
    char       *rest = NULL;
    size_t      n;

    if (clean == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    /* trailing newlines */
    n = strlen(clean);
    while (n > 0 && (clean[n - 1] == '\n' || clean[n - 1] == ' '))
        clean[--n] = '\0';
    if ((nl = strchr(clean, '\n')) != NULL)
    {
        *nl = '\0';
        rest = nl + 1;
    }
    if (prefix != NULL && clean[0] != '\0')
        err_set(err, code, "%s: %s", prefix, clean);
    else if (prefix != NULL)
        err_set(err, code, "%s", prefix);
    else
        err_set(err, code, "%s", clean[0] != '\0' ? clean : "unknown libpq error");
    if (rest != NULL)
    {
        /* join the remaining lines with spaces, dropping libpq's tabs */
        char       *w = rest;

        for (char *r = rest; *r != '\0'; r++)
        {
            if (*r == '\t')
                continue;
            *w++ = (*r == '\n') ? ' ' : *r;
        }
        *w = '\0';
        while (*rest == ' ')
            rest++;
        if (*rest != '\0')
            err_detail(err, "%s", rest);
    }
    free(clean);
    return -1;
}

/* ---- notices ---------------------------------------------------------- */

/*
 * libpq's default notice processor prints to stderr; ours hands the text to
 * the connection's handler (or log_debug).  Installed before the connection
 * starts, so notices sent during authentication are covered too.
 */
static void
notice_receiver(void *arg, const PGresult *res)
{
    struct pg_conn *c = arg;
    struct secrets sec = {{NULL}, {0}, 0};
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    char       *clean;
    size_t      n;

    if (sev == NULL)
        sev = "NOTICE";
    if (msg == NULL)
        msg = PQresultErrorMessage(res);
    secrets_from_conn(&sec, c->conn);
    clean = dup_masked(msg, &sec);
    if (clean == NULL)
        return;
    n = strlen(clean);
    while (n > 0 && clean[n - 1] == '\n')
        clean[--n] = '\0';
    if (c->notice_fn != NULL)
        c->notice_fn(c->notice_arg, sev, clean);
    else
        log_debug("server %s: %s", sev, clean);
    free(clean);
}

void
pg_set_notice_handler(struct pg_conn *c,
                      void (*fn) (void *arg, const char *severity, const char *message),
                      void *arg)
{
    c->notice_fn = fn;
    c->notice_arg = arg;
}

/* ---- errors from results ---------------------------------------------- */

static bool
sqlstate_is(const char *state, const char *want)
{
    return state != NULL && strcmp(state, want) == 0;
}

/*
 * Fill err from a failed result (res may be NULL: then the connection's
 * error message is used).  what: "could not ..." context.  Returns -1.
 */
static int
set_result_err(struct pg_conn *c, const PGresult *res, const char *what, struct ws_err *err)
{
    struct secrets sec = {{NULL}, {0}, 0};
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
    const char *our_hint = NULL;
    enum ws_code code = WS_EIO;

    secrets_from_conn(&sec, c->conn);
    if (PQstatus(c->conn) == CONNECTION_BAD)
    {
        code = WS_ETRANSIENT;
        our_hint = "The connection to the server was lost; the server may have been stopped "
            "or restarted (see its log).  Retry once it runs again.";
    }
    else if (sqlstate_is(state, SQLSTATE_INSUFFICIENT_PRIVILEGE))
    {
        code = WS_ECONFIG;
        our_hint = "Give the role the REPLICATION attribute (ALTER ROLE name REPLICATION) "
            "or connect as a role that has it.";
    }
    else if (sqlstate_is(state, SQLSTATE_TOO_MANY_CONNECTIONS))
    {
        code = WS_ETRANSIENT;
        our_hint = "Raise max_wal_senders on the server, or retry when another WAL sender "
            "has disconnected.";
    }
    else if (sqlstate_is(state, SQLSTATE_NOT_IN_PREREQ_STATE))
    {
        code = WS_ECONFIG;
        our_hint = "Set wal_level = replica (or logical) on the server and restart it.";
    }
    else if (sqlstate_is(state, SQLSTATE_DATA_CORRUPTED))
        code = WS_ECORRUPT;
    else if (state != NULL && (strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0))
    {
        /* connection exception, operator intervention (shutdown, terminated) */
        code = WS_ETRANSIENT;
        our_hint = "The server stopped the command (shutdown or terminated backend).  "
            "Retry once it runs again.";
    }

    if (primary != NULL)
    {
        char       *p = dup_masked(primary, &sec);

        if (p == NULL)
            return err_set(err, WS_EINTERNAL, "out of memory");
        err_set(err, code, "%s: %s", what, p);
        free(p);
        if (detail != NULL)
        {
            char       *d = dup_masked(detail, &sec);

            if (d != NULL)
                err_detail(err, "%s", d);
            free(d);
        }
    }
    else
        set_text_err(err, code, what, PQerrorMessage(c->conn), &sec);

    if (hint != NULL)
    {
        char       *h = dup_masked(hint, &sec);

        if (h != NULL)
            err_hint(err, "%s", h);
        free(h);
    }
    else if (our_hint != NULL)
        err_hint(err, "%s", our_hint);
    return -1;
}

/* ---- connecting -------------------------------------------------------- */

/* Does libpq treat s as a connection string rather than a database name?
 * (fe-connect.c: recognized_connection_string) */
static bool
is_connection_string(const char *s)
{
    return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0 ||
        strchr(s, '=') != NULL;
}

/*
 * Classify a failed connection attempt from libpq's message.  libpq gives no
 * SQLSTATE for errors during connection startup, so this matches the
 * server's (English) wording; an unknown message from a server that did
 * answer is WS_EIO, no answer at all is WS_ETRANSIENT.
 */
static int
set_connect_err(PGconn *conn, const struct secrets *sec0, struct ws_err *err)
{
    struct secrets sec = *sec0;
    const char *text = PQerrorMessage(conn);
    enum ws_code code;
    const char *hint;

    secrets_from_conn(&sec, conn);
    if (strncmp(text, "invalid ", 8) == 0 || strncmp(text, "could not match ", 16) == 0)
    {
        /* libpq refused an option value before connecting (fe-connect.c
         * connectOptions2: "invalid sslmode value", "invalid port number") */
        code = WS_ECONFIG;
        hint = "Fix the connection string (libpq-connect.html).";
    }
    else if (strstr(text, "replication role") != NULL ||
        strstr(text, "permission denied to start WAL sender") != NULL)
    {
        /* 15: "must be superuser or replication role to start walsender";
         * 16+: "permission denied to start WAL sender" */
        code = WS_ECONFIG;
        hint = "Give the role the REPLICATION attribute (ALTER ROLE name REPLICATION) "
            "or connect as a role that has it.";
    }
    else if (strstr(text, "exceeds max_wal_senders (currently 0)") != NULL)
    {
        code = WS_ECONFIG;
        hint = "Set max_wal_senders to 1 or more on the server (this needs wal_level = "
            "replica or logical, not minimal) and restart it.";
    }
    else if (strstr(text, "max_wal_senders") != NULL)
    {
        /* proc.c InitProcess: every WAL sender slot is taken */
        code = WS_ETRANSIENT;
        hint = "No free WAL sender: raise max_wal_senders on the server, or retry when "
            "a standby or another backup has disconnected.";
    }
    else if (strstr(text, "too many clients") != NULL ||
             strstr(text, "connection slots are reserved") != NULL)
    {
        code = WS_ETRANSIENT;
        hint = "Raise max_connections on the server, or retry later.";
    }
    else if (strstr(text, "password authentication failed") != NULL ||
             PQconnectionNeedsPassword(conn))
    {
        code = WS_EAUTH;
        hint = "Check the password given in the connection string, PGPASSWORD or "
            "the password file (~/.pgpass).";
    }
    else if (strstr(text, "pg_hba.conf") != NULL)
    {
        code = WS_ECONFIG;
        hint = "Add a line for database \"replication\" and this role and host to the "
            "server's pg_hba.conf, then reload it.";
    }
    else if (strstr(text, "role \"") != NULL && strstr(text, "does not exist") != NULL)
    {
        code = WS_ECONFIG;
        hint = "Connect as an existing role with the REPLICATION attribute (user=...).";
    }
    else if (strstr(text, "starting up") != NULL || strstr(text, "shutting down") != NULL ||
             strstr(text, "in recovery mode") != NULL)
    {
        code = WS_ETRANSIENT;
        hint = "Retry once the server accepts connections.";
    }
    else if (strstr(text, "FATAL:") != NULL || strstr(text, "ERROR:") != NULL)
    {
        code = WS_EIO;
        hint = NULL;
    }
    else
    {
        code = WS_ETRANSIENT;
        hint = "Check that the server is running and that host and port in the connection "
            "string (or PGHOST and PGPORT) point at it.";
    }
    set_text_err(err, code, NULL, text, &sec);
    if (hint != NULL)
        err_hint(err, "%s", hint);
    return -1;
}

/*
 * connect_timeout in seconds from the connection string or PGCONNECT_TIMEOUT,
 * 0 = none; libpq raises 1 to 2.  libpq checks the value only in its own
 * blocking loop (connectDBComplete), which we do not use, so check it here.
 */
static int
connect_timeout(const PQconninfoOption *opts, int *out, struct ws_err *err)
{
    const char *val = getenv("PGCONNECT_TIMEOUT");
    char       *end;
    long        v;

    *out = 0;
    for (const PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
        if (o->val != NULL && strcmp(o->keyword, "connect_timeout") == 0)
            val = o->val;
    if (val == NULL || val[0] == '\0')
        return 0;
    errno = 0;
    v = strtol(val, &end, 10);
    while (*end == ' ')
        end++;
    if (errno != 0 || end == val || *end != '\0' || v > INT_MAX / 1000)
    {
        err_set(err, WS_ECONFIG, "invalid integer value \"%s\" for connection option "
                "\"connect_timeout\"", val);
        err_hint(err, "Give connect_timeout in whole seconds.");
        return -1;
    }
    *out = v <= 0 ? 0 : (v < 2 ? 2 : (int) v);
    return 0;
}

/*
 * Drive PQconnectPoll until connected (docs: libpq-connect.html, "PQconnectStartParams").
 * Returns 1 connected, 0 failed (message in conn), -1 timeout.
 */
static int
poll_connect(PGconn *conn, int timeout_s)
{
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    int64_t     deadline = timeout_s > 0 ? clock_now_ms() + (int64_t) timeout_s * 1000 : 0;

    for (;;)
    {
        struct pollfd pfd;
        int         wait_ms = -1;
        int         r;

        if (st == PGRES_POLLING_OK)
            return 1;
        if (st == PGRES_POLLING_FAILED)
            return 0;
        pfd.fd = PQsocket(conn);
        pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        pfd.revents = 0;
        if (pfd.fd < 0)
            return 0;
        if (deadline > 0)
        {
            int64_t     left = deadline - clock_now_ms();

            if (left <= 0)
                return -1;
            wait_ms = left > INT_MAX ? INT_MAX : (int) left;
        }
        r = poll(&pfd, 1, wait_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return -1;
        /* r < 0 (other errors) or ready: let libpq find out */
        st = PQconnectPoll(conn);
    }
}

/* replication is "true" (a physical WAL sender) or "false" (a plain SQL session). */
static int
connect_as(const char *conninfo, const char *replication, struct pg_conn **out,
           struct ws_err *err)
{
    /* expand_dbname: the first "dbname" is parsed as a whole connection
     * string; later keywords override what it says (fe-connect.c
     * conninfo_array_parse), so replication=true always wins. */
    static const char *const keys[] = {"dbname", "replication", "fallback_application_name", NULL};
    const char *vals[4];
    struct secrets sec = {{NULL}, {0}, 0};
    PQconninfoOption *opts = NULL;
    struct pg_conn *c = NULL;
    char       *perr = NULL;
    int         timeout_s;
    int         r;
    int         rc = -1;

    *out = NULL;
    if (conninfo == NULL)
        conninfo = "";
    secrets_from_conninfo(&sec, conninfo);
    if (is_connection_string(conninfo))
    {
        /* parse first: to report a bad string as such, and to learn the
         * password to mask */
        opts = PQconninfoParse(conninfo, &perr);
        if (opts == NULL)
        {
            if (perr == NULL)
                err_set(err, WS_EINTERNAL, "out of memory");
            else
                set_text_err(err, WS_ECONFIG, "invalid connection string", perr, &sec);
            err_hint(err, "Write the connection string as keyword=value pairs or as a "
                     "postgresql:// URI (libpq-connect.html).");
            goto out;
        }
        for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
            if (o->val != NULL && strcmp(o->keyword, "password") == 0)
                secrets_add(&sec, o->val, strlen(o->val));
    }

    if (connect_timeout(opts, &timeout_s, err) < 0)
        goto out;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    vals[0] = conninfo;
    vals[1] = replication;
    vals[2] = "walship";
    vals[3] = NULL;
    c->conn = PQconnectStartParams(keys, vals, 1);
    if (c->conn == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    PQsetNoticeReceiver(c->conn, notice_receiver, c);
    /* Bad option values, or a connect() that failed at once (a unix
     * socket that does not exist), leave it CONNECTION_BAD already. */
    r = PQstatus(c->conn) == CONNECTION_BAD ? 0 : poll_connect(c->conn, timeout_s);
    if (r < 0)
    {
        err_set(err, WS_ETRANSIENT, "could not connect to the server: timeout expired "
                "after %d seconds", timeout_s);
        err_hint(err, "Check that the server is running and reachable, or raise "
                 "connect_timeout.");
        goto out;
    }
    if (r == 0 || PQstatus(c->conn) != CONNECTION_OK)
    {
        set_connect_err(c->conn, &sec, err);
        goto out;
    }
    *out = c;
    c = NULL;
    rc = 0;
out:
    if (opts != NULL)
    {
        for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
            if (o->val != NULL && strcmp(o->keyword, "password") == 0)
                OPENSSL_cleanse(o->val, strlen(o->val));
        PQconninfoFree(opts);
    }
    PQfreemem(perr);
    pg_disconnect(c);
    return rc;
}

int
pg_connect_replication(const char *conninfo, struct pg_conn **out, struct ws_err *err)
{
    return connect_as(conninfo, "true", out, err);
}

int
pg_connect_sql(const char *conninfo, struct pg_conn **out, struct ws_err *err)
{
    return connect_as(conninfo, "false", out, err);
}

void
pg_disconnect(struct pg_conn *c)
{
    if (c == NULL)
        return;
    if (c->conn != NULL)
        PQfinish(c->conn);
    free(c);
}

int
pg_server_version(const struct pg_conn *c)
{
    return PQserverVersion(c->conn);
}

int
pg_socket(const struct pg_conn *c)
{
    return c != NULL && c->conn != NULL ? PQsocket(c->conn) : -1;
}

static int
check_usable(struct pg_conn *c, struct ws_err *err)
{
    if (c->broken)
    {
        err_set(err, WS_EIO, "the connection is unusable after an earlier failure");
        err_hint(err, "Disconnect and connect again.");
        return -1;
    }
    if (PQstatus(c->conn) != CONNECTION_OK)
    {
        err_set(err, WS_ETRANSIENT, "the connection to the server was lost");
        err_hint(err, "Connect again once the server runs.");
        return -1;
    }
    return 0;
}

/* Read results until the command is over, so the connection can take the
 * next one; a COPY still running means it cannot. */
static void
drain_results(struct pg_conn *c)
{
    PGresult   *r;

    while ((r = PQgetResult(c->conn)) != NULL)
    {
        ExecStatusType st = PQresultStatus(r);

        PQclear(r);
        if (st == PGRES_COPY_OUT || st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)
        {
            c->broken = true;
            return;
        }
    }
}

/* ---- parsing helpers ---------------------------------------------------- */

int
pg_lsn_parse(const char *s, uint64_t *out)
{
    uint64_t    part[2] = {0, 0};
    const char *p = s;

    if (s == NULL)
        return -1;
    for (int i = 0; i < 2; i++)
    {
        int         digits = 0;

        for (;; p++, digits++)
        {
            int         v;

            if (*p >= '0' && *p <= '9')
                v = *p - '0';
            else if (*p >= 'a' && *p <= 'f')
                v = *p - 'a' + 10;
            else if (*p >= 'A' && *p <= 'F')
                v = *p - 'A' + 10;
            else
                break;
            if (digits == 8)
                return -1;
            part[i] = part[i] << 4 | (uint64_t) v;
        }
        if (digits == 0)
            return -1;
        if (i == 0 && *p++ != '/')
            return -1;
    }
    if (*p != '\0')
        return -1;
    *out = part[0] << 32 | part[1];
    return 0;
}

void
pg_lsn_format(uint64_t lsn, char *buf, size_t len)
{
    if (len == 0)
        return;
    snprintf(buf, len, "%" PRIX32 "/%" PRIX32, (uint32_t) (lsn >> 32), (uint32_t) lsn);
}

/* Unsigned decimal that fits in max; no sign, no spaces. */
static int
parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t    v = 0;

    if (s == NULL || *s == '\0')
        return -1;
    for (; *s != '\0'; s++)
    {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (max - (uint64_t) (*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t) (*s - '0');
    }
    *out = v;
    return 0;
}

/* A memory GUC as SHOW prints it: "16MB", "1GB", "8192" (guc.c units). */
static int
parse_size(const char *s, uint64_t *out)
{
    static const struct
    {
        const char *unit;
        uint64_t    mult;
    }           units[] = {
        {"", 1}, {"B", 1}, {"kB", 1024}, {"MB", 1024 * 1024},
        {"GB", UINT64_C(1024) * 1024 * 1024}, {"TB", UINT64_C(1024) * 1024 * 1024 * 1024}
    };
    char        num[32];
    size_t      n = strspn(s, "0123456789");
    uint64_t    v;

    if (n == 0 || n >= sizeof(num))
        return -1;
    memcpy(num, s, n);
    num[n] = '\0';
    if (parse_uint(num, UINT32_MAX, &v) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(s + n, units[i].unit) == 0)
        {
            *out = v * units[i].mult;
            return 0;
        }
    return -1;
}

/* ---- IDENTIFY_SYSTEM ---------------------------------------------------- */

/* Run a command expected to return one row of at least min_fields. */
static PGresult *
exec_row(struct pg_conn *c, const char *cmd, int min_fields, struct ws_err *err)
{
    PGresult   *r = PQexec(c->conn, cmd);
    char        what[128];

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        snprintf(what, sizeof(what), "could not send replication command \"%s\"", cmd);
        set_result_err(c, r, what, err);
        PQclear(r);
        return NULL;
    }
    if (PQntuples(r) != 1 || PQnfields(r) < min_fields)
    {
        err_set(err, WS_EIO, "unexpected reply to \"%s\": got %d rows and %d fields, "
                "expected 1 row and %d or more fields",
                cmd, PQntuples(r), PQnfields(r), min_fields);
        PQclear(r);
        return NULL;
    }
    return r;
}

static int  show_setting(struct pg_conn *c, const char *name, char *buf, size_t len,
                         struct ws_err *err);

int
pg_sql_row(struct pg_conn *c, const char *sql, int nfields, char (*vals)[PG_VALUE_MAX],
           bool *nulls, struct ws_err *err)
{
    PGresult   *r;
    char        what[160];
    int         rc = -1;

    if (check_usable(c, err) < 0)
        return -1;
    r = PQexec(c->conn, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
    {
        snprintf(what, sizeof(what), "query \"%.100s\" failed", sql);
        set_result_err(c, r, what, err);
        goto out;
    }
    if (PQntuples(r) != 1 || PQnfields(r) != nfields)
    {
        err_set(err, WS_EIO, "unexpected reply to \"%.100s\": got %d rows and %d fields, "
                "expected 1 row and %d fields", sql, PQntuples(r), PQnfields(r), nfields);
        goto out;
    }
    for (int i = 0; i < nfields; i++)
    {
        nulls[i] = PQgetisnull(r, 0, i) != 0;
        snprintf(vals[i], PG_VALUE_MAX, "%s", nulls[i] ? "" : PQgetvalue(r, 0, i));
    }
    rc = 0;
out:
    PQclear(r);
    return rc;
}

int
pg_show(struct pg_conn *c, const char *name, char *buf, size_t len, struct ws_err *err)
{
    if (check_usable(c, err) < 0)
        return -1;
    for (const char *p = name; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9')))
            return err_set(err, WS_EINTERNAL, "invalid setting name \"%s\"", name);
    return show_setting(c, name, buf, len, err);
}

static int
show_setting(struct pg_conn *c, const char *name, char *buf, size_t len, struct ws_err *err)
{
    char        cmd[64];
    PGresult   *r;
    int         rc = -1;

    snprintf(cmd, sizeof(cmd), "SHOW %s", name);
    if ((r = exec_row(c, cmd, 1, err)) == NULL)
        return -1;
    if (PQgetisnull(r, 0, 0) || (size_t) PQgetlength(r, 0, 0) >= len)
    {
        err_set(err, WS_EIO, "unexpected value for %s from the server", name);
        goto out;
    }
    memcpy(buf, PQgetvalue(r, 0, 0), (size_t) PQgetlength(r, 0, 0) + 1);
    rc = 0;
out:
    PQclear(r);
    return rc;
}

int
pg_identify_system(struct pg_conn *c, struct pg_system *out, struct ws_err *err)
{
    PGresult   *r = NULL;
    uint64_t    v;
    char        size[32];
    int         rc = -1;

    memset(out, 0, sizeof(*out));
    if (check_usable(c, err) < 0)
        return -1;
    /* docs: protocol-replication.html, IDENTIFY_SYSTEM: systemid text,
     * timeline int4, xlogpos text, dbname text */
    if ((r = exec_row(c, "IDENTIFY_SYSTEM", 3, err)) == NULL)
        goto out;
    if (parse_uint(PQgetvalue(r, 0, 0), UINT64_MAX, &out->system_identifier) < 0)
    {
        err_set(err, WS_EIO, "invalid system identifier \"%s\" from IDENTIFY_SYSTEM",
                PQgetvalue(r, 0, 0));
        goto out;
    }
    if (parse_uint(PQgetvalue(r, 0, 1), UINT32_MAX, &v) < 0 || v == 0)
    {
        err_set(err, WS_EIO, "invalid timeline \"%s\" from IDENTIFY_SYSTEM",
                PQgetvalue(r, 0, 1));
        goto out;
    }
    out->timeline = (uint32_t) v;
    if (pg_lsn_parse(PQgetvalue(r, 0, 2), &out->xlogpos) < 0)
    {
        err_set(err, WS_EIO, "invalid WAL location \"%s\" from IDENTIFY_SYSTEM",
                PQgetvalue(r, 0, 2));
        goto out;
    }
    out->server_version = PQserverVersion(c->conn);
    if (show_setting(c, "wal_segment_size", size, sizeof(size), err) < 0)
        goto out;
    /* xlog_internal.h IsValidWalSegSize: a power of two, 1 MB .. 1 GB */
    if (parse_size(size, &v) < 0 || v < 1024 * 1024 || v > 1024 * 1024 * 1024 ||
        (v & (v - 1)) != 0)
    {
        err_set(err, WS_EIO, "invalid wal_segment_size \"%s\" from the server", size);
        goto out;
    }
    out->wal_segment_size = (uint32_t) v;
    if (show_setting(c, "wal_level", out->wal_level, sizeof(out->wal_level), err) < 0)
        goto out;
    rc = 0;
out:
    PQclear(r);
    return rc;
}

/* ---- BASE_BACKUP -------------------------------------------------------- */

/*
 * The manifest header PostgreSQL 17+ writes (src/backend/backup/
 * backup_manifest.c, InitializeBackupManifest) is
 *   { "PostgreSQL-Backup-Manifest-Version": 2,\n"System-Identifier": N,\n...
 * so the key is searched for in the first bytes, not parsed as full JSON.
 */
int
pg_manifest_system_identifier(const char *text, size_t len, uint64_t *out)
{
    static const char key[] = "\"System-Identifier\"";
    const size_t klen = sizeof(key) - 1;
    size_t      i;
    uint64_t    v = 0;
    size_t      digits = 0;

    for (i = 0; i + klen <= len; i++)
        if (memcmp(text + i, key, klen) == 0)
            break;
    if (i + klen > len)
        return 0;
    i += klen;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (i >= len || text[i] != ':')
        return -1;
    i++;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++, digits++)
    {
        unsigned    d = (unsigned) (text[i] - '0');

        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    /* the number must end inside what we have, at a JSON delimiter */
    if (digits == 0 || i >= len || (text[i] != ',' && text[i] != '}' && text[i] != ' ' &&
                                    text[i] != '\n' && text[i] != '\r' && text[i] != '\t'))
        return -1;
    *out = v;
    return 1;
}

void
pg_backup_result_free(struct pg_backup_result *r)
{
    if (r == NULL)
        return;
    free(r->tablespaces);
    memset(r, 0, sizeof(*r));
}

static int
check_options(const struct pg_backup_options *o, const struct pg_backup_callbacks *cb,
              struct ws_err *err)
{
    const char *label = o->label != NULL ? o->label : "walship";

    if (cb->archive_begin == NULL || cb->archive_end == NULL)
        return err_set(err, WS_EINTERNAL, "base backup without archive callbacks");
    if (o->manifest && (cb->manifest_begin == NULL || cb->manifest_end == NULL))
        return err_set(err, WS_EINTERNAL, "base backup with a manifest but without "
                       "manifest callbacks");
    if (strlen(label) > LABEL_MAX)
    {
        err_set(err, WS_ECONFIG, "backup label too long (max %d bytes)", LABEL_MAX);
        err_hint(err, "Use a shorter label.");
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *) label; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
        {
            /* backup_label is a line-oriented file ("LABEL: %s\n") */
            err_set(err, WS_ECONFIG, "backup label contains a control character");
            err_hint(err, "Use a label without newlines or other control characters.");
            return -1;
        }
    if (o->max_rate_kb != 0 &&
        (o->max_rate_kb < MAX_RATE_LOWER || o->max_rate_kb > MAX_RATE_UPPER))
    {
        err_set(err, WS_ECONFIG, "transfer rate %d kB/s is out of range", o->max_rate_kb);
        err_hint(err, "Use 0 (unlimited) or a rate between %d and %d kB/s.",
                 MAX_RATE_LOWER, MAX_RATE_UPPER);
        return -1;
    }
    return 0;
}

/*
 * The command, in the parenthesized syntax of 15 (the old one is a syntax
 * error there).  The replication grammar's string literal is the SQL
 * standard one: '' for a quote, backslashes literal (repl_scanner.l).
 * PQescapeLiteral would emit E'...' for a backslash, which it rejects.
 */
static void
build_command(const struct pg_backup_options *o, bool progress, char *cmd, size_t len)
{
    const char *label = o->label != NULL ? o->label : "walship";
    size_t      n;

    n = (size_t) snprintf(cmd, len, "BASE_BACKUP (LABEL '");
    for (const char *p = label; *p != '\0' && n + 3 < len; p++)
    {
        if (*p == '\'')
            cmd[n++] = '\'';
        cmd[n++] = *p;
    }
    cmd[n] = '\0';
    n += (size_t) snprintf(cmd + n, len - n,
                           "', CHECKPOINT '%s', WAL %s, WAIT %s, MANIFEST '%s'%s, "
                           "TABLESPACE_MAP %s, PROGRESS %s",
                           o->fast_checkpoint ? "fast" : "spread",
                           o->wal ? "true" : "false",
                           o->wait_for_archive ? "true" : "false",
                           o->manifest ? "yes" : "no",
                           o->manifest ? ", MANIFEST_CHECKSUMS 'CRC32C'" : "",
                           o->tablespace_map ? "true" : "false",
                           progress ? "true" : "false");
    if (o->max_rate_kb > 0 && n < len)
        n += (size_t) snprintf(cmd + n, len - n, ", MAX_RATE %d", o->max_rate_kb);
    if (n < len)
        snprintf(cmd + n, len - n, ")");
}

/* Take the next result; it must have status want (and, for tuples, at
 * least min_fields).  what: context for errors. */
static PGresult *
next_result(struct pg_conn *c, ExecStatusType want, int min_fields, const char *what,
            struct ws_err *err)
{
    PGresult   *r = PQgetResult(c->conn);

    if (PQresultStatus(r) != want)
    {
        if (r == NULL || PQresultStatus(r) == PGRES_FATAL_ERROR ||
            PQresultStatus(r) == PGRES_NONFATAL_ERROR)
            set_result_err(c, r, what, err);
        else
            err_set(err, WS_EIO, "%s: unexpected result %s from the server", what,
                    PQresStatus(PQresultStatus(r)));
        PQclear(r);
        return NULL;
    }
    if (want == PGRES_TUPLES_OK && PQnfields(r) < min_fields)
    {
        err_set(err, WS_EIO, "%s: got %d fields, expected %d or more", what, PQnfields(r),
                min_fields);
        PQclear(r);
        return NULL;
    }
    return r;
}

/* recptr, tli from a start/end result */
static int
parse_position(const PGresult *r, const char *what, uint64_t *lsn, uint32_t *tli,
               struct ws_err *err)
{
    uint64_t    v;

    if (PQntuples(r) != 1)
        return err_set(err, WS_EIO, "%s: got %d rows, expected 1", what, PQntuples(r));
    if (pg_lsn_parse(PQgetvalue(r, 0, 0), lsn) < 0)
        return err_set(err, WS_EIO, "%s: invalid WAL location \"%s\"", what,
                       PQgetvalue(r, 0, 0));
    if (parse_uint(PQgetvalue(r, 0, 1), UINT32_MAX, &v) < 0 || v == 0)
        return err_set(err, WS_EIO, "%s: invalid timeline \"%s\"", what, PQgetvalue(r, 0, 1));
    *tli = (uint32_t) v;
    return 0;
}

static int
parse_tablespaces(const PGresult *r, struct pg_backup_result *res, struct ws_err *err)
{
    int         n = PQntuples(r);

    if (n < 1)
        return err_set(err, WS_EIO, "the server sent no tablespace list");
    res->tablespaces = calloc((size_t) n, sizeof(*res->tablespaces));
    if (res->tablespaces == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    res->ntablespaces = n;
    for (int i = 0; i < n; i++)
    {
        struct pg_tablespace *ts = &res->tablespaces[i];
        uint64_t    v;

        if (!PQgetisnull(r, i, 0))
        {
            if (parse_uint(PQgetvalue(r, i, 0), UINT32_MAX, &v) < 0 || v == 0)
                return err_set(err, WS_EIO, "invalid tablespace OID \"%s\" from the server",
                               PQgetvalue(r, i, 0));
            ts->oid = (uint32_t) v;
        }
        if (!PQgetisnull(r, i, 1))
        {
            if ((size_t) PQgetlength(r, i, 1) >= sizeof(ts->location))
                return err_set(err, WS_EIO, "tablespace location too long (%d bytes)",
                               PQgetlength(r, i, 1));
            memcpy(ts->location, PQgetvalue(r, i, 1), (size_t) PQgetlength(r, i, 1) + 1);
        }
        ts->size_kb = -1;
        if (!PQgetisnull(r, i, 2))
        {
            if (parse_uint(PQgetvalue(r, i, 2), INT64_MAX, &v) < 0)
                return err_set(err, WS_EIO, "invalid tablespace size \"%s\" from the server",
                               PQgetvalue(r, i, 2));
            ts->size_kb = (int64_t) v;
        }
        if ((ts->oid == 0) != (ts->location[0] == '\0'))
            return err_set(err, WS_EIO, "inconsistent tablespace list from the server");
    }
    return 0;
}

enum part
{
    PART_NONE,
    PART_ARCHIVE,
    PART_MANIFEST
};

/* The state of one BASE_BACKUP stream. */
struct stream
{
    const struct pg_backup_options *o;
    const struct pg_backup_callbacks *cb;
    struct pg_backup_result *res;
    enum part   part;
    struct filter *sink;        /* owned while part != PART_NONE */
    char        name[256];      /* current archive */
    int         narchives;
    bool        got_manifest;
    uint64_t    total_bytes;    /* server's estimate; 0 = unknown */
};

/* Hand the current sink back to the callbacks. */
static int
end_part(struct stream *s, struct ws_err *err)
{
    struct filter *sink = s->sink;
    enum part   part = s->part;

    s->sink = NULL;
    s->part = PART_NONE;
    if (part == PART_ARCHIVE)
        return s->cb->archive_end(s->cb->arg, sink, err);
    if (part == PART_MANIFEST)
        return s->cb->manifest_end(s->cb->arg, sink, err);
    return 0;
}

static bool
valid_archive_name(const char *name)
{
    size_t      n = strlen(name);

    if (n == 0 || n >= 256 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    for (const unsigned char *p = (const unsigned char *) name; *p != '\0'; p++)
        if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static int
begin_archive(struct stream *s, const char *msg, size_t len, struct ws_err *err)
{
    const char *name = msg + 1;
    const char *nend = memchr(name, '\0', len - 1);
    const char *loc;
    const char *lend;
    const struct pg_tablespace *ts = NULL;
    struct filter *sink = NULL;

    if (nend == NULL)
        return err_set(err, WS_EIO, "malformed new-archive message in the base backup stream");
    loc = nend + 1;
    lend = memchr(loc, '\0', (size_t) (msg + len - loc));
    if (lend == NULL || lend + 1 != msg + len)
        return err_set(err, WS_EIO, "malformed new-archive message in the base backup stream");
    if (!valid_archive_name(name))
        return err_set(err, WS_EIO, "invalid archive name in the base backup stream");
    if (s->part == PART_MANIFEST)
        return err_set(err, WS_EIO, "archive \"%s\" after the manifest in the base backup "
                       "stream", name);
    for (int i = 0; i < s->res->ntablespaces; i++)
        if (strcmp(s->res->tablespaces[i].location, loc) == 0)
            ts = &s->res->tablespaces[i];
    if (ts == NULL)
        return err_set(err, WS_EIO, "archive \"%s\" is for a tablespace the server did not "
                       "list", name);
    if (end_part(s, err) < 0)
        return -1;
    if (s->cb->archive_begin(s->cb->arg, name, ts, &sink, err) < 0)
        return -1;
    if (sink == NULL)
        return err_set(err, WS_EINTERNAL, "no sink for archive \"%s\"", name);
    s->sink = sink;
    s->part = PART_ARCHIVE;
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->narchives++;
    return 0;
}

static int
handle_message(struct stream *s, const char *msg, size_t len, struct ws_err *err)
{
    switch (msg[0])
    {
        case 'n':
            return begin_archive(s, msg, len, err);
        case 'd':
            if (s->part == PART_NONE)
                return err_set(err, WS_EIO, "data before the first archive in the base "
                               "backup stream");
            if (s->part == PART_MANIFEST && s->res->manifest_head_len < PG_MANIFEST_HEAD)
            {
                /* the header, for the System-Identifier check of 17+ manifests */
                size_t      n = PG_MANIFEST_HEAD - s->res->manifest_head_len;

                if (n > len - 1)
                    n = len - 1;
                memcpy(s->res->manifest_head + s->res->manifest_head_len, msg + 1, n);
                s->res->manifest_head_len += n;
            }
            return filter_write(s->sink, msg + 1, len - 1, err);
        case 'p':
            {
                uint64_t    done = 0;

                if (len != 9)
                    return err_set(err, WS_EIO, "malformed progress message in the base "
                                   "backup stream");
                for (int i = 1; i < 9; i++)
                    done = done << 8 | (unsigned char) msg[i];
                if (s->cb->progress != NULL)
                    s->cb->progress(s->cb->arg, done,
                                    s->total_bytes > done ? s->total_bytes : done);
                return 0;
            }
        case 'm':
            {
                struct filter *sink = NULL;

                if (len != 1 || !s->o->manifest || s->got_manifest)
                    return err_set(err, WS_EIO, "unexpected manifest message in the base "
                                   "backup stream");
                if (end_part(s, err) < 0)
                    return -1;
                if (s->cb->manifest_begin(s->cb->arg, &sink, err) < 0)
                    return -1;
                if (sink == NULL)
                    return err_set(err, WS_EINTERNAL, "no sink for the backup manifest");
                s->sink = sink;
                s->part = PART_MANIFEST;
                s->got_manifest = true;
                return 0;
            }
        default:
            return err_set(err, WS_EIO, "unrecognized message type 0x%02x in the base backup "
                           "stream", (unsigned char) msg[0]);
    }
}

/* Receive the COPY stream until its end (PQgetCopyData, blocking). */
static int
receive_stream(struct pg_conn *c, struct stream *s, struct ws_err *err)
{
    for (;;)
    {
        char       *buf = NULL;
        int         r = PQgetCopyData(c->conn, &buf, 0);
        int         rc;

        if (r == -1)
            return 0;           /* end of the COPY; the next result tells how */
        if (r == -2)
            return set_result_err(c, NULL, "could not read COPY data", err);
        if (r < 1 || r > COPY_MESSAGE_CAP)
        {
            PQfreemem(buf);
            return err_set(err, WS_EIO, "unexpected CopyData message of %d bytes in the base "
                           "backup stream", r);
        }
        rc = handle_message(s, buf, (size_t) r, err);
        PQfreemem(buf);
        if (rc < 0)
            return -1;
    }
}

int
pg_base_backup(struct pg_conn *c, const struct pg_backup_options *o,
               const struct pg_backup_callbacks *cb, struct pg_backup_result *res,
               struct ws_err *err)
{
    struct stream s;
    char        cmd[4096];
    char        wal_level[32];
    PGresult   *r = NULL;
    bool        sent = false;
    bool        copying = false;
    int         ver;
    int         rc = -1;

    memset(res, 0, sizeof(*res));
    memset(&s, 0, sizeof(s));
    s.o = o;
    s.cb = cb;
    s.res = res;
    if (check_usable(c, err) < 0 || check_options(o, cb, err) < 0)
        goto out;
    ver = PQserverVersion(c->conn);
    if (ver < PG_MIN_SERVER_VERSION)
    {
        err_set(err, WS_ECONFIG, "server version %d.%d is not supported for base backups",
                ver / 10000, ver % 10000);
        err_detail(err, "The BASE_BACKUP protocol of servers before PostgreSQL 15 differs.");
        err_hint(err, "Upgrade the server to PostgreSQL 15 or later.");
        goto out;
    }
    /* In 15 wal_level = minimal forces max_wal_senders = 0 so we would not
     * get here, but say it plainly rather than relay "WAL level not
     * sufficient" from the middle of the backup. */
    if (show_setting(c, "wal_level", wal_level, sizeof(wal_level), err) < 0)
        goto out;
    if (strcmp(wal_level, "minimal") == 0)
    {
        err_set(err, WS_ECONFIG, "the server runs with wal_level = minimal, which does not "
                "allow online backups");
        err_hint(err, "Set wal_level = replica (or logical) and max_wal_senders > 0 on the "
                 "server and restart it.");
        goto out;
    }

    build_command(o, cb->progress != NULL, cmd, sizeof(cmd));
    if (!PQsendQuery(c->conn, cmd))
    {
        set_result_err(c, NULL, "could not send replication command \"BASE_BACKUP\"", err);
        goto out;
    }
    sent = true;

    /* checkpoint done: start position */
    if ((r = next_result(c, PGRES_TUPLES_OK, 2, "could not initiate base backup", err)) == NULL)
        goto out;
    if (parse_position(r, "could not initiate base backup", &res->start_lsn, &res->start_tli,
                       err) < 0)
        goto out;
    PQclear(r);

    if ((r = next_result(c, PGRES_TUPLES_OK, 3, "could not get backup header", err)) == NULL)
        goto out;
    if (parse_tablespaces(r, res, err) < 0)
        goto out;
    PQclear(r);
    for (int i = 0; i < res->ntablespaces; i++)
        if (res->tablespaces[i].size_kb > 0)
            s.total_bytes += (uint64_t) res->tablespaces[i].size_kb * 1024;

    if ((r = next_result(c, PGRES_COPY_OUT, 0, "could not get COPY data stream", err)) == NULL)
        goto out;
    PQclear(r);
    r = NULL;
    copying = true;
    if (receive_stream(c, &s, err) < 0)
        goto out;
    copying = false;

    /* The stream ended; only now does the server tell whether it went well. */
    if ((r = next_result(c, PGRES_TUPLES_OK, 2, "base backup failed", err)) == NULL)
        goto out;
    if (parse_position(r, "base backup failed", &res->stop_lsn, &res->stop_tli, err) < 0)
        goto out;
    PQclear(r);
    if ((r = next_result(c, PGRES_COMMAND_OK, 0, "base backup failed", err)) == NULL)
    {
        if (err != NULL && err->code == WS_ECORRUPT)
            err_hint(err, "The server found data checksum failures; see its log for the "
                     "files and blocks.");
        goto out;
    }
    PQclear(r);
    r = NULL;
    drain_results(c);
    if (s.narchives == 0)
    {
        err_set(err, WS_EIO, "the server sent no archive");
        goto out;
    }
    if (o->manifest && !s.got_manifest)
    {
        err_set(err, WS_EIO, "the server sent no backup manifest");
        goto out;
    }
    if (res->stop_lsn < res->start_lsn)
    {
        err_set(err, WS_EIO, "the server's end of backup precedes its start");
        goto out;
    }
    if (end_part(&s, err) < 0)
        goto out;
    rc = 0;
out:
    PQclear(r);
    if (rc < 0)
    {
        /* not finished: aborts what the sink started (filter.h) */
        filter_free(s.sink);
        pg_backup_result_free(res);
        if (copying || PQstatus(c->conn) != CONNECTION_OK)
            c->broken = true;
        else if (sent)
            drain_results(c);
    }
    return rc;
}
