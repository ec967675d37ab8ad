/*
 * test_kv.c — "key = value" lines (common/base/kv.c) and whole small files
 * (common/base/smallfile.c), the two halves of reading walship.conf.
 *
 * Line tables in the three dialects the repository uses: walship.conf
 * (flags 0), bare descriptor tokens (repo's walship.repo) and descriptor
 * values that run to the end of the line with \xHH escapes (backup.info).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kv.h"
#include "smallfile.h"

struct kv_case
{
    char        line[64];
    unsigned    flags;
    enum kv_status status;
    char        key[16];        /* expected key, "" for none */
    char        value[32];      /* KV_OK: the value; KV_BAD_KEY/KV_TRAILING: the text at `at` */
};

ParameterizedTestParameters(kv, parse)
{
    static struct kv_case c[] = {
        {"", 0, KV_EMPTY, "", ""},
        {"   \t\r", 0, KV_EMPTY, "", ""},
        {"  # comment = x", 0, KV_EMPTY, "", ""},
        {"repo = /r", 0, KV_OK, "repo", "/r"},
        {"repo=/r#c", 0, KV_OK, "repo", "/r"},
        {"Repo /r  # c", 0, KV_OK, "Repo", "/r"},
        {"\tlog_level\t=\tDEBUG\r", 0, KV_OK, "log_level", "DEBUG"},
        {"repo = 'it''s here' # c", 0, KV_OK, "repo", "it's here"},
        {"repo 'a\\'b'", 0, KV_OK, "repo", "a'b"},
        {"repo = \"d\\\"q #x\"", 0, KV_OK, "repo", "d\"q #x"},
        {"repo = 't\\tn\\n\\\\'", 0, KV_OK, "repo", "t\tn\n\\"},
        {"repo = ''", 0, KV_OK, "repo", ""},
        {"repo = '\\x41'", 0, KV_OK, "repo", "x41"},
        {"repo = '\\x41\\x2'", KV_HEX_ESCAPES, KV_OK, "repo", "Ax2"},
        {"label = a b  # c \t", KV_BARE_TO_EOL, KV_OK, "label", "a b  # c"},
        {"label = 'q' ", KV_BARE_TO_EOL, KV_OK, "label", "q"},
        {"= x", 0, KV_BAD_KEY, "", "= x"},
        {"1repo = x", 0, KV_BAD_KEY, "", "1repo = x"},
        {"repo: x", 0, KV_BAD_KEY, "repo", ": x"},
        {"repo =", 0, KV_NO_VALUE, "repo", ""},
        {"repo = # nothing", 0, KV_NO_VALUE, "repo", ""},
        {"repo 'abc", 0, KV_UNTERMINATED, "repo", ""},
        {"repo 'abc\\'", 0, KV_UNTERMINATED, "repo", ""},
        {"repo 'abc\\", 0, KV_UNTERMINATED, "repo", ""},
        {"repo = a b", 0, KV_TRAILING, "repo", "b"},
        {"repo 'a' 'b'", 0, KV_TRAILING, "repo", "'b'"},
        {"repo = ab'c'", 0, KV_TRAILING, "repo", "'c'"},
    };

    return cr_make_param_array(struct kv_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct kv_case *c, kv, parse)
{
    char        line[64];
    struct kv_pair kv;

    memcpy(line, c->line, sizeof(line));
    cr_assert_eq(kv_parse(line, c->flags, &kv), c->status, "<%s>", c->line);
    cr_assert_eq(kv.keylen, strlen(c->key), "<%s>", c->line);
    if (kv.keylen > 0)
        cr_assert_eq(strncmp(kv.key, c->key, kv.keylen), 0, "<%s>", c->line);
    if (c->status == KV_OK)
        cr_assert_str_eq(kv.value, c->value, "<%s>", c->line);
    else if (c->status == KV_BAD_KEY || c->status == KV_TRAILING)
        cr_assert_str_eq(kv.at, c->value, "<%s>", c->line);
}

Test(kv, lines)
{
    char        text[] = "a = 1\n\nb = 2\r\nlast";
    struct kv_lines it;
    size_t      n;
    char       *l;

    kv_lines_init(&it, text, sizeof(text) - 1);
    cr_assert_str_eq(kv_lines_next(&it, &n), "a = 1");
    cr_assert_eq(it.lineno, 1);
    cr_assert_str_eq(kv_lines_next(&it, &n), "");
    cr_assert_str_eq(kv_lines_next(&it, &n), "b = 2\r");
    l = kv_lines_next(&it, &n);
    cr_assert_str_eq(l, "last");
    cr_assert_eq(n, 4);
    cr_assert_eq(it.lineno, 4);
    cr_assert_null(kv_lines_next(&it, &n));
}

Test(kv, lines_nul_inside_and_final_newline)
{
    char        text[] = "a = x\0y\nb\n";
    struct kv_lines it;
    size_t      n;
    char       *l;

    kv_lines_init(&it, text, sizeof(text) - 1);
    l = kv_lines_next(&it, &n);
    cr_assert_eq(n, 7);
    cr_assert_neq(strlen(l), n, "the NUL shows as a short strlen");
    cr_assert_str_eq(kv_lines_next(&it, &n), "b");
    cr_assert_null(kv_lines_next(&it, &n), "no empty line after the final newline");
}

/* ---- smallfile ------------------------------------------------------------ */

static char dir[64];

static void
setup(void)
{
    strcpy(dir, "/tmp/ws_test_kv_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
    char        cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static const char *
mkfile(const char *name, mode_t mode, const char *content, size_t len)
{
    static char path[128];
    int         fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, content, len), (ssize_t) len);
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

static int
refuse_shared(const char *path, const struct stat *st, struct ws_err *err)
{
    return (st->st_mode & 077) ? err_set(err, WS_ECONFIG, "\"%s\" is shared", path) : 0;
}

TestSuite(smallfile, .init = setup, .fini = teardown);

Test(smallfile, read_whole_file)
{
    struct ws_err err = WS_ERR_INIT;
    const char *p = mkfile("f", 0600, "abc\0def", 7);
    char       *data = NULL;
    size_t      len = 0;

    cr_assert_eq(smallfile_read(p, "test file", 7, WS_ECONFIG, refuse_shared, &data, &len, &err),
                 0, "%s", err.msg);
    cr_assert_eq(len, 7);
    cr_assert_eq(memcmp(data, "abc\0def", 8), 0, "NUL after the data");
    smallfile_free(data, len);
    smallfile_free(NULL, 0);
}

Test(smallfile, larger_than_cap)
{
    struct ws_err err = WS_ERR_INIT;
    const char *p = mkfile("f", 0600, "12345678", 8);
    char       *data = (char *) 1;
    size_t      len = 1;

    cr_assert_eq(smallfile_read(p, "test file", 7, WS_ECONFIG, NULL, &data, &len, &err), -2);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, "test file") != NULL && strstr(err.msg, "too large") != NULL,
              "%s", err.msg);
    cr_assert_null(data);
    cr_assert_eq(len, 0);
    /* /dev/zero costs a bounded read */
    cr_assert_eq(smallfile_read("/dev/zero", "test file", 100, WS_OK, NULL, &data, &len, &err), -2);
    cr_assert_eq(err.code, WS_EINPUT);
}

Test(smallfile, missing_and_refused)
{
    struct ws_err err = WS_ERR_INIT;
    char       *data;
    size_t      len;
    char        path[128];
    const char *p;

    snprintf(path, sizeof(path), "%s/absent", dir);
    cr_assert_eq(smallfile_read(path, "test file", 10, WS_ECONFIG, NULL, &data, &len, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert_eq(err.sys_errno, ENOENT);
    cr_assert(strstr(err.msg, "could not open test file \"") != NULL, "%s", err.msg);
    cr_assert_eq(smallfile_read(path, "test file", 10, WS_OK, NULL, &data, &len, &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);

    p = mkfile("shared", 0644, "x", 1);
    cr_assert_eq(smallfile_read(p, "test file", 10, WS_ECONFIG, refuse_shared, &data, &len, &err),
                 -1);
    cr_assert(strstr(err.msg, "is shared") != NULL, "%s", err.msg);
    cr_assert_null(data);

    cr_assert_eq(smallfile_read(dir, "test file", 10, WS_ECONFIG, NULL, &data, &len, &err), -1);
    cr_assert(strstr(err.msg, "could not read test file") != NULL, "%s", err.msg);
}
