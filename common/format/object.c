/*
 * object.c — writing and reading repository objects.  Spec: docs/format.md.
 *
 * Integrity is checked at three levels, each on every read:
 *  - the header carries a CRC-32C and the object's name, so a damaged header
 *    or an object stored under another name is refused before any data;
 *  - every chunk carries a tag over (header, chunk index, type, length,
 *    payload): the AES-256-GCM tag when encrypted, else an XXH64; a flipped
 *    byte, a reordered, repeated or missing chunk fails there;
 *  - the end chunk carries the count of data chunks, the sizes and the
 *    XXH64 of the plaintext, compared after decompression: truncation or a
 *    decompressor fault cannot pass.
 * Each plaintext byte is hashed once (XXH64) and, when encrypted, each stored
 * byte is authenticated once (GCM); nothing is read or hashed twice.
 */
#include "object.h"
#include "cfg.h"
#include "checksum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define END_INDEX UINT64_MAX
#define AAD_TAIL 13             /* index u64, type u8, length u32 */

static void
put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char) v;
    p[1] = (unsigned char) (v >> 8);
}

static void
put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char) (v >> (8 * i));
}

static void
put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char) (v >> (8 * i));
}

static uint16_t
get16(const unsigned char *p)
{
    return (uint16_t) (p[0] | (p[1] << 8));
}

static uint32_t
get32(const unsigned char *p)
{
    return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) |
        ((uint32_t) p[3] << 24);
}

