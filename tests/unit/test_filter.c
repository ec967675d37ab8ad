/*
 * test_filter.c — the file sink (filter_file_new), which walship-restore
 * hands PostgreSQL's %p through: it never writes through a link planted at
 * its temporary name, and a leftover temporary file is replaced, not reused.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "filter.h"

static char scratch[64];

static void
setup(void)
{
    harness_clear_walship_env();
    harness_scratch(scratch, sizeof(scratch), "filter");
}

static void
teardown(void)
{
    harness_rm_scratch(scratch);
}

TestSuite(filter, .init = setup, .fini = teardown);

static void
put_file(const char *path, const char *text)
{
    FILE       *f = fopen(path, "w");

    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

static void
expect_file(const char *path, const char *text)
{
    char        buf[256] = "";
    FILE       *f = fopen(path, "r");
    size_t      n;

    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    cr_assert_str_eq(buf, text, "%s", path);
}

static void
write_through_sink(const char *path, const char *text)
{
    struct ws_err err = WS_ERR_INIT;
    struct filter *f = filter_file_new(path, &err);

    cr_assert_not_null(f, "filter_file_new: %s", err.msg);
    cr_assert_eq(filter_write(f, text, strlen(text), &err), 0, "%s", err.msg);
    cr_assert_eq(filter_finish(f, &err), 0, "%s", err.msg);
    cr_assert_eq(filter_file_commit(f, &err), 0, "%s", err.msg);
    filter_free(f);
}

Test(filter, file_sink_never_writes_through_a_link_at_its_temporary_name)
{
    char        victim[PATH_MAX + 16], out[PATH_MAX + 16], tmp[PATH_MAX + 64];
    struct stat sb;

    snprintf(victim, sizeof(victim), "%s/victim", scratch);
    snprintf(out, sizeof(out), "%s/RECOVERYXLOG", scratch);
    snprintf(tmp, sizeof(tmp), "%s.walship-tmp.%ld", out, (long) getpid());
    put_file(victim, "keep me\n");
    cr_assert_eq(symlink(victim, tmp), 0, "symlink: %s", strerror(errno));

    write_through_sink(out, "restored\n");
    expect_file(victim, "keep me\n");
    expect_file(out, "restored\n");
    cr_assert_eq(lstat(out, &sb), 0);
    cr_assert(S_ISREG(sb.st_mode), "the result is a regular file, not the planted link");
    cr_assert_eq(sb.st_mode & 0777, 0600);
}

Test(filter, file_sink_replaces_a_leftover_temporary_file)
{
    char        out[PATH_MAX + 16], tmp[PATH_MAX + 64];

    snprintf(out, sizeof(out), "%s/seg", scratch);
    snprintf(tmp, sizeof(tmp), "%s.walship-tmp.%ld", out, (long) getpid());
    put_file(tmp, "a longer leftover from a crashed run\n");
    write_through_sink(out, "new\n");
    expect_file(out, "new\n");
    cr_assert_neq(access(tmp, F_OK), 0, "no temporary file left");
}
