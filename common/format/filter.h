/*
 * filter.h — push-style stream stages (PostgreSQL's astreamer, curl writers).
 *
 * A chain is built from the sink outwards: each stage is created with the
 * stage it feeds (`next`) and takes ownership of it, so filter_free(head)
 * frees the whole chain.  Bytes enter with filter_write(head, ...); the end
 * of the stream is filter_finish(head), which flushes each stage and finishes
 * the next one in turn.  Freeing a chain whose finish did not succeed aborts
 * it: sinks remove what they had started (temporary files, uploads).
 *
 * A constructor that fails returns NULL, fills err, and leaves `next` with
 * the caller (who frees it).
 *
 * Stages keep all their state in their own struct: a chain is not shared
 * between threads, but any number of chains run in parallel.
 */
#ifndef WS_FILTER_H
#define WS_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

struct filter;

struct filter_ops
{
    const char *name;
    int         (*write) (struct filter *f, const void *buf, size_t len, struct ws_err *err);
    int         (*finish) (struct filter *f, struct ws_err *err);  /* flush; finish next */
    void        (*free) (struct filter *f);         /* own state only; not next */
};

struct filter
{
    const struct filter_ops *ops;
    struct filter *next;
    bool        finished;
};

int         filter_write(struct filter *f, const void *buf, size_t len, struct ws_err *err);
int         filter_finish(struct filter *f, struct ws_err *err);
void        filter_free(struct filter *f);     /* whole chain; NULL is fine */

/* Read fd to end of file, writing into f (not finishing it). */
int         filter_pump_fd(int fd, const char *what, struct filter *f, struct ws_err *err);

/* --- pass-through and terminal stages --------------------------------- */

/* Counts bytes and computes XXH64 (seed 0) of what passes; next may be NULL. */
struct filter *filter_hash_new(struct filter *next);
void        filter_hash_result(const struct filter *f, uint64_t *size, uint64_t *xxh64);

/* Memory sink, for tests and small objects: fails (WS_EINTERNAL) past cap bytes. */
struct filter *filter_mem_new(size_t cap);
const unsigned char *filter_mem_data(const struct filter *f, size_t *len);
bool        filter_mem_overflowed(const struct filter *f);

/*
 * File sink: writes to a temporary file in the directory of `path`
 * ("<path>.walship-tmp.<pid>"), fsyncs it on finish.  filter_file_commit
 * then renames it to `path` and fsyncs the directory, so `path` never holds
 * a partial file.  Freeing without commit removes the temporary file.
 */
struct filter *filter_file_new(const char *path, struct ws_err *err);
int         filter_file_commit(struct filter *f, struct ws_err *err);

/* --- compression ------------------------------------------------------- */
/* alg: enum cfg_compression values (0 none, 1 zstd, 2 gzip).  level -1 = default. */
struct filter *filter_compress_new(int alg, int level, int threads, struct filter *next,
                                   struct ws_err *err);
/* Announce the exact input size before the first write (zstd tunes for it). */
int         filter_compress_pledge(struct filter *f, uint64_t size);
struct filter *filter_decompress_new(int alg, struct filter *next, struct ws_err *err);
int         filter_compress_default_level(int alg);

#endif
