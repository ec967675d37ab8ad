/*
 * test_object.c — the object format: round trips for every compression ×
 * encryption combination at the edge sizes, a streamed 1 GiB object, and
 * detection of flipped bytes, truncation, reordering, swapping and a wrong key.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cfg.h"
#include "checksum.h"
#include "crypt.h"
#include "object.h"

static const unsigned char key1[CRYPT_KEY_LEN] = "0123456789abcdef0123456789abcdef";
static const unsigned char key2[CRYPT_KEY_LEN] = "0123456789abcdef0123456789abcdeX";

/* WAL-like data: runs of structure and noise so compressors have work to do. */
static void
fill(unsigned char *buf, size_t len, uint64_t seed)
{
    uint64_t    x = seed * 6364136223846793005ULL + 1442695040888963407ULL;

    for (size_t i = 0; i < len; i++)
    {
        if ((i / 512) % 3 == 0)
        {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[i] = (unsigned char) (x >> 56);
        }
        else
            buf[i] = (unsigned char) (i / 7);
    }
}

static int
encode(const unsigned char *data, size_t len, int comp, const unsigned char *key,
       uint32_t chunk, const char *name, unsigned char **out, size_t *outlen,
       struct ws_err *err)
{
    struct object_params p = {comp, -1, 0, key, chunk, len, true};
    struct filter *mem = filter_mem_new((size_t) 1 << 31);
    struct filter *w;
    const unsigned char *d;
    int         rc = -1;

    cr_assert_not_null(mem);
    /* a pass-through in front of the sink: the writer owns both */
    w = object_writer_new(&p, name, filter_hash_new(mem, err), err);
    if (w == NULL)
        return -1;
    /* write in uneven pieces */
    for (size_t off = 0; off < len;)
    {
        size_t      n = 1 + (off * 7919) % 70001;

        if (n > len - off)
            n = len - off;
        if (filter_write(w, data + off, n, err) < 0)
            goto out;
        off += n;
    }
    if (filter_finish(w, err) < 0)
        goto out;
    d = filter_mem_data(mem, outlen);
    *out = malloc(*outlen + 1);
    memcpy(*out, d, *outlen);
    rc = 0;
out:
    filter_free(w);
    return rc;
}

static int
decode(const unsigned char *obj, size_t len, const unsigned char *key, const char *name,
       unsigned char **out, size_t *outlen, struct ws_err *err)
{
    struct filter *mem = filter_mem_new((size_t) 1 << 31);
    struct filter *sink = filter_hash_new(mem, err);
    struct filter *r = object_reader_new(key, name, sink, err);
    const unsigned char *d;
    int         rc = -1;

    if (r == NULL)
        return -1;
    /* feed in pieces that straddle every structure boundary */
    for (size_t off = 0; off < len;)
    {
        size_t      n = 1 + (off * 31) % 4099;

        if (n > len - off)
            n = len - off;
        if (filter_write(r, obj + off, n, err) < 0)
            goto out;
        off += n;
    }
    if (filter_finish(r, err) < 0)
        goto out;
    d = filter_mem_data(mem, outlen);
    *out = malloc(*outlen + 1);
    if (*outlen)
        memcpy(*out, d, *outlen);
    rc = 0;
out:
    filter_free(r);
    return rc;
}

/* ---- round trips ---------------------------------------------------- */

struct rt_case
{
    size_t      size;
    int         comp;
    int         encrypted;
    uint32_t    chunk;
};

#define CHUNK_SMALL 4096

static struct rt_case *
rt_cases(size_t *count)
{
    static const size_t sizes[] = {
        0, 1, CHUNK_SMALL - 1, CHUNK_SMALL, CHUNK_SMALL + 1, 3 * CHUNK_SMALL + 7,
        OBJECT_CHUNK_DEFAULT - 1, OBJECT_CHUNK_DEFAULT, OBJECT_CHUNK_DEFAULT + 1,
        16 * 1024 * 1024
    };
    size_t      n = sizeof(sizes) / sizeof(sizes[0]) * 3 * 2;
    struct rt_case *c = cr_malloc(n * sizeof(*c));
    size_t      k = 0;

    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
        for (int comp = 0; comp < 3; comp++)
            for (int enc = 0; enc < 2; enc++)
            {
                c[k].size = sizes[s];
                c[k].comp = comp;
                c[k].encrypted = enc;
                c[k].chunk = sizes[s] < 65536 ? CHUNK_SMALL : 0;
                k++;
            }
    *count = k;
    return c;
}

ParameterizedTestParameters(object, round_trip)
{
    size_t      n;
    struct rt_case *c = rt_cases(&n);

    return cr_make_param_array(struct rt_case, c, n);
}