static uint64_t
get64(const unsigned char *p)
{
    uint64_t    v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/*
 * The per-chunk authenticated data: the whole header followed by the chunk's
 * index, type and length.  aad must have room for header_len + AAD_TAIL.
 */
static size_t
aad_fill(unsigned char *aad, size_t header_len, uint64_t index, uint8_t type, uint32_t len)
{
    put64(aad + header_len, index);
    aad[header_len + 8] = type;
    put32(aad + header_len + 9, len);
    return header_len + AAD_TAIL;
}

/* Tag for unencrypted chunks: XXH64 of the payload seeded by XXH64 of the aad. */
static void
plain_tag(const unsigned char *aad, size_t aadlen, const unsigned char *payload, size_t len,
          unsigned char tag[CRYPT_TAG_LEN])
{
    uint64_t    seed = xxh64(aad, aadlen, 0);

    memset(tag, 0, CRYPT_TAG_LEN);
    put64(tag, xxh64(payload, len, seed));
}

/* enum cfg_compression -> the header's byte; -1 for a value the format does not have */
static int
compression_to_disk(int alg)
{
    switch (alg)
    {
        case CFG_COMPRESS_NONE: return OBJECT_COMPRESSION_NONE;
        case CFG_COMPRESS_ZSTD: return OBJECT_COMPRESSION_ZSTD;
        case CFG_COMPRESS_GZIP: return OBJECT_COMPRESSION_GZIP;
        default: return -1;
    }
}

/* the header's byte (checked by object_header_parse) -> enum cfg_compression */
int
object_compression_alg(const struct object_header *h)
{
    switch (h->compression)
    {
        case OBJECT_COMPRESSION_ZSTD: return CFG_COMPRESS_ZSTD;
        case OBJECT_COMPRESSION_GZIP: return CFG_COMPRESS_GZIP;
        case OBJECT_COMPRESSION_NONE: return CFG_COMPRESS_NONE;
        default: return -1;
    }
}

int
object_header_parse(const unsigned char *hdr, size_t len, const char *name,
                    struct object_header *out, struct ws_err *err)
{
    uint16_t    name_len;
    size_t      hl;

    memset(out, 0, sizeof(*out));
    if (len < 12 || memcmp(hdr, OBJECT_MAGIC, OBJECT_MAGIC_LEN) != 0)
        return err_set(err, WS_ECORRUPT, "not a walship object (bad magic)");
    out->version = get16(hdr + 8);
    out->header_len = get16(hdr + 10);
    if (out->version != OBJECT_VERSION)
        return err_set(err, WS_ECORRUPT, "unsupported object format version %u (this walship reads %d)",
                       out->version, OBJECT_VERSION);
    hl = out->header_len;
    if (hl < OBJECT_HEADER_FIXED + 1 + 4 || hl > OBJECT_HEADER_MAX)
        return err_set(err, WS_ECORRUPT, "invalid object header length %zu", hl);
    if (len < hl)
        return err_set(err, WS_ECORRUPT, "object is truncated inside its header");
    if (crc32c(hdr, hl - 4) != get32(hdr + hl - 4))
        return err_set(err, WS_ECORRUPT, "object header checksum mismatch");
    out->compression = hdr[12];
    out->cipher = hdr[13];
    out->checksum = hdr[14];
    out->chunk_size = get32(hdr + 16);
    out->size_hint = get64(hdr + 24);
    out->created = (int64_t) get64(hdr + 32);
    memcpy(out->salt, hdr + 40, CRYPT_SALT_LEN);
    name_len = get16(hdr + 56);
    if ((size_t) OBJECT_HEADER_FIXED + name_len + 4 != hl || name_len >= sizeof(out->name))
        return err_set(err, WS_ECORRUPT, "invalid object name length %u", name_len);
    memcpy(out->name, hdr + OBJECT_HEADER_FIXED, name_len);
    out->name[name_len] = '\0';
    if (out->compression != OBJECT_COMPRESSION_NONE && out->compression != OBJECT_COMPRESSION_ZSTD &&
        out->compression != OBJECT_COMPRESSION_GZIP)
        return err_set(err, WS_ECORRUPT, "unknown compression algorithm %u", out->compression);
    if (out->cipher > OBJECT_CIPHER_AES_256_GCM)
        return err_set(err, WS_ECORRUPT, "unknown cipher %u", out->cipher);
    if (out->checksum != OBJECT_CHECKSUM_XXH64)
        return err_set(err, WS_ECORRUPT, "unknown checksum algorithm %u", out->checksum);
    if (out->chunk_size == 0 || out->chunk_size > OBJECT_CHUNK_MAX)
        return err_set(err, WS_ECORRUPT, "invalid chunk size %u", out->chunk_size);
    if (name != NULL && strcmp(name, out->name) != 0)
    {
        err_set(err, WS_ECORRUPT, "object holds \"%s\", not \"%s\"", out->name, name);
        err_detail(err, "The object was stored under another name (swapped or copied).");
        return -1;
    }
    return 0;
}

/* ==== writer ============================================================ */

struct frame_writer
{
    struct filter base;
    const struct filter *hash;      /* head of the chain: plaintext size and XXH64 */
    struct crypt_ctx *crypt;        /* NULL: not encrypted */
    unsigned char *aad;             /* header + AAD_TAIL */
    size_t      header_len;
    bool        header_written;
    uint64_t    index;
    uint64_t    stored;
    struct object_trailer trailer;
    uint64_t    exact_size;         /* UINT64_MAX: any size */
    uint32_t    chunk_size;
    size_t      have;
    unsigned char *chunk;           /* chunk_size bytes */
};

static int
emit_chunk(struct frame_writer *w, uint8_t type, unsigned char *payload, uint32_t len,
           uint64_t index, struct ws_err *err)
{
    unsigned char ch[5];
    unsigned char tag[CRYPT_TAG_LEN];
    size_t      aadlen;

    if (!w->header_written)
    {
        if (filter_write(w->base.next, w->aad, w->header_len, err) < 0)
            return -1;
        w->header_written = true;
    }
    aadlen = aad_fill(w->aad, w->header_len, index, type, len);
    if (w->crypt)
    {
        if (crypt_seal(w->crypt, index, w->aad, aadlen, payload, len, tag, err) < 0)
            return -1;
    }
    else
        plain_tag(w->aad, aadlen, payload, len, tag);
    put32(ch, len);
    ch[4] = type;
    if (filter_write(w->base.next, ch, 5, err) < 0 ||
        filter_write(w->base.next, payload, len, err) < 0 ||
        filter_write(w->base.next, tag, CRYPT_TAG_LEN, err) < 0)
        return -1;
    return 0;
}

static int
flush_data(struct frame_writer *w, struct ws_err *err)
{
    if (w->have == 0)
        return 0;
    if (emit_chunk(w, 'D', w->chunk, (uint32_t) w->have, w->index, err) < 0)
        return -1;
    w->stored += w->have;
    w->index++;
    w->have = 0;
    return 0;
}

static int
fw_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct frame_writer *w = (struct frame_writer *) f;
    const unsigned char *p = buf;

    while (len > 0)
    {
        size_t      n = w->chunk_size - w->have;

        if (n > len)
            n = len;
        memcpy(w->chunk + w->have, p, n);
        w->have += n;
        p += n;
        len -= n;
        if (w->have == w->chunk_size && flush_data(w, err) < 0)
            return -1;
    }
    return 0;
}

