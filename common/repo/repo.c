/*
 * repo.c — the repository: descriptor, key, and the named-object and key
 * operations every command goes through.  See repo.h and docs/format.md.
 */
#include "repo.h"
#include "log.h"
#include "object.h"
#include "storage.h"
#include "wal.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DESC_MAX 8192

_Static_assert(REPO_KEY_MAX == STORAGE_KEY_MAX, "a repository key is a storage key");

struct repo
{
    struct storage *storage;
    struct repo_descriptor desc;
    bool        encrypted;
    unsigned char master[CRYPT_KEY_LEN];
};

static void
hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char hx[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++)
    {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int
hex_decode(const char *in, unsigned char *out, size_t len)
{
    if (strlen(in) != 2 * len)
        return -1;
    for (size_t i = 0; i < len; i++)
    {
        unsigned    v;

        if (sscanf(in + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char) v;
    }
    return 0;
}

/* Everything but the key_check line, in a fixed order: also the HMAC input. */
static int
format_body(const struct repo_descriptor *d, char *buf, size_t len)
{
    int         n;

    n = snprintf(buf, len,
                 "# walship repository descriptor: do not edit\n"
                 "format_version = %d\n"
                 "created = %s\n"
                 "system_identifier = %" PRIu64 "\n"
                 "pg_version = %u\n"
                 "wal_segment_size = %u\n"
                 "encryption = %s\n",
                 d->format_version, d->created, d->system_identifier, d->pg_major,
                 d->wal_segment_size, cfg_encryption_name(d->encryption));
    if (n < 0 || (size_t) n >= len)
        return -1;
    if (d->encryption != CFG_ENCRYPT_NONE)
    {
        char        salt[2 * CRYPT_SALT_LEN + 1];
        int         m;

        hex_encode(d->kdf.salt, CRYPT_SALT_LEN, salt);
        m = snprintf(buf + n, len - (size_t) n,
                     "kdf = scrypt\nkdf_n = %" PRIu64 "\nkdf_r = %u\nkdf_p = %u\nkdf_salt = %s\n",
                     d->kdf.n, d->kdf.r, d->kdf.p, salt);
        if (m < 0 || (size_t) m >= len - (size_t) n)
            return -1;
        n += m;
    }
    return n;
}

int
repo_descriptor_format(const struct repo_descriptor *d, char *buf, size_t len)
{
    int         n = format_body(d, buf, len);

    if (n < 0)
        return -1;
    if (d->encryption != CFG_ENCRYPT_NONE)
    {
        char        kc[65];
        int         m;

        hex_encode(d->key_check, 32, kc);
        m = snprintf(buf + n, len - (size_t) n, "key_check = %s\n", kc);
        if (m < 0 || (size_t) m >= len - (size_t) n)
            return -1;
        n += m;
    }
    return n;
}

/* Strict unsigned decimal in [min, max]: no sign, no trailing characters. */
static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char       *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int
bad_value(struct ws_err *err, const char *key, const char *val)
{
    return err_set(err, WS_ECORRUPT, "repository descriptor has an invalid %s \"%s\"", key, val);
}

/*
 * Split one "key = value" line in place.  A key is a lower-case letter
 * followed by lower-case letters, digits and '_' (so a later version can add
 * keys such as part2_size), with blanks around the '='.  The value is the
 * rest of the line without its trailing blanks (a CR of a CRLF line end
 * included).  1 if the line is blank, -1 if it is not of that form.
 */
static int
split_line(char *buf, char **key, char **val)
{
    size_t      n = strlen(buf);
    char       *p = buf;
    char       *kend;

    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (n == 0)
        return 1;
    if (*p < 'a' || *p > 'z')
        return -1;
    *key = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
        p++;
    kend = p;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '=')
        return -1;
    p++;
    *kend = '\0';               /* may be the '=' itself: p is past it already */
    while (*p == ' ' || *p == '\t')
        p++;
    *val = p;
    return 0;
}

/* The keys this version reads; any other well-formed key is ignored. */
static bool
known_key(const char *key)
{
    static const char *const known[] = {
        "format_version", "created", "system_identifier", "pg_version", "wal_segment_size",
        "encryption", "kdf", "kdf_n", "kdf_r", "kdf_p", "kdf_salt", "key_check"};

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(key, known[i]) == 0)
            return true;
    return false;
}