ParameterizedTest(struct rt_case *c, object, round_trip, .timeout = 120)
{
    struct ws_err err = WS_ERR_INIT;
    unsigned char *data = malloc(c->size + 1);
    unsigned char *obj = NULL, *back = NULL;
    size_t      objlen, backlen;
    const unsigned char *key = c->encrypted ? key1 : NULL;

    fill(data, c->size, c->size);
    cr_assert_eq(encode(data, c->size, c->comp, key, c->chunk, "wal/x/y/name", &obj, &objlen,
                        &err), 0, "encode: %s", err.msg);
    cr_assert_eq(decode(obj, objlen, key, "wal/x/y/name", &back, &backlen, &err), 0,
                 "decode size %zu comp %d enc %d: %s", c->size, c->comp, c->encrypted, err.msg);
    cr_assert_eq(backlen, c->size);
    cr_assert(c->size == 0 || memcmp(back, data, c->size) == 0, "content differs");

    /* the end record is the last OBJECT_END_LEN bytes and says the same */
    {
        struct object_header h;
        struct object_trailer t;

        cr_assert_eq(object_peek(obj, objlen - OBJECT_END_LEN, obj + objlen - OBJECT_END_LEN,
                                 key, "wal/x/y/name", &h, &t, &err), 0, "peek: %s", err.msg);
        cr_assert_eq(t.plain_size, c->size);
        cr_assert_eq(t.xxh64, xxh64(data, c->size, 0));
        cr_assert_eq(h.compression, c->comp);
        cr_assert_eq(h.cipher, c->encrypted ? OBJECT_CIPHER_AES_256_GCM : OBJECT_CIPHER_NONE);
        /* the one home of the size arithmetic agrees with what was written */
        {
            uint64_t    len;

            cr_assert_eq(h.header_len, object_header_len("wal/x/y/name"));
            cr_assert_eq(object_stored_length(h.header_len, &t, &len), 0);
            cr_assert_eq(len, (uint64_t) objlen, "stored length %llu, object has %zu",
                         (unsigned long long) len, objlen);
        }
    }
    /* encrypted objects must not carry the plaintext */
    if (c->encrypted && c->comp == CFG_COMPRESS_NONE && c->size >= 64)
        cr_assert_null(memmem(obj, objlen, data + c->size / 2, 32), "plaintext visible");
    free(data);
    free(obj);
    free(back);
}

Test(object, compression_shrinks_compressible_data)
{
    struct ws_err err = WS_ERR_INIT;
    size_t      len = 1 << 20;
    unsigned char *data = malloc(len);
    unsigned char *obj;
    size_t      objlen;

    fill(data, len, 7);
    for (int comp = 1; comp <= 2; comp++)
    {
        cr_assert_eq(encode(data, len, comp, NULL, 0, "n", &obj, &objlen, &err), 0);
        cr_assert_lt(objlen, len / 2, "compression %d: %zu bytes", comp, objlen);
        free(obj);
    }
    free(data);
}

Test(object, same_plaintext_encrypts_differently)
{
    struct ws_err err = WS_ERR_INIT;
    unsigned char data[1000];
    unsigned char *a, *b;
    size_t      alen, blen;

    fill(data, sizeof(data), 1);
    cr_assert_eq(encode(data, sizeof(data), 0, key1, 0, "n", &a, &alen, &err), 0);
    cr_assert_eq(encode(data, sizeof(data), 0, key1, 0, "n", &b, &blen, &err), 0);
    cr_assert_eq(alen, blen);
    /* fresh salt per object: a fresh key, so different ciphertext */
    cr_assert_neq(memcmp(a + 40, b + 40, CRYPT_SALT_LEN), 0);
    cr_assert_neq(memcmp(a + alen - 200, b + blen - 200, 100), 0);
    free(a);
    free(b);
}

/* ---- tampering ------------------------------------------------------ */

static void
make_object(int comp, const unsigned char *key, unsigned char **obj, size_t *len)
{
    struct ws_err err = WS_ERR_INIT;
    unsigned char data[10000];

    fill(data, sizeof(data), 3);
    cr_assert_eq(encode(data, sizeof(data), comp, key, 1024, "wal/1/2/A", obj, len, &err), 0,
                 "%s", err.msg);
}

static void
expect_corrupt(const unsigned char *obj, size_t len, const unsigned char *key, const char *name,
               const char *what)
{
    struct ws_err err = WS_ERR_INIT;
    unsigned char *back = NULL;
    size_t      backlen;
    int         rc = decode(obj, len, key, name, &back, &backlen, &err);

    free(back);
    cr_assert_eq(rc, -1, "%s: decoded without error", what);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: code %s (%s)", what, err_code_name(err.code),
                 err.msg);
}

