/*
 * checksum.h — non-cryptographic checksums: XXH64 (streaming) and CRC-32C.
 *
 * XXH64 follows the published xxHash specification (XXH64, seed parameter);
 * it checks plaintext integrity of repository objects at several GB/s.
 * CRC-32C (Castagnoli) is what PostgreSQL uses for pg_control and WAL records.
 */
#ifndef WS_CHECKSUM_H
#define WS_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

struct xxh64_state
{
    uint64_t    v[4];
    uint64_t    total_len;
    uint64_t    seed;
    unsigned char mem[32];
    unsigned    memsize;
};

void        xxh64_init(struct xxh64_state *st, uint64_t seed);
void        xxh64_update(struct xxh64_state *st, const void *data, size_t len);
uint64_t    xxh64_digest(const struct xxh64_state *st);
uint64_t    xxh64(const void *data, size_t len, uint64_t seed);

/* CRC-32C, PostgreSQL convention: crc32c(buf, len) equals INIT_CRC32C, COMP_CRC32C
 * over buf, FIN_CRC32C.  Uses SSE4.2 when the CPU has it. */
uint32_t    crc32c(const void *data, size_t len);

#endif
