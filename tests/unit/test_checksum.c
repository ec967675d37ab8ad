/*
 * test_checksum.c — XXH64 and CRC-32C (common/format/checksum.c).
 *
 * XXH64 vectors: the spec's empty-input value, widely published values for
 * "a", "abc" and "Nobody inspects the spammish repetition", and seeded values
 * computed with the reference library (libxxhash 0.8.1, XXH64()).  CRC-32C
 * vectors: the standard check value for "123456789" and the iSCSI vectors of
 * RFC 3720 appendix B.4.  Random data is compared with a bitwise CRC written
 * here, through both the dispatching crc32c() and a copy of checksum.c built
 * with the SSE4.2 path compiled out, so hardware and table code must agree.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"

/*
 * A second copy of checksum.c with WS_CRC32C_FORCE_SW, its exported names
 * renamed so they do not clash with the library's.  On x86_64 with SSE4.2,
 * crc32c() takes the hardware path and sw_crc32c() the slicing-by-8 path.
 */
#define WS_CRC32C_FORCE_SW
#define xxh64_init sw_xxh64_init
#define xxh64_update sw_xxh64_update
#define xxh64_digest sw_xxh64_digest
#define xxh64 sw_xxh64
#define crc32c sw_crc32c
#include "checksum.c"
#undef xxh64_init
#undef xxh64_update
#undef xxh64_digest
#undef xxh64
#undef crc32c