static int
fw_finish(struct filter *f, struct ws_err *err)
{
    struct frame_writer *w = (struct frame_writer *) f;
    unsigned char end[OBJECT_END_PAYLOAD];

    if (flush_data(w, err) < 0)
        return -1;
    w->trailer.chunks = w->index;
    w->trailer.stored_size = w->stored;
    filter_hash_result(w->hash, &w->trailer.plain_size, &w->trailer.xxh64);
    if (w->exact_size != UINT64_MAX && w->trailer.plain_size != w->exact_size)
        return err_set(err, WS_EINPUT, "input changed size while being stored (%llu bytes, expected %llu)",
                       (unsigned long long) w->trailer.plain_size,
                       (unsigned long long) w->exact_size);
    put64(end, w->trailer.chunks);
    put64(end + 8, w->trailer.plain_size);
    put64(end + 16, w->trailer.stored_size);
    put64(end + 24, w->trailer.xxh64);
    if (emit_chunk(w, 'E', end, OBJECT_END_PAYLOAD, END_INDEX, err) < 0)
        return -1;
    return filter_finish(f->next, err);
}

static void
fw_free(struct filter *f)
{
    struct frame_writer *w = (struct frame_writer *) f;

    crypt_ctx_free(w->crypt);
    free(w->aad);
    free(w->chunk);
    free(w);
}

static const struct filter_ops fw_ops = {"frame", fw_write, fw_finish, fw_free};

struct filter *
object_writer_new(const struct object_params *p, const char *name, struct filter *sink,
                  struct ws_err *err)
{
    struct frame_writer *w = calloc(1, sizeof(*w));
    struct filter *comp;
    struct filter *head;
    size_t      name_len = strlen(name);
    int         disk_compression = compression_to_disk(p->compression);
    unsigned char *h;

    if (w == NULL)
    {
        filter_free(sink);      /* ours from the call on (filter.h) */
        err_set(err, WS_EINTERNAL, "out of memory");
        return NULL;
    }
    w->base.ops = &fw_ops;
    w->base.next = sink;        /* from here on, freeing w frees sink */
    if (name_len >= 1024)
    {
        err_set(err, WS_EINPUT, "object name \"%s\" is too long", name);
        goto fail;
    }
    if (disk_compression < 0)
    {
        err_set(err, WS_EINTERNAL, "unknown compression algorithm %d", p->compression);
        goto fail;
    }
    w->chunk_size = p->chunk_size ? p->chunk_size : OBJECT_CHUNK_DEFAULT;
    w->exact_size = p->size_exact ? p->size_hint : UINT64_MAX;
    if (w->chunk_size > OBJECT_CHUNK_MAX)
    {
        err_set(err, WS_EINTERNAL, "chunk size %u too large", w->chunk_size);
        goto fail;
    }
    w->header_len = object_header_len(name);
    w->aad = calloc(1, w->header_len + AAD_TAIL);
    w->chunk = malloc(w->chunk_size);
    if (w->aad == NULL || w->chunk == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto fail;
    }

    h = w->aad;
    memcpy(h, OBJECT_MAGIC, OBJECT_MAGIC_LEN);
    put16(h + 8, OBJECT_VERSION);
    put16(h + 10, (uint16_t) w->header_len);
    h[12] = (unsigned char) disk_compression;
    h[13] = p->master_key ? OBJECT_CIPHER_AES_256_GCM : OBJECT_CIPHER_NONE;
    h[14] = OBJECT_CHECKSUM_XXH64;
    h[15] = 0;
    put32(h + 16, w->chunk_size);
    put32(h + 20, 0);
    put64(h + 24, p->size_hint);
    put64(h + 32, (uint64_t) time(NULL));
    if (p->master_key)
    {
        if (crypt_random(h + 40, CRYPT_SALT_LEN, err) < 0)
            goto fail;
        w->crypt = crypt_ctx_new(p->master_key, h + 40, err);
        if (w->crypt == NULL)
            goto fail;
    }
    put16(h + 56, (uint16_t) name_len);
    memcpy(h + OBJECT_HEADER_FIXED, name, name_len);
    put32(h + OBJECT_HEADER_FIXED + name_len, crc32c(h, OBJECT_HEADER_FIXED + name_len));

