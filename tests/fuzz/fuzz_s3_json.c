/*
 * fuzz_s3_json.c — the JSON reader of s3_cred.c (the instance metadata
 * credentials document: Code, AccessKeyId, SecretAccessKey, Token,
 * Expiration) on arbitrary documents.
 *
 * json_get_string() is static, so this harness includes s3_cred.c itself;
 * it then defines every symbol of that file, and the linker takes nothing
 * of s3_cred.o from ws_common.
 *
 * Properties: a string found is NUL-terminated inside its buffer; one that
 * fits a large buffer is found the same with a buffer of exactly its size
 * plus one and refused (-2) with one byte less.  The document is an
 * exact-size copy, so ASan catches any read past its length.
 */
#include "fuzz.h"

#include "s3_cred.c"

#define OUT_MAX 8192

static void
get(const char *json, size_t len, const char *name)
{
    static char out[OUT_MAX];
    static char exact[OUT_MAX];
    int         rc = json_get_string(json, len, name, out, sizeof(out));

    if (rc != 0 && rc != -1 && rc != -2)
        fuzz_fail("json_get_string returned %d", rc);
    if (rc == 0)
    {
        size_t      n = strnlen(out, sizeof(out));

        if (n == sizeof(out))
            fuzz_fail("value of \"%s\" not terminated", name);
        if (json_get_string(json, len, name, exact, n + 1) != 0 || strcmp(exact, out) != 0)
            fuzz_fail("value of \"%s\" (%zu bytes) does not fit %zu + 1", name, n, n);
        if (n > 0 && json_get_string(json, len, name, exact, n) != -2)
            fuzz_fail("value of \"%s\" (%zu bytes) fits %zu", name, n, n);
    }
    {
        char        small[4];

        rc = json_get_string(json, len, name, small, sizeof(small));
        if (rc == 0 && strnlen(small, sizeof(small)) == sizeof(small))
            fuzz_fail("value of \"%s\" not terminated in 4 bytes", name);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"Code", "AccessKeyId", "SecretAccessKey", "Token",
                                        "Expiration", "LastUpdated", "Type",
                                        "caf\xc3\xa9", ""};
    /* an exact-size copy: the parser must stop at len, not at a NUL */
    char       *json = malloc(size ? size : 1);

    if (json == NULL)
        abort();
    if (size > 0)
        memcpy(json, data, size);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        get(json, size, names[i]);
    free(json);
    return 0;
}