Test(object, every_flipped_byte_is_detected, .timeout = 120)
{
    for (int comp = 0; comp < 3; comp++)
        for (int enc = 0; enc < 2; enc++)
        {
            const unsigned char *key = enc ? key1 : NULL;
            unsigned char *obj;
            size_t      len;

            make_object(comp, key, &obj, &len);
            for (size_t i = 0; i < len; i += (i < 200 || i > len - 200) ? 1 : 13)
            {
                char        what[64];

                snprintf(what, sizeof(what), "comp %d enc %d byte %zu", comp, enc, i);
                obj[i] ^= 0x20;
                expect_corrupt(obj, len, key, "wal/1/2/A", what);
                obj[i] ^= 0x20;
            }
            free(obj);
        }
}

Test(object, every_truncation_is_detected, .timeout = 120)
{
    for (int enc = 0; enc < 2; enc++)
    {
        const unsigned char *key = enc ? key1 : NULL;
        unsigned char *obj;
        size_t      len;

        make_object(CFG_COMPRESS_NONE, key, &obj, &len);
        for (size_t cut = 0; cut < len; cut++)
        {
            char        what[64];

            snprintf(what, sizeof(what), "enc %d truncated to %zu of %zu", enc, cut, len);
            expect_corrupt(obj, cut, key, "wal/1/2/A", what);
        }
        free(obj);
    }
}

Test(object, trailing_data_is_detected)
{
    unsigned char *obj;
    size_t      len;

    make_object(CFG_COMPRESS_ZSTD, NULL, &obj, &len);
    obj = realloc(obj, len + 1);
    obj[len] = 'x';
    expect_corrupt(obj, len + 1, NULL, "wal/1/2/A", "one byte appended");
    free(obj);
}

/* Swap data chunks 1 and 2 (uncompressed, chunk size 1024: equal sizes). */
Test(object, reordered_and_dropped_chunks_are_detected)
{
    for (int enc = 0; enc < 2; enc++)
    {
        const unsigned char *key = enc ? key1 : NULL;
        unsigned char *obj, *copy;
        size_t      len, hl, cl = 5 + 1024 + CRYPT_TAG_LEN;

        make_object(CFG_COMPRESS_NONE, key, &obj, &len);
        hl = (size_t) (obj[10] | (obj[11] << 8));
        copy = malloc(len);
        memcpy(copy, obj, len);
        memcpy(copy + hl + cl, obj + hl + 2 * cl, cl);
        memcpy(copy + hl + 2 * cl, obj + hl + cl, cl);
        expect_corrupt(copy, len, key, "wal/1/2/A", "chunks 1 and 2 swapped");
        /* drop chunk 1 */
        memcpy(copy, obj, hl + cl);
        memcpy(copy + hl + cl, obj + hl + 2 * cl, len - hl - 2 * cl);
        expect_corrupt(copy, len - cl, key, "wal/1/2/A", "chunk 1 dropped");
        /* duplicate chunk 0 in place of chunk 1 */
        memcpy(copy, obj, len);
        memcpy(copy + hl + cl, obj + hl, cl);
        expect_corrupt(copy, len, key, "wal/1/2/A", "chunk 0 repeated");
        free(copy);
        free(obj);
    }
}

Test(object, swapped_object_is_detected)
{
    for (int enc = 0; enc < 2; enc++)
    {
        const unsigned char *key = enc ? key1 : NULL;
        unsigned char *obj;
        size_t      len;

        make_object(CFG_COMPRESS_ZSTD, key, &obj, &len);
        expect_corrupt(obj, len, key, "wal/1/2/B", "read under another name");
        free(obj);
    }
}

Test(object, wrong_key_is_detected)
{
    unsigned char *obj;
    size_t      len;

    make_object(CFG_COMPRESS_ZSTD, key1, &obj, &len);
    expect_corrupt(obj, len, key2, "wal/1/2/A", "wrong key");
    free(obj);
}

Test(object, unencrypted_object_in_encrypted_repository_is_refused)
{
    unsigned char *obj;
    size_t      len;

    make_object(CFG_COMPRESS_ZSTD, NULL, &obj, &len);
    expect_corrupt(obj, len, key1, "wal/1/2/A", "plaintext object, key configured");
    free(obj);
}