    /* each constructor owns what it is given, also when it fails */
    comp = filter_compress_new(p->compression, p->level, p->threads, &w->base, err);
    if (comp == NULL)
        return NULL;
    if (p->size_exact)
        (void) filter_compress_pledge(comp, p->size_hint);
    head = filter_hash_new(comp, err);
    if (head == NULL)
        return NULL;
    w->hash = head;
    return head;
fail:
    filter_free(&w->base);      /* and sink */
    return NULL;
}

int
object_stored_length(uint32_t header_len, const struct object_trailer *t, uint64_t *out)
{
    const uint64_t frame = 5 + CRYPT_TAG_LEN;   /* length, type, tag */
    uint64_t    n = (uint64_t) header_len + OBJECT_END_LEN;

    if (t->chunks > (UINT64_MAX - n) / frame)
        return -1;
    n += t->chunks * frame;
    if (t->stored_size > UINT64_MAX - n)
        return -1;
    *out = n + t->stored_size;
    return 0;
}

uint32_t
object_header_len(const char *name)
{
    return (uint32_t) (OBJECT_HEADER_FIXED + strlen(name) + 4);
}

int
object_peek_ranges(uint64_t size, const char *name, uint64_t *head_len, uint64_t *end_offset,
                   struct ws_err *err)
{
    if (size < OBJECT_END_LEN + OBJECT_HEADER_FIXED)
        return err_set(err, WS_ECORRUPT, "object \"%s\" has only %llu bytes, too few for a walship object",
                       name, (unsigned long long) size);
    *end_offset = size - OBJECT_END_LEN;
    *head_len = *end_offset < OBJECT_HEADER_MAX ? *end_offset : OBJECT_HEADER_MAX;
    return 0;
}

int
object_check_length(const struct object_header *h, const struct object_trailer *t,
                    uint64_t size, const char *name, struct ws_err *err)
{
    uint64_t    implied;

    if (object_stored_length(h->header_len, t, &implied) < 0)
        return err_set(err, WS_ECORRUPT, "object \"%s\" has %llu bytes; its end record claims an impossible length",
                       name, (unsigned long long) size);
    if (implied != size)
        return err_set(err, WS_ECORRUPT, "object \"%s\" has %llu bytes; its end record implies %llu",
                       name, (unsigned long long) size, (unsigned long long) implied);
    return 0;
}

void
object_writer_result(const struct filter *head, struct object_header *h,
                     struct object_trailer *t, uint64_t *length)
{
    const struct frame_writer *w = (const struct frame_writer *) head->next->next;

    if (h != NULL)
    {
        struct ws_err e = WS_ERR_INIT;

        /* our own header: it parses */
        (void) object_header_parse(w->aad, w->header_len, NULL, h, &e);
    }
    if (t != NULL)
        *t = w->trailer;
    /* not reachable for an object this process wrote: 0 then */
    if (length != NULL && object_stored_length((uint32_t) w->header_len, &w->trailer, length) < 0)
        *length = 0;
}

/* ==== reader ============================================================ */

/* verify: last stage before the sink; compares the plaintext with the trailer */
struct verify
{
    struct filter base;
    struct xxh64_state st;
    uint64_t    size;
    const struct object_trailer *expect;
    const char *name;
};

static int
verify_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct verify *v = (struct verify *) f;

    xxh64_update(&v->st, buf, len);
    v->size += len;
    return filter_write(f->next, buf, len, err);
}

static int
verify_finish(struct filter *f, struct ws_err *err)
{
    struct verify *v = (struct verify *) f;
    uint64_t    h = xxh64_digest(&v->st);

    if (v->size != v->expect->plain_size)
        return err_set(err, WS_ECORRUPT,
                       "object \"%s\" decoded to %llu bytes, expected %llu", v->name,
                       (unsigned long long) v->size, (unsigned long long) v->expect->plain_size);
    if (h != v->expect->xxh64)
        return err_set(err, WS_ECORRUPT,
                       "checksum mismatch in object \"%s\" (XXH64 %016llx, expected %016llx)",
                       v->name, (unsigned long long) h, (unsigned long long) v->expect->xxh64);
    return filter_finish(f->next, err);
}

