/*
 * fuzz_tar_split.c — the tar splitter (tar_split.c) on arbitrary streams.
 *
 * Each input is split three times: with a part size of 1 byte (a cut before
 * every member that may start a part), of 1536 bytes, and of 0 (no cut), in
 * writes whose size cycles through 1..1100 bytes.  The parts go into memory.
 *
 * Properties when the split succeeds:
 *  - every part but the last ends with the two zero blocks the splitter
 *    adds, and is a whole number of blocks;
 *  - the parts without those added blocks, concatenated, are the input
 *    exactly: nothing lost, duplicated or reordered;
 *  - without a part size there is exactly one part.
 */
#include "fuzz.h"

#include "log.h"
#include "tar.h"

#define MAX_PARTS 4096

struct parts
{
    size_t      cap;            /* of each part sink */
    int         n;
    unsigned char *data[MAX_PARTS];
    size_t      len[MAX_PARTS];
};

static int
open_part(void *arg, uint32_t part, struct filter **sink, struct ws_err *err)
{
    struct parts *p = arg;

    if ((int) part != p->n)
        fuzz_fail("part %u opened, expected %d", part, p->n);
    if (p->n == MAX_PARTS)
        return err_set(err, WS_EINTERNAL, "more than %d parts", MAX_PARTS);
    *sink = filter_mem_new(p->cap);
    if (*sink == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    return 0;
}

static int
close_part(void *arg, struct filter *sink, struct ws_err *err)
{
    struct parts *p = arg;
    const unsigned char *d;
    size_t      len;
    int         rc = -1;

    if (filter_finish(sink, err) < 0)
        goto out;
    d = filter_mem_data(sink, &len);
    p->data[p->n] = malloc(len ? len : 1);
    if (p->data[p->n] == NULL)
        abort();
    if (len > 0)
        memcpy(p->data[p->n], d, len);
    p->len[p->n] = len;
    p->n++;
    rc = 0;
out:
    filter_free(sink);
    return rc;
}

static bool
zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

static void
split(const uint8_t *data, size_t size, uint64_t part_size)
{
    struct parts *p = calloc(1, sizeof(*p));
    struct ws_err err = WS_ERR_INIT;
    struct filter *s;
    int         rc = 0;

    if (p == NULL)
        abort();
    p->cap = size + 2 * TAR_BLOCK_SIZE;
    s = tar_split_new(part_size, open_part, close_part, p, &err);
    if (s == NULL)
        fuzz_fail("tar_split_new: %s", err.msg);
    for (size_t off = 0, step = 1; off < size && rc == 0; off += step, step = step % 1100 + 1)
    {
        if (step > size - off)
            step = size - off;
        rc = filter_write(s, data + off, step, &err);
    }
    if (rc == 0)
        rc = filter_finish(s, &err);
    if (rc == 0)
    {
        size_t      off = 0;

        if (p->n < 1 || (part_size == 0 && p->n != 1))
            fuzz_fail("%d parts with part size %llu", p->n, (unsigned long long) part_size);
        for (int i = 0; i < p->n; i++)
        {
            size_t      keep = p->len[i];

            if (i < p->n - 1)
            {
                if (keep < 2 * TAR_BLOCK_SIZE || keep % TAR_BLOCK_SIZE != 0 ||
                    !zero(p->data[i] + keep - 2 * TAR_BLOCK_SIZE, 2 * TAR_BLOCK_SIZE))
                    fuzz_fail("part %d of %d (%zu bytes) does not end an archive", i, p->n,
                              keep);
                keep -= 2 * TAR_BLOCK_SIZE;
            }
            if (keep > size - off || memcmp(p->data[i], data + off, keep) != 0)
                fuzz_fail("part %d is not the next %zu bytes of the input", i, keep);
            off += keep;
        }
        if (off != size)
            fuzz_fail("the parts hold %zu of %zu input bytes", off, size);
    }
    else if (err.code != WS_ECORRUPT && !(err.code == WS_EINTERNAL && p->n == MAX_PARTS))
        fuzz_fail("unexpected error code %d: %s", (int) err.code, err.msg);
    filter_free(s);
    for (int i = 0; i < p->n; i++)
        free(p->data[i]);
    free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_set_level(LOG_LEVEL_ERROR);
    split(data, size, 1);
    split(data, size, 3 * TAR_BLOCK_SIZE);
    split(data, size, 0);
    return 0;
}
