/*
 * fuzz_records.c — the small records walship reads back from disk or the
 * repository and must never trust blindly: the logical dump descriptor
 * (dump_info.c, `dumps/<name>/dump.info`) and walship-archive's spool
 * record (archive_spool.c, `pg_wal/walship-archive/<name>`).
 *
 * Properties: a dump descriptor that fails is WS_ECORRUPT; one that parses
 * formats into text that parses again to the same dump.  A spool record
 * either parses (and then formats and parses back to the same record) or is
 * refused; nothing crashes or reads out of bounds on any input.
 */
#include "fuzz.h"

#include "archive_spool.h"
#include "dump_info.h"
#include "log.h"

static void
same_dump(const struct dump_info *a, const struct dump_info *b)
{
    if (a->format != b->format || strcmp(a->name, b->name) != 0 ||
        a->start_time_us != b->start_time_us || a->end_time_us != b->end_time_us ||
        a->size != b->size || a->stored != b->stored || a->xxh64 != b->xxh64 ||
        strcmp(a->sha256, b->sha256) != 0 || a->system_identifier != b->system_identifier ||
        strcmp(a->database, b->database) != 0 || strcmp(a->pg_dump_format, b->pg_dump_format) != 0 ||
        strcmp(a->compression, b->compression) != 0 || strcmp(a->encryption, b->encryption) != 0)
        fuzz_fail("dump descriptor changed in a format/parse round trip");
}

static void
same_record(const struct archive_spool_record *a, const struct archive_spool_record *b)
{
    if (strcmp(a->name, b->name) != 0 || a->size != b->size || a->xxh64 != b->xxh64 ||
        a->stored != b->stored || a->system_identifier != b->system_identifier ||
        strcmp(a->repo, b->repo) != 0)
        fuzz_fail("spool record changed in a format/parse round trip");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char what[] = "dumps/daily-2026-12-04/dump.info";
    char       *text = fuzz_text(data, size);
    struct dump_info d, again;
    struct archive_spool_record r, r2;
    struct ws_err err = WS_ERR_INIT;
    static char buf[ARCHIVE_SPOOL_RECORD_MAX + 1];

    log_set_level(LOG_LEVEL_ERROR);
    memset(&d, 0, sizeof(d));
    if (dump_info_parse(text, what, &d, &err) == 0)
    {
        char       *out = dump_info_format(&d);

        if (out == NULL)
            fuzz_fail("dump_info_format failed");
        err_clear(&err);
        memset(&again, 0, sizeof(again));
        if (dump_info_parse(out, what, &again, &err) < 0)
            fuzz_fail("formatted dump descriptor does not parse: %s\n%s", err.msg, out);
        same_dump(&d, &again);
        free(out);
    }
    else if (err.code != WS_ECORRUPT)
        fuzz_fail("dump descriptor: error code %d, not WS_ECORRUPT: %s", (int) err.code, err.msg);
    free(text);

    memset(&r, 0, sizeof(r));
    if (archive_spool_parse((const char *) data, size, &r) == 0)
    {
        int         n = archive_spool_format(&r, buf, sizeof(buf));

        if (n < 0)
            fuzz_fail("a parsed spool record does not format");
        memset(&r2, 0, sizeof(r2));
        if (archive_spool_parse(buf, (size_t) n, &r2) < 0)
            fuzz_fail("a formatted spool record does not parse:\n%s", buf);
        same_record(&r, &r2);
    }
    return 0;
}
