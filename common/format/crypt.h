/*
 * crypt.h — key derivation and AES-256-GCM chunk sealing (OpenSSL 3 EVP).
 *
 * Keys:
 *   master key  = scrypt(passphrase, repository salt, N, r, p)  — once per process
 *   object key  = HKDF-SHA256(master, salt = object's random 16-byte salt,
 *                             info = "walship object v1")
 *   chunk nonce = 96 bits: little-endian 64-bit chunk index, then 4 zero bytes
 * Every object has its own random salt, hence its own key, so a (key, nonce)
 * pair never repeats.  Each chunk is authenticated together with the object
 * header (which names the object) and its own index and type: a swapped,
 * reordered, truncated or altered object fails to open.
 *
 * A crypt_ctx is used by one stream at a time; make one per thread.
 */
#ifndef WS_CRYPT_H
#define WS_CRYPT_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

/* the most memory a repository descriptor may ask scrypt for */
#define CRYPT_SCRYPT_MAXMEM ((uint64_t) 1 << 30)

#define CRYPT_KEY_LEN 32
#define CRYPT_SALT_LEN 16
#define CRYPT_TAG_LEN 16

struct crypt_kdf
{
    uint64_t    n;          /* scrypt N (power of two) */
    uint32_t    r;
    uint32_t    p;
    unsigned char salt[CRYPT_SALT_LEN];
};

/* Defaults for new repositories: N=2^17, r=8, p=1 (128 MiB; OWASP's minimum
 * for scrypt).  Existing repositories keep the parameters they record. */
void        crypt_kdf_defaults(struct crypt_kdf *kdf);

int         crypt_random(void *buf, size_t len, struct ws_err *err);

/* master = scrypt(passphrase, kdf).  Never logs the passphrase. */
int         crypt_derive_master(const char *passphrase, const struct crypt_kdf *kdf,
                                unsigned char master[CRYPT_KEY_LEN], struct ws_err *err);

/* HMAC-SHA256(key, data) */
int         crypt_hmac(const unsigned char key[CRYPT_KEY_LEN], const void *data, size_t len,
                       unsigned char out[32], struct ws_err *err);

struct crypt_ctx;

/* Derive the object key from master and the object's salt. */
struct crypt_ctx *crypt_ctx_new(const unsigned char master[CRYPT_KEY_LEN],
                                const unsigned char salt[CRYPT_SALT_LEN], struct ws_err *err);
void        crypt_ctx_free(struct crypt_ctx *c);

/* Encrypt buf in place; aad authenticated; tag written out. */
int         crypt_seal(struct crypt_ctx *c, uint64_t index, const void *aad, size_t aadlen,
                       unsigned char *buf, size_t len, unsigned char tag[CRYPT_TAG_LEN],
                       struct ws_err *err);
/* Verify and decrypt in place; WS_ECORRUPT if authentication fails. */
int         crypt_open(struct crypt_ctx *c, uint64_t index, const void *aad, size_t aadlen,
                       unsigned char *buf, size_t len, const unsigned char tag[CRYPT_TAG_LEN],
                       struct ws_err *err);

void        crypt_wipe(void *p, size_t len);

#endif