static void
verify_free(struct filter *f)
{
    free(f);
}

static const struct filter_ops verify_ops = {"verify", verify_write, verify_finish, verify_free};

enum rstate
{
    R_HEAD_FIXED,       /* magic, version, header length */
    R_HEAD,
    R_CHUNK_HEAD,
    R_CHUNK_BODY,
    R_DONE
};

struct frame_reader
{
    struct filter base;
    struct filter *sink;            /* until the chain behind the header is built */
    const unsigned char *master;
    char        name[1024];
    bool        check_name;
    struct crypt_ctx *crypt;
    struct object_header hdr;
    struct object_trailer trailer;
    enum rstate state;
    size_t      need;
    size_t      have;
    unsigned char *buf;             /* header, then one chunk */
    size_t      bufcap;
    unsigned char *aad;
    uint8_t     ctype;
    uint32_t    clen;
    uint64_t    index;
    uint64_t    stored;
};

static int
reader_fail(struct frame_reader *r, struct ws_err *err)
{
    err_prefix(err, "invalid object \"%s\"", r->name);
    return -1;
}

static int
reader_header(struct frame_reader *r, struct ws_err *err)
{
    struct verify *v;

    if (object_header_parse(r->buf, r->have, r->check_name ? r->name : NULL, &r->hdr, err) < 0)
        return reader_fail(r, err);
    if (r->hdr.cipher == OBJECT_CIPHER_NONE && r->master != NULL)
    {
        err_set(err, WS_ECORRUPT, "object \"%s\" is not encrypted, but the repository is",
                r->name);
        return -1;
    }
    if (r->hdr.cipher != OBJECT_CIPHER_NONE)
    {
        if (r->master == NULL)
        {
            err_set(err, WS_ECONFIG, "object \"%s\" is encrypted, but no encryption key is configured",
                    r->name);
            return -1;
        }
        r->crypt = crypt_ctx_new(r->master, r->hdr.salt, err);
        if (r->crypt == NULL)
            return -1;
    }
    r->aad = malloc(r->hdr.header_len + AAD_TAIL);
    if (r->aad == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    memcpy(r->aad, r->buf, r->hdr.header_len);
    if (r->bufcap < (size_t) r->hdr.chunk_size + CRYPT_TAG_LEN)
    {
        unsigned char *nb = realloc(r->buf, (size_t) r->hdr.chunk_size + CRYPT_TAG_LEN);

        if (nb == NULL)
            return err_set(err, WS_EINTERNAL, "out of memory");
        r->buf = nb;
        r->bufcap = (size_t) r->hdr.chunk_size + CRYPT_TAG_LEN;
    }

    /* build frame -> decompress -> verify -> sink; each stage owns the next */
    v = calloc(1, sizeof(*v));
    if (v == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");     /* fr_free frees r->sink */
    v->base.ops = &verify_ops;
    v->base.next = r->sink;
    v->expect = &r->trailer;
    v->name = r->name;
    xxh64_init(&v->st, 0);
    r->sink = NULL;
    r->base.next = filter_decompress_new(object_compression_alg(&r->hdr), &v->base, err);
    return r->base.next != NULL ? 0 : -1;
}

static int
reader_chunk(struct frame_reader *r, struct ws_err *err)
{
    uint64_t    index = r->ctype == 'E' ? END_INDEX : r->index;
    size_t      aadlen = aad_fill(r->aad, r->hdr.header_len, index, r->ctype, r->clen);
    unsigned char *tag = r->buf + r->clen;

    if (r->crypt)
    {
        if (crypt_open(r->crypt, index, r->aad, aadlen, r->buf, r->clen, tag, err) < 0)
        {
            err_set(err, WS_ECORRUPT,
                    "authentication failed for chunk %llu of object \"%s\"",
                    (unsigned long long) r->index, r->name);
            err_detail(err, "The object was altered, truncated, reordered or damaged.");
            return -1;
        }
    }
    else
    {
        unsigned char want[CRYPT_TAG_LEN];

        plain_tag(r->aad, aadlen, r->buf, r->clen, want);
        if (memcmp(want, tag, CRYPT_TAG_LEN) != 0)
        {
            err_set(err, WS_ECORRUPT, "checksum mismatch in chunk %llu of object \"%s\"",
                    (unsigned long long) r->index, r->name);
            err_detail(err, "The object was altered, truncated, reordered or damaged.");
            return -1;
        }
    }
    if (r->ctype == 'D')
    {
        r->index++;
        r->stored += r->clen;
        return filter_write(r->base.next, r->buf, r->clen, err);
    }
    r->trailer.chunks = get64(r->buf);
    r->trailer.plain_size = get64(r->buf + 8);
    r->trailer.stored_size = get64(r->buf + 16);
    r->trailer.xxh64 = get64(r->buf + 24);
    if (r->trailer.chunks != r->index || r->trailer.stored_size != r->stored)
        return err_set(err, WS_ECORRUPT,
                       "object \"%s\" has %llu chunks (%llu bytes), its end record says %llu (%llu bytes)",
                       r->name, (unsigned long long) r->index, (unsigned long long) r->stored,
                       (unsigned long long) r->trailer.chunks,
                       (unsigned long long) r->trailer.stored_size);
    r->state = R_DONE;
    return 0;
}

static int
fr_write(struct filter *f, const void *data, size_t len, struct ws_err *err)
{
    struct frame_reader *r = (struct frame_reader *) f;
    const unsigned char *p = data;

    while (len > 0)
    {
        size_t      n;

        if (r->state == R_DONE)
            return err_set(err, WS_ECORRUPT, "object \"%s\" has trailing data after its end",
                           r->name);
        n = r->need - r->have;
        if (n > len)
            n = len;
        memcpy(r->buf + r->have, p, n);
        r->have += n;
        p += n;
        len -= n;
        if (r->have < r->need)
            break;

        switch (r->state)
        {
            case R_HEAD_FIXED:
                if (memcmp(r->buf, OBJECT_MAGIC, OBJECT_MAGIC_LEN) != 0)
                {
                    err_set(err, WS_ECORRUPT, "not a walship object (bad magic)");
                    return reader_fail(r, err);
                }
                r->need = get16(r->buf + 10);
                if (r->need < OBJECT_HEADER_FIXED + 5 || r->need > OBJECT_HEADER_MAX)
                {
                    err_set(err, WS_ECORRUPT, "invalid object header length %zu", r->need);
                    return reader_fail(r, err);
                }
                r->state = R_HEAD;
                break;
            case R_HEAD:
                if (reader_header(r, err) < 0)
                    return -1;
                r->state = R_CHUNK_HEAD;
                r->have = 0;
                r->need = 5;
                break;
            case R_CHUNK_HEAD:
                r->clen = get32(r->buf);
                r->ctype = r->buf[4];
                if ((r->ctype != 'D' && r->ctype != 'E') ||
                    (r->ctype == 'D' && (r->clen == 0 || r->clen > r->hdr.chunk_size)) ||
                    (r->ctype == 'E' && r->clen != OBJECT_END_PAYLOAD))
                {
                    err_set(err, WS_ECORRUPT, "invalid chunk header (type 0x%02x, length %u) "
                            "at chunk %llu of object \"%s\"", r->ctype, r->clen,
                            (unsigned long long) r->index, r->name);
                    return -1;
                }
                r->state = R_CHUNK_BODY;
                r->have = 0;
                r->need = (size_t) r->clen + CRYPT_TAG_LEN;
                break;
            case R_CHUNK_BODY:
                if (reader_chunk(r, err) < 0)
                    return -1;
                if (r->state != R_DONE)
                    r->state = R_CHUNK_HEAD;
                r->have = 0;
                r->need = 5;
                break;
            case R_DONE:
                break;
        }
    }
    return 0;
}

static int
fr_finish(struct filter *f, struct ws_err *err)
{
    struct frame_reader *r = (struct frame_reader *) f;

    if (r->state != R_DONE)
    {
        err_set(err, WS_ECORRUPT, "object \"%s\" is truncated", r->name);
        err_detail(err, "The stream ended %s.",
                   r->state <= R_HEAD ? "inside the object header" : "before the end record");
        return -1;
    }
    return filter_finish(f->next, err);
}

static void
fr_free(struct filter *f)
{
    struct frame_reader *r = (struct frame_reader *) f;

    filter_free(r->sink);
    crypt_ctx_free(r->crypt);
    if (r->buf)
        crypt_wipe(r->buf, r->bufcap);
    free(r->buf);
    free(r->aad);
    free(r);
}

static const struct filter_ops fr_ops = {"unframe", fr_write, fr_finish, fr_free};

struct filter *
object_reader_new(const unsigned char *master_key, const char *name, struct filter *sink,
                  struct ws_err *err)
{
    struct frame_reader *r = calloc(1, sizeof(*r));

    if (r == NULL)
    {
        filter_free(sink);
        err_set(err, WS_EINTERNAL, "out of memory");
        return NULL;
    }
    r->base.ops = &fr_ops;
    r->sink = sink;
    r->master = master_key;
    r->check_name = name != NULL;
    snprintf(r->name, sizeof(r->name), "%s", name ? name : "(unnamed)");
    r->bufcap = OBJECT_HEADER_MAX;
    r->buf = malloc(r->bufcap);
    if (r->buf == NULL)
    {
        fr_free(&r->base);
        err_set(err, WS_EINTERNAL, "out of memory");
        return NULL;
    }
    r->state = R_HEAD_FIXED;
    r->need = 12;
    return &r->base;
}

void
object_reader_result(const struct filter *head, struct object_header *h,
                     struct object_trailer *t)
{
    const struct frame_reader *r = (const struct frame_reader *) head;

    if (h)
        *h = r->hdr;
    if (t)
        *t = r->trailer;
}

int
object_peek(const unsigned char *hdr, size_t hdrlen, const unsigned char end[OBJECT_END_LEN],
            const unsigned char *master_key, const char *name, struct object_header *h,
            struct object_trailer *t, struct ws_err *err)
{
    unsigned char aad[OBJECT_HEADER_MAX + AAD_TAIL];
    unsigned char payload[OBJECT_END_PAYLOAD];
    size_t      aadlen;
    int         rc = -1;

    if (object_header_parse(hdr, hdrlen, name, h, err) < 0)
        return -1;
    if (h->cipher == OBJECT_CIPHER_NONE && master_key != NULL)
        return err_set(err, WS_ECORRUPT, "object \"%s\" is not encrypted, but the repository is",
                       h->name);
    if (get32(end) != OBJECT_END_PAYLOAD || end[4] != 'E')
        return err_set(err, WS_ECORRUPT, "object \"%s\" does not end with an end record (truncated?)",
                       h->name);
    memcpy(aad, hdr, h->header_len);
    aadlen = aad_fill(aad, h->header_len, END_INDEX, 'E', OBJECT_END_PAYLOAD);
    memcpy(payload, end + 5, OBJECT_END_PAYLOAD);
    if (h->cipher != OBJECT_CIPHER_NONE)
    {
        struct crypt_ctx *c;

        if (master_key == NULL)
            return err_set(err, WS_ECONFIG, "object \"%s\" is encrypted, but no encryption key is configured",
                           h->name);
        c = crypt_ctx_new(master_key, h->salt, err);
        if (c == NULL)
            return -1;
        rc = crypt_open(c, END_INDEX, aad, aadlen, payload, OBJECT_END_PAYLOAD,
                        end + 5 + OBJECT_END_PAYLOAD, err);
        crypt_ctx_free(c);
        if (rc < 0)
            return err_set(err, WS_ECORRUPT, "authentication failed for the end record of object \"%s\"",
                           h->name);
    }
    else
    {
        unsigned char want[CRYPT_TAG_LEN];

        plain_tag(aad, aadlen, payload, OBJECT_END_PAYLOAD, want);
        if (memcmp(want, end + 5 + OBJECT_END_PAYLOAD, CRYPT_TAG_LEN) != 0)
            return err_set(err, WS_ECORRUPT, "checksum mismatch in the end record of object \"%s\"",
                           h->name);
    }
    t->chunks = get64(payload);
    t->plain_size = get64(payload + 8);
    t->stored_size = get64(payload + 16);
    t->xxh64 = get64(payload + 24);
    return 0;
}