int
repo_descriptor_parse(const char *text, struct repo_descriptor *d, struct ws_err *err)
{
    const char *line = text;
    int         lineno = 0;
    unsigned    seen = 0;

    memset(d, 0, sizeof(*d));
    while (*line)
    {
        const char *nl = strchr(line, '\n');
        size_t      ll = nl ? (size_t) (nl - line) : strlen(line);
        char        buf[512];
        char       *key;
        char       *val;
        uint64_t    u;

        lineno++;
        if (ll >= sizeof(buf))
            return err_set(err, WS_ECORRUPT, "repository descriptor line %d is too long", lineno);
        memcpy(buf, line, ll);
        buf[ll] = '\0';
        line += ll + (nl ? 1 : 0);
        if (buf[0] == '#' || buf[0] == '\0')
            continue;
        switch (split_line(buf, &key, &val))
        {
            case 0:
                break;
            case 1:
                continue;
            default:
                return err_set(err, WS_ECORRUPT, "repository descriptor line %d is malformed",
                               lineno);
        }
#define IS(k) (strcmp(key, (k)) == 0)
        if (!known_key(key))
            continue;           /* written by a newer walship; format_version decides */
        /* a known key's value is one word: never drop what follows it */
        if (val[0] == '\0' || strpbrk(val, " \t") != NULL)
            return err_set(err, WS_ECORRUPT, "repository descriptor line %d is malformed", lineno);
        if (IS("format_version"))
        {
            char       *end;
            long        v = strtol(val, &end, 10);

            if (*end != '\0' || v < 1 || v > 1000)
                return err_set(err, WS_ECORRUPT, "repository descriptor has an invalid format_version \"%s\"", val);
            d->format_version = (int) v;
            seen |= 1;
        }
        else if (IS("created"))
        {
            if (strlen(val) >= sizeof(d->created))
                return bad_value(err, key, val);
            memcpy(d->created, val, strlen(val) + 1);
            seen |= 2;
        }
        else if (IS("system_identifier"))
        {
            if (parse_u64(val, 1, UINT64_MAX, &d->system_identifier) < 0)
                return bad_value(err, key, val);
            seen |= 4;
        }
        else if (IS("pg_version"))
        {
            if (parse_u64(val, 0, 1000, &u) < 0)
                return bad_value(err, key, val);
            d->pg_major = (uint32_t) u;
            seen |= 8;
        }
        else if (IS("wal_segment_size"))
        {
            if (parse_u64(val, 1, UINT32_MAX, &u) < 0 || !wal_seg_size_valid((uint32_t) u))
                return bad_value(err, key, val);
            d->wal_segment_size = (uint32_t) u;
            seen |= 16;
        }
        else if (IS("encryption"))
        {
            if (strcmp(val, "none") == 0)
                d->encryption = CFG_ENCRYPT_NONE;
            else if (strcmp(val, "aes-256-gcm") == 0)
                d->encryption = CFG_ENCRYPT_AES_256_GCM;
            else
                return err_set(err, WS_ECORRUPT, "repository descriptor names unknown encryption \"%s\"", val);
            seen |= 32;
        }
        else if (IS("kdf"))
        {
            if (strcmp(val, "scrypt") != 0)
                return err_set(err, WS_ECORRUPT, "repository descriptor names unknown kdf \"%s\"", val);
            seen |= 256;
        }
        else if (IS("kdf_n"))
        {
            if (parse_u64(val, 2, (uint64_t) 1 << 24, &d->kdf.n) < 0 ||
                (d->kdf.n & (d->kdf.n - 1)) != 0)
                return bad_value(err, key, val);
            seen |= 512;
        }
        else if (IS("kdf_r"))
        {
            if (parse_u64(val, 1, 64, &u) < 0)
                return bad_value(err, key, val);
            d->kdf.r = (uint32_t) u;
            seen |= 1024;
        }
        else if (IS("kdf_p"))
        {
            if (parse_u64(val, 1, 16, &u) < 0)
                return bad_value(err, key, val);
            d->kdf.p = (uint32_t) u;
            seen |= 2048;
        }
        else if (IS("kdf_salt"))
        {
            if (hex_decode(val, d->kdf.salt, CRYPT_SALT_LEN) < 0)
                return err_set(err, WS_ECORRUPT, "repository descriptor has an invalid kdf_salt");
            seen |= 64;
        }
        else if (IS("key_check"))
        {
            if (hex_decode(val, d->key_check, 32) < 0)
                return err_set(err, WS_ECORRUPT, "repository descriptor has an invalid key_check");
            seen |= 128;
        }
#undef IS
    }
    if ((seen & 63) != 63)
        return err_set(err, WS_ECORRUPT, "repository descriptor is incomplete");
    if (d->format_version != REPO_FORMAT_VERSION)
        return err_set(err, WS_ECORRUPT, "repository format version %d is not supported (this walship supports %d)",
                       d->format_version, REPO_FORMAT_VERSION);
    if (d->encryption != CFG_ENCRYPT_NONE)
    {
        /* all of the key material: a missing scrypt parameter is not 0 */
        static const struct { unsigned bit; const char *name; } need[] = {
            {256, "kdf"}, {512, "kdf_n"}, {1024, "kdf_r"}, {2048, "kdf_p"}, {64, "kdf_salt"},
            {128, "key_check"}};

        for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
            if (!(seen & need[i].bit))
                return err_set(err, WS_ECORRUPT, "encrypted repository descriptor lacks %s",
                               need[i].name);
    }
    return 0;
}

static int
key_check_compute(const struct repo_descriptor *d, const unsigned char master[CRYPT_KEY_LEN],
                  unsigned char out[32], struct ws_err *err)
{
    char        body[DESC_MAX];
    int         n = format_body(d, body, sizeof(body));

    if (n < 0)
        return err_set(err, WS_EINTERNAL, "repository descriptor too long");
    return crypt_hmac(master, body, (size_t) n, out, err);
}

