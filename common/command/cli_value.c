/*
 * cli_value.c — parsers for the values of the executables' flags.  See
 * cli_value.h.  The wording follows pg_basebackup's and the recovery
 * settings' (PostgreSQL docs, "Recovery Target").
 */
#include "cli_value.h"

#include "backup_info.h"
#include "num.h"
#include "pg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
cli_value_backup_id(void *dest, const char *value, struct ws_err *err)
{
    if (!backup_id_valid(value))
    {
        err_set(err, WS_ENOTFOUND, "\"%s\" is not a backup id", value);
        err_hint(err, "Backup ids look like 20261203T205322Z; "
                 "\"walship-recover --list\" shows them.");
        return -1;
    }
    *(const char **) dest = value;
    return 0;
}

static int
set_target(struct recover_options *o, enum backup_target_kind kind, const char *v,
           struct ws_err *err)
{
    struct backup_target t = {.kind = kind};

    if (o->target.kind != BACKUP_TARGET_END)
        return err_set(err, WS_ECONFIG, "more than one recovery target given");
    switch (kind)
    {
        case BACKUP_TARGET_TIME:
            if (backup_time_parse(v, &t.time_us, err) < 0)
            {
                err->code = WS_ECONFIG;
                return -1;
            }
            break;
        case BACKUP_TARGET_LSN:
            if (pg_lsn_parse(v, &t.lsn) < 0)
            {
                err_set(err, WS_ECONFIG, "invalid LSN \"%s\"", v);
                err_hint(err, "Use the form pg_current_wal_lsn() prints, for example 0/3000148.");
                return -1;
            }
            break;
        case BACKUP_TARGET_XID:
            {
                uint64_t    xid;

                /* 0..2 are the invalid, bootstrap and frozen xids */
                if (num_parse_uint(v, 3, UINT64_MAX, &xid) != 0)
                {
                    err_set(err, WS_ECONFIG, "invalid transaction ID \"%s\"", v);
                    err_hint(err, "Give the number txid_current() or pg_current_xact_id() "
                             "returned.");
                    return -1;
                }
                break;
            }
        case BACKUP_TARGET_NAME:
            /* pg_create_restore_point takes fewer than MAXFNAMELEN (64) bytes */
            if (v[0] == '\0' || strlen(v) >= 64 || strpbrk(v, "\n\r") != NULL)
                return err_set(err, WS_ECONFIG, "invalid restore point name \"%s\"", v);
            break;
        default:
            break;
    }
    o->target = t;
    o->target_text = v;
    return 0;
}

int
cli_value_target_time(void *dest, const char *value, struct ws_err *err)
{
    return set_target(dest, BACKUP_TARGET_TIME, value, err);
}

int
cli_value_target_lsn(void *dest, const char *value, struct ws_err *err)
{
    return set_target(dest, BACKUP_TARGET_LSN, value, err);
}

int
cli_value_target_xid(void *dest, const char *value, struct ws_err *err)
{
    return set_target(dest, BACKUP_TARGET_XID, value, err);
}

int
cli_value_target_name(void *dest, const char *value, struct ws_err *err)
{
    return set_target(dest, BACKUP_TARGET_NAME, value, err);
}

int
cli_value_target_immediate(void *dest, const char *value, struct ws_err *err)
{
    (void) value;
    return set_target(dest, BACKUP_TARGET_IMMEDIATE, "immediate", err);
}

int
cli_value_timeline(void *dest, const char *value, struct ws_err *err)
{
    uint64_t    tli;

    if (strcmp(value, "latest") != 0 && strcmp(value, "current") != 0 &&
        num_parse_uint(value, 1, UINT32_MAX, &tli) != 0)
        return err_set(err, WS_ECONFIG,
                       "invalid target timeline \"%s\": use latest, current or a timeline number",
                       value);
    *(const char **) dest = value;
    return 0;
}

int
cli_value_target_action(void *dest, const char *value, struct ws_err *err)
{
    if (strcmp(value, "pause") != 0 && strcmp(value, "promote") != 0 &&
        strcmp(value, "shutdown") != 0)
        return err_set(err, WS_ECONFIG,
                       "invalid target action \"%s\": use pause, promote or shutdown", value);
    *(const char **) dest = value;
    return 0;
}

int
cli_value_tablespace_map(void *dest, const char *value, struct ws_err *err)
{
    struct cli_tablespace_maps *m = dest;
    const char *eq = strchr(value, '=');
    char       *buf;

    if (m->n >= CLI_MAX_TABLESPACE_MAPS)
        return err_set(err, WS_ECONFIG, "too many --tablespace-map options (at most %d)",
                       CLI_MAX_TABLESPACE_MAPS);
    if (eq == NULL || eq == value || eq[1] == '\0')
        return err_set(err, WS_ECONFIG, "invalid tablespace mapping \"%s\": use OLDDIR=NEWDIR",
                       value);
    /* a copy split in two: argv itself stays as ps shows it */
    buf = strdup(value);
    if (buf == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    buf[eq - value] = '\0';
    m->buf[m->n] = buf;
    m->map[m->n].from = buf;
    m->map[m->n].to = buf + (eq - value) + 1;
    m->n++;
    return 0;
}

void
cli_tablespace_maps_free(struct cli_tablespace_maps *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->buf[i]);
    m->n = 0;
}

int
cli_value_label(void *dest, const char *value, struct ws_err *err)
{
    if (strlen(value) >= 200 || strpbrk(value, "\n\r\t") != NULL)
    {
        err_set(err, WS_ECONFIG, "invalid backup label \"%s\"", value);
        err_hint(err, "Use at most 200 characters, without control characters.");
        return -1;
    }
    *(const char **) dest = value;
    return 0;
}

int
cli_value_checkpoint(void *dest, const char *value, struct ws_err *err)
{
    if (strcmp(value, "fast") != 0 && strcmp(value, "spread") != 0)
        return err_set(err, WS_ECONFIG,
                       "invalid checkpoint argument \"%s\", must be \"fast\" or \"spread\"", value);
    *(bool *) dest = strcmp(value, "fast") == 0;
    return 0;
}

int
cli_value_rate(void *dest, const char *value, struct ws_err *err)
{
    /* pg_basebackup's --max-rate: kB/s, k or M suffix */
    static const struct num_unit units[] = {
        {"", 1}, {"k", 1}, {"K", 1}, {"M", 1024}, {"m", 1024}, {NULL, 0}
    };
    uint64_t    kb;

    if (num_parse_scaled(value, units, 32, 1024 * 1024, &kb) != 0)
    {
        err_set(err, WS_ECONFIG, "invalid transfer rate \"%s\"", value);
        err_hint(err, "Give kB/s between 32k and 1024M, for example --max-rate=100M.");
        return -1;
    }
    *(int *) dest = (int) kb;
    return 0;
}
