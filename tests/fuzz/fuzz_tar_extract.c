/*
 * fuzz_tar_extract.c — the streaming tar extractor (tar.c) on arbitrary
 * archives.
 *
 * Each input is extracted into <scratch>/t, fed in pieces whose size
 * cycles through 1..700 bytes (header, pax and data boundaries fall
 * everywhere), with a tablespace mapping that rewrites some
 * pg_tblspc/<oid> links and keeps others.  Afterwards <scratch> must hold
 * only t/ and the empty outside/: nothing may be created next to the
 * target directory.  Both are emptied after each input, whatever modes the
 * archive gave its directories.  While fuzzing, a root process first
 * becomes "nobody" (fuzz.h).
 */
#include "fuzz.h"

#include "log.h"
#include "tar.h"

static char target[128];
static char outside[128];

static int
map(const char *path, const char *target_in, char *out, size_t outlen, void *arg)
{
    (void) path;
    (void) arg;
    if (strlen(target_in) % 2 == 0)
        return 1;               /* keep */
    snprintf(out, outlen, "/nonexistent/remapped/%s", target_in);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    struct tar_extract_opts o;
    struct ws_err err = WS_ERR_INIT;
    struct filter *x;
    int         rc = 0;

    if (!init)
    {
        fuzz_drop_root();
        log_set_level(LOG_LEVEL_ERROR);
        snprintf(target, sizeof(target), "%s/t", fuzz_scratch());
        snprintf(outside, sizeof(outside), "%s/outside", fuzz_scratch());
        if (mkdir(target, 0700) < 0 || mkdir(outside, 0700) < 0)
            fuzz_fail("mkdir: %s", strerror(errno));
        init = true;
    }
    memset(&o, 0, sizeof(o));
    o.target_dir = target;
    o.map_symlink = map;
    o.fsync = false;
    x = tar_extract_new(&o, &err);
    if (x == NULL)
        fuzz_fail("tar_extract_new: %s", err.msg);
    for (size_t off = 0, step = 1; off < size && rc == 0; off += step, step = step % 700 + 1)
    {
        if (step > size - off)
            step = size - off;
        rc = filter_write(x, data + off, step, &err);
    }
    if (rc == 0)
        rc = filter_finish(x, &err);
    if (rc < 0 && err.code != WS_ECORRUPT && err.code != WS_EIO && err.code != WS_ECONFIG &&
        err.code != WS_ENOSPC)
        fuzz_fail("unexpected error code %d: %s", (int) err.code, err.msg);
    filter_free(x);

    if (fuzz_count_entries(fuzz_scratch()) != 2 || fuzz_count_entries(outside) != 0)
        fuzz_fail("the archive created something outside the target directory");
    fuzz_empty_dir(target);
    return 0;
}
