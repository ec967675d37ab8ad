/*
 * fuzz_object.c — the object reader (object.c) on arbitrary stored bytes.
 *
 * Every input is read as a stored object three ways: unencrypted with the
 * name check off, fed in one write; unencrypted with the name every seed
 * was written under, fed in pieces of 1 to 13 bytes (so each state of the
 * reader meets a piece boundary); and with the master key the encrypted
 * seeds use (FUZZ_MASTER_KEY), in one write.  The plaintext goes into a
 * 4 MiB memory sink (a decompression bomb fails there, as it must).  Then
 * object_peek() reads the header and the last OBJECT_END_LEN bytes.
 *
 * Properties besides "no crash, no leak, no undefined behaviour":
 *  - an object the reader accepts has exactly the plaintext its end record
 *    describes (size and XXH64), and
 *  - object_peek() accepts it too and finds the same end record: the end
 *    chunk is always the last OBJECT_END_LEN bytes (docs/format.md).
 */
#include "fuzz.h"

#include "checksum.h"
#include "log.h"
#include "object.h"

#define FUZZ_PLAIN_MAX (4u << 20)

/* the seeds' key and name (make_corpus.c writes them) */
static const unsigned char *const FUZZ_MASTER_KEY = (const unsigned char *) FUZZ_KEY;

static void
read_object(const uint8_t *data, size_t size, const unsigned char *key, const char *name,
            bool pieces)
{
    struct ws_err err = WS_ERR_INIT;
    struct filter *mem = filter_mem_new(FUZZ_PLAIN_MAX);
    struct filter *head;
    int         rc = 0;

    if (mem == NULL)
        abort();
    head = object_reader_new(key, name, mem, &err);
    if (head == NULL)
        abort();
    for (size_t off = 0, step = 1; off < size && rc == 0; off += step, step = step % 13 + 1)
    {
        if (!pieces)
            step = size;
        if (step > size - off)
            step = size - off;
        rc = filter_write(head, data + off, step, &err);
    }
    if (rc == 0)
        rc = filter_finish(head, &err);
    if (rc == 0)
    {
        struct object_header h;
        struct object_trailer t, pt;
        struct object_header ph;
        const unsigned char *plain;
        size_t      plen;

        object_reader_result(head, &h, &t);
        plain = filter_mem_data(mem, &plen);
        if (plen != t.plain_size || xxh64(plain, plen, 0) != t.xxh64)
            fuzz_fail("accepted object decodes to %zu bytes, its end record says %llu", plen,
                      (unsigned long long) t.plain_size);
        if (size < OBJECT_END_LEN)
            fuzz_fail("accepted an object of %zu bytes", size);
        if (object_peek(data, size, data + size - OBJECT_END_LEN, key, name, &ph, &pt, &err) < 0)
            fuzz_fail("object_peek refuses an object the reader accepted: %s", err.msg);
        if (memcmp(&pt, &t, sizeof(t)) != 0 || ph.header_len != h.header_len)
            fuzz_fail("object_peek finds another end record than the reader");
    }
    else if (err.code != WS_ECORRUPT && err.code != WS_ECONFIG && err.code != WS_EINTERNAL)
        fuzz_fail("unexpected error code %d: %s", (int) err.code, err.msg);
    filter_free(head);          /* frees mem too */
}

static void
peek(const uint8_t *data, size_t size, const unsigned char *key)
{
    struct ws_err err = WS_ERR_INIT;
    struct object_header h;
    struct object_trailer t;

    if (size < OBJECT_END_LEN)
        return;
    (void) object_peek(data, size, data + size - OBJECT_END_LEN, key, NULL, &h, &t, &err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;

    if (!init)
    {
        log_set_level(LOG_LEVEL_ERROR);
        init = true;
    }
    read_object(data, size, NULL, NULL, false);
    read_object(data, size, NULL, FUZZ_OBJECT_NAME, true);
    read_object(data, size, FUZZ_MASTER_KEY, NULL, false);
    peek(data, size, NULL);
    peek(data, size, FUZZ_MASTER_KEY);
    return 0;
}
