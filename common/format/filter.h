/*
 * filter.h — push-style stream stages (PostgreSQL's astreamer, curl writers).
 *
 * A chain is built from the sink outwards: each stage is created with the
 * stage it feeds (`next`).  Bytes enter with filter_write(head, ...); the end
 * of the stream is filter_finish(head).
 *
 * One ownership rule, on success and on failure:
 *  - A constructor owns `next` from the moment it is called.  On success the
 *    new stage holds it; on failure the constructor frees it (filter_free)
 *    before returning NULL with err filled.  So whoever passed `next` never
 *    frees it again, and a failed constructor needs no cleanup by the caller
 *    beyond what it built above.
 *  - filter_free(head) frees the whole chain, head to sink.  Freeing a chain
 *    whose finish did not succeed aborts it: sinks remove what they had
 *    started (temporary files, uploads).
 *  - Finish cascades down: a stage's finish flushes what it holds, then
 *    finishes its successor (filter_finish(f->next)), so finishing the head
 *    finishes the sink last, after every stage above it passed.
 *  - A function that pushes bytes into a sink it was handed (storage_get,
 *    filter_pump_fd) only borrows it: it writes, and never finishes or frees
 *    it.  A whole-stream reader that verifies what it read (repo_get) also
 *    only borrows its sink, which it finishes once every check passed.  To
 *    put a borrowed sink at the end of a chain, put filter_borrow_new(sink)
 *    in front of it.
 * Sinks and stages without a successor (files, uploads, the tar extractor)
 * are created with no `next` and follow the same rule from there on.
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
struct filter *filter_hash_new(struct filter *next, struct ws_err *err);
void        filter_hash_result(const struct filter *f, uint64_t *size, uint64_t *xxh64);

/*
 * Tap: passes bytes on unchanged, counting them.  cb (may be NULL) is called
 * with each block's length before the block is passed on; returning -1 (err
 * set) cancels the write.  filter_tap_failed() says whether a write through
 * the tap failed (its callback or a later stage) rather than whatever pushes
 * into it.  next may be NULL (count and drop).
 */
typedef int (*filter_tap_fn) (void *arg, uint64_t len, struct ws_err *err);
struct filter *filter_tap_new(struct filter *next, filter_tap_fn cb, void *arg,
                              struct ws_err *err);
uint64_t    filter_tap_bytes(const struct filter *f);
bool        filter_tap_failed(const struct filter *f);

/*
 * Borrow: the last stage in front of a sink that stays its owner's.  Writes
 * and finish go to sink; freeing the chain does not free it.  sink NULL:
 * the bytes are dropped.
 */
struct filter *filter_borrow_new(struct filter *sink, struct ws_err *err);

/* Memory sink, for tests and small objects: fails (WS_EINTERNAL) past cap bytes. */
struct filter *filter_mem_new(size_t cap);
const unsigned char *filter_mem_data(const struct filter *f, size_t *len);
bool        filter_mem_overflowed(const struct filter *f);
/* A malloc'd NUL-terminated copy of a memory sink's bytes (*len excludes the NUL). */
int         filter_mem_copy(const struct filter *f, unsigned char **buf, size_t *len,
                            struct ws_err *err);

/*
 * File sink: writes to a temporary file in the directory of `path`
 * ("<path>.walship-tmp.<pid>"), fsyncs it on finish.  filter_file_commit
 * then renames it to `path` and fsyncs the directory, so `path` never holds
 * a partial file.  Freeing without commit removes the temporary file.
 */
struct filter *filter_file_new(const char *path, struct ws_err *err);
int         filter_file_commit(struct filter *f, struct ws_err *err);
/* The same, under another name in the same directory (known only once the data is in). */
int         filter_file_commit_to(struct filter *f, const char *path, struct ws_err *err);
/*
 * Before the first write: no fsync of the file nor of its directory (still
 * a temporary name and a rename), for a file whose reader makes it durable
 * itself or throws it away (restore_command's %p, restore.c).
 */
void        filter_file_no_sync(struct filter *f);

/* --- compression ------------------------------------------------------- */
/* alg: enum cfg_compression values (0 none, 1 zstd, 2 gzip).  level -1 = default. */
struct filter *filter_compress_new(int alg, int level, int threads, struct filter *next,
                                   struct ws_err *err);
/* Announce the exact input size before the first write (zstd tunes for it). */
int         filter_compress_pledge(struct filter *f, uint64_t size);
struct filter *filter_decompress_new(int alg, struct filter *next, struct ws_err *err);
int         filter_compress_default_level(int alg);

#endif
