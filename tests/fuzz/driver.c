/*
 * driver.c — runs a fuzz harness over files, without libFuzzer.
 *
 *   fuzz_<name>_corpus FILE|DIR...
 *
 * Each file (each regular file of a directory, in name order) is passed to
 * LLVMFuzzerTestOneInput, and so are a few cuts of it: empty, its first
 * half, all but its last byte, and a copy with one byte flipped near the
 * middle.  That lets any compiler (gcc, no libFuzzer) build the harnesses
 * and run their seed corpus as an ordinary test, under ASan and UBSan when
 * the build has them.  A harness reports a violated property by aborting,
 * so a failure is a crash; success prints how many inputs ran.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int         LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long runs;
static long files;

static void
run(const uint8_t *data, size_t size)
{
    LLVMFuzzerTestOneInput(data, size);
    runs++;
}

static int
run_file(const char *path)
{
    FILE       *f = fopen(path, "rb");
    uint8_t    *buf = NULL;
    size_t      len = 0;
    size_t      cap = 0;
    size_t      n;

    if (f == NULL)
    {
        perror(path);
        return -1;
    }
    do
    {
        if (len == cap)
        {
            uint8_t    *nb;

            cap = cap ? 2 * cap : 65536;
            nb = realloc(buf, cap);
            if (nb == NULL)
            {
                fprintf(stderr, "%s: out of memory\n", path);
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    if (ferror(f))
    {
        perror(path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    files++;

    /* exact-size copies, so ASan sees any read past the end */
    {
        uint8_t    *copy = malloc(len ? len : 1);

        if (copy == NULL)
        {
            free(buf);
            return -1;
        }
        if (len > 0)
            memcpy(copy, buf, len);
        run(copy, len);
        run(copy, 0);
        if (len > 1)
        {
            run(copy, len / 2);
            run(copy, len - 1);
            copy[len / 2] ^= 0x5a;
            run(copy, len);
        }
        free(copy);
    }
    free(buf);
    return 0;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
run_dir(const char *path)
{
    DIR        *d = opendir(path);
    struct dirent *e;
    char      **names = NULL;
    size_t      n = 0;
    int         rc = 0;

    if (d == NULL)
    {
        perror(path);
        return -1;
    }
    while ((e = readdir(d)) != NULL)
    {
        char      **nn;

        if (e->d_name[0] == '.')
            continue;
        nn = realloc(names, (n + 1) * sizeof(*names));
        if (nn == NULL || (nn[n] = strdup(e->d_name)) == NULL)
        {
            fprintf(stderr, "%s: out of memory\n", path);
            free(nn ? nn : names);
            closedir(d);
            return -1;
        }
        names = nn;
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++)
    {
        char        full[4096];
        struct stat st;

        snprintf(full, sizeof(full), "%s/%s", path, names[i]);
        if (rc == 0 && stat(full, &st) == 0 && S_ISREG(st.st_mode) && run_file(full) < 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc < 2)
    {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
    {
        struct stat st;

        if (stat(argv[i], &st) < 0)
        {
            perror(argv[i]);
            return 1;
        }
        if ((S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i])) < 0)
            return 1;
    }
    if (files == 0)
    {
        fprintf(stderr, "%s: no input files\n", argv[0]);
        return 1;
    }
    printf("%s: %ld files, %ld inputs: no failure\n", argv[0], files, runs);
    return 0;
}
