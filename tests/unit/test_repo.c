/*
 * test_repo.c — the repository descriptor and repo_open: format/parse round
 * trips and parse errors, creation on first open (mode 0600), binding to a
 * cluster, encryption mismatches, wrong passphrase, a tampered encrypted
 * descriptor, concurrent creation, and that no secret reaches the descriptor.
 * The derived-key cache: private, never on disk (refused), warnings for an
 * unusable directory.  The scrypt parameters of new repositories, and a
 * repository made with the old ones (N = 2^15) still opening.  The named
 * objects (plain and encrypted): round trip, create-if-absent conflict
 * (WS_EEXISTS), replace, a flipped byte, another key or another name
 * (WS_ECORRUPT), peek on truncated and extended objects, progress and
 * cancel, the sink staying the caller's; raw keys, stat, list, delete,
 * sync; one handle used by several threads.
 *
 * Every test runs in its own forked process: .init clears WALSHIP_*, points
 * WALSHIP_CONFIG at an empty file (so /etc/walship.conf never leaks in) and
 * makes a scratch directory under /tmp and one on /dev/shm (tmpfs) for the
 * key cache, both removed by .fini.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <pthread.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "pgcontrol.h"
#include "repo.h"
#include "restore.h"
#include "harness.h"


#define SYSID 7301234567890123456ULL
#define OTHER_SYSID 7309876543210987654ULL
#define SEG_SIZE (16u * 1024 * 1024)
#define PASSPHRASE "correct horse battery staple"

static char scratch[64];
static char shm_scratch[64];     /* on /dev/shm (tmpfs): where the key cache goes */
static char disk_scratch[PATH_MAX];  /* on a disk file system, if a test made one */
static char repo_dir[PATH_MAX];
static char desc_path[PATH_MAX + 32];

/* ---- fixtures ----------------------------------------------------------- */

static void
setup(void)
{
    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
    harness_scratch(scratch, sizeof(scratch), "repo");
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo", scratch);
    cr_assert_eq(mkdir(repo_dir, 0700), 0);
    snprintf(desc_path, sizeof(desc_path), "%s/%s", repo_dir, REPO_DESCRIPTOR_KEY);
    /* the derived-key cache must be on a memory-backed file system */
    snprintf(shm_scratch, sizeof(shm_scratch), "/dev/shm/ws_test_repo_XXXXXX");
    if (mkdtemp(shm_scratch) == NULL)
        shm_scratch[0] = '\0';
    disk_scratch[0] = '\0';
}

static void
teardown(void)
{
    harness_rm_scratch(scratch);
    harness_rm_scratch(shm_scratch);
    harness_rm_scratch(disk_scratch);
}

TestSuite(repo, .init = setup, .fini = teardown);

/* ---- helpers ---------------------------------------------------------------- */

/*
 * A configuration as cfg_load makes it, then repo/encryption set directly.
 * encryption_key_cache comes from the environment, as an operator would set
 * it (NULL: keep the built-in default).
 */
static void
make_cfg_cache(struct cfg *cfg, const char *repo, enum cfg_encryption enc, const char *pass,
               const char *key_cache)
{
    struct ws_err err = WS_ERR_INIT;
    char      **rest = NULL;
    int         nrest = 0;

    if (key_cache != NULL)
        setenv("WALSHIP_ENCRYPTION_KEY_CACHE", key_cache, 1);
    cr_assert_eq(cfg_load(cfg, 1, (char *[]){"walship-test", NULL}, &rest, &nrest, &err), 0,
                 "cfg_load: %s", err.msg);
    unsetenv("WALSHIP_ENCRYPTION_KEY_CACHE");
    free(rest);
    snprintf(cfg->repo, sizeof(cfg->repo), "%s", repo);
    cfg->encryption = enc;
    snprintf(cfg->encryption_passphrase, sizeof(cfg->encryption_passphrase), "%s",
             pass ? pass : "");
}

/* The derived-key cache in the tmpfs scratch directory. */
static void
make_cfg(struct cfg *cfg, const char *repo, enum cfg_encryption enc, const char *pass)
{
    cr_assert_neq(shm_scratch[0], '\0', "no scratch directory on /dev/shm");
    make_cfg_cache(cfg, repo, enc, pass, shm_scratch);
}

static struct pg_control
make_pgc(uint64_t sysid, uint32_t seg_size)
{
    struct pg_control pgc;

    memset(&pgc, 0, sizeof(pgc));
    pgc.system_identifier = sysid;
    pgc.pg_control_version = 1300;
    pgc.catalog_version = 202209061;
    pgc.wal_segment_size = seg_size;
    pgc.block_size = 8192;
    pgc.wal_block_size = 8192;
    pgc.pg_major = 15;
    return pgc;
}

static char *
read_text(const char *path, size_t *lenp)
{
    FILE       *f = fopen(path, "rb");
    char       *buf;
    long        len;

    cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t) len + 1);
    cr_assert_eq(fread(buf, 1, (size_t) len, f), (size_t) len);
    buf[len] = '\0';
    fclose(f);
    if (lenp)
        *lenp = (size_t) len;
    return buf;
}

static void
write_text(const char *path, const char *text, size_t len)
{
    int         fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, text, len), (ssize_t) len);
    close(fd);
}

/* Create the repository (as archiving the first WAL file would). */
static struct repo *
create_repo(enum cfg_encryption enc, const char *pass)
{
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;

    make_cfg(&cfg, repo_dir, enc, pass);
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "repo_open: %s", err.msg);
    cr_assert_not_null(r);
    return r;
}

static void
fill_desc(struct repo_descriptor *d, int enc)
{
    memset(d, 0, sizeof(*d));
    d->format_version = REPO_FORMAT_VERSION;
    strcpy(d->created, "2024-02-29T23:59:58Z");
    d->system_identifier = UINT64_MAX - 12345;     /* needs all 64 bits */
    d->pg_major = 16;
    d->wal_segment_size = 64u * 1024 * 1024;
    d->encryption = enc;
    if (enc != CFG_ENCRYPT_NONE)
    {
        d->kdf.n = 1u << 15;
        d->kdf.r = 8;
        d->kdf.p = 1;
        for (int i = 0; i < CRYPT_SALT_LEN; i++)
            d->kdf.salt[i] = (unsigned char) (0xf0 + i);
        for (int i = 0; i < 32; i++)
            d->key_check[i] = (unsigned char) (i * 37 + 1);
    }
}

/* ---- format / parse ------------------------------------------------------------ */

ParameterizedTestParameters(repo, descriptor_roundtrip)
{
    static int  encs[] = {CFG_ENCRYPT_NONE, CFG_ENCRYPT_AES_256_GCM};

    return cr_make_param_array(int, encs, sizeof(encs) / sizeof(encs[0]));
}

ParameterizedTest(int *enc, repo, descriptor_roundtrip)
{
    struct repo_descriptor d, back;
    struct ws_err err = WS_ERR_INIT;
    char        text[8192];
    char        again[8192];
    int         n;

    fill_desc(&d, *enc);
    n = repo_descriptor_format(&d, text, sizeof(text));
    cr_assert_gt(n, 0);
    cr_assert_eq((size_t) n, strlen(text));
    cr_assert_eq(repo_descriptor_parse(text, &back, &err), 0, "%s\n%s", err.msg, text);
    cr_assert_eq(back.format_version, d.format_version);
    cr_assert_str_eq(back.created, d.created);
    cr_assert_eq(back.system_identifier, d.system_identifier);
    cr_assert_eq(back.pg_major, d.pg_major);
    cr_assert_eq(back.wal_segment_size, d.wal_segment_size);
    cr_assert_eq(back.encryption, d.encryption);
    cr_assert_eq(back.kdf.n, d.kdf.n);
    cr_assert_eq(back.kdf.r, d.kdf.r);
    cr_assert_eq(back.kdf.p, d.kdf.p);
    cr_assert_arr_eq(back.kdf.salt, d.kdf.salt, CRYPT_SALT_LEN);
    cr_assert_arr_eq(back.key_check, d.key_check, 32);
    /* formatting what was parsed gives the same text */
    cr_assert_eq(repo_descriptor_format(&back, again, sizeof(again)), n);
    cr_assert_str_eq(again, text);
    /* the unencrypted form has no key material at all */
    if (*enc == CFG_ENCRYPT_NONE)
        cr_assert_null(strstr(text, "kdf"), "%s", text);
    else
        cr_assert_not_null(strstr(text, "key_check = "), "%s", text);
}

Test(repo, descriptor_format_buffer_too_small)
{
    struct repo_descriptor d;
    char        text[8192];
    int         n;

    fill_desc(&d, CFG_ENCRYPT_AES_256_GCM);
    n = repo_descriptor_format(&d, text, sizeof(text));
    cr_assert_gt(n, 0);
    cr_assert_eq(repo_descriptor_format(&d, text, (size_t) n), -1, "no room for the NUL");
    cr_assert_eq(repo_descriptor_format(&d, text, 100), -1);
    cr_assert_eq(repo_descriptor_format(&d, text, (size_t) n + 1), n);
}

/*
 * Parse errors.  Each case edits the formatted text of a valid descriptor:
 * `find` is replaced by `repl` (find "" means: the text is `repl`).
 * Parameters hold arrays: Criterion may re-execute the test binary, where
 * pointers to literals are not valid.
 */
struct parse_case
{
    int         enc;
    char        find[48];
    char        repl[96];
    char        expect[64];     /* substring of the message */
};