Test(object, encrypted_object_without_key_is_a_configuration_error)
{
    struct ws_err err = WS_ERR_INIT;
    unsigned char *obj, *back = NULL;
    size_t      len, backlen;

    make_object(CFG_COMPRESS_ZSTD, key1, &obj, &len);
    cr_assert_eq(decode(obj, len, NULL, "wal/1/2/A", &back, &backlen, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    free(back);
    free(obj);
}

Test(object, garbage_is_not_an_object)
{
    unsigned char junk[4096];

    fill(junk, sizeof(junk), 99);
    expect_corrupt(junk, sizeof(junk), NULL, NULL, "random bytes");
    expect_corrupt((const unsigned char *) "", 0, NULL, NULL, "empty");
}

Test(object, writer_refuses_a_size_change)
{
    struct ws_err err = WS_ERR_INIT;
    struct object_params p = {CFG_COMPRESS_ZSTD, -1, 0, NULL, 0, 100, true};
    struct filter *mem = filter_mem_new(1 << 20);
    struct filter *w = object_writer_new(&p, "n", mem, &err);
    unsigned char data[99] = {0};

    cr_assert_not_null(w);
    cr_assert_eq(filter_write(w, data, sizeof(data), &err), 0);
    cr_assert_eq(filter_finish(w, &err), -1);
    cr_assert_eq(err.code, WS_EINPUT, "%s", err.msg);
    filter_free(w);
}

/* ---- streamed 1 GiB: writer feeding the reader directly -------------- */

Test(object, streamed_1GiB_round_trip_in_bounded_memory, .timeout = 900)
{
    struct ws_err err = WS_ERR_INIT;
    struct filter *out = filter_hash_new(NULL, &err);
    struct filter *reader = object_reader_new(key1, "big", out, &err);
    struct object_params p = {CFG_COMPRESS_ZSTD, -1, 0, key1, 0, UINT64_MAX, false};
    struct filter *writer;
    struct xxh64_state in;
    size_t      block = 1 << 20;
    unsigned char *buf = malloc(block);
    uint64_t    total = (uint64_t) 1 << 30;
    uint64_t    got_size, got_hash;
    struct rusage ru;

    cr_assert_not_null(reader);
    writer = object_writer_new(&p, "big", reader, &err);
    cr_assert_not_null(writer, "%s", err.msg);
    xxh64_init(&in, 0);
    for (uint64_t off = 0; off < total; off += block)
    {
        fill(buf, block, off / block);
        xxh64_update(&in, buf, block);
        cr_assert_eq(filter_write(writer, buf, block, &err), 0, "%s", err.msg);
    }
    cr_assert_eq(filter_finish(writer, &err), 0, "%s", err.msg);
    filter_hash_result(out, &got_size, &got_hash);
    cr_assert_eq(got_size, total);
    cr_assert_eq(got_hash, xxh64_digest(&in));
    getrusage(RUSAGE_SELF, &ru);
#ifndef __SANITIZE_ADDRESS__
    /* bounded: a few chunk buffers and codec contexts, never the object
     * (ASan's quarantine makes RSS meaningless, so only without it) */
    cr_assert_lt(ru.ru_maxrss, 64 * 1024, "peak RSS %ld KiB", ru.ru_maxrss);
#endif
    filter_free(writer);
    free(buf);
}

/* A crafted end record cannot wrap the length arithmetic (archive.c's
 * identical check compares it with the stored size). */
Test(object, stored_length_refuses_impossible_trailers)
{
    struct object_trailer t = {0};
    uint64_t    len = 7;

    t.chunks = UINT64_MAX / 21 + 1;
    cr_assert_eq(object_stored_length(100, &t, &len), -1);
    t.chunks = 1;
    t.stored_size = UINT64_MAX - 10;
    cr_assert_eq(object_stored_length(100, &t, &len), -1);
    cr_assert_eq(len, 7, "no result on failure");
    t.stored_size = 1000;
    cr_assert_eq(object_stored_length(100, &t, &len), 0);
    cr_assert_eq(len, 100 + OBJECT_END_LEN + 21 + 1000);
}

/* ---- the compression byte is the format's number, not the setting's ---- */

Test(object, compression_byte_is_the_formats_fixed_number)
{
    static const struct
    {
        int         setting;
        uint8_t     on_disk;
    } cases[] = {
        {CFG_COMPRESS_NONE, 0}, {CFG_COMPRESS_ZSTD, 1}, {CFG_COMPRESS_GZIP, 2},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        struct ws_err err = WS_ERR_INIT;
        struct object_header h;
        unsigned char *obj;
        size_t      len;

        make_object(cases[i].setting, NULL, &obj, &len);
        cr_assert_eq(obj[12], cases[i].on_disk, "setting %d stored as %u", cases[i].setting,
                     obj[12]);
        cr_assert_eq(object_header_parse(obj, len, NULL, &h, &err), 0, "%s", err.msg);
        cr_assert_eq(object_compression_alg(&h), cases[i].setting);
        free(obj);
    }
    cr_assert_eq(OBJECT_COMPRESSION_NONE, 0);
    cr_assert_eq(OBJECT_COMPRESSION_ZSTD, 1);
    cr_assert_eq(OBJECT_COMPRESSION_GZIP, 2);
}