/*
 * Derived-key cache.  scrypt costs 0.4 to 1 s of CPU and 128 MiB per
 * derivation at the parameters of new repositories, and archive_command and
 * restore_command start one process per WAL file: without a cache the KDF
 * would cost more than compressing and encrypting a segment.  The master key
 * is therefore cached in a per-user directory on tmpfs (default
 * /dev/shm/walship-<uid>, mode 0700), in a file named HMAC-SHA256(key =
 * repository salt, "walship key cache v1" || scrypt parameters ||
 * passphrase): only the same passphrase for the same repository finds it.  A
 * cached key is used only after it passes the repository's key_check.  The
 * cache sits beside the passphrase file, readable only by the same user, in
 * memory-backed storage that is never part of a base backup or of the
 * repository.  encryption_key_cache = off disables it.
 *
 * The key must never land on disk (encryption_key_cache = . would put it in
 * the data directory, hence in every base backup), so a directory on any
 * other file system is a configuration error -- unless it is the built-in
 * default, which the operator did not choose: then the cache is skipped with
 * a warning rather than stopping archiving on a machine whose /dev/shm is
 * not tmpfs.  A directory that does not exist means no cache, quietly.  A
 * cache that exists but cannot be used (another user's, or shared) costs
 * every process a full scrypt, which is worth a warning, once per process.
 */
static bool key_cache_warned;