/* Deterministic PRNG (splitmix64) so a failure can be reproduced. */
static uint64_t
rng_next(uint64_t *s)
{
    uint64_t    z = (*s += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void
rng_fill(uint64_t *s, unsigned char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char) rng_next(s);
}

/* Bitwise reflected CRC-32C, straight from the definition. */
static uint32_t
crc32c_bitwise(const unsigned char *p, size_t len)
{
    uint32_t    crc = 0xFFFFFFFFu;

    for (size_t i = 0; i < len; i++)
    {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return crc ^ 0xFFFFFFFFu;
}

/* ---- XXH64 known answers ---------------------------------------------------- */

/* Criterion runs each test in a freshly exec'd process (PIE, ASLR), so
 * parameters hold their data inline rather than as pointers. */
struct xxh_vec
{
    char        data[48];   /* "" with len 1027: use pattern_1027() */
    size_t      len;
    uint64_t    seed;
    uint64_t    want;
};

/* bytes 0..255 repeated 4 times, then "xyz" (1027 bytes) */
static void
pattern_1027(unsigned char *buf)
{
    for (int i = 0; i < 1024; i++)
        buf[i] = (unsigned char) i;
    memcpy(buf + 1024, "xyz", 3);
}

ParameterizedTestParameters(xxh64, known)
{
    static struct xxh_vec v[] = {
        {"", 0, 0, UINT64_C(0xEF46DB3751D8E999)},
        {"a", 1, 0, UINT64_C(0xD24EC4F1A98C6E5B)},
        {"abc", 3, 0, UINT64_C(0x44BC2CF5AD770999)},
        {"Nobody inspects the spammish repetition", 39, 0, UINT64_C(0xFBCEA83C8A378BF1)},
        /* seeded values from libxxhash 0.8.1 XXH64() */
        {"", 0, 1, UINT64_C(0xD5AFBA1336A3BE4B)},
        {"a", 1, 1, UINT64_C(0xDEC2BC81C3CD46C6)},
        {"abc", 3, UINT64_C(0x9E3779B185EBCA87), UINT64_C(0xA7CB2AAC405E36C7)},
        {"Nobody inspects the spammish repetition", 39, UINT64_C(0xFFFFFFFFFFFFFFFF),
         UINT64_C(0xAA61085CFFB45675)},
        {"", 1027, 12345, UINT64_C(0xE323A559C0F2EE86)},
    };

    return cr_make_param_array(struct xxh_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct xxh_vec *v, xxh64, known)
{
    unsigned char buf[1027];
    const unsigned char *data = (const unsigned char *) v->data;
    struct xxh64_state st;

    if (v->len > sizeof(v->data))
    {
        pattern_1027(buf);
        data = buf;
    }
    cr_expect_eq(xxh64(data, v->len, v->seed), v->want,
                 "xxh64(len %zu, seed %llu) = %016llX, want %016llX", v->len,
                 (unsigned long long) v->seed,
                 (unsigned long long) xxh64(data, v->len, v->seed),
                 (unsigned long long) v->want);

    xxh64_init(&st, v->seed);
    xxh64_update(&st, data, v->len);
    cr_expect_eq(xxh64_digest(&st), v->want, "streaming, len %zu", v->len);
}

Test(xxh64, seed_changes_result)
{
    cr_expect_neq(xxh64("abc", 3, 0), xxh64("abc", 3, 1));
    cr_expect_neq(xxh64("abc", 3, 0), xxh64("abd", 3, 0));
}

/* Every length around the 4/8/32-byte boundaries, one-shot vs byte-at-a-time. */
Test(xxh64, small_lengths_streaming)
{
    unsigned char buf[200];
    uint64_t    s = 1;

    rng_fill(&s, buf, sizeof(buf));
    for (size_t len = 0; len <= sizeof(buf); len++)
    {
        struct xxh64_state st;

        xxh64_init(&st, len * 7);
        for (size_t i = 0; i < len; i++)
            xxh64_update(&st, buf + i, 1);
        cr_assert_eq(xxh64_digest(&st), xxh64(buf, len, len * 7), "len %zu", len);
    }
}

Test(xxh64, streaming_random_pieces_1mib)
{
    const size_t len = 1024 * 1024;
    unsigned char *buf = malloc(len);
    uint64_t    s = 42;

    cr_assert_not_null(buf);
    rng_fill(&s, buf, len);
    for (int round = 0; round < 8; round++)
    {
        uint64_t    seed = rng_next(&s);
        uint64_t    want = xxh64(buf, len, seed);
        struct xxh64_state st;
        size_t      off = 0;

        xxh64_init(&st, seed);
        while (off < len)
        {
            /* mix tiny, stripe-sized and large pieces, including zero */
            uint64_t    r = rng_next(&s);
            size_t      piece = (r & 3) == 0 ? (size_t) (r >> 8) % 70000 : (size_t) (r >> 8) % 70;

            if (piece > len - off)
                piece = len - off;
            xxh64_update(&st, buf + off, piece);
            off += piece;
        }
        cr_expect_eq(xxh64_digest(&st), want, "round %d", round);
    }
    free(buf);
}

Test(xxh64, digest_does_not_modify_state)
{
    unsigned char buf[100];
    struct xxh64_state st;
    struct xxh64_state copy;
    uint64_t    s = 7;
    uint64_t    d1;

    rng_fill(&s, buf, sizeof(buf));
    xxh64_init(&st, 3);
    xxh64_update(&st, buf, 45);
    memcpy(&copy, &st, sizeof(st));
    d1 = xxh64_digest(&st);
    cr_expect_eq(memcmp(&copy, &st, sizeof(st)), 0);
    cr_expect_eq(xxh64_digest(&st), d1);
    cr_expect_eq(d1, xxh64(buf, 45, 3));
    xxh64_update(&st, buf + 45, 55);
    cr_expect_eq(xxh64_digest(&st), xxh64(buf, 100, 3));
}

Test(xxh64, unaligned_input)
{
    unsigned char buf[4096 + 16];
    uint64_t    s = 9;
    uint64_t    want;

    rng_fill(&s, buf, sizeof(buf));
    want = xxh64(buf + 8, 4000, 0);
    for (size_t shift = 0; shift < 8; shift++)
    {
        memmove(buf + shift, buf + 8, 4000);
        cr_expect_eq(xxh64(buf + shift, 4000, 0), want, "shift %zu", shift);
        memmove(buf + 8, buf + shift, 4000);
    }
}

Test(xxh64, single_bit_flip_changes_hash)
{
    unsigned char buf[1000];
    uint64_t    s = 11;
    uint64_t    h0;

    rng_fill(&s, buf, sizeof(buf));
    h0 = xxh64(buf, sizeof(buf), 0);
    for (size_t i = 0; i < sizeof(buf); i += 37)
    {
        buf[i] ^= 0x10;
        cr_expect_neq(xxh64(buf, sizeof(buf), 0), h0, "flip at %zu", i);
        buf[i] ^= 0x10;
    }
    cr_expect_eq(xxh64(buf, sizeof(buf), 0), h0);
}

/* ---- CRC-32C ------------------------------------------------------------------ */

Test(crc32c, check_value)
{
    cr_expect_eq(crc32c("123456789", 9), 0xE3069283u);
    cr_expect_eq(sw_crc32c("123456789", 9), 0xE3069283u);
    cr_expect_eq(crc32c_bitwise((const unsigned char *) "123456789", 9), 0xE3069283u);
}

Test(crc32c, empty)
{
    cr_expect_eq(crc32c("", 0), 0u);
    cr_expect_eq(sw_crc32c("", 0), 0u);
}

/* RFC 3720 B.4 (the CRC bytes listed there are the little-endian encoding). */
Test(crc32c, rfc3720_vectors)
{
    unsigned char buf[32];

    memset(buf, 0, sizeof(buf));
    cr_expect_eq(crc32c(buf, 32), 0x8A9136AAu);
    cr_expect_eq(sw_crc32c(buf, 32), 0x8A9136AAu);
    memset(buf, 0xFF, sizeof(buf));
    cr_expect_eq(crc32c(buf, 32), 0x62A8AB43u);
    cr_expect_eq(sw_crc32c(buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char) i;
    cr_expect_eq(crc32c(buf, 32), 0x46DD794Eu);
    cr_expect_eq(sw_crc32c(buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char) (31 - i);
    cr_expect_eq(crc32c(buf, 32), 0x113FDB5Cu);
    cr_expect_eq(sw_crc32c(buf, 32), 0x113FDB5Cu);
}

/* Hardware (when present), table and bitwise code agree at every length and
 * alignment on random data. */
Test(crc32c, random_data_paths_agree)
{
    static unsigned char buf[70000 + 8];
    uint64_t    s = 2024;

    rng_fill(&s, buf, sizeof(buf));
    for (size_t len = 0; len < 300; len++)
    {
        for (size_t off = 0; off < 8; off++)
        {
            uint32_t    want = crc32c_bitwise(buf + off, len);

            cr_assert_eq(crc32c(buf + off, len), want, "len %zu off %zu", len, off);
            cr_assert_eq(sw_crc32c(buf + off, len), want, "sw len %zu off %zu", len, off);
        }
    }
    for (int i = 0; i < 50; i++)
    {
        size_t      off = rng_next(&s) % 8;
        size_t      len = rng_next(&s) % 70000;
        uint32_t    want = crc32c_bitwise(buf + off, len);

        cr_assert_eq(crc32c(buf + off, len), want, "len %zu off %zu", len, off);
        cr_assert_eq(sw_crc32c(buf + off, len), want, "sw len %zu off %zu", len, off);
    }
}

Test(crc32c, detects_change)
{
    unsigned char buf[296];
    uint64_t    s = 5;
    uint32_t    c0;

    rng_fill(&s, buf, sizeof(buf));
    c0 = crc32c(buf, sizeof(buf));
    buf[100] ^= 1;
    cr_expect_neq(crc32c(buf, sizeof(buf)), c0);
    cr_expect_neq(sw_crc32c(buf, sizeof(buf)), c0);
}

/* The renamed copy's XXH64 is the same code; a cheap sanity check that the
 * copy trick compiled what we think it did. */
Test(checksum, sw_copy_is_same_code)
{
    cr_expect_eq(sw_xxh64("abc", 3, 0), xxh64("abc", 3, 0));
}
