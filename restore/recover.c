/*
 * walship-recover — build a data directory from a base backup in the
 * repository and configure point-in-time recovery:
 *
 *     walship-recover -D /var/lib/postgresql/15/restored --target-time='2026-12-03 14:05:00+00'
 *
 * Exit codes in docs/exit-codes.md.
 */
#include "backup_info.h"
#include "cfg.h"
#include "cli.h"
#include "log.h"
#include "pg.h"
#include "progress.h"
#include "recover.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MAPS 64

static void
usage(FILE *out)
{
    fprintf(out,
            "walship-recover restores a base backup from a walship repository and configures recovery.\n\n"
            "Usage:\n  walship-recover [OPTION]... -D DIR\n  walship-recover --list\n\n"
            "Options:\n"
            "  -D, --pgdata=DIR          the new data directory (created if missing, else it must be empty)\n"
            "      --backup=ID           restore this backup (default: the newest that can reach the target)\n"
            "      --target-time=TIME    recover up to this time ('2026-12-03 14:05:00+00'; no zone = local)\n"
            "      --target-lsn=LSN      recover up to this WAL location\n"
            "      --target-xid=XID      recover up to this transaction\n"
            "      --target-name=NAME    recover up to this restore point (pg_create_restore_point)\n"
            "      --immediate           stop as soon as the backup is consistent\n"
            "                            (no target: recover to the end of the archive)\n"
            "      --target-timeline=latest|current|TLI  timeline to follow (default latest)\n"
            "      --target-action=pause|promote|shutdown  at the target (default pause)\n"
            "      --target-exclusive    stop just before the target instead of just after it\n"
            "      --standby             write standby.signal instead of recovery.signal\n"
            "  -T, --tablespace-map=OLDDIR=NEWDIR  relocate a tablespace (OLDDIR may be its OID)\n"
            "  -j, --jobs=N              objects restored in parallel (default recover_jobs)\n"
            "      --force               empty a non-empty target directory first\n"
            "  -P, --progress            show progress on stderr (default: when it is a terminal)\n"
            "      --no-progress         never show progress\n"
            "      --list                list the repository's backups and exit\n"
            "      --config=FILE         configuration file (default $WALSHIP_CONFIG, else %s)\n"
            "      --print-config        print the effective configuration (secrets masked) and exit\n"
            "  -h, --help                show this help and exit\n"
            "  -V, --version             show the version and exit\n\n"
            "Exit status: 0 done, 2 configuration, 3 no such backup, 4 corrupt backup, 5 authentication,\n"
            "6 wrong cluster, 7 transient, 8 no space, 10 bad input, 1 other failure (docs/exit-codes.md).\n\n"
            "Configuration keys (also WALSHIP_<KEY> and --key=value):\n", CFG_DEFAULT_FILE);
    cfg_print_help(out);
}

static void
on_progress(void *arg, uint64_t done, uint64_t total)
{
    progress_update(arg, done, total);
}

