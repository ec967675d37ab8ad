/*
 * fuzz_backup_info.c — the base backup descriptor parser (backup_info.c)
 * on arbitrary text, and the timeline history parser (timeline.c) beside it.
 *
 * Properties: a failure is WS_ECORRUPT (what catalog_backups counts as a
 * damaged descriptor) and leaves nothing allocated; a descriptor that
 * parses formats (backup_info_format) into text that parses again to the
 * same backup: what walship writes from what it read, it can read.
 */
#include "fuzz.h"

#include "backup_info.h"
#include "log.h"
#include "timeline.h"

static void
same(const struct backup_info *a, const struct backup_info *b)
{
    if (strcmp(a->id, b->id) != 0 || strcmp(a->label, b->label) != 0 ||
        a->system_identifier != b->system_identifier || a->pg_version != b->pg_version ||
        a->timeline != b->timeline || a->start_timeline != b->start_timeline ||
        a->start_lsn != b->start_lsn || a->stop_lsn != b->stop_lsn ||
        strcmp(a->start_wal, b->start_wal) != 0 || strcmp(a->stop_wal, b->stop_wal) != 0 ||
        a->start_time_us != b->start_time_us || a->stop_time_us != b->stop_time_us ||
        a->wal_time_us != b->wal_time_us || a->size != b->size || a->stored != b->stored ||
        a->nobjects != b->nobjects || a->ntablespaces != b->ntablespaces)
        fuzz_fail("descriptor changed in a format/parse round trip");
    for (int i = 0; i < a->nobjects; i++)
        if (strcmp(a->objects[i].name, b->objects[i].name) != 0 ||
            a->objects[i].tablespace != b->objects[i].tablespace ||
            a->objects[i].part != b->objects[i].part || a->objects[i].size != b->objects[i].size ||
            a->objects[i].stored != b->objects[i].stored ||
            a->objects[i].xxh64 != b->objects[i].xxh64)
            fuzz_fail("object %d changed in a format/parse round trip", i);
    for (int i = 0; i < a->ntablespaces; i++)
        if (a->tablespaces[i].oid != b->tablespaces[i].oid ||
            strcmp(a->tablespaces[i].location, b->tablespaces[i].location) != 0)
            fuzz_fail("tablespace %d changed in a format/parse round trip", i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char what[] = "backups/20261203T020000Z/backup.info";
    char       *text = fuzz_text(data, size);
    struct backup_info b, again;
    struct ws_err err = WS_ERR_INIT;

    log_set_level(LOG_LEVEL_ERROR);
    if (backup_info_parse(text, what, &b, &err) == 0)
    {
        char       *out = backup_info_format(&b);

        if (out == NULL)
            fuzz_fail("backup_info_format failed");
        err_clear(&err);
        if (backup_info_parse(out, what, &again, &err) < 0)
            fuzz_fail("formatted descriptor does not parse: %s\n%s", err.msg, out);
        same(&b, &again);
        backup_info_free(&again);
        backup_info_free(&b);
        free(out);
    }
    else
    {
        if (err.code != WS_ECORRUPT)
            fuzz_fail("error code %d, not WS_ECORRUPT: %s", (int) err.code, err.msg);
        if (b.objects != NULL || b.tablespaces != NULL)
            fuzz_fail("a failed parse left memory allocated");
    }

    {
        struct timeline_history_entry *h = NULL;
        struct ws_err herr = WS_ERR_INIT;
        int         n = timeline_history_parse(text, "00000002.history", &h, &herr);

        if (n < 0 && herr.code != WS_ECORRUPT)
            fuzz_fail("history: error code %d: %s", (int) herr.code, herr.msg);
        free(h);
    }
    free(text);
    return 0;
}
