/*
 * fuzz_repo.c — the repository descriptor parser (repo.c) on arbitrary
 * text.
 *
 * key_check is an HMAC over the descriptor as repo_descriptor_format()
 * writes it from the parsed values (docs/format.md), so that text must be
 * a fixed point.  Properties: a failure is WS_ECORRUPT; a descriptor that
 * parses formats into text that parses again and formats to the same
 * text.
 */
#include "fuzz.h"

#include "repo.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char       *text = fuzz_text(data, size);
    struct repo_descriptor d, again;
    struct ws_err err = WS_ERR_INIT;
    static char out1[16384];
    static char out2[16384];

    if (repo_descriptor_parse(text, &d, &err) == 0)
    {
        int         n1 = repo_descriptor_format(&d, out1, sizeof(out1));
        int         n2;

        if (n1 < 0)
            fuzz_fail("repo_descriptor_format failed");
        err_clear(&err);
        if (repo_descriptor_parse(out1, &again, &err) < 0)
            fuzz_fail("formatted descriptor does not parse: %s\n%s", err.msg, out1);
        n2 = repo_descriptor_format(&again, out2, sizeof(out2));
        if (n2 != n1 || strcmp(out1, out2) != 0)
            fuzz_fail("descriptor text is not a fixed point:\n%s\n---\n%s", out1, out2);
    }
    else if (err.code != WS_ECORRUPT)
        fuzz_fail("error code %d, not WS_ECORRUPT: %s", (int) err.code, err.msg);
    free(text);
    return 0;
}
