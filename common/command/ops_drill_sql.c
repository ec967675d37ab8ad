/*
 * ops_drill_sql.c — the drill's checks (their syntax and judgement), the
 * state/drill text, and CSV.  See ops_drill.h.
 */
#include "ops_drill.h"
#include "kv.h"
#include "smallfile.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- checks --------------------------------------------------------------- */

static const char *const op_names[] = {"", "=", "!=", "<", "<=", ">", ">="};

const char *
ops_drill_op_name(enum ops_drill_op op)
{
    return (int) op >= 0 && (size_t) op < sizeof(op_names) / sizeof(op_names[0]) ?
        op_names[op] : "?";
}

/* [s, e) without blanks at either end, into out (cap len); false if too long. */
static bool
trim_copy(const char *s, const char *e, char *out, size_t len)
{
    while (s < e && kv_is_blank(*s))
        s++;
    while (e > s && kv_is_blank(e[-1]))
        e--;
    if ((size_t) (e - s) >= len)
        return false;
    memcpy(out, s, (size_t) (e - s));
    out[e - s] = '\0';
    return true;
}

static bool
parse_number(const char *s, double *out)
{
    char       *end;

    errno = 0;
    *out = strtod(s, &end);
    while (*end != '\0' && kv_is_blank(*end))
        end++;
    return end != s && *end == '\0' && errno == 0 && isfinite(*out);
}