ParameterizedTestParameters(repo, descriptor_parse_errors)
{
    static struct parse_case cases[] = {
        {0, "", "", "incomplete"},
        {0, "", "# only a comment\n\n", "incomplete"},
        {0, "system_identifier = 18446744073709539270\n", "", "incomplete"},
        {0, "pg_version = 16\n", "", "incomplete"},
        {0, "wal_segment_size = 67108864\n", "", "incomplete"},
        {0, "encryption = none\n", "", "incomplete"},
        {0, "format_version = 1\n", "", "incomplete"},
        {0, "created = 2024-02-29T23:59:58Z\n", "", "incomplete"},
        {0, "pg_version = 16\n", "pg_version = 16\nthis line is not key = value at all\n",
            "malformed"},
        {0, "pg_version = 16\n", "pg_version 16\n", "malformed"},
        {0, "pg_version = 16\n", "pg_version =\n", "malformed"},
        {0, "pg_version = 16\n", "PG_VERSION = 16\n", "malformed"},
        {0, "format_version = 1\n", "format_version = 2\n", "version 2 is not supported"},
        {0, "format_version = 1\n", "format_version = 0\n", "version"},
        {0, "encryption = none\n", "encryption = rot13\n", "unknown encryption"},
        {1, "kdf = scrypt\n", "kdf = argon2id\n", "unknown kdf"},
        {1, "kdf_salt = f0f1", "kdf_salt = zzf1", "invalid kdf_salt"},
        {1, "kdf_salt = f0f1", "kdf_salt = f0f1f2", "invalid kdf_salt"},
        {1, "kdf_salt = f0f1", "kdf_salt = f1", "invalid kdf_salt"},
        {1, "key_check = 01", "key_check = 0", "invalid key_check"},
        {1, "key_check = 01", "key_check = xx", "invalid key_check"},
        {1, "key_check = ", "key_check_removed = ", "lacks key_check"},
        {1, "kdf_salt = ", "kdf_salt_removed = ", "lacks kdf_salt"},
        /* an unencrypted descriptor claiming encryption has no key material */
        {0, "encryption = none\n", "encryption = aes-256-gcm\n", "lacks kdf"},
        /* every scrypt parameter is needed, not only the salt (found by fuzz_repo) */
        {1, "kdf = scrypt\n", "", "lacks kdf"},
        {1, "kdf_n = 32768\n", "", "lacks kdf_n"},
        {1, "kdf_r = 8\n", "", "lacks kdf_r"},
        {1, "kdf_p = 1\n", "", "lacks kdf_p"},
    };

    return cr_make_param_array(struct parse_case, cases, sizeof(cases) / sizeof(cases[0]));
}

static void
edit_text(const char *in, const char *find, const char *repl, char *out, size_t outlen)
{
    const char *at;

    if (find[0] == '\0')
    {
        snprintf(out, outlen, "%s", repl);
        return;
    }
    at = strstr(in, find);
    cr_assert_not_null(at, "\"%s\" not in descriptor:\n%s", find, in);
    snprintf(out, outlen, "%.*s%s%s", (int) (at - in), in, repl, at + strlen(find));
}

ParameterizedTest(struct parse_case *c, repo, descriptor_parse_errors)
{
    struct repo_descriptor d, back;
    struct ws_err err = WS_ERR_INIT;
    char        text[8192];
    char        edited[8192];

    fill_desc(&d, c->enc);
    cr_assert_gt(repo_descriptor_format(&d, text, sizeof(text)), 0);
    edit_text(text, c->find, c->repl, edited, sizeof(edited));
    cr_assert_eq(repo_descriptor_parse(edited, &back, &err), -1, "accepted:\n%s", edited);
    cr_assert_eq(err.code, WS_ECORRUPT, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, c->expect), "message <%s> lacks <%s>", err.msg, c->expect);
}

Test(repo, descriptor_parse_line_too_long)
{
    struct repo_descriptor d, back;
    struct ws_err err = WS_ERR_INIT;
    char        text[8192];
    char        edited[8192 + 1024];
    char        comment[1000];

    fill_desc(&d, CFG_ENCRYPT_NONE);
    cr_assert_gt(repo_descriptor_format(&d, text, sizeof(text)), 0);
    memset(comment, 'x', sizeof(comment));
    comment[0] = '#';
    comment[sizeof(comment) - 1] = '\0';
    snprintf(edited, sizeof(edited), "%s%s\n", text, comment);
    cr_assert_eq(repo_descriptor_parse(edited, &back, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT);
    cr_assert_not_null(strstr(err.msg, "too long"), "%s", err.msg);
}

Test(repo, descriptor_parse_tolerates_unknown_keys_and_no_final_newline)
{
    struct repo_descriptor d, back;
    struct ws_err err = WS_ERR_INIT;
    char        text[8192];
    char        edited[8192 + 64];
    int         n;

    fill_desc(&d, CFG_ENCRYPT_NONE);
    n = repo_descriptor_format(&d, text, sizeof(text));
    cr_assert_gt(n, 0);
    text[n - 1] = '\0';         /* drop the final newline */
    snprintf(edited, sizeof(edited), "future_key = something\n%s", text);
    cr_assert_eq(repo_descriptor_parse(edited, &back, &err), 0, "%s", err.msg);
    cr_assert_eq(back.system_identifier, d.system_identifier);
    cr_assert_eq(back.encryption, CFG_ENCRYPT_NONE);
}

/*
 * Forward compatibility: a newer walship may add keys, with digits in their
 * names and any text as their value; this version ignores them, and blank
 * lines and CRLF line ends.  A known key's value is one word: anything
 * after it on the line is an error, not silently dropped.
 */
Test(repo, descriptor_parse_ignores_new_keys_with_digits)
{
    struct repo_descriptor d, back;
    struct ws_err err = WS_ERR_INIT;
    char        text[8192];
    char        edited[8192 + 256];

    fill_desc(&d, CFG_ENCRYPT_AES_256_GCM);
    cr_assert_gt(repo_descriptor_format(&d, text, sizeof(text)), 0);
    snprintf(edited, sizeof(edited), "%spart2_size = 5\nkdf2 = argon2id m=65536 t=3\n"
             "x9 =\n\r\n   \nv10_note = \t spaced out  \r\n", text);
    cr_assert_eq(repo_descriptor_parse(edited, &back, &err), 0, "%s\n%s", err.msg, edited);
    cr_assert_eq(back.system_identifier, d.system_identifier);
    cr_assert_eq(back.kdf.n, d.kdf.n);
    cr_assert_eq(memcmp(back.key_check, d.key_check, 32), 0);

    /* keys still start with a lower-case letter */
    snprintf(edited, sizeof(edited), "%s2part = 5\n", text);
    cr_assert_eq(repo_descriptor_parse(edited, &back, &err), -1, "accepted:\n%s", edited);
    cr_assert_not_null(strstr(err.msg, "malformed"), "%s", err.msg);
    err_clear(&err);

    /* trailing words after a known key's value */
    edit_text(text, "pg_version = 16\n", "pg_version = 16 17\n", edited, sizeof(edited));
    cr_assert_eq(repo_descriptor_parse(edited, &back, &err), -1, "accepted:\n%s", edited);
    cr_assert_eq(err.code, WS_ECORRUPT);
    cr_assert_not_null(strstr(err.msg, "malformed"), "%s", err.msg);
}

/*
 * Numeric fields must be numbers: a descriptor whose system identifier is
 * "banana" is corrupt, not a repository of database system 0.
 */
struct value_case
{
    char        find[48];
    char        repl[64];
};

ParameterizedTestParameters(repo, descriptor_parse_rejects_bad_numbers)
{
    static struct value_case cases[] = {
        {"system_identifier = 18446744073709539270", "system_identifier = banana"},
        {"system_identifier = 18446744073709539270", "system_identifier = 123abc"},
        {"system_identifier = 18446744073709539270", "system_identifier = 99999999999999999999"},
        {"format_version = 1", "format_version = 1x"},
        {"wal_segment_size = 67108864", "wal_segment_size = -1"},
        {"wal_segment_size = 67108864", "wal_segment_size = lots"},
        {"pg_version = 16", "pg_version = sixteen"},
    };

    return cr_make_param_array(struct value_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct value_case *c, repo, descriptor_parse_rejects_bad_numbers)
{
    struct repo_descriptor d, back;
    struct ws_err err = WS_ERR_INIT;
    char        text[8192];
    char        edited[8192];

    fill_desc(&d, CFG_ENCRYPT_NONE);
    cr_assert_gt(repo_descriptor_format(&d, text, sizeof(text)), 0);
    edit_text(text, c->find, c->repl, edited, sizeof(edited));
    cr_assert_eq(repo_descriptor_parse(edited, &back, &err), -1,
                 "accepted \"%s\" (system_identifier %" PRIu64 ", wal_segment_size %u, "
                 "format_version %d, pg_version %u)", c->repl, back.system_identifier,
                 back.wal_segment_size, back.format_version, back.pg_major);
    cr_assert_eq(err.code, WS_ECORRUPT, "code %s: %s", err_code_name(err.code), err.msg);
}

/* ---- repo_open: creation and binding ------------------------------------------------ */

Test(repo, open_creates_descriptor_then_reads_it)
{
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL, *r2 = NULL, *r3 = NULL;
    struct repo_descriptor parsed;
    struct stat sb;
    char       *text, *text2;
    char        sysid[32];

    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_NONE, NULL);
    cr_assert_neq(access(desc_path, F_OK), 0);
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "%s", err.msg);
    cr_assert_not_null(r);
    cr_assert_not(repo_encrypted(r));
    cr_assert_eq(repo_descriptor(r)->system_identifier, SYSID);
    cr_assert_eq(repo_descriptor(r)->wal_segment_size, SEG_SIZE);
    cr_assert_eq(repo_descriptor(r)->pg_major, 15);
    cr_assert_eq(repo_descriptor(r)->format_version, REPO_FORMAT_VERSION);
    cr_assert_eq(repo_descriptor(r)->encryption, CFG_ENCRYPT_NONE);
    cr_assert_eq(strlen(repo_descriptor(r)->created), 20, "created = \"%s\"",
                 repo_descriptor(r)->created);
    repo_close(r);

    cr_assert_eq(stat(desc_path, &sb), 0, "%s was not created", desc_path);
    cr_assert(S_ISREG(sb.st_mode));
    cr_assert_eq(sb.st_mode & 07777, 0600, "mode %o", (unsigned) (sb.st_mode & 07777));
    text = read_text(desc_path, NULL);
    cr_assert_eq(repo_descriptor_parse(text, &parsed, &err), 0, "%s", err.msg);
    snprintf(sysid, sizeof(sysid), "%llu", (unsigned long long) SYSID);
    cr_assert_not_null(strstr(text, sysid), "%s", text);
    cr_assert_eq(parsed.wal_segment_size, SEG_SIZE);

    /* second open (bound, and unbound as restore does) reads the same descriptor */
    cr_assert_eq(repo_open(&cfg, &pgc, &r2, &err), 0, "%s", err.msg);
    cr_assert_str_eq(repo_descriptor(r2)->created, parsed.created);
    cr_assert_eq(repo_descriptor(r2)->system_identifier, SYSID);
    repo_close(r2);
    cr_assert_eq(repo_open(&cfg, NULL, &r3, &err), 0, "%s", err.msg);
    cr_assert_eq(repo_descriptor(r3)->system_identifier, SYSID);
    cr_assert_eq(repo_descriptor(r3)->pg_major, 15);
    cr_assert_str_eq(repo_descriptor(r3)->created, parsed.created);
    cr_assert_eq(repo_check_cluster(r3, &pgc, &err), 0, "%s", err.msg);
    repo_close(r3);

    /* opening did not rewrite it */
    text2 = read_text(desc_path, NULL);
    cr_assert_str_eq(text2, text);
    free(text);
    free(text2);
}