static int
set_target(struct recover_options *o, enum backup_target_kind kind, const char *v,
           struct ws_err *err)
{
    if (o->target.kind != BACKUP_TARGET_END)
        return err_set(err, WS_ECONFIG, "more than one recovery target given");
    o->target.kind = kind;
    o->target_text = v;
    switch (kind)
    {
        case BACKUP_TARGET_TIME:
            if (backup_time_parse(v, &o->target.time_us, err) < 0)
            {
                err->code = WS_ECONFIG;
                return -1;
            }
            break;
        case BACKUP_TARGET_LSN:
            if (pg_lsn_parse(v, &o->target.lsn) < 0)
            {
                err_set(err, WS_ECONFIG, "invalid LSN \"%s\"", v);
                err_hint(err, "Use the form pg_current_wal_lsn() prints, for example 0/3000148.");
                return -1;
            }
            break;
        case BACKUP_TARGET_XID:
            {
                char       *end;
                unsigned long long x = strtoull(v, &end, 10);

                if (!isdigit((unsigned char) v[0]) || *end != '\0' || x < 3)
                {
                    err_set(err, WS_ECONFIG, "invalid transaction ID \"%s\"", v);
                    err_hint(err, "Give the number txid_current() or pg_current_xact_id() returned.");
                    return -1;
                }
                break;
            }
        case BACKUP_TARGET_NAME:
            if (v[0] == '\0' || strlen(v) >= 64 || strpbrk(v, "\n\r") != NULL)
            {
                err_set(err, WS_ECONFIG, "invalid restore point name \"%s\"", v);
                return -1;
            }
            break;
        default:
            break;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct cli_spec spec = {"walship-recover", usage, 0, ""};
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct recover_options o;
    struct recover_result res;
    struct recover_tablespace_map maps[MAX_MAPS];
    char       *mapbuf[MAX_MAPS];
    struct progress prog;
    char      **rest = NULL;
    int         nrest = 0;
    bool        print_config = false;
    bool        list = false;
    int         show_progress = -1;
    int         rc = 1;

    memset(&o, 0, sizeof(o));
    memset(&res, 0, sizeof(res));
    memset(mapbuf, 0, sizeof(mapbuf));
    log_init(argv[0], LOG_LEVEL_INFO);
    switch (cli_parse_options(&spec, argc, argv, &cfg, &rest, &nrest, &print_config, &err))
    {
        case CLI_DONE:
            rc = 0;
            goto out;
        case CLI_ERROR:
            rc = exitcode_for(WS_PROG_TOOL, err.code);
            goto out;
        case CLI_RUN:
            break;
    }
    {
        int         nopt;
        const struct cfg_option *opts = cfg_options(&nopt);

        /* --pgdata=DIR is also a configuration key: honour it from the command line */
        for (int i = 0; i < nopt; i++)
            if (strcmp(opts[i].name, "pgdata") == 0 && cfg.source[i] == CFG_SRC_ARGV)
                o.target_dir = cfg.pgdata;
    }
    for (int i = 0; i < nrest; i++)
    {
        const char *v;
        int         m;

#define FLAG(name, sh, val) ((m = cli_flag(rest, nrest, &i, name, sh, val, &v, &err)) != 0)
        if (FLAG("pgdata", 'D', true))
        {
            if (m < 0)
                goto usage_error;
            o.target_dir = v;
        }
        else if (FLAG("backup", 0, true))
        {
            if (m < 0)
                goto usage_error;
            if (!backup_id_valid(v))
            {
                err_set(&err, WS_ENOTFOUND, "\"%s\" is not a backup id", v);
                err_hint(&err, "Backup ids look like 20261203T205322Z; \"walship-recover --list\" shows them.");
                log_err(&err);
                rc = exitcode_for(WS_PROG_TOOL, err.code);
                goto out;
            }
            o.backup_id = v;
        }
        else if (FLAG("target-time", 0, true))
        {
            if (m < 0 || set_target(&o, BACKUP_TARGET_TIME, v, &err) < 0)
                goto usage_error;
        }
        else if (FLAG("target-lsn", 0, true))
        {
            if (m < 0 || set_target(&o, BACKUP_TARGET_LSN, v, &err) < 0)
                goto usage_error;
        }
        else if (FLAG("target-xid", 0, true))
        {
            if (m < 0 || set_target(&o, BACKUP_TARGET_XID, v, &err) < 0)
                goto usage_error;
        }
        else if (FLAG("target-name", 0, true))
        {
            if (m < 0 || set_target(&o, BACKUP_TARGET_NAME, v, &err) < 0)
                goto usage_error;
        }
        else if (FLAG("immediate", 0, false))
        {
            if (m < 0 || set_target(&o, BACKUP_TARGET_IMMEDIATE, "immediate", &err) < 0)
                goto usage_error;
        }
        else if (FLAG("target-timeline", 0, true))
        {
            bool        ok = strcmp(v, "latest") == 0 || strcmp(v, "current") == 0;

            if (m < 0)
                goto usage_error;
            if (!ok && isdigit((unsigned char) v[0]))
            {
                char       *end;
                unsigned long t = strtoul(v, &end, 10);

                ok = *end == '\0' && t >= 1 && t <= UINT32_MAX;
            }
            if (!ok)
            {
                err_set(&err, WS_ECONFIG, "invalid target timeline \"%s\": use latest, current or a timeline number", v);
                goto usage_error;
            }
            o.target_timeline = v;
        }
        else if (FLAG("target-action", 0, true))
        {
            if (m < 0)
                goto usage_error;
            if (strcmp(v, "pause") != 0 && strcmp(v, "promote") != 0 && strcmp(v, "shutdown") != 0)
            {
                err_set(&err, WS_ECONFIG, "invalid target action \"%s\": use pause, promote or shutdown", v);
                goto usage_error;
            }
            o.target_action = v;
        }
        else if (FLAG("target-exclusive", 0, false))
        {
            if (m < 0)
                goto usage_error;
            o.target_exclusive = true;
        }
        else if (FLAG("standby", 0, false))
        {
            if (m < 0)
                goto usage_error;
            o.standby = true;
        }
        else if (FLAG("tablespace-map", 'T', true))
        {
            char       *eq;

            if (m < 0)
                goto usage_error;
            if (o.nmaps >= MAX_MAPS)
            {
                err_set(&err, WS_ECONFIG, "too many --tablespace-map options (at most %d)", MAX_MAPS);
                goto usage_error;
            }
            mapbuf[o.nmaps] = strdup(v);
            if (mapbuf[o.nmaps] == NULL)
            {
                err_set(&err, WS_EINTERNAL, "out of memory");
                goto usage_error;
            }
            eq = strchr(mapbuf[o.nmaps], '=');
            if (eq == NULL || eq == mapbuf[o.nmaps] || eq[1] == '\0')
            {
                err_set(&err, WS_ECONFIG, "invalid tablespace mapping \"%s\": use OLDDIR=NEWDIR", v);
                goto usage_error;
            }
            *eq = '\0';
            maps[o.nmaps].from = mapbuf[o.nmaps];
            maps[o.nmaps].to = eq + 1;
            o.nmaps++;
        }
        else if (FLAG("jobs", 'j', true))
        {
            if (m < 0 || cli_flag_int("jobs", v, 1, 64, &o.jobs, &err) < 0)
                goto usage_error;
        }
        else if (FLAG("force", 0, false))
        {
            if (m < 0)
                goto usage_error;
            o.force = true;
        }
        else if (FLAG("progress", 'P', false))
        {
            if (m < 0)
                goto usage_error;
            show_progress = 1;
        }
        else if (FLAG("no-progress", 0, false))
        {
            if (m < 0)
                goto usage_error;
            show_progress = 0;
        }
        else if (FLAG("list", 0, false))
        {
            if (m < 0)
                goto usage_error;
            list = true;
        }
        else
        {
            cli_err_unrecognized(rest[i], &err);
            goto usage_error;
        }
#undef FLAG
    }
    o.maps = maps;
    if (cfg_validate(&cfg, !print_config, &err) < 0)
    {
        log_err(&err);
        rc = exitcode_for(WS_PROG_TOOL, err.code);
        goto out;
    }
    if (print_config)
    {
        cfg_print(&cfg, stdout);
        rc = 0;
        goto out;
    }
    if (list)
    {
        if (recover_print_list(&cfg, stdout, &err) < 0)
        {
            log_err(&err);
            rc = exitcode_for(WS_PROG_TOOL, err.code);
        }
        else
            rc = 0;
        goto out;
    }
    if (o.target_dir == NULL)
    {
        err_set(&err, WS_ECONFIG, "no target directory given");
        err_hint(&err, "Use -D DIR for the new data directory.");
        goto usage_error;
    }
    if (o.target_action != NULL && o.target.kind == BACKUP_TARGET_END)
        log_warning("--target-action has no effect without a recovery target");

    progress_init(&prog, "restore", show_progress);
    o.progress = prog.enabled ? on_progress : NULL;
    o.arg = &prog;
    if (recover_run(&cfg, &o, &res, &err) < 0)
    {
        progress_end(&prog);
        log_err(&err);
        rc = exitcode_for(WS_PROG_TOOL, err.code);
    }
    else
    {
        char        size[32];
        const char *target = "the end of the archived WAL";
        char        tbuf[128];

        progress_end(&prog);
        progress_bytes(res.bytes, size, sizeof(size));
        switch (o.target.kind)
        {
            case BACKUP_TARGET_TIME:
                backup_time_format(o.target.time_us, tbuf, sizeof(tbuf));
                target = tbuf;
                break;
            case BACKUP_TARGET_IMMEDIATE:
                target = "the end of the backup (immediate)";
                break;
            case BACKUP_TARGET_END:
                break;
            default:
                snprintf(tbuf, sizeof(tbuf), "%s %s", o.target.kind == BACKUP_TARGET_LSN ? "LSN" :
                         o.target.kind == BACKUP_TARGET_XID ? "transaction" : "restore point",
                         o.target_text);
                target = tbuf;
                break;
        }
        printf("restored backup %s (%s) into \"%s\": %" PRIu64 " files, %s in %.1f s\n",
               res.backup.id, res.backup.label, o.target_dir, res.files, size, res.seconds);
        printf("recovery target: %s; timeline %s", target,
               o.target_timeline ? o.target_timeline : "latest");
        if (o.target.kind != BACKUP_TARGET_END)
            printf("; then %s", o.target_action ? o.target_action : "pause");
        printf("\nwrote %s/postgresql.auto.conf (restore_command = '%s') and %s/%s\n", o.target_dir,
               res.restore_command, o.target_dir, o.standby ? "standby.signal" : "recovery.signal");
        printf("next step: pg_ctl -D %s start   (check port, archive_command and other settings first)\n",
               o.target_dir);
        backup_info_free(&res.backup);
        rc = 0;
    }
    progress_destroy(&prog);
    goto out;

usage_error:
    log_err(&err);
    log_hint("Try \"walship-recover --help\" for more information.");
    rc = exitcode_for(WS_PROG_TOOL, err.code == WS_OK ? WS_ECONFIG : err.code);
out:
    for (int i = 0; i < MAX_MAPS; i++)
        free(mapbuf[i]);
    cfg_wipe(&cfg);
    free(rest);
    return rc;
}
