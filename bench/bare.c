/*
 * bare.c — the bare work of archiving one WAL segment, for comparison with
 * walship-archive in the same run (bench/archive.sh).
 *
 *   walship-bench-bare MODE FILE...
 *
 * For each FILE prints one line "<ms>" for MODE:
 *   zstd        read + ZSTD_compress level 1 (one shot, one thread)
 *   zstd-aes    read + zstd level 1 + AES-256-GCM over the compressed bytes
 *   zstd-aes-io read + zstd-1 + AES-256-GCM + write to FILE.bare + fsync + unlink
 *   sha256      read + SHA-256 of the segment
 *   unzstd      read a .zst file + ZSTD_decompress
 * Process start-up is excluded: it measures the work, not the tool.  Buffers
 * are allocated and touched once before the first timing, so page faults
 * (expensive in a VM) are not counted either: this is the compute floor.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#define BUF_MAX (64u * 1024 * 1024)
static unsigned char *inbuf;
static unsigned char *outbuf;

static unsigned char *
slurp(const char *path, size_t *len)
{
    int         fd = open(path, O_RDONLY);
    struct stat sb;
    unsigned char *buf = inbuf;
    size_t      got = 0;

    if (fd < 0 || fstat(fd, &sb) < 0 || (size_t) sb.st_size > BUF_MAX)
    {
        perror(path);
        exit(1);
    }
    while (got < (size_t) sb.st_size)
    {
        ssize_t     n = read(fd, buf + got, (size_t) sb.st_size - got);

        if (n <= 0)
        {
            perror(path);
            exit(1);
        }
        got += (size_t) n;
    }
    close(fd);
    *len = got;
    return buf;
}

static void
aes_gcm(unsigned char *buf, size_t len)
{
    static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";
    unsigned char iv[12] = {0};
    unsigned char tag[16];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int         outl;

    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv);
    EVP_EncryptUpdate(c, buf, &outl, buf, (int) len);
    EVP_EncryptFinal_ex(c, buf + outl, &outl);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
    EVP_CIPHER_CTX_free(c);
}

int
main(int argc, char **argv)
{
    const char *mode;

    if (argc < 3)
    {
        fprintf(stderr, "usage: %s zstd|zstd-aes|zstd-aes-io|sha256|unzstd FILE...\n", argv[0]);
        return 2;
    }
    mode = argv[1];
    inbuf = malloc(BUF_MAX);
    outbuf = malloc(ZSTD_compressBound(BUF_MAX) + 16);
    memset(inbuf, 1, BUF_MAX);
    memset(outbuf, 1, ZSTD_compressBound(BUF_MAX) + 16);
    /* argv[2] is processed once untimed first: caches and clocks warm up */
    for (int i = 1; i < argc; i++)
    {
        double      t0 = now_ms();
        bool        timed = i > 1;
        const char *file = argv[timed ? i : 2];
        size_t      len;
        unsigned char *in = slurp(file, &len);

        if (strcmp(mode, "sha256") == 0)
        {
            unsigned char md[32];
            unsigned int mdlen;

            EVP_Digest(in, len, md, &mdlen, EVP_sha256(), NULL);
        }
        else if (strcmp(mode, "unzstd") == 0)
        {
            unsigned long long n = ZSTD_getFrameContentSize(in, len);

            if (n > ZSTD_compressBound(BUF_MAX) || ZSTD_isError(ZSTD_decompress(outbuf, n, in, len)))
                return 1;
        }
        else
        {
            size_t      cap = ZSTD_compressBound(len);
            unsigned char *out = outbuf;
            size_t      clen = ZSTD_compress(out, cap, in, len, 1);

            if (ZSTD_isError(clen))
                return 1;
            if (strcmp(mode, "zstd") != 0)
                aes_gcm(out, clen);
            if (strcmp(mode, "zstd-aes-io") == 0)
            {
                char        path[4096];
                int         fd;

                snprintf(path, sizeof(path), "%s.bare", file);
                fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                if (fd < 0 || write(fd, out, clen) != (ssize_t) clen || fsync(fd) < 0)
                    return 1;
                close(fd);
                unlink(path);
            }
        }
        if (timed)
            printf("%.3f\n", now_ms() - t0);
    }
    return 0;
}