static void
key_cache_warn(const struct repo_descriptor *d, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
key_cache_warn(const struct repo_descriptor *d, const char *hint, const char *fmt, ...)
{
    char        msg[2 * PATH_MAX];
    va_list     ap;

    if (key_cache_warned)
        return;
    key_cache_warned = true;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_warning("encryption key cache not used: %s", msg);
    log_detail("Every walship process derives the key again with scrypt (N=%" PRIu64
               ", r=%u, p=%u: %" PRIu64 " MiB of memory).",
               d->kdf.n, d->kdf.r, d->kdf.p, (128 * d->kdf.n * d->kdf.r) >> 20);
    log_hint("%s", hint);
}

static const char *
fs_type_name(unsigned long type)
{
    static const struct
    {
        unsigned long type;
        const char *name;
    }           names[] = {
        {0xEF53, "ext2/ext3/ext4"}, {0x58465342, "xfs"}, {0x9123683E, "btrfs"},
        {0x2FC12FC1, "zfs"}, {0xF2F52010, "f2fs"}, {0x794C7630, "overlayfs"},
        {0x6969, "nfs"}, {0x65735546, "fuse"}, {0xFF534D42, "cifs"}, {0xFE534D42, "smb2"},
        {0x73717368, "squashfs"}, {0xF15F, "ecryptfs"}, {0x4D44, "vfat"},
        {0x5346544E, "ntfs"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].type == type)
            return names[i].name;
    return "an unknown file system";
}

/* Was encryption_key_cache left at its built-in default? */
static bool
key_cache_is_default(const struct cfg *cfg)
{
    return cfg_source_of(cfg, "encryption_key_cache") == CFG_SRC_DEFAULT;
}

/*
 * Is dir on tmpfs or ramfs?  0 yes; 1 no cache (missing: quiet; otherwise
 * warned); -1 refused (WS_ECONFIG).
 */
static int
key_cache_check_fs(const struct cfg *cfg, const struct repo_descriptor *d, const char *dir,
                   struct ws_err *err)
{
    struct statfs sf;
    unsigned long type;
    char        fs[64];
    char        abs[PATH_MAX];
    char        shown[2 * PATH_MAX + 8];

    if (statfs(dir, &sf) < 0)
    {
        if (errno == ENOENT)
            log_debug("key cache disabled: directory \"%s\" does not exist", dir);
        else
            key_cache_warn(d, "Check the directory, or set encryption_key_cache = off.",
                           "could not examine directory \"%s\": %s", dir, strerror(errno));
        return 1;
    }
    type = (unsigned long) sf.f_type;
    if (type == TMPFS_MAGIC || type == RAMFS_MAGIC)
        return 0;
    snprintf(fs, sizeof(fs), "%s (f_type 0x%lX)", fs_type_name(type), type);
    if (key_cache_is_default(cfg))
    {
        key_cache_warn(d, "Set encryption_key_cache to a tmpfs directory (or off).",
                       "directory \"%s\" (the default of encryption_key_cache) is on %s, "
                       "not on a memory-backed file system", dir, fs);
        return 1;
    }
    if (realpath(dir, abs) != NULL && strcmp(abs, dir) != 0)
        snprintf(shown, sizeof(shown), "\"%s\" (%s)", dir, abs);
    else
        snprintf(shown, sizeof(shown), "\"%s\"", dir);
    err_set(err, WS_ECONFIG,
            "encryption_key_cache directory %s is not on a memory-backed file system: "
            "it is on %s", shown, fs);
    err_detail(err, "The cache would write the repository's master key to disk.");
    err_hint(err, "Use a tmpfs directory such as /dev/shm or /run/user/%ld, "
             "or set encryption_key_cache = off.", (long) geteuid());
    return -1;
}

/* "user pgtest (uid 1001)" or "uid 1001" */
static void
owner_text(uid_t uid, char *buf, size_t len)
{
    struct passwd *pw = getpwuid(uid);

    if (pw != NULL)
        snprintf(buf, len, "user %s (uid %ld)", pw->pw_name, (long) uid);
    else
        snprintf(buf, len, "uid %ld", (long) uid);
}

/*
 * The cache file for this passphrase and repository.  0: path set; 1: no
 * cache (off, missing or unusable directory); -1: refused, err set.
 */
static int
key_cache_path(const struct cfg *cfg, const struct repo_descriptor *d, char *path, size_t len,
               struct ws_err *err)
{
    char        dir[4096];
    unsigned char mac[32];
    unsigned int maclen = sizeof(mac);
    char        hex[65];
    char        input[CFG_MAX_VALUE + 128];
    char        who[128];
    struct stat sb;
    bool        ok;
    int         n;
    int         rc;

    if (cfg->encryption_key_cache[0] == '\0' || strcmp(cfg->encryption_key_cache, "off") == 0)
        return 1;
    if (snprintf(dir, sizeof(dir), "%s/walship-%ld", cfg->encryption_key_cache,
                 (long) geteuid()) >= (int) sizeof(dir))
        return 1;
    /* before creating anything in it */
    rc = key_cache_check_fs(cfg, d, cfg->encryption_key_cache, err);
    if (rc != 0)
        return rc;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    {
        key_cache_warn(d, "Set encryption_key_cache to a directory this user may write "
                       "(such as /run/user/<uid>), or off.",
                       "could not create directory \"%s\": %s", dir, strerror(errno));
        return 1;
    }
    /* never trust a directory someone else could have prepared */
    if (lstat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
    {
        key_cache_warn(d, "Remove it, or set encryption_key_cache to another directory.",
                       "\"%s\" is not a directory", dir);
        return 1;
    }
    if (sb.st_uid != geteuid())
    {
        owner_text(sb.st_uid, who, sizeof(who));
        key_cache_warn(d, "Remove it (it is recreated), or set encryption_key_cache to "
                       "another directory.",
                       "directory \"%s\" belongs to %s, not to this user", dir, who);
        return 1;
    }
    if ((sb.st_mode & 077) != 0)
    {
        key_cache_warn(d, "chmod 700 it, or remove it (it is recreated).",
                       "directory \"%s\" is accessible to other users (mode %04o)", dir,
                       (unsigned) (sb.st_mode & 07777));
        return 1;
    }
    /* a file system mounted on walship-<uid> itself */
    rc = key_cache_check_fs(cfg, d, dir, err);
    if (rc != 0)
        return rc;
    n = snprintf(input, sizeof(input), "walship key cache v1:%" PRIu64 ":%u:%u:%s",
                 d->kdf.n, d->kdf.r, d->kdf.p, cfg->encryption_passphrase);
    ok = n > 0 && (size_t) n < sizeof(input) &&
        HMAC(EVP_sha256(), d->kdf.salt, CRYPT_SALT_LEN, (const unsigned char *) input,
             (size_t) n, mac, &maclen) != NULL;
    crypt_wipe(input, sizeof(input));
    if (!ok)
        return 1;
    hex_encode(mac, 32, hex);
    if (snprintf(path, len, "%s/%s", dir, hex) >= (int) len)
        return 1;
    return 0;
}

static int
key_cache_load(const char *path, unsigned char master[CRYPT_KEY_LEN])
{
    int         fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat sb;
    ssize_t     n;

    if (fd < 0)
        return -1;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
        (sb.st_mode & 077) != 0 || sb.st_size != CRYPT_KEY_LEN)
    {
        close(fd);
        return -1;
    }
    n = read(fd, master, CRYPT_KEY_LEN);
    close(fd);
    return n == CRYPT_KEY_LEN ? 0 : -1;
}

static void
key_cache_store(const char *path, const unsigned char master[CRYPT_KEY_LEN])
{
    char        tmp[4200];
    int         fd;
    bool        ok;

    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long) getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    ok = write(fd, master, CRYPT_KEY_LEN) == CRYPT_KEY_LEN;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) < 0)
        unlink(tmp);
}

/*
 * The master key for an existing encrypted repository: from the cache when
 * it holds one that passes key_check, else scrypt.  WS_EAUTH if the
 * passphrase does not match.
 */
static int
master_key_get(struct repo *r, const struct cfg *cfg, struct ws_err *err)
{
    unsigned char check[32];
    char        cache[4200];
    int         rc = key_cache_path(cfg, &r->desc, cache, sizeof(cache), err);
    bool        cached = rc == 0;

    if (rc < 0)
        return -1;
    if (cached && key_cache_load(cache, r->master) == 0 &&
        key_check_compute(&r->desc, r->master, check, err) == 0 &&
        CRYPTO_memcmp(check, r->desc.key_check, 32) == 0)
        return 0;
    if (crypt_derive_master(cfg->encryption_passphrase, &r->desc.kdf, r->master, err) < 0)
        return -1;
    if (key_check_compute(&r->desc, r->master, check, err) < 0)
        return -1;
    if (CRYPTO_memcmp(check, r->desc.key_check, 32) != 0)
    {
        err_set(err, WS_EAUTH, "wrong encryption passphrase for repository \"%s\"",
                r->storage->location);
        err_detail(err, "The key check in %s does not match the key derived from the passphrase (or the descriptor was altered).",
                   REPO_DESCRIPTOR_KEY);
        return -1;
    }
    if (cached)
        key_cache_store(cache, r->master);
    return 0;
}