Test(repo, open_other_cluster_is_mismatch)
{
    struct cfg  cfg;
    struct pg_control other = make_pgc(OTHER_SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;
    char        a[32], b[32];
    char       *before, *after;

    repo_close(create_repo(CFG_ENCRYPT_NONE, NULL));
    before = read_text(desc_path, NULL);
    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_NONE, NULL);
    cr_assert_eq(repo_open(&cfg, &other, &r, &err), -1);
    cr_assert_null(r);
    cr_assert_eq(err.code, WS_EMISMATCH, "code %s: %s", err_code_name(err.code), err.msg);
    snprintf(a, sizeof(a), "%llu", (unsigned long long) SYSID);
    snprintf(b, sizeof(b), "%llu", (unsigned long long) OTHER_SYSID);
    cr_assert_not_null(strstr(err.msg, a), "message lacks the repository's identifier: %s",
                       err.msg);
    cr_assert_not_null(strstr(err.msg, b), "message lacks the cluster's identifier: %s", err.msg);
    cr_assert_not_null(strstr(err.msg, repo_dir), "message lacks the repository: %s", err.msg);
    after = read_text(desc_path, NULL);
    cr_assert_str_eq(after, before, "the descriptor was rewritten");
    free(before);
    free(after);
}

Test(repo, open_other_segment_size_is_mismatch)
{
    struct cfg  cfg;
    struct pg_control other = make_pgc(SYSID, 64u * 1024 * 1024);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;

    repo_close(create_repo(CFG_ENCRYPT_NONE, NULL));
    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_NONE, NULL);
    cr_assert_eq(repo_open(&cfg, &other, &r, &err), -1);
    cr_assert_eq(err.code, WS_EMISMATCH, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, "16777216"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "67108864"), "%s", err.msg);
}

Test(repo, open_without_bind_on_empty_dir)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = (struct repo *) 1;
    DIR        *d;
    struct dirent *de;
    int         entries = 0;

    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_NONE, NULL);
    cr_assert_eq(repo_open(&cfg, NULL, &r, &err), -1);
    cr_assert_null(r);
    cr_assert_neq(err.code, WS_OK);
    cr_assert_neq(err.code, WS_ENOTFOUND, "an unusable repository must not look like \"not found\"");
    cr_assert_not_null(strstr(err.msg, "not a walship repository"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, repo_dir), "%s", err.msg);
    /* nothing was created */
    d = opendir(repo_dir);
    cr_assert_not_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            entries++;
    closedir(d);
    cr_assert_eq(entries, 0);
}

Test(repo, open_missing_or_unset_repository)
{
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;
    char        missing[PATH_MAX];

    snprintf(missing, sizeof(missing), "%s/nope", scratch);
    make_cfg(&cfg, missing, CFG_ENCRYPT_NONE, NULL);
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), -1);
    cr_assert_eq(err.code, WS_EIO, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, missing), "%s", err.msg);
    cr_assert_neq(access(missing, F_OK), 0, "repo_open created the repository directory");

    make_cfg(&cfg, "", CFG_ENCRYPT_NONE, NULL);
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "code %s: %s", err_code_name(err.code), err.msg);
}

Test(repo, open_garbage_descriptor_is_corrupt)
{
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;
    static const char garbage[] = "\x89PNG\r\n\x1a\nnot a descriptor\n";

    write_text(desc_path, garbage, sizeof(garbage) - 1);
    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_NONE, NULL);
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, repo_dir), "message does not name the repository: %s",
                       err.msg);
    /* and it was not replaced by a fresh one */
    cr_assert_eq(repo_open(&cfg, NULL, &r, &err), -1);
}

Test(repo, open_oversized_descriptor_fails)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;
    char       *big = malloc(20000);

    memset(big, '#', 20000);
    for (int i = 100; i < 20000; i += 100)
        big[i] = '\n';
    write_text(desc_path, big, 20000);
    free(big);
    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_NONE, NULL);
    cr_assert_eq(repo_open(&cfg, NULL, &r, &err), -1);
    /* not ours, or damaged: corrupt, like any other unreadable descriptor */
    cr_assert_eq(err.code, WS_ECORRUPT, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, repo_dir), "message does not name the repository: %s",
                       err.msg);
}

/* Several archivers start on an empty repository at once: all agree on one descriptor. */
ParameterizedTestParameters(repo, concurrent_creation)
{
    static int  encs[] = {CFG_ENCRYPT_NONE, CFG_ENCRYPT_AES_256_GCM};

    return cr_make_param_array(int, encs, sizeof(encs) / sizeof(encs[0]));
}

ParameterizedTest(int *enc, repo, concurrent_creation, .timeout = 120)
{
    enum { NPROC = 4 };
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    unsigned char masters[NPROC][CRYPT_KEY_LEN];
    char        created[NPROC][32];
    pid_t       pids[NPROC];
    int         pipes[NPROC][2];
    int         go[2];
    DIR        *d;
    struct dirent *de;
    int         entries = 0;

    make_cfg(&cfg, repo_dir, (enum cfg_encryption) *enc, PASSPHRASE);
    cr_assert_eq(pipe(go), 0);
    for (int i = 0; i < NPROC; i++)
    {
        cr_assert_eq(pipe(pipes[i]), 0);
        pids[i] = fork();
        cr_assert(pids[i] >= 0);
        if (pids[i] == 0)
        {
            struct ws_err cerr = WS_ERR_INIT;
            struct repo *r = NULL;
            char        c;

            close(go[1]);
            (void) read(go[0], &c, 1);
            if (repo_open(&cfg, &pgc, &r, &cerr) < 0)
            {
                fprintf(stderr, "child %d: %s\n", i, cerr.msg);
                _exit(1);
            }
            {
                static const unsigned char none[CRYPT_KEY_LEN];
                const unsigned char *k = repo_test_master_key(r);

                (void) write(pipes[i][1], k != NULL ? k : none, CRYPT_KEY_LEN);
            }
            (void) write(pipes[i][1], repo_descriptor(r)->created, 32);
            repo_close(r);
            _exit(0);
        }
        close(pipes[i][1]);
    }
    close(go[0]);
    close(go[1]);
    for (int i = 0; i < NPROC; i++)
    {
        int         status;

        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "opener %d failed", i);
        cr_assert_eq(read(pipes[i][0], masters[i], CRYPT_KEY_LEN), CRYPT_KEY_LEN);
        cr_assert_eq(read(pipes[i][0], created[i], 32), 32);
        close(pipes[i][0]);
    }
    for (int i = 1; i < NPROC; i++)
    {
        cr_assert_arr_eq(masters[i], masters[0], CRYPT_KEY_LEN, "openers derived different keys");
        cr_assert_str_eq(created[i], created[0]);
    }
    d = opendir(repo_dir);
    cr_assert_not_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
        {
            cr_assert_str_eq(de->d_name, REPO_DESCRIPTOR_KEY, "left behind: %s", de->d_name);
            entries++;
        }
    closedir(d);
    cr_assert_eq(entries, 1);
}

Test(repo, check_cluster)
{
    struct repo *r = create_repo(CFG_ENCRYPT_NONE, NULL);
    struct pg_control same = make_pgc(SYSID, SEG_SIZE);
    struct pg_control other = make_pgc(SYSID + 1, SEG_SIZE);
    struct pg_control seg = make_pgc(SYSID, 1024 * 1024);
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(repo_check_cluster(r, &same, &err), 0, "%s", err.msg);
    cr_assert_eq(repo_check_cluster(r, &other, &err), -1);
    cr_assert_eq(err.code, WS_EMISMATCH);
    cr_assert_neq(err.hint[0], '\0');
    cr_assert_eq(repo_check_cluster(r, &seg, &err), -1);
    cr_assert_eq(err.code, WS_EMISMATCH);
    repo_close(r);
}

/* One repository, one major: a cluster of another major is refused, with
 * the way on (new repository or prefix), whether pg_upgrade kept the
 * system identifier or not. */
Test(repo, check_cluster_major)
{
    struct repo *r = create_repo(CFG_ENCRYPT_NONE, NULL);
    struct pg_control upgraded = make_pgc(SYSID, SEG_SIZE);
    struct pg_control upgraded_new_id = make_pgc(SYSID + 1, SEG_SIZE);
    struct pg_control unknown = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;

    upgraded.pg_major = 18;
    cr_assert_eq(repo_check_cluster(r, &upgraded, &err), -1);
    cr_assert_eq(err.code, WS_EMISMATCH, "%s", err_code_name(err.code));
    cr_assert(strstr(err.msg, "PostgreSQL 15") != NULL && strstr(err.msg, "PostgreSQL 18") != NULL,
              "%s", err.msg);
    cr_assert(strstr(err.msg, repo_dir) != NULL, "%s", err.msg);
    cr_assert(strstr(err.hint, "new repository") != NULL && strstr(err.hint, "prefix") != NULL,
              "hint: %s", err.hint);

    /* pg_upgrade's new cluster has a new identifier: that error, with the upgrade hint */
    upgraded_new_id.pg_major = 18;
    err_clear(&err);
    cr_assert_eq(repo_check_cluster(r, &upgraded_new_id, &err), -1);
    cr_assert_eq(err.code, WS_EMISMATCH);
    cr_assert(strstr(err.hint, "pg_upgrade") != NULL && strstr(err.hint, "18") != NULL,
              "hint: %s", err.hint);

    /* a cluster whose major is unknown (no PG_VERSION, pg_control_version 1300) */
    unknown.pg_major = 0;
    cr_assert_eq(repo_check_cluster(r, &unknown, &err), 0, "%s", err.msg);
    repo_close(r);
}