int
ops_drill_check_parse(const char *line, struct ops_drill_check *out, struct ws_err *err)
{
    const char *bar1 = strchr(line, '|');
    const char *bar2 = bar1 != NULL ? strchr(bar1 + 1, '|') : NULL;
    char        expect[256];
    const char *p, *q, *e;
    double      num;

    memset(out, 0, sizeof(*out));
    if (bar2 == NULL)
    {
        err_set(err, WS_ECONFIG, "a check must be \"NAME | EXPECTATION | SQL\"");
        err_hint(err, "For example: accounts | >= 1000 | SELECT count(*) FROM accounts");
        return -1;
    }
    if (!trim_copy(line, bar1, out->name, sizeof(out->name)) || out->name[0] == '\0')
        return err_set(err, WS_ECONFIG, "a check's name must be 1 to %zu bytes",
                       sizeof(out->name) - 1);
    if (!trim_copy(bar1 + 1, bar2, expect, sizeof(expect)))
        return err_set(err, WS_ECONFIG, "check \"%s\": the expectation is too long", out->name);
    q = bar2 + 1;
    e = q + strlen(q);
    while (q < e && kv_is_blank(*q))
        q++;
    while (e > q && kv_is_blank(e[-1]))
        e--;
    if (q == e)
        return err_set(err, WS_ECONFIG, "check \"%s\": no SQL", out->name);

    p = expect;
    if (*p == '\0')
        out->op = OPS_DRILL_RUNS;
    else if (strncmp(p, "!=", 2) == 0 || strncmp(p, "<>", 2) == 0)
        out->op = OPS_DRILL_NE, p += 2;
    else if (strncmp(p, "<=", 2) == 0)
        out->op = OPS_DRILL_LE, p += 2;
    else if (strncmp(p, ">=", 2) == 0)
        out->op = OPS_DRILL_GE, p += 2;
    else if (*p == '=')
        out->op = OPS_DRILL_EQ, p += 1;
    else if (*p == '<')
        out->op = OPS_DRILL_LT, p += 1;
    else if (*p == '>')
        out->op = OPS_DRILL_GT, p += 1;
    else
    {
        err_set(err, WS_ECONFIG, "check \"%s\": invalid expectation \"%s\"", out->name, expect);
        err_hint(err, "Give = TEXT, != TEXT, < N, <= N, > N or >= N, or nothing for "
                 "\"the query runs\".");
        return -1;
    }
    while (*p != '\0' && kv_is_blank(*p))
        p++;
    snprintf(out->expect, sizeof(out->expect), "%s", p);
    if (out->op != OPS_DRILL_RUNS && out->expect[0] == '\0')
        return err_set(err, WS_ECONFIG, "check \"%s\": \"%s\" needs a value", out->name,
                       ops_drill_op_name(out->op));
    if (out->op >= OPS_DRILL_LT && !parse_number(out->expect, &num))
        return err_set(err, WS_ECONFIG, "check \"%s\": \"%s\" is not a number", out->name,
                       out->expect);
    out->sql = strndup(q, (size_t) (e - q));
    if (out->sql == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    return 0;
}

int
ops_drill_checks_add(struct ops_drill_checks *cs, const char *line, struct ws_err *err)
{
    if (cs->n >= OPS_DRILL_MAX_CHECKS)
        return err_set(err, WS_ECONFIG, "more than %d checks", OPS_DRILL_MAX_CHECKS);
    if (ops_drill_check_parse(line, &cs->c[cs->n], err) < 0)
        return -1;
    cs->n++;
    return 0;
}

int
ops_drill_checks_load(struct ops_drill_checks *cs, const char *path, struct ws_err *err)
{
    char       *text = NULL;
    size_t      len = 0;
    struct kv_lines it;
    char       *line;
    size_t      llen;
    int         rc = -1;

    if (smallfile_read(path, "checks file", OPS_DRILL_SQL_MAX, WS_ECONFIG, NULL, &text, &len,
                       err) != 0)
    {
        err->code = WS_ECONFIG;
        return -1;
    }
    kv_lines_init(&it, text, len);
    while ((line = kv_lines_next(&it, &llen)) != NULL)
    {
        const char *p = line;

        while (*p != '\0' && kv_is_blank(*p))
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        if (ops_drill_checks_add(cs, p, err) < 0)
        {
            err_prefix(err, "checks file \"%s\" line %d", path, it.lineno);
            goto out;
        }
    }
    rc = 0;
out:
    free(text);
    return rc;
}

void
ops_drill_checks_free(struct ops_drill_checks *cs)
{
    if (cs == NULL)
        return;
    for (int i = 0; i < cs->n; i++)
        free(cs->c[i].sql);
    cs->n = 0;
}

bool
ops_drill_check_eval(const struct ops_drill_check *c, bool have_row, const char *value,
                     char *detail, size_t len)
{
    double      got, want;
    bool        ok;

    if (c->op == OPS_DRILL_RUNS)
    {
        snprintf(detail, len, "ran, %s", have_row ? (value ? value : "NULL") : "no row");
        return true;
    }
    if (!have_row)
    {
        snprintf(detail, len, "no row, expected %s %s", ops_drill_op_name(c->op), c->expect);
        return false;
    }
    if (value == NULL)
    {
        snprintf(detail, len, "NULL, expected %s %s", ops_drill_op_name(c->op), c->expect);
        return false;
    }
    if (c->op == OPS_DRILL_EQ || c->op == OPS_DRILL_NE)
    {
        ok = (strcmp(value, c->expect) == 0) == (c->op == OPS_DRILL_EQ);
        snprintf(detail, len, "%s, expected %s %s", value, ops_drill_op_name(c->op), c->expect);
        return ok;
    }
    if (!parse_number(value, &got) || !parse_number(c->expect, &want))
    {
        snprintf(detail, len, "\"%s\" is not a number, expected %s %s", value,
                 ops_drill_op_name(c->op), c->expect);
        return false;
    }
    switch (c->op)
    {
        case OPS_DRILL_LT: ok = got < want; break;
        case OPS_DRILL_LE: ok = got <= want; break;
        case OPS_DRILL_GT: ok = got > want; break;
        default: ok = got >= want; break;
    }
    snprintf(detail, len, "%s, expected %s %s", value, ops_drill_op_name(c->op), c->expect);
    return ok;
}

/* ---- state/drill ---------------------------------------------------------- */

int
ops_drill_state_format(const struct ops_drill_state *s, char *buf, size_t len)
{
    int         n = snprintf(buf, len,
                             "# walship drill: the last drill's outcome (docs/walship.md)\n"
                             "time = %" PRId64 "\n"
                             "result = %s\n"
                             "duration_seconds = %.3f\n"
                             "step = '%s'\n"
                             "last_success_time = %" PRId64 "\n",
                             s->time, s->success ? "success" : "failure", s->duration_seconds,
                             s->step, s->last_success_time);

    return n < 0 || (size_t) n >= len ? -1 : n;
}

static bool
key_is(const struct kv_pair *kv, const char *name)
{
    return kv->keylen == strlen(name) && strncmp(kv->key, name, kv->keylen) == 0;
}

int
ops_drill_state_parse(char *text, size_t len, struct ops_drill_state *s, struct ws_err *err)
{
    struct kv_lines it;
    char       *line;
    size_t      llen;

    memset(s, 0, sizeof(*s));
    kv_lines_init(&it, text, len);
    while ((line = kv_lines_next(&it, &llen)) != NULL)
    {
        struct kv_pair kv;
        enum kv_status st = kv_parse(line, 0, &kv);
        char       *end;

        if (st == KV_EMPTY)
            continue;
        if (st != KV_OK)
            return err_set(err, WS_ECORRUPT, "%s line %d is not \"key = value\"",
                           OPS_DRILL_STATE_KEY, it.lineno);
        errno = 0;
        if (key_is(&kv, "time") || key_is(&kv, "last_success_time"))
        {
            long long   v = strtoll(kv.value, &end, 10);

            if (*kv.value == '\0' || *end != '\0' || errno != 0 || v < 0)
                goto bad;
            if (key_is(&kv, "time"))
                s->time = v;
            else
                s->last_success_time = v;
        }
        else if (key_is(&kv, "result"))
        {
            if (strcmp(kv.value, "success") != 0 && strcmp(kv.value, "failure") != 0)
                goto bad;
            s->success = strcmp(kv.value, "success") == 0;
        }
        else if (key_is(&kv, "duration_seconds"))
        {
            s->duration_seconds = strtod(kv.value, &end);
            if (*kv.value == '\0' || *end != '\0')
                goto bad;
        }
        else if (key_is(&kv, "step"))
            snprintf(s->step, sizeof(s->step), "%s", kv.value);
        continue;
bad:
        return err_set(err, WS_ECORRUPT, "%s line %d: invalid value for \"%.*s\"",
                       OPS_DRILL_STATE_KEY, it.lineno, (int) kv.keylen, kv.key);
    }
    return 0;
}

/* ---- CSV ------------------------------------------------------------------ */

void
ops_drill_csv_field(FILE *out, const char *value, bool null)
{
    /* COPY ... CSV: NULL is an empty unquoted field, "" an empty quoted one */
    if (null)
        return;
    if (value[0] != '\0' && strpbrk(value, ",\"\r\n") == NULL && strcmp(value, "\\.") != 0)
    {
        fputs(value, out);
        return;
    }
    fputc('"', out);
    for (const char *p = value; *p != '\0'; p++)
    {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}
