/*
 * make_corpus.c — writes the binary and formatted seeds of the fuzz corpus:
 *
 *   fuzz_make_corpus DIR      (DIR = tests/fuzz/corpus; make-corpus.sh runs it)
 *
 * object/: objects as object_writer_new() stores them, under
 * FUZZ_OBJECT_NAME: each compression, plain and encrypted with FUZZ_KEY,
 * empty, and several chunks of 64 bytes.  backup_info/ and repo/:
 * descriptors from backup_info_format() and repo_descriptor_format().  An
 * encrypted object has a random salt, so a new run writes other bytes with
 * the same meaning.
 */
#include "fuzz.h"

#include "backup_info.h"
#include "cfg.h"
#include "object.h"
#include "repo.h"

static const char *dir;

static void
save(const char *sub, const char *name, const void *data, size_t len)
{
    char        path[4096];
    FILE       *f;

    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    f = fopen(path, "wb");
    if (f == NULL || (len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
        fuzz_fail("could not write \"%s\"", path);
}

static void
object(const char *name, int compression, bool encrypted, uint32_t chunk, const char *plain,
       size_t len)
{
    struct object_params op;
    struct ws_err err = WS_ERR_INIT;
    struct filter *mem = filter_mem_new(1 << 20);
    struct filter *head;
    const unsigned char *data;
    size_t      n;

    memset(&op, 0, sizeof(op));
    op.compression = compression;
    op.level = -1;
    op.master_key = encrypted ? (const unsigned char *) FUZZ_KEY : NULL;
    op.chunk_size = chunk;
    op.size_hint = UINT64_MAX;
    head = object_writer_new(&op, FUZZ_OBJECT_NAME, mem, &err);
    if (head == NULL || filter_write(head, plain, len, &err) < 0 ||
        filter_finish(head, &err) < 0)
        fuzz_fail("object %s: %s", name, err.msg);
    data = filter_mem_data(mem, &n);
    save("object", name, data, n);
    filter_free(head);
}

static void
backup_infos(void)
{
    struct backup_info b;
    struct backup_object o;
    struct ws_err err = WS_ERR_INIT;
    char       *text;

    memset(&b, 0, sizeof(b));
    b.format = BACKUP_INFO_FORMAT;
    strcpy(b.id, "20261203T020000Z");
    strcpy(b.label, "walship 20261203T020000Z");
    b.complete = true;
    b.system_identifier = 7711723603362438925ULL;
    b.pg_version = 150018;
    b.start_timeline = b.timeline = 1;
    b.start_lsn = UINT64_C(0x31A000028);
    b.stop_lsn = UINT64_C(0x31A000138);
    strcpy(b.start_wal, "00000001000000030000001A");
    strcpy(b.stop_wal, "00000001000000030000001A");
    b.start_time_us = INT64_C(1796263200101906);
    b.stop_time_us = INT64_C(1796263470551872);
    b.wal_time_us = INT64_C(1796263470812040);
    strcpy(b.compression, "zstd");
    strcpy(b.encryption, "none");
    b.size = 2668435968u;
    b.stored = 607634958;
    text = backup_info_format(&b);
    save("backup_info", "minimal", text, strlen(text));
    free(text);

    if (backup_info_add_tablespace(&b, 16385, "/srv/pg/ts 'archive'\t\\", &err) < 0)
        fuzz_fail("%s", err.msg);
    strcpy(b.label, "it's a \"label\" \\ with\ttab\n");
    memset(&o, 0, sizeof(o));
    strcpy(o.name, "16385.tar.0");
    o.tablespace = 16385;
    o.size = 402654720;
    o.stored = 88710355;
    o.xxh64 = UINT64_C(0x5e0c1b7d92a4f3e1);
    backup_info_add_object(&b, &o, &err);
    strcpy(o.name, "base.tar.0");
    o.tablespace = 0;
    backup_info_add_object(&b, &o, &err);
    strcpy(o.name, "base.tar.1");
    o.part = 1;
    backup_info_add_object(&b, &o, &err);
    strcpy(o.name, BACKUP_MANIFEST_NAME);
    o.part = 0;
    backup_info_add_object(&b, &o, &err);
    text = backup_info_format(&b);
    save("backup_info", "tablespace", text, strlen(text));
    free(text);
    backup_info_free(&b);
}

static void
repos(void)
{
    struct repo_descriptor d;
    char        text[8192];
    int         n;

    memset(&d, 0, sizeof(d));
    d.format_version = REPO_FORMAT_VERSION;
    strcpy(d.created, "2026-11-24T13:06:11Z");
    d.system_identifier = 7711723603362438925ULL;
    d.pg_major = 15;
    d.wal_segment_size = 16u << 20;
    d.encryption = CFG_ENCRYPT_NONE;
    n = repo_descriptor_format(&d, text, sizeof(text));
    save("repo", "plain", text, (size_t) n);
    d.encryption = CFG_ENCRYPT_AES_256_GCM;
    d.kdf.n = 32768;
    d.kdf.r = 8;
    d.kdf.p = 1;
    for (int i = 0; i < CRYPT_SALT_LEN; i++)
        d.kdf.salt[i] = (unsigned char) (0x5f + 13 * i);
    for (int i = 0; i < 32; i++)
        d.key_check[i] = (unsigned char) (0x9a + 7 * i);
    n = repo_descriptor_format(&d, text, sizeof(text));
    save("repo", "encrypted", text, (size_t) n);
}

int
main(int argc, char **argv)
{
    static char big[5000];

    if (argc != 2)
    {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char) ("walship "[i % 8] + (i / 997));
    object("none", CFG_COMPRESS_NONE, false, 0, "hello, walship\n", 15);
    object("zstd", CFG_COMPRESS_ZSTD, false, 0, big, sizeof(big));
    object("gzip", CFG_COMPRESS_GZIP, false, 0, big, sizeof(big));
    object("empty", CFG_COMPRESS_NONE, false, 0, "", 0);
    object("chunks", CFG_COMPRESS_NONE, false, 64, big, 300);
    object("aes_none", CFG_COMPRESS_NONE, true, 0, "hello, walship\n", 15);
    object("aes_zstd", CFG_COMPRESS_ZSTD, true, 64, big, sizeof(big));
    backup_infos();
    repos();
    return 0;
}
