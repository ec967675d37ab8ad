/*
 * archive_session.c — configuration, pg_control and repository kept open
 * across archive calls.  See archive_session.h.
 *
 * What is cached, and why it cannot send a segment to another cluster's
 * repository: the repository handle is opened by repo_open bound to the
 * pg_control read from the server's own data directory (`pgdata`, which
 * overrides the configuration), so the descriptor's system identifier was
 * checked against this cluster when the handle was made; the system
 * identifier of a running cluster does not change.  If the configuration
 * (say repo = ...) changes, the file's identity changes and the session is
 * rebuilt before the next segment.  After a failure nothing is trusted.
 */
#include "archive_session.h"
#include "log.h"
#include "pgcontrol.h"
#include "repo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What identifies the configuration file's content without reading it. */
struct file_id
{
    bool        exists;
    dev_t       dev;
    ino_t       ino;
    off_t       size;
    struct timespec mtime;
};

struct archive_session
{
    bool        loaded;             /* cfg, pgc and repo are valid */
    struct cfg  cfg;
    struct pg_control pgc;
    struct repo *repo;
    char        config[CFG_MAX_VALUE];      /* as given ("" = found as cfg.h says) */
    char        pgdata[CFG_MAX_VALUE];
    char        config_path[CFG_MAX_VALUE]; /* the file that path resolves to */
    struct file_id config_id;
    unsigned    opens;
};

struct archive_session *
archive_session_new(void)
{
    return calloc(1, sizeof(struct archive_session));
}

static void
session_drop(struct archive_session *s)
{
    repo_close(s->repo);
    s->repo = NULL;
    if (s->loaded)
        cfg_wipe(&s->cfg);
    s->loaded = false;
}

void
archive_session_free(struct archive_session *s)
{
    if (s == NULL)
        return;
    session_drop(s);
    free(s);
}

/* The file cfg_load reads for `config` (cfg.h: --config, $WALSHIP_CONFIG, the default). */
static void
resolve_config(const char *config, char *out, size_t size)
{
    const char *env = getenv("WALSHIP_CONFIG");

    if (config != NULL && config[0] != '\0')
        snprintf(out, size, "%s", config);
    else if (env != NULL)
        snprintf(out, size, "%s", env);
    else
        snprintf(out, size, "%s", CFG_DEFAULT_FILE);
}

static void
file_id_of(const char *path, struct file_id *id)
{
    struct stat st;

    memset(id, 0, sizeof(*id));
    if (stat(path, &st) < 0)
        return;                 /* absent or unreadable: cfg_load will say which */
    id->exists = true;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->size = st.st_size;
    id->mtime = st.st_mtim;
}

static bool
file_id_equal(const struct file_id *a, const struct file_id *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
        a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
        a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Is what is loaded still what `config` and `pgdata` say? */
static bool
session_current(const struct archive_session *s, const char *config, const char *pgdata,
                const char *path, const struct file_id *id)
{
    return s->loaded && strcmp(s->config, config) == 0 && strcmp(s->pgdata, pgdata) == 0 &&
        strcmp(s->config_path, path) == 0 && file_id_equal(&s->config_id, id);
}

/* Load the configuration, read pg_control, open the repository bound to it. */
static int
session_load(struct archive_session *s, const char *config, const char *pgdata,
             const char *path, const struct file_id *id, struct ws_err *err)
{
    char        config_arg[CFG_MAX_VALUE + 16];
    char        pgdata_arg[CFG_MAX_VALUE + 16];
    char       *argv[4];
    int         argc = 0;

    session_drop(s);
    if (strlen(config) >= sizeof(s->config) || strlen(pgdata) >= sizeof(s->pgdata))
        return err_set(err, WS_ECONFIG, "configuration file or data directory path is too long");
    argv[argc++] = (char *) "walship_archive";
    snprintf(pgdata_arg, sizeof(pgdata_arg), "--pgdata=%s", pgdata);
    argv[argc++] = pgdata_arg;
    if (config[0] != '\0')
    {
        snprintf(config_arg, sizeof(config_arg), "--config=%s", config);
        argv[argc++] = config_arg;
    }
    argv[argc] = NULL;
    /* the identity is taken before reading: a change while loading is seen next call */
    if (cfg_load(&s->cfg, argc, argv, NULL, NULL, err) < 0)
        return -1;
    if (cfg_validate(&s->cfg, true, err) < 0)
        goto fail;
    log_set_level(s->cfg.log_level);
    if (pgcontrol_read(s->cfg.pgdata, &s->pgc, err) < 0)
        goto fail;
    if (repo_open(&s->cfg, &s->pgc, &s->repo, err) < 0)
        goto fail;
    snprintf(s->config, sizeof(s->config), "%s", config);
    snprintf(s->pgdata, sizeof(s->pgdata), "%s", pgdata);
    snprintf(s->config_path, sizeof(s->config_path), "%s", path);
    s->config_id = *id;
    s->loaded = true;
    s->opens++;
    return 0;
fail:
    cfg_wipe(&s->cfg);
    return -1;
}

int
archive_session_push(struct archive_session *s, const char *config, const char *pgdata,
                     const char *path, const char *name, struct archive_stats *stats,
                     struct ws_err *err)
{
    char        resolved[CFG_MAX_VALUE];
    struct file_id id;

    memset(stats, 0, sizeof(*stats));
    if (config == NULL)
        config = "";
    resolve_config(config, resolved, sizeof(resolved));
    file_id_of(resolved, &id);
    if (!session_current(s, config, pgdata, resolved, &id) &&
        session_load(s, config, pgdata, resolved, &id, err) < 0)
        return -1;
    if (archive_push_file(&s->cfg, s->repo, &s->pgc, path, name, stats, err) < 0)
    {
        /* trust nothing a failure may have made stale: start afresh next call */
        session_drop(s);
        return -1;
    }
    return 0;
}

const struct cfg *
archive_session_cfg(const struct archive_session *s)
{
    return s != NULL && s->loaded ? &s->cfg : NULL;
}

unsigned
archive_session_opens(const struct archive_session *s)
{
    return s->opens;
}
