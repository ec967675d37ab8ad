/*
 * backup_record.c — walship-basebackup's attempts in the repository.  See
 * backup_record.h.
 */
#include "backup_record.h"

#include "backup_info.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

static const char *const outcome_suffix[] = {".running", ".failure", ".success"};

static void
new_name(struct backup_record *rec)
{
    uint64_t    rnd = 0;
    char        id[BACKUP_ID_LEN];

    rec->started = (int64_t) time(NULL);
    /* getrandom rather than OpenSSL, as storage_fs does; pid and clock if it fails */
    if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
        rnd = ((uint64_t) getpid() << 32) ^ (uint64_t) clock();
    backup_id_format(rec->started, id);
    snprintf(rec->name, sizeof(rec->name), "%s-%016" PRIx64, id, rnd);
}

static int
record_key(const struct backup_record *rec, enum backup_record_outcome o, char *key,
           size_t len)
{
    snprintf(key, len, "%s%s%s", BACKUP_RECORD_PREFIX, rec->name, outcome_suffix[o]);
    return 0;
}

int
backup_record_begin(struct repo *repo, struct backup_record *rec, struct ws_err *err)
{
    char        key[REPO_KEY_MAX];
    char        text[128];
    int         n;

    memset(rec, 0, sizeof(*rec));
    new_name(rec);
    record_key(rec, BACKUP_RECORD_RUNNING, key, sizeof(key));
    n = snprintf(text, sizeof(text), "pid = %ld\nstarted = %" PRId64 "\n", (long) getpid(),
                 rec->started);
    if (repo_raw_put(repo, key, REPO_CREATE, text, (size_t) n, err) < 0)
    {
        err_prefix(err, "could not record the backup attempt as \"%s\"", key);
        return -1;
    }
    rec->running_key = true;
    return 0;
}

int
backup_record_end(struct repo *repo, struct backup_record *rec, bool success,
                  const char *backup_id, int code, struct ws_err *err)
{
    char        key[REPO_KEY_MAX];
    char        text[256];
    int         n;

    if (rec->name[0] == '\0')
        new_name(rec);
    record_key(rec, success ? BACKUP_RECORD_SUCCESS : BACKUP_RECORD_FAILURE, key, sizeof(key));
    n = snprintf(text, sizeof(text), "pid = %ld\nstarted = %" PRId64 "\nended = %lld\n"
                 "backup = '%s'\nresult = %s\n", (long) getpid(), rec->started,
                 (long long) time(NULL), backup_id != NULL ? backup_id : "",
                 success ? "success" : "failure");
    if (!success && n > 0 && (size_t) n < sizeof(text))
        snprintf(text + n, sizeof(text) - (size_t) n, "code = %s\n",
                 err_code_name((enum ws_code) code));
    if (repo_raw_put(repo, key, REPO_REPLACE, text, strlen(text), err) < 0)
    {
        err_prefix(err, "could not record the outcome of the backup attempt as \"%s\"", key);
        return -1;
    }
    if (rec->running_key)
    {
        /* the outcome is recorded; a .running left behind only costs a key */
        record_key(rec, BACKUP_RECORD_RUNNING, key, sizeof(key));
        if (repo_delete(repo, key, err) < 0)
        {
            err_prefix(err, "could not remove \"%s\"", key);
            return -1;
        }
        rec->running_key = false;
    }
    return 0;
}

bool
backup_record_parse_key(const char *key, char name[BACKUP_RECORD_NAME_MAX],
                        enum backup_record_outcome *outcome)
{
    const char *base = strrchr(key, '/');
    const char *dot;
    size_t      len;

    base = base != NULL ? base + 1 : key;
    dot = strrchr(base, '.');
    if (dot == NULL)
        return false;
    len = (size_t) (dot - base);
    /* "<id>-<16 hex>" */
    if (len != BACKUP_ID_LEN - 1 + 1 + 16 || base[BACKUP_ID_LEN - 1] != '-')
        return false;
    for (size_t i = BACKUP_ID_LEN; i < len; i++)
        if (!((base[i] >= '0' && base[i] <= '9') || (base[i] >= 'a' && base[i] <= 'f')))
            return false;
    memcpy(name, base, len);
    name[len] = '\0';
    {
        char        id[BACKUP_ID_LEN];

        memcpy(id, base, BACKUP_ID_LEN - 1);
        id[BACKUP_ID_LEN - 1] = '\0';
        if (!backup_id_valid(id))
            return false;
    }
    for (int o = 0; o < 3; o++)
        if (strcmp(dot, outcome_suffix[o]) == 0)
        {
            *outcome = (enum backup_record_outcome) o;
            return true;
        }
    return false;
}