/* A descriptor written without a major (pg_version = 0) keeps working for any. */
Test(repo, descriptor_without_major_accepts_any)
{
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;

    pgc.pg_major = 0;
    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_NONE, NULL);
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "%s", err.msg);
    cr_assert_eq(repo_descriptor(r)->pg_major, 0u);
    repo_close(r);
    pgc.pg_major = 18;
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "%s", err.msg);
    repo_close(r);
}

/* ---- encryption ---------------------------------------------------------------- */

Test(repo, encrypted_create_and_reopen)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    struct repo *r2 = NULL;
    unsigned char zero[CRYPT_KEY_LEN] = {0};
    struct stat sb;

    cr_assert(repo_encrypted(r));
    cr_assert_eq(repo_descriptor(r)->encryption, CFG_ENCRYPT_AES_256_GCM);
    cr_assert_neq(memcmp(repo_test_master_key(r), zero, CRYPT_KEY_LEN), 0);
    cr_assert_eq(repo_descriptor(r)->kdf.n, 1u << 17);
    cr_assert_eq(stat(desc_path, &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0600, "mode %o", (unsigned) (sb.st_mode & 07777));

    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    cr_assert_eq(repo_open(&cfg, NULL, &r2, &err), 0, "%s", err.msg);
    cr_assert(repo_encrypted(r2));
    cr_assert_arr_eq(repo_test_master_key(r2), repo_test_master_key(r), CRYPT_KEY_LEN,
                     "reopening derived another key");
    cr_assert_arr_eq(repo_descriptor(r2)->kdf.salt, repo_descriptor(r)->kdf.salt,
                     CRYPT_SALT_LEN);
    repo_close(r2);
    repo_close(r);
}

Test(repo, two_repositories_have_distinct_salts_and_keys)
{
    struct repo *r1 = create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    struct repo *r2;

    snprintf(repo_dir, sizeof(repo_dir), "%s/repo2", scratch);
    cr_assert_eq(mkdir(repo_dir, 0700), 0);
    r2 = create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    cr_assert_neq(memcmp(repo_descriptor(r1)->kdf.salt, repo_descriptor(r2)->kdf.salt,
                         CRYPT_SALT_LEN), 0);
    cr_assert_neq(memcmp(repo_test_master_key(r1), repo_test_master_key(r2), CRYPT_KEY_LEN), 0,
                  "same passphrase, same key in two repositories");
    repo_close(r1);
    repo_close(r2);
}

struct enc_mismatch
{
    int         repo_enc;
    int         cfg_enc;
};

ParameterizedTestParameters(repo, encryption_mismatch)
{
    static struct enc_mismatch cases[] = {
        {CFG_ENCRYPT_AES_256_GCM, CFG_ENCRYPT_NONE},
        {CFG_ENCRYPT_NONE, CFG_ENCRYPT_AES_256_GCM},
    };

    return cr_make_param_array(struct enc_mismatch, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct enc_mismatch *c, repo, encryption_mismatch)
{
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;
    char       *before, *after;

    repo_close(create_repo((enum cfg_encryption) c->repo_enc, PASSPHRASE));
    before = read_text(desc_path, NULL);
    make_cfg(&cfg, repo_dir, (enum cfg_encryption) c->cfg_enc, PASSPHRASE);
    for (int bound = 0; bound < 2; bound++)
    {
        err_clear(&err);
        cr_assert_eq(repo_open(&cfg, bound ? &pgc : NULL, &r, &err), -1,
                     "repository %s opened with encryption = %s",
                     cfg_encryption_name(c->repo_enc), cfg_encryption_name(c->cfg_enc));
        cr_assert_null(r);
        cr_assert_eq(err.code, WS_ECONFIG, "code %s: %s", err_code_name(err.code), err.msg);
        cr_assert_not_null(strstr(err.msg, cfg_encryption_name(c->repo_enc)), "%s", err.msg);
        cr_assert_not_null(strstr(err.msg, cfg_encryption_name(c->cfg_enc)), "%s", err.msg);
    }
    after = read_text(desc_path, NULL);
    cr_assert_str_eq(after, before);
    free(before);
    free(after);
}

Test(repo, wrong_passphrase)
{
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;
    const char *wrong[] = {"correct horse battery stapl", "Correct horse battery staple", ""};

    repo_close(create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE));
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
    {
        make_cfg(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, wrong[i]);
        err_clear(&err);
        cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), -1, "opened with \"%s\"", wrong[i]);
        cr_assert_null(r);
        cr_assert_eq(err.code, WS_EAUTH, "\"%s\": code %s: %s", wrong[i],
                     err_code_name(err.code), err.msg);
        cr_assert_not_null(strstr(err.msg, "passphrase"), "%s", err.msg);
        if (wrong[i][0] != '\0')
            cr_assert_null(strstr(err.msg, wrong[i]), "the passphrase is in the message");
    }
    /* the right one still works */
    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "%s", err.msg);
    repo_close(r);
}

/* Fields of an encrypted descriptor altered on disk: never a successful open. */
enum tamper
{
    T_SYSID,
    T_SYSID_DIGIT,
    T_PG_VERSION,
    T_SEG_SIZE,
    T_CREATED,
    T_FORMAT_TEXT,
    T_KDF_N_DOWN,
    T_KDF_N_UP,
    T_KDF_N_BAD,
    T_KDF_R,
    T_KDF_P,
    T_SALT,
    T_KEY_CHECK,
    T_KEY_CHECK_ZERO,
};

ParameterizedTestParameters(repo, tampered_encrypted_descriptor)
{
    static enum tamper cases[] = {
        T_SYSID, T_SYSID_DIGIT, T_PG_VERSION, T_SEG_SIZE, T_CREATED, T_FORMAT_TEXT,
        T_KDF_N_DOWN, T_KDF_N_UP, T_KDF_N_BAD, T_KDF_R, T_KDF_P, T_SALT, T_KEY_CHECK,
        T_KEY_CHECK_ZERO,
    };

    return cr_make_param_array(enum tamper, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(enum tamper *t, repo, tampered_encrypted_descriptor, .timeout = 60)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;
    struct repo_descriptor d;
    char       *text, *orig;
    char        out[8192];
    size_t      len;
    int         n;

    repo_close(create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE));
    text = read_text(desc_path, &len);
    orig = strdup(text);
    cr_assert_eq(repo_descriptor_parse(text, &d, &err), 0, "%s", err.msg);
    switch (*t)
    {
        case T_SYSID:
            d.system_identifier ^= 1;
            break;
        case T_SYSID_DIGIT:
            {
                /* edit the text itself: change one digit */
                char       *p = strstr(text, "system_identifier = ");

                cr_assert_not_null(p);
                p += strlen("system_identifier = ") + 5;
                *p = *p == '9' ? '0' : (char) (*p + 1);
                cr_assert_eq(repo_descriptor_parse(text, &d, &err), 0, "%s", err.msg);
                break;
            }
        case T_PG_VERSION:
            d.pg_major = 16;
            break;
        case T_SEG_SIZE:
            d.wal_segment_size = 64u * 1024 * 1024;
            break;
        case T_CREATED:
            d.created[3] = d.created[3] == '9' ? '0' : (char) (d.created[3] + 1);
            break;
        case T_FORMAT_TEXT:
            /* a space more than the canonical form: same values, so not tampering */
            break;
        case T_KDF_N_DOWN:
            d.kdf.n /= 2;
            break;
        case T_KDF_N_UP:
            d.kdf.n *= 2;
            break;
        case T_KDF_N_BAD:
            d.kdf.n = 12345;
            break;
        case T_KDF_R:
            d.kdf.r = 4;
            break;
        case T_KDF_P:
            d.kdf.p = 2;
            break;
        case T_SALT:
            d.kdf.salt[7] ^= 0x40;
            break;
        case T_KEY_CHECK:
            d.key_check[31] ^= 1;
            break;
        case T_KEY_CHECK_ZERO:
            memset(d.key_check, 0, sizeof(d.key_check));
            break;
    }
    n = repo_descriptor_format(&d, out, sizeof(out));
    cr_assert_gt(n, 0);
    if (*t == T_FORMAT_TEXT)
    {
        /* cosmetic change only: must still open (the check covers values, not layout) */
        char        edited[8192];

        edit_text(out, "pg_version = ", "pg_version =  ", edited, sizeof(edited));
        write_text(desc_path, edited, strlen(edited));
        make_cfg(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
        cr_assert_eq(repo_open(&cfg, NULL, &r, &err), 0, "%s", err.msg);
        repo_close(r);
        free(text);
        free(orig);
        return;
    }
    cr_assert_neq(strcmp(out, orig), 0, "the edit changed nothing");
    write_text(desc_path, out, (size_t) n);
    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    cr_assert_eq(repo_open(&cfg, NULL, &r, &err), -1, "altered descriptor accepted:\n%s", out);
    cr_assert_null(r);
    cr_assert(err.code == WS_EAUTH || err.code == WS_ECORRUPT, "code %s: %s",
              err_code_name(err.code), err.msg);
    free(text);
    free(orig);
}

static bool
contains(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
    return memmem(hay, hlen, needle, nlen) != NULL;
}

Test(repo, descriptor_holds_no_secret)
{
    struct repo *r = create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    char       *text;
    size_t      len;
    char        hex[2 * CRYPT_KEY_LEN + 1];
    char        hexup[2 * CRYPT_KEY_LEN + 1];

    text = read_text(desc_path, &len);
    cr_assert_not(contains(text, len, PASSPHRASE, strlen(PASSPHRASE)),
                  "the passphrase is in the descriptor");
    cr_assert_not(contains(text, len, "horse", 5));
    cr_assert_not(contains(text, len, repo_test_master_key(r), CRYPT_KEY_LEN),
                  "raw master key in descriptor");
    for (int i = 0; i < CRYPT_KEY_LEN; i++)
    {
        snprintf(hex + 2 * i, 3, "%02x", repo_test_master_key(r)[i]);
        snprintf(hexup + 2 * i, 3, "%02X", repo_test_master_key(r)[i]);
    }
    cr_assert_not(contains(text, len, hex, 16), "hex master key in descriptor");
    cr_assert_not(contains(text, len, hexup, 16), "hex master key in descriptor");
    /* what it does hold: the KDF parameters and a key check */
    cr_assert_not_null(strstr(text, "kdf = scrypt"), "%s", text);
    cr_assert_not_null(strstr(text, "key_check = "), "%s", text);
    repo_close(r);
    free(text);
}

/* ---- derived-key cache --------------------------------------------------------- */

static const char *
cache_dir(void)
{
    static char dir[PATH_MAX];

    snprintf(dir, sizeof(dir), "%s/walship-%ld", shm_scratch, (long) geteuid());
    return dir;
}

/* Files in the cache directory; the first one's path in first (if any). */
static int
cache_files(char *first, size_t len)
{
    DIR        *d = opendir(cache_dir());
    struct dirent *de;
    int         n = 0;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL)
    {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n++ == 0 && first)
            snprintf(first, len, "%s/%s", cache_dir(), de->d_name);
    }
    closedir(d);
    return n;
}

