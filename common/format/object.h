/*
 * object.h — the repository object format (docs/format.md is the spec).
 *
 *   object  = header, data chunk*, end chunk
 *   header  = magic "WSOBJ\r\n\x1a", version, header length, compression,
 *             cipher, checksum algorithm, chunk size, size hint, time,
 *             object salt, object name, CRC-32C of the header
 *   chunk   = u32 payload length, u8 type ('D' data / 'E' end), payload,
 *             16-byte tag (AES-256-GCM tag, or XXH64 when not encrypted)
 *   end     = always the last OBJECT_END_LEN bytes: data chunk count,
 *             plaintext size, stored size, XXH64 of the plaintext
 *
 * Writing and reading are single streaming passes with memory bounded by the
 * chunk size: object_writer_new() returns the head of a chain
 * (hash -> compress -> frame -> sink), object_reader_new() the head of
 * (frame -> decompress -> verify -> sink).
 */
#ifndef WS_OBJECT_H
#define WS_OBJECT_H

#include <stdbool.h>
#include <stdint.h>
#include "crypt.h"
#include "filter.h"

#define OBJECT_VERSION 1
#define OBJECT_MAGIC "WSOBJ\r\n\x1a"
#define OBJECT_MAGIC_LEN 8
#define OBJECT_HEADER_MAX 4096
#define OBJECT_HEADER_FIXED 58              /* bytes before the name */
#define OBJECT_CHUNK_DEFAULT (1024 * 1024)
#define OBJECT_CHUNK_MAX (16 * 1024 * 1024)
#define OBJECT_END_PAYLOAD 32
#define OBJECT_END_LEN (5 + OBJECT_END_PAYLOAD + CRYPT_TAG_LEN)     /* 53 */
/*
 * The header's compression byte: numbers of the format, fixed forever (old
 * objects carry them), not enum cfg_compression; object.c maps between the two.
 */
enum object_compression
{
    OBJECT_COMPRESSION_NONE = 0,
    OBJECT_COMPRESSION_ZSTD = 1,
    OBJECT_COMPRESSION_GZIP = 2
};
#define OBJECT_CIPHER_NONE 0
#define OBJECT_CIPHER_AES_256_GCM 1
#define OBJECT_CHECKSUM_XXH64 1

struct object_params
{
    int         compression;        /* enum cfg_compression */
    int         level;              /* -1 = default */
    int         threads;            /* zstd workers */
    const unsigned char *master_key;    /* NULL: not encrypted */
    uint32_t    chunk_size;         /* 0 = OBJECT_CHUNK_DEFAULT */
    uint64_t    size_hint;          /* plaintext size if known, else UINT64_MAX */
    bool        size_exact;         /* fail (WS_EINPUT) before commit if size differs */
};

struct object_header
{
    uint16_t    version;
    uint16_t    header_len;
    uint8_t     compression;        /* enum object_compression */
    uint8_t     cipher;
    uint8_t     checksum;
    uint32_t    chunk_size;
    uint64_t    size_hint;
    int64_t     created;
    unsigned char salt[CRYPT_SALT_LEN];
    char        name[1024];
};

struct object_trailer
{
    uint64_t    chunks;             /* data chunks */
    uint64_t    plain_size;
    uint64_t    stored_size;        /* sum of data payloads (compressed size) */
    uint64_t    xxh64;              /* of the plaintext */
};

/*
 * Writer: bytes written to the returned head are the plaintext; `name` is
 * the object's repository key, bound into the header and authenticated.
 * Owns sink from the call on, also when it fails (filter.h).
 */
struct filter *object_writer_new(const struct object_params *p, const char *name,
                                 struct filter *sink, struct ws_err *err);
/*
 * After a successful filter_finish(head): the header written (h may be NULL),
 * the sizes and checksum, and the whole object's length in bytes.
 */
void        object_writer_result(const struct filter *head, struct object_header *h,
                                 struct object_trailer *t, uint64_t *length);

/*
 * Reader: bytes written to the returned head are the stored object; the
 * plaintext goes to sink.  `name` (may be NULL to skip the check) must match
 * the name in the header.  With master_key set the object must be encrypted
 * (an unencrypted object in an encrypted repository is rejected).
 * filter_finish() fails with WS_ECORRUPT on truncation, a missing chunk or a
 * checksum mismatch; the sink is finished only after every check passed.
 * Owns sink from the call on, also when it fails (filter.h).
 */
struct filter *object_reader_new(const unsigned char *master_key, const char *name,
                                 struct filter *sink, struct ws_err *err);
void        object_reader_result(const struct filter *head, struct object_header *h,
                                 struct object_trailer *t);

/*
 * The stored length of an object with this header length and trailer:
 * header, each data chunk's frame and tag, the payloads and the end record.
 * -1 if it cannot be represented (a crafted end record), else 0.
 */
int         object_stored_length(uint32_t header_len, const struct object_trailer *t,
                                 uint64_t *out);
/* The header length object_writer_new() writes for a name. */
uint32_t    object_header_len(const char *name);

/*
 * Where object_peek's two reads lie in an object of `size` bytes: its first
 * *head_len bytes (the header is in there) and its last OBJECT_END_LEN bytes,
 * from *end_offset.  -1 (WS_ECORRUPT naming name) if no object is that short.
 */
int         object_peek_ranges(uint64_t size, const char *name, uint64_t *head_len,
                               uint64_t *end_offset, struct ws_err *err);
/*
 * Is `size` the length the header and end record imply?  0 yes, else -1
 * (WS_ECORRUPT naming name, the sizes in the message).
 */
int         object_check_length(const struct object_header *h, const struct object_trailer *t,
                                uint64_t size, const char *name, struct ws_err *err);

/* The header's compression as enum cfg_compression. */
int         object_compression_alg(const struct object_header *h);

/* Parse and check a header (hdr holds at least its header_len bytes). */
int         object_header_parse(const unsigned char *hdr, size_t len, const char *name,
                                struct object_header *out, struct ws_err *err);

/*
 * Read the trailer without reading the body: `hdr` is the start of the
 * object (at least its header), `end` its last OBJECT_END_LEN bytes.  The
 * end chunk's tag is verified (with the key when encrypted).
 */
int         object_peek(const unsigned char *hdr, size_t hdrlen,
                        const unsigned char end[OBJECT_END_LEN],
                        const unsigned char *master_key, const char *name,
                        struct object_header *h, struct object_trailer *t, struct ws_err *err);

#endif
