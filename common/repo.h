/*
 * repo.h — a repository: its storage, its descriptor and its key.
 *
 * The descriptor is the object "walship.repo" (text, key = value): format
 * version, creation time, the PostgreSQL system identifier, major version
 * and WAL segment size it belongs to, and for encrypted repositories the
 * scrypt parameters and salt plus a key check (HMAC-SHA256 under the
 * master key over the other fields), never the key itself.  docs/format.md.
 *
 * repo_open() derives the master key once; objects derive their own keys
 * from it (crypt.h).  A struct repo is read-only after opening and may be
 * shared by threads.
 */
#ifndef WS_REPO_H
#define WS_REPO_H

#include <stdbool.h>
#include <stdint.h>
#include "cfg.h"
#include "crypt.h"
#include "pgcontrol.h"
#include "storage.h"

#define REPO_DESCRIPTOR_KEY "walship.repo"
#define REPO_FORMAT_VERSION 1

struct repo_descriptor
{
    int         format_version;
    char        created[32];            /* ISO 8601 UTC */
    uint64_t    system_identifier;
    uint32_t    pg_major;
    uint32_t    wal_segment_size;
    int         encryption;             /* enum cfg_encryption */
    struct crypt_kdf kdf;
    unsigned char key_check[32];
};

struct repo
{
    struct storage *storage;
    struct repo_descriptor desc;
    bool        encrypted;
    unsigned char master[CRYPT_KEY_LEN];
};

/*
 * Open the repository configured in cfg.
 * If `bind` is given (the cluster's pg_control) and the repository has no
 * descriptor yet, one is created for that cluster; if it has one, the system
 * identifier must match (WS_EMISMATCH naming both).  Without `bind` a missing
 * descriptor is an error (not a walship repository).  The configured
 * encryption must match the repository's (WS_ECONFIG), and a wrong passphrase
 * is WS_EAUTH.  For an encrypted repository, an encryption_key_cache set to a
 * directory that is not on tmpfs/ramfs is WS_ECONFIG (before a new
 * descriptor is written); an unusable cache directory only logs a warning,
 * once per process.
 */
int         repo_open(const struct cfg *cfg, const struct pg_control *bind, struct repo **out,
                      struct ws_err *err);
void        repo_close(struct repo *r);

/* Check that pgc belongs to this repository (system identifier, segment size). */
int         repo_check_cluster(const struct repo *r, const struct pg_control *pgc,
                               struct ws_err *err);

/* Serialise / parse the descriptor text (exposed for tests). */
int         repo_descriptor_format(const struct repo_descriptor *d, char *buf, size_t len);
int         repo_descriptor_parse(const char *text, struct repo_descriptor *d,
                                  struct ws_err *err);

#endif