Test(repo, key_cache_is_private_and_outside_the_repository)
{
    struct repo *r = create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    char        path[PATH_MAX + 300];
    struct stat sb;
    unsigned char buf[64];
    int         fd;
    DIR        *d;
    struct dirent *de;

    cr_assert_eq(cache_files(path, sizeof(path)), 1);
    cr_assert_eq(stat(cache_dir(), &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0700, "cache dir mode %o", (unsigned) (sb.st_mode & 07777));
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0600, "cache file mode %o", (unsigned) (sb.st_mode & 07777));
    cr_assert_eq(sb.st_size, CRYPT_KEY_LEN);
    cr_assert_null(strstr(path, "horse"));
    fd = open(path, O_RDONLY);
    cr_assert(fd >= 0);
    cr_assert_eq(read(fd, buf, sizeof(buf)), CRYPT_KEY_LEN);
    close(fd);
    cr_assert_arr_eq(buf, repo_test_master_key(r), CRYPT_KEY_LEN);
    /* the repository holds the descriptor only */
    d = opendir(repo_dir);
    cr_assert_not_null(d);
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            cr_assert_str_eq(de->d_name, REPO_DESCRIPTOR_KEY);
    closedir(d);
    repo_close(r);
}

Test(repo, key_cache_does_not_bypass_the_passphrase)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;

    repo_close(create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE));
    cr_assert_eq(cache_files(NULL, 0), 1);
    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, "not the passphrase");
    cr_assert_eq(repo_open(&cfg, NULL, &r, &err), -1, "a cached key opened the repository");
    cr_assert_eq(err.code, WS_EAUTH, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_eq(cache_files(NULL, 0), 1, "a wrong passphrase was cached");
}

Test(repo, key_cache_poisoned_entry_is_not_used)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    struct repo *r2 = NULL;
    unsigned char master[CRYPT_KEY_LEN];
    unsigned char bogus[CRYPT_KEY_LEN];
    unsigned char buf[CRYPT_KEY_LEN];
    char        path[PATH_MAX + 300];
    int         fd;

    memcpy(master, repo_test_master_key(r), sizeof(master));
    repo_close(r);
    cr_assert_eq(cache_files(path, sizeof(path)), 1);
    memset(bogus, 'A', sizeof(bogus));
    write_text(path, (const char *) bogus, sizeof(bogus));
    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    cr_assert_eq(repo_open(&cfg, NULL, &r2, &err), 0, "%s", err.msg);
    cr_assert_arr_eq(repo_test_master_key(r2), master, CRYPT_KEY_LEN,
                     "the poisoned cached key was used");
    repo_close(r2);
    fd = open(path, O_RDONLY);
    cr_assert(fd >= 0);
    cr_assert_eq(read(fd, buf, sizeof(buf)), CRYPT_KEY_LEN);
    close(fd);
    cr_assert_arr_eq(buf, master, CRYPT_KEY_LEN, "the cache entry was not repaired");
}

Test(repo, key_cache_shared_directory_is_ignored)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    char        path[PATH_MAX + 300];

    repo_close(r);
    cr_assert_eq(cache_files(path, sizeof(path)), 1);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(chmod(cache_dir(), 0755), 0);
    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    cr_assert_eq(repo_open(&cfg, NULL, &r, &err), 0, "%s", err.msg);
    repo_close(r);
    cr_assert_eq(cache_files(NULL, 0), 0, "a key was cached in a group/world-readable directory");
}

Test(repo, key_cache_off)
{
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;

    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    snprintf(cfg.encryption_key_cache, sizeof(cfg.encryption_key_cache), "off");
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "%s", err.msg);
    repo_close(r);
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "%s", err.msg);
    repo_close(r);
    cr_assert_eq(cache_files(NULL, 0), -1, "the cache directory was created");
}

Test(repo, key_cache_one_entry_per_repository)
{
    struct repo *r1 = create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    struct repo *r2;

    snprintf(repo_dir, sizeof(repo_dir), "%s/repo2", scratch);
    cr_assert_eq(mkdir(repo_dir, 0700), 0);
    r2 = create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    cr_assert_eq(cache_files(NULL, 0), 2);
    repo_close(r1);
    repo_close(r2);
}

/* ---- key cache: only on memory-backed storage ------------------------------------- */

static bool
on_memory_fs(const char *dir)
{
    struct statfs sf;

    return statfs(dir, &sf) == 0 &&
        ((unsigned long) sf.f_type == TMPFS_MAGIC || (unsigned long) sf.f_type == RAMFS_MAGIC);
}

/* A fresh directory on a disk file system (the build tree, /var/tmp, /tmp), or skip. */
static const char *
disk_dir(void)
{
    const char *bases[] = {WS_BUILD_DIR, "/var/tmp", "/tmp"};

    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++)
    {
        if (on_memory_fs(bases[i]))
            continue;
        snprintf(disk_scratch, sizeof(disk_scratch), "%s/ws_test_keycache_XXXXXX", bases[i]);
        if (mkdtemp(disk_scratch) != NULL)
            return disk_scratch;
        disk_scratch[0] = '\0';
    }
    cr_skip_test("no writable directory on a disk file system (%s, /var/tmp, /tmp)",
                 WS_BUILD_DIR);
    return NULL;
}

/* Capture stderr into scratch/stderr.txt until stderr_text(). */
static int  saved_stderr = -1;

static void
stderr_capture(void)
{
    char        path[PATH_MAX];
    int         fd;

    snprintf(path, sizeof(path), "%s/stderr.txt", scratch);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(fd >= 0);
    fflush(stderr);
    saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

static char *
stderr_text(void)
{
    char        path[PATH_MAX];

    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    snprintf(path, sizeof(path), "%s/stderr.txt", scratch);
    return read_text(path, NULL);
}

static int
count_of(const char *hay, const char *needle)
{
    int         n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

Test(repo, key_cache_on_disk_is_refused)
{
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;
    const char *dir = disk_dir();
    char        sub[PATH_MAX + 32];

    /* creating a repository: refused before anything is written */
    make_cfg_cache(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE, dir);
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), -1, "a key cache on disk was accepted");
    cr_assert_null(r);
    cr_expect_eq(err.code, WS_ECONFIG, "code %s: %s", err_code_name(err.code), err.msg);
    cr_expect_not_null(strstr(err.msg, "encryption_key_cache"), "%s", err.msg);
    cr_expect_not_null(strstr(err.msg, dir), "%s", err.msg);
    cr_expect_not_null(strstr(err.msg, "memory-backed"), "%s", err.msg);
    cr_expect_not_null(strstr(err.hint, "/dev/shm"), "hint: %s", err.hint);
    cr_expect_not_null(strstr(err.hint, "off"), "hint: %s", err.hint);
    cr_expect_null(strstr(err.msg, PASSPHRASE));
    cr_expect_neq(access(desc_path, F_OK), 0, "the repository was created");
    snprintf(sub, sizeof(sub), "%s/walship-%ld", dir, (long) geteuid());
    cr_expect_neq(access(sub, F_OK), 0, "%s was created on disk", sub);

    /* an existing repository: refused as well */
    repo_close(create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE));
    make_cfg_cache(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE, dir);
    err_clear(&err);
    cr_assert_eq(repo_open(&cfg, NULL, &r, &err), -1, "a key cache on disk was accepted");
    cr_expect_eq(err.code, WS_ECONFIG, "code %s: %s", err_code_name(err.code), err.msg);
    cr_expect_neq(access(sub, F_OK), 0, "%s was created on disk", sub);

    /* an unencrypted repository never uses the cache: not refused */
    snprintf(repo_dir, sizeof(repo_dir), "%s/plain", scratch);
    cr_assert_eq(mkdir(repo_dir, 0700), 0);
    make_cfg_cache(&cfg, repo_dir, CFG_ENCRYPT_NONE, NULL, dir);
    cr_expect_eq(repo_open(&cfg, &pgc, &r, &err), 0, "%s", err.msg);
    repo_close(r);
}

/* The data directory itself (encryption_key_cache = .): the example of the issue. */
Test(repo, key_cache_dot_in_a_disk_directory_is_refused)
{
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;

    cr_assert_eq(chdir(disk_dir()), 0);
    make_cfg_cache(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE, ".");
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), -1, "encryption_key_cache = . accepted");
    cr_expect_eq(err.code, WS_ECONFIG, "code %s: %s", err_code_name(err.code), err.msg);
    cr_expect_not_null(strstr(err.msg, "encryption_key_cache"), "%s", err.msg);
}

Test(repo, key_cache_on_tmpfs_works)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;

    if (!on_memory_fs("/dev/shm"))
        cr_skip_test("/dev/shm is not tmpfs here");
    repo_close(create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE));
    cr_assert_eq(cache_files(NULL, 0), 1);
    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    cr_assert_eq(repo_open(&cfg, NULL, &r, &err), 0, "%s", err.msg);
    repo_close(r);
}

