/*
 * crypt.c — see crypt.h.  OpenSSL 3 EVP only; no global state.
 */
#include "crypt.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

struct crypt_ctx
{
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
    unsigned char key[CRYPT_KEY_LEN];
};

static int
ossl_fail(struct ws_err *err, const char *what)
{
    unsigned long e = ERR_get_error();
    char        buf[256];

    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return err_set(err, WS_EINTERNAL, "%s failed: %s", what, e ? buf : "unknown OpenSSL error");
}

void
crypt_kdf_defaults(struct crypt_kdf *kdf)
{
    memset(kdf, 0, sizeof(*kdf));
    /* OWASP's scrypt minimum (N=2^17, r=8, p=1): 128 MiB, 0.4 to 1 s of
     * CPU; the key cache pays it once per passphrase, repository and boot */
    kdf->n = 1u << 17;
    kdf->r = 8;
    kdf->p = 1;
}

int
crypt_random(void *buf, size_t len, struct ws_err *err)
{
    if (RAND_bytes(buf, (int) len) != 1)
        return ossl_fail(err, "random number generation");
    return 0;
}

void
crypt_wipe(void *p, size_t len)
{
    OPENSSL_cleanse(p, len);
}

int
crypt_derive_master(const char *passphrase, const struct crypt_kdf *kdf,
                    unsigned char master[CRYPT_KEY_LEN], struct ws_err *err)
{
    /* scrypt needs 128 * r * (N + p) bytes (V and B); allow that plus slack:
     * 144 MiB for new repositories (N=2^17, r=8, p=1). */
    uint64_t    maxmem = 128 * kdf->n * kdf->r * (uint64_t) kdf->p + (16u << 20);

    if (kdf->n < 2 || (kdf->n & (kdf->n - 1)) != 0 || kdf->n > (1u << 24) ||
        kdf->r < 1 || kdf->r > 64 || kdf->p < 1 || kdf->p > 16)
        return err_set(err, WS_ECORRUPT, "invalid scrypt parameters N=%llu r=%u p=%u",
                       (unsigned long long) kdf->n, kdf->r, kdf->p);
    /*
     * The parameters come from the repository descriptor, which anyone with
     * write access to the store can change: each within its range, they could
     * still ask every archive_command for 128 GiB.  Refuse more than
     * CRYPT_SCRYPT_MAXMEM (8 times what new repositories use).
     */
    if (maxmem > CRYPT_SCRYPT_MAXMEM)
    {
        err_set(err, WS_ECORRUPT, "scrypt parameters N=%llu r=%u p=%u need %llu MiB, more than the %u MiB walship allows",
                (unsigned long long) kdf->n, kdf->r, kdf->p,
                (unsigned long long) (maxmem >> 20), (unsigned) (CRYPT_SCRYPT_MAXMEM >> 20));
        err_hint(err, "The repository descriptor may have been tampered with.");
        return -1;
    }
    if (EVP_PBE_scrypt(passphrase, strlen(passphrase), kdf->salt, CRYPT_SALT_LEN,
                       kdf->n, kdf->r, kdf->p, maxmem, master, CRYPT_KEY_LEN) != 1)
        return ossl_fail(err, "scrypt key derivation");
    return 0;
}

int
crypt_hmac(const unsigned char key[CRYPT_KEY_LEN], const void *data, size_t len,
           unsigned char out[32], struct ws_err *err)
{
    unsigned int outlen = 32;

    if (HMAC(EVP_sha256(), key, CRYPT_KEY_LEN, data, len, out, &outlen) == NULL)
        return ossl_fail(err, "HMAC-SHA256");
    return 0;
}

static int
hkdf(const unsigned char master[CRYPT_KEY_LEN], const unsigned char salt[CRYPT_SALT_LEN],
     unsigned char out[CRYPT_KEY_LEN], struct ws_err *err)
{
    static const char info[] = "walship object v1";
    EVP_KDF    *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = NULL;
    OSSL_PARAM  params[5];
    int         rc = -1;

    if (kdf == NULL)
        return ossl_fail(err, "HKDF fetch");
    kctx = EVP_KDF_CTX_new(kdf);
    if (kctx == NULL)
    {
        ossl_fail(err, "HKDF context");
        goto out;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *) "SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *) master,
                                                  CRYPT_KEY_LEN);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *) salt,
                                                  CRYPT_SALT_LEN);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *) info,
                                                  sizeof(info) - 1);
    params[4] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, out, CRYPT_KEY_LEN, params) != 1)
    {
        ossl_fail(err, "HKDF derivation");
        goto out;
    }
    rc = 0;