static int
descriptor_create(struct repo *r, const struct cfg *cfg, const struct pg_control *pgc,
                  struct ws_err *err)
{
    struct repo_descriptor *d = &r->desc;
    char        text[DESC_MAX];
    time_t      now = time(NULL);
    struct tm   tm;
    int         n;

    memset(d, 0, sizeof(*d));
    d->format_version = REPO_FORMAT_VERSION;
    gmtime_r(&now, &tm);
    strftime(d->created, sizeof(d->created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    d->system_identifier = pgc->system_identifier;
    d->pg_major = pgc->pg_major;
    d->wal_segment_size = pgc->wal_segment_size;
    d->encryption = cfg->encryption;
    if (d->encryption != CFG_ENCRYPT_NONE)
    {
        char        cache[4200];
        int         cached;

        crypt_kdf_defaults(&d->kdf);
        if (crypt_random(d->kdf.salt, CRYPT_SALT_LEN, err) < 0)
            return -1;
        /* a refused cache directory stops here, before the repository exists */
        cached = key_cache_path(cfg, d, cache, sizeof(cache), err);
        if (cached < 0)
            return -1;
        if (crypt_derive_master(cfg->encryption_passphrase, &d->kdf, r->master, err) < 0)
            return -1;
        if (key_check_compute(d, r->master, d->key_check, err) < 0)
            return -1;
        r->encrypted = true;
        if (cached == 0)
            key_cache_store(cache, r->master);
    }
    n = repo_descriptor_format(d, text, sizeof(text));
    if (n < 0)
        return err_set(err, WS_EINTERNAL, "repository descriptor too long");
    if (storage_put_buffer(r->storage, REPO_DESCRIPTOR_KEY,
                           STORAGE_PUT_NO_OVERWRITE | STORAGE_PUT_DEFAULT_CLASS, text,
                           (size_t) n, err) < 0)
        return -1;
    log_info("created repository \"%s\" for database system %" PRIu64 " (PostgreSQL %u, encryption %s)",
             r->storage->location, d->system_identifier, d->pg_major,
             cfg_encryption_name(d->encryption));
    return 0;
}

/*
 * A repository holds one database system of one major version.  pg_upgrade
 * gives the new cluster a new system identifier (the new cluster is
 * initdb'd; pg_upgrade carries the old one's catalogs and counters over,
 * not its identifier), and WAL of one major cannot be replayed by
 * another, so either difference ends the repository's use for this
 * cluster.  A descriptor written without a major (pg_version = 0: the data
 * directory had no PG_VERSION) only skips the major check.
 */
static void
upgrade_hint(const struct repo *r, const struct pg_control *pgc, struct ws_err *err)
{
    err_hint(err, "The repository holds PostgreSQL %u and this cluster is PostgreSQL %u "
             "(pg_upgrade?): archive and back it up into a new repository or a new "
             "prefix, and keep this one for restores of the old cluster "
             "(docs/postgresql-versions.md).", r->desc.pg_major, pgc->pg_major);
}

static bool
majors_differ(const struct repo *r, const struct pg_control *pgc)
{
    return r->desc.pg_major != 0 && pgc->pg_major != 0 && r->desc.pg_major != pgc->pg_major;
}

int
repo_check_cluster(const struct repo *r, const struct pg_control *pgc, struct ws_err *err)
{
    if (pgc->system_identifier != r->desc.system_identifier)
    {
        err_set(err, WS_EMISMATCH,
                "repository \"%s\" belongs to database system %" PRIu64 ", but this cluster's system identifier is %" PRIu64,
                r->storage->location, r->desc.system_identifier, pgc->system_identifier);
        if (majors_differ(r, pgc))
            upgrade_hint(r, pgc, err);
        else
            err_hint(err, "Each cluster needs its own repository; check \"repo\" and the data directory.");
        return -1;
    }
    if (majors_differ(r, pgc))
    {
        err_set(err, WS_EMISMATCH,
                "repository \"%s\" holds PostgreSQL %u, but this cluster is PostgreSQL %u",
                r->storage->location, r->desc.pg_major, pgc->pg_major);
        err_detail(err, "WAL and backups of one major version cannot be recovered by another.");
        upgrade_hint(r, pgc, err);
        return -1;
    }
    if (pgc->wal_segment_size != r->desc.wal_segment_size)
        return err_set(err, WS_EMISMATCH,
                       "repository \"%s\" holds WAL segments of %u bytes, but this cluster uses %u",
                       r->storage->location, r->desc.wal_segment_size, pgc->wal_segment_size);
    return 0;
}

int
repo_open(const struct cfg *cfg, const struct pg_control *bind, struct repo **out,
          struct ws_err *err)
{
    struct repo *r = calloc(1, sizeof(*r));
    unsigned char *text = NULL;
    size_t      len;
    int         rc = -1;

    *out = NULL;
    if (r == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    r->storage = storage_open(cfg->repo, &cfg->s3, err);
    if (r->storage == NULL)
        goto out;

    if (storage_get_buffer(r->storage, REPO_DESCRIPTOR_KEY, DESC_MAX, &text, &len, err) < 0)
    {
        if (err->code != WS_ENOTFOUND)
        {
            err_prefix(err, "could not read repository descriptor of \"%s\"", r->storage->location);
            goto out;
        }
        if (bind == NULL)
        {
            err_set(err, WS_EIO, "\"%s\" is not a walship repository (no %s)",
                    r->storage->location, REPO_DESCRIPTOR_KEY);
            err_hint(err, "walship-archive creates it when it archives the first WAL file.");
            goto out;
        }
        if (descriptor_create(r, cfg, bind, err) == 0)
        {
            rc = 0;
            goto out;
        }
        if (err->code != WS_EEXISTS)
            goto out;
        /* lost a race with another process creating it: read theirs */
        if (storage_get_buffer(r->storage, REPO_DESCRIPTOR_KEY, DESC_MAX, &text, &len, err) < 0)
            goto out;
    }
    if (repo_descriptor_parse((const char *) text, &r->desc, err) < 0)
    {
        err_prefix(err, "repository \"%s\"", r->storage->location);
        goto out;
    }
    if (bind != NULL && repo_check_cluster(r, bind, err) < 0)
        goto out;
    if (r->desc.encryption != (int) cfg->encryption)
    {
        err_set(err, WS_ECONFIG, "repository \"%s\" uses encryption %s, but encryption = %s is configured",
                r->storage->location, cfg_encryption_name(r->desc.encryption),
                cfg_encryption_name(cfg->encryption));
        err_hint(err, "Set \"encryption\" (and the passphrase) to match the repository.");
        goto out;
    }
    if (r->desc.encryption != CFG_ENCRYPT_NONE)
    {
        if (master_key_get(r, cfg, err) < 0)
            goto out;
        r->encrypted = true;
    }
    rc = 0;
out:
    free(text);
    if (rc < 0)
        repo_close(r);
    else
        *out = r;
    return rc;
}

void
repo_close(struct repo *r)
{
    if (r == NULL)
        return;
    storage_free(r->storage);
    crypt_wipe(r->master, sizeof(r->master));
    free(r);
}

/* ---- accessors --------------------------------------------------------------- */

const char *
repo_location(const struct repo *r)
{
    return r->storage->location;
}

bool
repo_driver_retries(const struct repo *r)
{
    return (r->storage->ops->features & STORAGE_F_RETRIES) != 0;
}

bool
repo_encrypted(const struct repo *r)
{
    return r->encrypted;
}

uint64_t
repo_system_identifier(const struct repo *r)
{
    return r->desc.system_identifier;
}

uint32_t
repo_wal_segment_size(const struct repo *r)
{
    return r->desc.wal_segment_size;
}

uint32_t
repo_pg_major(const struct repo *r)
{
    return r->desc.pg_major;
}

const struct repo_descriptor *
repo_descriptor(const struct repo *r)
{
    return &r->desc;
}

const unsigned char *
repo_test_master_key(const struct repo *r)
{
    return r->encrypted ? r->master : NULL;
}

static const unsigned char *
master_key(const struct repo *r)
{
    return r->encrypted ? r->master : NULL;
}

/* ---- named objects: writing ------------------------------------------------------ */

void
repo_put_init(struct repo_put *p, const struct cfg *cfg)
{
    memset(p, 0, sizeof(*p));
    p->mode = REPO_CREATE;
    p->compression = cfg != NULL ? cfg->compression : CFG_COMPRESS_NONE;
    p->level = cfg != NULL ? cfg->compression_level : -1;
    p->threads = cfg != NULL ? cfg->compression_threads : 0;
    p->size_hint = UINT64_MAX;
    p->size_exact = false;
}

struct filter *
repo_put_open(struct repo *r, const char *key, const struct repo_put *p, struct ws_err *err)
{
    struct object_params op;
    struct filter *sink = NULL;

    memset(&op, 0, sizeof(op));
    op.compression = p->compression;
    op.level = p->level;
    op.threads = p->threads;
    op.master_key = master_key(r);
    op.size_hint = p->size_hint;
    op.size_exact = p->size_exact;
    if (storage_put_open(r->storage, key,
                         (p->mode == REPO_CREATE ? STORAGE_PUT_NO_OVERWRITE : 0) |
                         (p->metadata ? STORAGE_PUT_DEFAULT_CLASS : 0),
                         &sink, err) < 0)
        return NULL;
    return object_writer_new(&op, key, sink, err);     /* owns sink (filter.h) */
}

static void
object_info(const struct object_header *h, const struct object_trailer *t, uint64_t stored,
            struct repo_object *out)
{
    memset(out, 0, sizeof(*out));
    out->size = t->plain_size;
    out->stored = stored;
    out->xxh64 = t->xxh64;
    out->chunks = t->chunks;
    out->compression = object_compression_alg(h);
    out->encrypted = h->cipher != OBJECT_CIPHER_NONE;
}

void
repo_put_result(const struct filter *head, struct repo_object *out)
{
    struct object_header h;
    struct object_trailer t;
    uint64_t    length;

    object_writer_result(head, &h, &t, &length);
    object_info(&h, &t, length, out);
}

int
repo_put_buffer(struct repo *r, const char *key, const struct repo_put *p, const void *buf,
                size_t len, struct repo_object *out, struct ws_err *err)
{
    struct filter *head = repo_put_open(r, key, p, err);
    int         rc = -1;

    if (head == NULL)
        return -1;
    if (filter_write(head, buf, len, err) < 0 || filter_finish(head, err) < 0)
        goto out;
    if (out != NULL)
        repo_put_result(head, out);
    rc = 0;
out:
    filter_free(head);
    return rc;
}

/* ---- named objects: reading ------------------------------------------------------ */

/* The caller's rd, or local when it passed none; results cleared. */
static struct repo_read *
read_start(struct repo_read *rd, struct repo_read *local)
{
    if (rd == NULL)
    {
        memset(local, 0, sizeof(*local));
        rd = local;
    }
    memset(&rd->obj, 0, sizeof(rd->obj));
    rd->storage_failed = false;
    return rd;
}

/*
 * The chain: tap (counts the stored bytes, reports progress, and says whether
 * a failure came from the chain rather than from reading storage) -> object
 * reader -> borrow -> the caller's sink, which freeing the chain leaves alone.
 */
int
repo_get(struct repo *r, const char *key, struct filter *sink, struct repo_read *rd,
         struct ws_err *err)
{
    struct repo_read local;
    struct filter *tap;
    struct filter *reader;
    struct object_header h;
    struct object_trailer t;
    int         rc = -1;

    rd = read_start(rd, &local);
    /* each constructor owns what it is given, also when it fails */
    reader = filter_borrow_new(sink, err);
    if (reader == NULL)
        return -1;
    reader = object_reader_new(master_key(r), key, reader, err);
    if (reader == NULL)
        return -1;
    tap = filter_tap_new(reader, rd->progress, rd->arg, err);
    if (tap == NULL)
        return -1;
    if (storage_get(r->storage, key, 0, 0, tap, err) < 0)
    {
        rd->storage_failed = !filter_tap_failed(tap);
        goto out;
    }
    if (filter_finish(tap, err) < 0)
        goto out;
    object_reader_result(reader, &h, &t);
    object_info(&h, &t, filter_tap_bytes(tap), &rd->obj);
    rc = 0;
out:
    filter_free(tap);           /* tap, reader, borrow: never the sink */
    return rc;
}

int
repo_get_unbound(const struct cfg *cfg, const char *key, struct filter *sink,
                 struct repo_read *rd, struct ws_err *err)
{
    struct repo_read local;
    struct storage *st;
    struct filter *tap;
    struct filter *reader;
    struct object_header h;
    struct object_trailer t;
    int         rc = -1;

    rd = read_start(rd, &local);
    if (cfg->encryption != CFG_ENCRYPT_NONE)
        return err_set(err, WS_EINTERNAL, "repo_get_unbound needs an unencrypted configuration");
    st = storage_open(cfg->repo, &cfg->s3, err);
    if (st == NULL)
    {
        rd->storage_failed = true;
        return -1;
    }
    reader = filter_borrow_new(sink, err);
    if (reader == NULL)
        goto out_st;
    /* no key: an encrypted object is refused by the reader (WS_ECONFIG) */
    reader = object_reader_new(NULL, key, reader, err);
    if (reader == NULL)
        goto out_st;
    tap = filter_tap_new(reader, rd->progress, rd->arg, err);
    if (tap == NULL)
        goto out_st;
    if (storage_get(st, key, 0, 0, tap, err) < 0)
    {
        rd->storage_failed = !filter_tap_failed(tap);
        goto out;
    }
    if (filter_finish(tap, err) < 0)
        goto out;
    object_reader_result(reader, &h, &t);
    object_info(&h, &t, filter_tap_bytes(tap), &rd->obj);
    rc = 0;
out:
    filter_free(tap);
out_st:
    storage_free(st);
    return rc;
}

/* Collects plaintext up to a cap. */
int
repo_get_buffer(struct repo *r, const char *key, size_t cap, const char *what, char **buf,
                size_t *len, struct ws_err *err)
{
    struct filter *mem = filter_mem_new(cap);
    unsigned char *copy;
    int         rc = -1;

    *buf = NULL;
    *len = 0;
    if (mem == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    if (repo_get(r, key, mem, NULL, err) < 0)
    {
        if (filter_mem_overflowed(mem))
            err_set(err, WS_ECORRUPT, "%s \"%s\" is larger than %zu bytes", what, key, cap);
        goto out;
    }
    if (filter_mem_copy(mem, &copy, len, err) < 0)
        goto out;
    *buf = (char *) copy;
    rc = 0;
out:
    filter_free(mem);
    return rc;
}

int
repo_peek(struct repo *r, const char *key, struct repo_read *rd, struct ws_err *err)
{
    struct repo_read local;
    struct storage_info si;
    struct filter *hbuf = NULL;
    struct filter *ebuf = NULL;
    const unsigned char *hdr, *end;
    size_t      hlen, elen;
    uint64_t    head_len, end_off;
    struct object_header h;
    struct object_trailer t;
    int         rc = -1;

    rd = read_start(rd, &local);
    if (storage_head(r->storage, key, &si, err) < 0)
    {
        rd->storage_failed = true;
        return -1;
    }
    if (object_peek_ranges(si.size, key, &head_len, &end_off, err) < 0)
        return -1;
    hbuf = filter_mem_new(OBJECT_HEADER_MAX);
    ebuf = filter_mem_new(OBJECT_END_LEN);
    if (hbuf == NULL || ebuf == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    if (storage_get(r->storage, key, 0, head_len, hbuf, err) < 0 ||
        storage_get(r->storage, key, end_off, OBJECT_END_LEN, ebuf, err) < 0)
    {
        rd->storage_failed = true;
        goto out;
    }
    hdr = filter_mem_data(hbuf, &hlen);
    end = filter_mem_data(ebuf, &elen);
    if (elen != OBJECT_END_LEN)
    {
        err_set(err, WS_ECORRUPT, "object \"%s\" changed while it was read", key);
        goto out;
    }
    if (object_peek(hdr, hlen, end, master_key(r), key, &h, &t, err) < 0)
    {
        if (strstr(err->msg, key) == NULL)
            err_prefix(err, "invalid object \"%s\"", key);
        goto out;
    }
    if (object_check_length(&h, &t, si.size, key, err) < 0)
        goto out;
    object_info(&h, &t, si.size, &rd->obj);
    rc = 0;
out:
    filter_free(hbuf);
    filter_free(ebuf);
    return rc;
}

/* ---- keys ----------------------------------------------------------------------------- */

int
repo_stat(struct repo *r, const char *key, struct repo_stat *st, struct ws_err *err)
{
    struct storage_info si;

    if (storage_head(r->storage, key, &si, err) < 0)
        return -1;
    st->size = si.size;
    st->mtime = si.mtime;
    return 0;
}

struct list_adapter
{
    repo_list_cb cb;
    void       *arg;
};

static int
list_adapt(const char *key, const struct storage_info *info, void *arg, struct ws_err *err)
{
    struct list_adapter *a = arg;
    struct repo_stat st = {info->size, info->mtime};

    return a->cb(key, &st, a->arg, err);
}

int
repo_list(struct repo *r, const char *prefix, repo_list_cb cb, void *arg, struct ws_err *err)
{
    struct list_adapter a = {cb, arg};

    return storage_list(r->storage, prefix, list_adapt, &a, err);
}

int
repo_delete(struct repo *r, const char *key, struct ws_err *err)
{
    return storage_remove(r->storage, key, err);
}

int
repo_delete_many(struct repo *r, const char *const *keys, size_t n, struct ws_err *err)
{
    return storage_remove_many(r->storage, keys, n, err);
}

int
repo_sync(struct repo *r, const char *key, struct ws_err *err)
{
    return storage_sync(r->storage, key, err);
}

int
repo_set_class(struct repo *r, const char *key, const char *storage_class, struct ws_err *err)
{
    return storage_set_class(r->storage, key, storage_class, err);
}

int
repo_thaw(struct repo *r, const char *key, int days, const char *tier,
          enum repo_thaw_state *state, struct ws_err *err)
{
    enum storage_thaw_state st = STORAGE_THAW_NOT_ARCHIVED;

    if (storage_thaw(r->storage, key, days, tier, &st, err) < 0)
        return -1;
    switch (st)
    {
        case STORAGE_THAW_STARTED: *state = REPO_THAW_STARTED; break;
        case STORAGE_THAW_IN_PROGRESS: *state = REPO_THAW_IN_PROGRESS; break;
        case STORAGE_THAW_READY: *state = REPO_THAW_READY; break;
        case STORAGE_THAW_NOT_ARCHIVED: *state = REPO_THAW_NOT_ARCHIVED; break;
    }
    return 0;
}

int
repo_raw_put(struct repo *r, const char *key, enum repo_put_mode mode, const void *buf,
             size_t len, struct ws_err *err)
{
    return storage_put_buffer(r->storage, key,
                              (mode == REPO_CREATE ? STORAGE_PUT_NO_OVERWRITE : 0) |
                              STORAGE_PUT_DEFAULT_CLASS,
                              buf, len, err);
}

int
repo_raw_get(struct repo *r, const char *key, size_t cap, unsigned char **buf, size_t *len,
             struct ws_err *err)
{
    return storage_get_buffer(r->storage, key, cap, buf, len, err);
}