/* A directory that does not exist: no cache, no error, no warning (as before). */
Test(repo, key_cache_missing_directory_is_no_cache)
{
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;
    char        missing[PATH_MAX];
    char       *out;

    snprintf(missing, sizeof(missing), "%s/no-such-dir", scratch);
    make_cfg_cache(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE, missing);
    log_set_level(LOG_LEVEL_INFO);
    stderr_capture();
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "%s", err.msg);
    out = stderr_text();
    repo_close(r);
    cr_expect_neq(access(missing, F_OK), 0, "the directory was created");
    cr_expect_eq(count_of(out, "warning:"), 0, "%s", out);
    free(out);
}

/*
 * The built-in default (/dev/shm) is not the operator's choice: where it is
 * not memory-backed the cache is skipped with a warning instead of making
 * every command fail.  Modelled by a default-sourced value on disk.
 */
Test(repo, key_cache_default_on_disk_only_warns)
{
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;
    const char *dir = disk_dir();
    char        sub[PATH_MAX + 32];
    char       *out;

    make_cfg_cache(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE, NULL);
    snprintf(cfg.encryption_key_cache, sizeof(cfg.encryption_key_cache), "%s", dir);
    log_set_level(LOG_LEVEL_INFO);
    stderr_capture();
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "%s", err.msg);
    repo_close(r);
    cr_assert_eq(repo_open(&cfg, NULL, &r, &err), 0, "%s", err.msg);
    repo_close(r);
    out = stderr_text();
    snprintf(sub, sizeof(sub), "%s/walship-%ld", dir, (long) geteuid());
    cr_expect_neq(access(sub, F_OK), 0, "%s was created on disk", sub);
    cr_expect_eq(count_of(out, "warning:"), 1, "one warning per process:\n%s", out);
    cr_expect_not_null(strstr(out, dir), "%s", out);
    free(out);
}

/*
 * walship-<uid> owned by another user: the cache is skipped (every process
 * pays for scrypt), which is worth one warning per process, not a debug line.
 */
Test(repo, key_cache_other_owner_warns_once, .timeout = 60)
{
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;
    struct passwd *pw;
    char       *out;

    if (geteuid() != 0)
        cr_skip_test("needs root to give a directory to another user");
    pw = getpwnam("pgtest");
    if (pw == NULL)
        pw = getpwnam("nobody");
    if (pw == NULL)
        cr_skip_test("neither user pgtest nor nobody exists");
    cr_assert_eq(mkdir(cache_dir(), 0700), 0);
    cr_assert_eq(chown(cache_dir(), pw->pw_uid, pw->pw_gid), 0, "chown: %s", strerror(errno));
    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    log_set_level(LOG_LEVEL_INFO);
    stderr_capture();
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "%s", err.msg);
    repo_close(r);
    cr_assert_eq(repo_open(&cfg, NULL, &r, &err), 0, "%s", err.msg);
    repo_close(r);
    out = stderr_text();
    cr_expect_eq(cache_files(NULL, 0), 0, "a key was cached in another user's directory");
    cr_expect_eq(count_of(out, "warning:"), 1, "one warning per process:\n%s", out);
    cr_expect_not_null(strstr(out, cache_dir()), "%s", out);
    cr_expect_not_null(strstr(out, pw->pw_name), "names the owner:\n%s", out);
    free(out);
}

Test(repo, key_cache_group_readable_directory_warns)
{
    struct cfg  cfg;
    struct pg_control pgc = make_pgc(SYSID, SEG_SIZE);
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;
    char       *out;

    cr_assert_eq(mkdir(cache_dir(), 0750), 0);
    cr_assert_eq(chmod(cache_dir(), 0750), 0);
    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    log_set_level(LOG_LEVEL_INFO);
    stderr_capture();
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "%s", err.msg);
    repo_close(r);
    out = stderr_text();
    cr_expect_eq(cache_files(NULL, 0), 0);
    cr_expect_eq(count_of(out, "warning:"), 1, "%s", out);
    cr_expect_not_null(strstr(out, cache_dir()), "%s", out);
    free(out);
}

/* ---- key derivation parameters ------------------------------------------------- */

Test(repo, new_repository_records_scrypt_2_17, .timeout = 60)
{
    struct repo *r = create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    char       *text = read_text(desc_path, NULL);

    cr_expect_eq(repo_descriptor(r)->kdf.n, 131072u);
    cr_expect_eq(repo_descriptor(r)->kdf.r, 8u);
    cr_expect_eq(repo_descriptor(r)->kdf.p, 1u);
    cr_expect_not_null(strstr(text, "\nkdf_n = 131072\nkdf_r = 8\nkdf_p = 1\n"), "%s", text);
    repo_close(r);
    free(text);
}

/*
 * A repository made by walship before the change (scrypt N = 2^15): its
 * descriptor and one encrypted object, written by walship-archive then.  It
 * must still open with its recorded parameters and its object restore.
 */
static const char old_descriptor[] =
    "# walship repository descriptor: do not edit\n"
    "format_version = 1\n"
    "created = 2026-12-04T18:53:09Z\n"
    "system_identifier = 7715523123367026287\n"
    "pg_version = 15\n"
    "wal_segment_size = 16777216\n"
    "encryption = aes-256-gcm\n"
    "kdf = scrypt\n"
    "kdf_n = 32768\n"
    "kdf_r = 8\n"
    "kdf_p = 1\n"
    "kdf_salt = 91c6e4bcf4fd17ac836ea54cadcd4d5d\n"
    "key_check = 5402d5ee1176aabb1f017c32c77246dbba812cdbfa0d1ac1a6a4209ff5816cd0\n";

/* wal/00000002/00000002.history holding "1\t0/3000060\tno recovery target specified\n" */
static const char old_history_hex[] =
    "57534f424a0d0a1a01005b000101010000001000000000002900000000000000"
    "190c136b0000000004d921b1605bb0106358224b4db65c691d0077616c2f3030"
    "3030303030322f30303030303030322e686973746f7279aff37c753200000044"
    "0cbef056eb63c678a53b86910f8b5447b7065a4687cc8279dfa192ac5195a912"
    "00f022562460ba8bbeb5ab3c0c827b81e293a3dfe150eceea2ddc863c8633a9b"
    "7b3d20000000458eefc2051f467940b36b9a4e00d2f64e80480cdd1ee07ba4b8"
    "7ab69d780d27883fd3e3313b02442fcb31546ce98d3bc1";

Test(repo, old_repository_with_scrypt_2_15_still_opens, .timeout = 60)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;
    struct restore_stats st;
    unsigned char obj[sizeof(old_history_hex) / 2];
    char        dir[PATH_MAX + 32];
    char        path[PATH_MAX + 64];
    char        out[PATH_MAX + 32];
    char       *text;

    for (size_t i = 0; i < sizeof(obj); i++)
        cr_assert_eq(sscanf(old_history_hex + 2 * i, "%2hhx", &obj[i]), 1);
    write_text(desc_path, old_descriptor, strlen(old_descriptor));
    snprintf(dir, sizeof(dir), "%s/wal", repo_dir);
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(dir, sizeof(dir), "%s/wal/00000002", repo_dir);
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/00000002.history", dir);
    write_text(path, (const char *) obj, sizeof(obj));

    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    cr_assert_eq(repo_open(&cfg, NULL, &r, &err), 0, "%s", err.msg);
    cr_expect_eq(repo_descriptor(r)->kdf.n, 32768u);
    snprintf(out, sizeof(out), "%s/00000002.history", scratch);
    cr_assert_eq(restore_wal_file(&cfg, r, "00000002.history", out, &st, &err), 0, "%s",
                 err.msg);
    repo_close(r);
    text = read_text(out, NULL);
    cr_expect_str_eq(text, "1\t0/3000060\tno recovery target specified\n");
    free(text);
    /* the second open takes the key from the cache (entry for N = 2^15) */
    cr_expect_eq(cache_files(NULL, 0), 1);
    cr_assert_eq(repo_open(&cfg, NULL, &r, &err), 0, "%s", err.msg);
    repo_close(r);
    /* and the parameters are not rewritten */
    text = read_text(desc_path, NULL);
    cr_expect_str_eq(text, old_descriptor);
    free(text);
}