out:
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rc;
}

struct crypt_ctx *
crypt_ctx_new(const unsigned char master[CRYPT_KEY_LEN], const unsigned char salt[CRYPT_SALT_LEN],
              struct ws_err *err)
{
    struct crypt_ctx *c = calloc(1, sizeof(*c));

    if (c == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        return NULL;
    }
    if (hkdf(master, salt, c->key, err) < 0)
        goto fail;
    c->enc = EVP_CIPHER_CTX_new();
    c->dec = EVP_CIPHER_CTX_new();
    if (c->enc == NULL || c->dec == NULL)
    {
        ossl_fail(err, "cipher context");
        goto fail;
    }
    /* Key schedule once; each chunk then sets only its IV. */
    if (EVP_EncryptInit_ex(c->enc, EVP_aes_256_gcm(), NULL, c->key, NULL) != 1 ||
        EVP_DecryptInit_ex(c->dec, EVP_aes_256_gcm(), NULL, c->key, NULL) != 1)
    {
        ossl_fail(err, "AES-256-GCM initialisation");
        goto fail;
    }
    return c;
fail:
    crypt_ctx_free(c);
    return NULL;
}

void
crypt_ctx_free(struct crypt_ctx *c)
{
    if (c == NULL)
        return;
    EVP_CIPHER_CTX_free(c->enc);
    EVP_CIPHER_CTX_free(c->dec);
    OPENSSL_cleanse(c->key, sizeof(c->key));
    free(c);
}

static void
make_iv(uint64_t index, unsigned char iv[12])
{
    for (int i = 0; i < 8; i++)
        iv[i] = (unsigned char) (index >> (8 * i));
    memset(iv + 8, 0, 4);
}

int
crypt_seal(struct crypt_ctx *c, uint64_t index, const void *aad, size_t aadlen,
           unsigned char *buf, size_t len, unsigned char tag[CRYPT_TAG_LEN], struct ws_err *err)
{
    unsigned char iv[12];
    int         outl;

    make_iv(index, iv);
    if (EVP_EncryptInit_ex(c->enc, NULL, NULL, NULL, iv) != 1 ||
        EVP_EncryptUpdate(c->enc, NULL, &outl, aad, (int) aadlen) != 1 ||
        (len > 0 && EVP_EncryptUpdate(c->enc, buf, &outl, buf, (int) len) != 1) ||
        EVP_EncryptFinal_ex(c->enc, buf + len, &outl) != 1 ||
        EVP_CIPHER_CTX_ctrl(c->enc, EVP_CTRL_GCM_GET_TAG, CRYPT_TAG_LEN, tag) != 1)
        return ossl_fail(err, "AES-256-GCM encryption");
    return 0;
}

int
crypt_open(struct crypt_ctx *c, uint64_t index, const void *aad, size_t aadlen,
           unsigned char *buf, size_t len, const unsigned char tag[CRYPT_TAG_LEN],
           struct ws_err *err)
{
    unsigned char iv[12];
    int         outl;

    make_iv(index, iv);
    if (EVP_DecryptInit_ex(c->dec, NULL, NULL, NULL, iv) != 1 ||
        EVP_DecryptUpdate(c->dec, NULL, &outl, aad, (int) aadlen) != 1 ||
        (len > 0 && EVP_DecryptUpdate(c->dec, buf, &outl, buf, (int) len) != 1) ||
        EVP_CIPHER_CTX_ctrl(c->dec, EVP_CTRL_GCM_SET_TAG, CRYPT_TAG_LEN, (void *) tag) != 1)
        return ossl_fail(err, "AES-256-GCM decryption");
    if (EVP_DecryptFinal_ex(c->dec, buf + len, &outl) != 1)
    {
        ERR_clear_error();
        return err_set(err, WS_ECORRUPT, "authentication failed");
    }
    return 0;
}