/* A tampered descriptor cannot make scrypt allocate gigabytes. */
Test(repo, scrypt_memory_is_capped, .timeout = 10)
{
    struct ws_err err = WS_ERR_INIT;
    struct crypt_kdf kdf;
    unsigned char master[CRYPT_KEY_LEN];

    memset(&kdf, 0, sizeof(kdf));
    kdf.n = 1u << 24;           /* each within its range: 16 GiB together */
    kdf.r = 8;
    kdf.p = 1;
    cr_assert_eq(crypt_derive_master("pw", &kdf, master, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT);
    cr_assert(strstr(err.msg, "MiB") != NULL && strstr(err.msg, "N=16777216") != NULL, "%s", err.msg);
    kdf.n = 1u << 20;           /* 1 GiB + slack: still over */
    cr_assert_eq(crypt_derive_master("pw", &kdf, master, &err), -1);
    kdf.n = 1u << 4;            /* tiny: fine */
    err_clear(&err);
    cr_assert_eq(crypt_derive_master("pw", &kdf, master, &err), 0, "%s", err.msg);
}

/* ---- named objects ------------------------------------------------------------- */

#define OBJ_KEY "wal/00000001/0000000100000000/000000010000000000000005"
#define OBJ_SIZE (300 * 1024 + 17)

ParameterizedTestParameters(repo, named_objects)
{
    static int encs[] = {CFG_ENCRYPT_NONE, CFG_ENCRYPT_AES_256_GCM};

    return cr_make_param_array(int, encs, 2);
}

/* Compressible, but not trivially: a counter and a few words. */
static unsigned char *
make_data(size_t len, unsigned seed)
{
    unsigned char *d = malloc(len);

    cr_assert_not_null(d);
    for (size_t i = 0; i < len; i++)
        d[i] = (i % 7 == 0) ? (unsigned char) (seed + i / 1000) : (unsigned char) "walship"[i % 7];
    return d;
}

static char *
obj_path(const char *key)
{
    static char path[PATH_MAX + 1100];

    snprintf(path, sizeof(path), "%s/%s", repo_dir, key);
    return path;
}

static void
put_ok(struct repo *r, const char *key, enum repo_put_mode mode, const void *data, size_t len,
       struct repo_object *out)
{
    struct repo_put p;
    struct ws_err err = WS_ERR_INIT;
    struct cfg  cfg;

    make_cfg(&cfg, repo_dir, CFG_ENCRYPT_NONE, NULL);
    cfg.compression = CFG_COMPRESS_ZSTD;
    cfg.compression_level = 3;
    repo_put_init(&p, &cfg);
    p.mode = mode;
    p.size_hint = len;
    p.size_exact = true;
    cr_assert_eq(repo_put_buffer(r, key, &p, data, len, out, &err), 0, "%s", err.msg);
}

/* Read key into a memory sink; returns the sink (caller frees). */
static struct filter *
get_mem(struct repo *r, const char *key, struct repo_read *rd, struct ws_err *err, int *rc)
{
    struct filter *mem = filter_mem_new(4 * 1024 * 1024);

    cr_assert_not_null(mem);
    memset(rd, 0, sizeof(*rd));
    *rc = repo_get(r, key, mem, rd, err);
    return mem;
}

static void
flip_byte(const char *path, off_t at)
{
    int         fd = open(path, O_RDWR);
    unsigned char c;

    cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(pread(fd, &c, 1, at), 1);
    c ^= 0x20;
    cr_assert_eq(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

static off_t
file_size(const char *path)
{
    struct stat sb;

    cr_assert_eq(stat(path, &sb), 0, "%s: %s", path, strerror(errno));
    return sb.st_size;
}

ParameterizedTest(int *enc, repo, named_objects, .timeout = 60)
{
    struct repo *r = create_repo((enum cfg_encryption) *enc, PASSPHRASE);
    unsigned char *data = make_data(OBJ_SIZE, 1);
    unsigned char *other = make_data(OBJ_SIZE / 2, 2);
    struct repo_object put, again;
    struct repo_read rd;
    struct ws_err err = WS_ERR_INIT;
    struct filter *mem;
    const unsigned char *got;
    size_t      len;
    char       *raw;
    size_t      rawlen;
    int         rc;

    cr_assert_eq(repo_encrypted(r), *enc != CFG_ENCRYPT_NONE);
    put_ok(r, OBJ_KEY, REPO_CREATE, data, OBJ_SIZE, &put);
    cr_assert_eq(put.size, OBJ_SIZE);
    cr_assert_eq(put.stored, (uint64_t) file_size(obj_path(OBJ_KEY)), "result %" PRIu64, put.stored);
    cr_assert_lt(put.stored, OBJ_SIZE, "not compressed");
    cr_assert_eq(put.compression, CFG_COMPRESS_ZSTD);
    cr_assert_eq(put.encrypted, *enc != CFG_ENCRYPT_NONE);
    cr_assert_eq(put.chunks, 1);

    /* encryption happens inside: nothing of the plaintext in the stored bytes */
    raw = read_text(obj_path(OBJ_KEY), &rawlen);
    cr_assert_eq(memcmp(raw, "WSOBJ\r\n\x1a", 8), 0);
    if (*enc != CFG_ENCRYPT_NONE)
        cr_assert_null(memmem(raw, rawlen, "walship", 7), "plaintext in an encrypted object");
    free(raw);

    /* read back, verified */
    mem = get_mem(r, OBJ_KEY, &rd, &err, &rc);
    cr_assert_eq(rc, 0, "%s", err.msg);
    got = filter_mem_data(mem, &len);
    cr_assert_eq(len, OBJ_SIZE);
    cr_assert_arr_eq(got, data, OBJ_SIZE);
    cr_assert(mem->finished, "the sink was not finished");
    cr_assert_eq(rd.obj.size, put.size);
    cr_assert_eq(rd.obj.stored, put.stored);
    cr_assert_eq(rd.obj.xxh64, put.xxh64);
    cr_assert_eq(rd.obj.chunks, put.chunks);
    cr_assert_eq(rd.obj.encrypted, put.encrypted);
    filter_free(mem);           /* the sink stayed ours */

    /* verify only */
    cr_assert_eq(repo_get(r, OBJ_KEY, NULL, NULL, &err), 0, "%s", err.msg);

    /* peek: the same, from header and end record */
    memset(&rd, 0, sizeof(rd));
    cr_assert_eq(repo_peek(r, OBJ_KEY, &rd, &err), 0, "%s", err.msg);
    cr_assert_eq(rd.obj.size, put.size);
    cr_assert_eq(rd.obj.stored, put.stored);
    cr_assert_eq(rd.obj.xxh64, put.xxh64);
    cr_assert_eq(rd.obj.compression, CFG_COMPRESS_ZSTD);

    /* create-if-absent: an existing key is WS_EEXISTS, the object unchanged */
    {
        struct repo_put p;

        repo_put_init(&p, NULL);
        cr_assert_eq(repo_put_buffer(r, OBJ_KEY, &p, other, OBJ_SIZE / 2, NULL, &err), -1);
        cr_assert_eq(err.code, WS_EEXISTS, "%s: %s", err_code_name(err.code), err.msg);
        cr_assert_eq(file_size(obj_path(OBJ_KEY)), (off_t) put.stored);
    }
    /* replace */
    put_ok(r, OBJ_KEY, REPO_REPLACE, other, OBJ_SIZE / 2, &again);
    mem = get_mem(r, OBJ_KEY, &rd, &err, &rc);
    cr_assert_eq(rc, 0, "%s", err.msg);
    got = filter_mem_data(mem, &len);
    cr_assert_eq(len, OBJ_SIZE / 2);
    cr_assert_arr_eq(got, other, OBJ_SIZE / 2);
    cr_assert_eq(rd.obj.xxh64, again.xxh64);
    filter_free(mem);

    free(data);
    free(other);
    repo_close(r);
}

ParameterizedTestParameters(repo, named_object_damage)
{
    static int encs[] = {CFG_ENCRYPT_NONE, CFG_ENCRYPT_AES_256_GCM};

    return cr_make_param_array(int, encs, 2);
}

ParameterizedTest(int *enc, repo, named_object_damage, .timeout = 60)
{
    struct repo *r = create_repo((enum cfg_encryption) *enc, PASSPHRASE);
    unsigned char *data = make_data(OBJ_SIZE, 3);
    const char *copy = "wal/00000001/0000000100000000/000000010000000000000006";
    struct repo_object put;
    struct repo_read rd;
    struct ws_err err = WS_ERR_INIT;
    struct filter *mem;
    size_t      len;
    char       *raw;
    size_t      rawlen;
    int         rc;

    put_ok(r, OBJ_KEY, REPO_CREATE, data, OBJ_SIZE, &put);
    raw = read_text(obj_path(OBJ_KEY), &rawlen);

    /* missing: WS_ENOTFOUND, nothing written, a storage answer */
    mem = get_mem(r, copy, &rd, &err, &rc);
    cr_assert_eq(rc, -1);
    cr_assert_eq(err.code, WS_ENOTFOUND, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert(rd.storage_failed);
    (void) filter_mem_data(mem, &len);
    cr_assert_eq(len, 0);
    cr_assert_not(mem->finished);
    filter_free(mem);
    memset(&rd, 0, sizeof(rd));
    cr_assert_eq(repo_peek(r, copy, &rd, &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);
    cr_assert(rd.storage_failed);

    /* the same bytes under another key: the name is bound into the header */
    cr_assert_eq(repo_raw_put(r, copy, REPO_CREATE, raw, rawlen, &err), 0, "%s", err.msg);
    mem = get_mem(r, copy, &rd, &err, &rc);
    cr_assert_eq(rc, -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not(rd.storage_failed);
    cr_assert_not(mem->finished);
    filter_free(mem);
    cr_assert_eq(repo_peek(r, copy, &rd, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not(rd.storage_failed);
    cr_assert_eq(repo_delete(r, copy, &err), 0, "%s", err.msg);

    /* a flipped byte in the body: get fails, the sink is never finished */
    flip_byte(obj_path(OBJ_KEY), (off_t) rawlen / 2);
    mem = get_mem(r, OBJ_KEY, &rd, &err, &rc);
    cr_assert_eq(rc, -1, "a flipped byte was not noticed");
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not(rd.storage_failed);
    cr_assert_not(mem->finished);
    filter_free(mem);
    /* peek reads only header and end record: it does not see that one */
    cr_assert_eq(repo_peek(r, OBJ_KEY, &rd, &err), 0, "%s", err.msg);
    flip_byte(obj_path(OBJ_KEY), (off_t) rawlen / 2);

    /* truncated by one byte, by a whole end record; extended by one byte */
    {
        static const long deltas[] = {-1, -53, -100, 1};

        for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++)
        {
            write_text(obj_path(OBJ_KEY), raw, (size_t) ((long) rawlen + (deltas[i] < 0 ? deltas[i] : 0)));
            if (deltas[i] > 0)
            {
                int         fd = open(obj_path(OBJ_KEY), O_WRONLY | O_APPEND);

                cr_assert(fd >= 0);
                cr_assert_eq(write(fd, "x", 1), 1);
                close(fd);
            }
            memset(&rd, 0, sizeof(rd));
            cr_assert_eq(repo_peek(r, OBJ_KEY, &rd, &err), -1, "delta %ld: peek passed", deltas[i]);
            cr_assert_eq(err.code, WS_ECORRUPT, "delta %ld: %s: %s", deltas[i],
                         err_code_name(err.code), err.msg);
            cr_assert_not(rd.storage_failed);
            cr_assert_not_null(strstr(err.msg, OBJ_KEY), "%s", err.msg);
            cr_assert_eq(repo_get(r, OBJ_KEY, NULL, &rd, &err), -1, "delta %ld: get passed",
                         deltas[i]);
            cr_assert_eq(err.code, WS_ECORRUPT, "%s", err.msg);
        }
    }
    /* too short to be an object at all */
    write_text(obj_path(OBJ_KEY), raw, 20);
    cr_assert_eq(repo_peek(r, OBJ_KEY, &rd, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not(rd.storage_failed);
    /* intact again */
    write_text(obj_path(OBJ_KEY), raw, rawlen);
    cr_assert_eq(repo_peek(r, OBJ_KEY, &rd, &err), 0, "%s", err.msg);
    cr_assert_eq(repo_get(r, OBJ_KEY, NULL, &rd, &err), 0, "%s", err.msg);
    free(raw);
    free(data);
    repo_close(r);
}

/* An encrypted object read by a repository with another key: refused. */
Test(repo, named_object_other_key_is_refused, .timeout = 60)
{
    struct repo *r1 = create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    struct repo *r2;
    unsigned char *data = make_data(1000, 4);
    struct ws_err err = WS_ERR_INIT;
    struct repo_read rd;
    char       *raw;
    size_t      rawlen;
    char        first[PATH_MAX];

    put_ok(r1, OBJ_KEY, REPO_CREATE, data, 1000, NULL);
    raw = read_text(obj_path(OBJ_KEY), &rawlen);
    snprintf(first, sizeof(first), "%s", repo_dir);
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo2", scratch);
    cr_assert_eq(mkdir(repo_dir, 0700), 0);
    r2 = create_repo(CFG_ENCRYPT_AES_256_GCM, PASSPHRASE);
    cr_assert_eq(repo_raw_put(r2, OBJ_KEY, REPO_CREATE, raw, rawlen, &err), 0, "%s", err.msg);
    memset(&rd, 0, sizeof(rd));
    cr_assert_eq(repo_get(r2, OBJ_KEY, NULL, &rd, &err), -1, "another repository's key decrypted it");
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not(rd.storage_failed);
    cr_assert_eq(repo_peek(r2, OBJ_KEY, &rd, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    free(raw);
    free(data);
    repo_close(r1);
    repo_close(r2);
}

struct progress_count
{
    uint64_t    bytes;
    int         calls;
    int         stop_at;        /* 0: never */
};

static int
count_progress(void *arg, uint64_t n, struct ws_err *err)
{
    struct progress_count *pc = arg;

    pc->bytes += n;
    if (++pc->calls == pc->stop_at)
        return err_set(err, WS_EINTERRUPTED, "stopped by the test");
    return 0;
}

Test(repo, named_object_progress_and_cancel)
{
    struct repo *r = create_repo(CFG_ENCRYPT_NONE, NULL);
    /* several storage reads of 1 MiB blocks or so */
    size_t      size = 5 * 1024 * 1024 + 3;
    unsigned char *data = make_data(size, 5);
    struct repo_object put;
    struct progress_count pc = {0, 0, 0};
    struct repo_read rd;
    struct ws_err err = WS_ERR_INIT;
    struct filter *mem = filter_mem_new(size);
    struct repo_put p;

    repo_put_init(&p, NULL);    /* uncompressed: more than one read */
    cr_assert_eq(repo_put_buffer(r, OBJ_KEY, &p, data, size, &put, &err), 0, "%s", err.msg);
    memset(&rd, 0, sizeof(rd));
    rd.progress = count_progress;
    rd.arg = &pc;
    cr_assert_eq(repo_get(r, OBJ_KEY, mem, &rd, &err), 0, "%s", err.msg);
    cr_assert_eq(pc.bytes, put.stored);
    cr_assert_gt(pc.calls, 1);
    filter_free(mem);

    /* -1 from progress stops the read with its error: not a storage failure */
    mem = filter_mem_new(size);
    pc = (struct progress_count) {0, 0, 2};
    cr_assert_eq(repo_get(r, OBJ_KEY, mem, &rd, &err), -1);
    cr_assert_eq(err.code, WS_EINTERRUPTED, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not(rd.storage_failed);
    cr_assert_not(mem->finished);
    filter_free(mem);
    free(data);
    repo_close(r);
}

Test(repo, named_object_buffer_cap)
{
    struct repo *r = create_repo(CFG_ENCRYPT_NONE, NULL);
    struct repo_put p;
    struct ws_err err = WS_ERR_INIT;
    char       *buf = NULL;
    size_t      len = 0;

    repo_put_init(&p, NULL);
    cr_assert_eq(repo_put_buffer(r, "backups/x/small", &p, "hello", 5, NULL, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(repo_get_buffer(r, "backups/x/small", 5, "note", &buf, &len, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(len, 5);
    cr_assert_str_eq(buf, "hello");
    free(buf);
    cr_assert_eq(repo_get_buffer(r, "backups/x/small", 4, "note", &buf, &len, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_str_eq(err.msg, "note \"backups/x/small\" is larger than 4 bytes");
    cr_assert_null(buf);
    repo_close(r);
}

struct listed
{
    int         n;
    uint64_t    bytes;
};

static int
count_keys(const char *key, const struct repo_stat *st, void *arg, struct ws_err *err)
{
    struct listed *l = arg;

    (void) err;
    cr_assert_eq(strncmp(key, "markers/", 8), 0, "listed %s", key);
    l->n++;
    l->bytes += st->size;
    return 0;
}

Test(repo, keys_raw_stat_list_delete_sync)
{
    struct repo *r = create_repo(CFG_ENCRYPT_NONE, NULL);
    struct ws_err err = WS_ERR_INIT;
    struct repo_stat st;
    struct listed l = {0, 0};
    unsigned char *buf;
    size_t      len;
    const char *const many[] = {"markers/b", "markers/c", "markers/never-there"};

    cr_assert_str_eq(repo_location(r), repo_dir);
    cr_assert_eq(repo_system_identifier(r), SYSID);
    cr_assert_eq(repo_wal_segment_size(r), SEG_SIZE);
    cr_assert_eq(repo_pg_major(r), 15);
    cr_assert_eq(repo_descriptor(r)->system_identifier, SYSID);
    cr_assert_null(repo_test_master_key(r));

    cr_assert_eq(repo_raw_put(r, "markers/a", REPO_CREATE, "pid = 1\n", 8, &err), 0, "%s", err.msg);
    cr_assert_eq(repo_raw_put(r, "markers/a", REPO_CREATE, "pid = 2\n", 8, &err), -1);
    cr_assert_eq(err.code, WS_EEXISTS, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_eq(repo_raw_put(r, "markers/a", REPO_REPLACE, "pid = 22\n", 9, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(repo_raw_get(r, "markers/a", 100, &buf, &len, &err), 0, "%s", err.msg);
    cr_assert_str_eq((char *) buf, "pid = 22\n");
    free(buf);
    cr_assert_eq(repo_raw_put(r, "markers/b", REPO_CREATE, "b", 1, &err), 0, "%s", err.msg);
    cr_assert_eq(repo_raw_put(r, "markers/c", REPO_CREATE, "cc", 2, &err), 0, "%s", err.msg);

    cr_assert_eq(repo_stat(r, "markers/a", &st, &err), 0, "%s", err.msg);
    cr_assert_eq(st.size, 9);
    cr_assert_gt(st.mtime, 0);
    cr_assert_eq(repo_stat(r, "markers/zz", &st, &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);

    cr_assert_eq(repo_list(r, "markers/", count_keys, &l, &err), 0, "%s", err.msg);
    cr_assert_eq(l.n, 3);
    cr_assert_eq(l.bytes, 12);

    cr_assert_eq(repo_sync(r, "markers/a", &err), 0, "%s", err.msg);
    cr_assert_eq(repo_sync(r, "markers/zz", &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);

    cr_assert_eq(repo_delete_many(r, many, 3, &err), 0, "%s", err.msg);
    cr_assert_eq(repo_delete(r, "markers/a", &err), 0, "%s", err.msg);
    cr_assert_eq(repo_delete(r, "markers/a", &err), 0, "deleting a missing key: %s", err.msg);
    l = (struct listed) {0, 0};
    cr_assert_eq(repo_list(r, "markers/", count_keys, &l, &err), 0, "%s", err.msg);
    cr_assert_eq(l.n, 0);
    repo_close(r);
}

/* One handle, several threads: puts, gets and peeks of distinct keys at once. */
#define NTHREADS 4
#define PER_THREAD 12

struct worker_arg
{
    struct repo *r;
    int         id;
    int         failures;
    char        msg[2048];
};

static void *
object_worker(void *p)
{
    struct worker_arg *a = p;

    for (int i = 0; i < PER_THREAD; i++)
    {
        struct ws_err err = WS_ERR_INIT;
        struct repo_put put;
        struct repo_object obj;
        struct repo_read rd;
        char        key[REPO_KEY_MAX];
        unsigned char *data;
        size_t      len = 20000 + (size_t) (a->id * 1000 + i);

        snprintf(key, sizeof(key), "t/%d/%d", a->id, i);
        data = malloc(len);
        for (size_t j = 0; j < len; j++)
            data[j] = (unsigned char) (a->id * 31 + i + j / 100);
        repo_put_init(&put, NULL);
        put.compression = CFG_COMPRESS_ZSTD;
        memset(&rd, 0, sizeof(rd));
        if (repo_put_buffer(a->r, key, &put, data, len, &obj, &err) < 0 ||
            repo_get(a->r, key, NULL, &rd, &err) < 0 ||
            rd.obj.xxh64 != obj.xxh64 || rd.obj.size != len ||
            repo_peek(a->r, key, &rd, &err) < 0 || rd.obj.stored != obj.stored)
        {
            a->failures++;
            snprintf(a->msg, sizeof(a->msg), "%s: %s", key, err.msg);
        }
        free(data);
    }
    return NULL;
}

ParameterizedTestParameters(repo, one_handle_many_threads)
{
    static int encs[] = {CFG_ENCRYPT_NONE, CFG_ENCRYPT_AES_256_GCM};

    return cr_make_param_array(int, encs, 2);
}

ParameterizedTest(int *enc, repo, one_handle_many_threads, .timeout = 120)
{
    struct repo *r = create_repo((enum cfg_encryption) *enc, PASSPHRASE);
    pthread_t   th[NTHREADS];
    struct worker_arg args[NTHREADS];

    for (int i = 0; i < NTHREADS; i++)
    {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].r = r;
        args[i].id = i;
        cr_assert_eq(pthread_create(&th[i], NULL, object_worker, &args[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
    {
        pthread_join(th[i], NULL);
        cr_assert_eq(args[i].failures, 0, "thread %d: %s", i, args[i].msg);
    }
    repo_close(r);
}
