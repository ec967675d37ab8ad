/*
 * test_ops_drill.c — walship drill's pure parts (ops_drill.h): the check
 * syntax (every operator, '|' inside the SQL, blanks, each malformed form),
 * a checks file (comments, blank lines, the error naming file and line),
 * the judgement of results (text and numbers, NULL, no row, not a number),
 * the state/drill text (round trip, '' step, bad values, unknown keys) and
 * CSV quoting as COPY ... CSV does it.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops_drill.h"

struct parse_case
{
    const char *line;
    const char *name;
    enum ops_drill_op op;
    const char *expect;
    const char *sql;
};

static const struct parse_case ok_cases[] = {
        {"rows | >= 1000 | SELECT count(*) FROM t", "rows", OPS_DRILL_GE, "1000",
            "SELECT count(*) FROM t"},
        {"  a b  |= t|select true  ", "a b", OPS_DRILL_EQ, "t", "select true"},
        {"x | != 0 | select 1", "x", OPS_DRILL_NE, "0", "select 1"},
        {"x | <> 0 | select 1", "x", OPS_DRILL_NE, "0", "select 1"},
        {"x | < 5.5 | select 1", "x", OPS_DRILL_LT, "5.5", "select 1"},
        {"x | <= -3 | select 1", "x", OPS_DRILL_LE, "-3", "select 1"},
        {"x | > 1e3 | select 1", "x", OPS_DRILL_GT, "1e3", "select 1"},
        {"runs |  | select 1 from t limit 0", "runs", OPS_DRILL_RUNS, "",
            "select 1 from t limit 0"},
        {"pipes | = a|b | select 'a|b'", "pipes", OPS_DRILL_EQ, "a", "b | select 'a|b'"},
        {"concat | = ab | select 'a' || 'b'", "concat", OPS_DRILL_EQ, "ab", "select 'a' || 'b'"},
        {"text | = hello world | select 'hello world'", "text", OPS_DRILL_EQ, "hello world",
            "select 'hello world'"},
};

Test(ops_drill, check_parse_ok)
{
    for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++)
    {
        const struct parse_case *c = &ok_cases[i];
        struct ops_drill_check k;
        struct ws_err err = WS_ERR_INIT;

        cr_assert_eq(ops_drill_check_parse(c->line, &k, &err), 0, "%s: %s", c->line, err.msg);
        cr_assert_str_eq(k.name, c->name);
        cr_assert_eq(k.op, c->op, "%s", c->line);
        cr_assert_str_eq(k.expect, c->expect);
        cr_assert_str_eq(k.sql, c->sql);
        free(k.sql);
    }
}

struct bad_case
{
    const char *line;
    const char *says;
};

static const struct bad_case bad_cases[] = {
        {"no bars", "NAME | EXPECTATION | SQL"},
        {"one | bar", "NAME | EXPECTATION | SQL"},
        {" | = 1 | select 1", "name must be"},
        {"x | = 1 |   ", "no SQL"},
        {"x | ~ 1 | select 1", "invalid expectation"},
        {"x | >= | select 1", "needs a value"},
        {"x | >= many | select 1", "is not a number"},
        {"x | < 1x | select 1", "is not a number"},
        {"0123456789012345678901234567890123456789012345678901234567890123456789 | | select 1",
            "name must be"},
};

Test(ops_drill, check_parse_bad)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
    {
        const struct bad_case *c = &bad_cases[i];
        struct ops_drill_check k;
        struct ws_err err = WS_ERR_INIT;

        cr_assert_eq(ops_drill_check_parse(c->line, &k, &err), -1, "%s", c->line);
        cr_assert_eq(err.code, WS_ECONFIG);
        cr_assert(strstr(err.msg, c->says) != NULL || strstr(err.hint, c->says) != NULL,
                  "%s: %s / %s", c->line, err.msg, err.hint);
        cr_assert_null(k.sql);
    }
}

static char *
write_temp(const char *text)
{
    static char path[64];
    FILE       *f;
    int         fd;

    snprintf(path, sizeof(path), "/tmp/test_ops_drill.XXXXXX");
    fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

Test(ops_drill, checks_file)
{
    struct ops_drill_checks cs;
    struct ws_err err = WS_ERR_INIT;
    char       *p = write_temp("# checks\n\n  # indented comment\n"
                               "a | = 1 | select 1\n   \nb | | select 2\n");

    memset(&cs, 0, sizeof(cs));
    cr_assert_eq(ops_drill_checks_load(&cs, p, &err), 0, "%s", err.msg);
    cr_assert_eq(cs.n, 2);
    cr_assert_str_eq(cs.c[0].name, "a");
    cr_assert_str_eq(cs.c[1].sql, "select 2");
    ops_drill_checks_free(&cs);
    cr_assert_eq(cs.n, 0);
    unlink(p);

    p = write_temp("a | = 1 | select 1\n\nbroken line\n");
    cr_assert_eq(ops_drill_checks_load(&cs, p, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, p) != NULL && strstr(err.msg, "line 3") != NULL, "%s", err.msg);
    ops_drill_checks_free(&cs);
    unlink(p);

    cr_assert_eq(ops_drill_checks_load(&cs, "/nonexistent/checks", &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, "/nonexistent/checks") != NULL, "%s", err.msg);
}

Test(ops_drill, too_many_checks)
{
    struct ops_drill_checks cs;
    struct ws_err err = WS_ERR_INIT;

    memset(&cs, 0, sizeof(cs));
    for (int i = 0; i < OPS_DRILL_MAX_CHECKS; i++)
        cr_assert_eq(ops_drill_checks_add(&cs, "x | | select 1", &err), 0);
    cr_assert_eq(ops_drill_checks_add(&cs, "x | | select 1", &err), -1);
    cr_assert(strstr(err.msg, "more than") != NULL);
    ops_drill_checks_free(&cs);
}

static bool
judge(const char *line, bool have_row, const char *value, char *detail)
{
    struct ops_drill_check k;
    struct ws_err err = WS_ERR_INIT;
    bool        ok;

    cr_assert_eq(ops_drill_check_parse(line, &k, &err), 0, "%s", err.msg);
    ok = ops_drill_check_eval(&k, have_row, value, detail, 256);
    free(k.sql);
    return ok;
}

Test(ops_drill, check_eval)
{
    char        d[256];

    cr_assert(judge("x | = t | s", true, "t", d));
    cr_assert(!judge("x | = t | s", true, "f", d));
    cr_assert_str_eq(d, "f, expected = t");
    cr_assert(judge("x | != 0 | s", true, "1", d));
    cr_assert(!judge("x | != 0 | s", true, "0", d));
    cr_assert(judge("x | >= 100 | s", true, "100", d));
    cr_assert(judge("x | >= 100 | s", true, "100.5", d));
    cr_assert(!judge("x | >= 100 | s", true, "99", d));
    cr_assert_str_eq(d, "99, expected >= 100");
    cr_assert(judge("x | > 9 | s", true, "10", d));     /* as numbers, not as text */
    cr_assert(!judge("x | > 10 | s", true, "10", d));
    cr_assert(judge("x | < 86400 | s", true, "3600.25", d));
    cr_assert(judge("x | <= 1 | s", true, "1", d));
    cr_assert(!judge("x | < 5 | s", true, "abc", d));
    cr_assert(strstr(d, "not a number") != NULL, "%s", d);
    cr_assert(!judge("x | = 1 | s", true, NULL, d));
    cr_assert(strstr(d, "NULL") != NULL, "%s", d);
    cr_assert(!judge("x | >= 1 | s", false, NULL, d));
    cr_assert(strstr(d, "no row") != NULL, "%s", d);
    /* no expectation: running is enough, whatever came back */
    cr_assert(judge("x | | s", false, NULL, d));
    cr_assert(judge("x | | s", true, NULL, d));
    cr_assert(judge("x | | s", true, "42", d));
}

Test(ops_drill, state_round_trip)
{
    struct ops_drill_state s = {1796400000, false, 12.5, "check", 1796300000}, t;
    struct ws_err err = WS_ERR_INIT;
    char        buf[512];

    cr_assert_gt(ops_drill_state_format(&s, buf, sizeof(buf)), 0);
    cr_assert(strstr(buf, "\ntime = 1796400000\n") != NULL, "%s", buf);
    cr_assert(strstr(buf, "\nresult = failure\n") != NULL, "%s", buf);
    cr_assert(strstr(buf, "\nduration_seconds = 12.500\n") != NULL, "%s", buf);
    cr_assert(strstr(buf, "\nstep = 'check'\n") != NULL, "%s", buf);
    cr_assert(strstr(buf, "\nlast_success_time = 1796300000\n") != NULL, "%s", buf);
    cr_assert_eq(ops_drill_state_parse(buf, strlen(buf), &t, &err), 0, "%s", err.msg);
    cr_assert_eq(t.time, s.time);
    cr_assert_eq(t.success, false);
    cr_assert_float_eq(t.duration_seconds, 12.5, 1e-9);
    cr_assert_str_eq(t.step, "check");
    cr_assert_eq(t.last_success_time, s.last_success_time);

    s.success = true;
    s.step[0] = '\0';
    s.last_success_time = s.time;
    ops_drill_state_format(&s, buf, sizeof(buf));
    cr_assert(strstr(buf, "\nstep = ''\n") != NULL, "%s", buf);
    cr_assert_eq(ops_drill_state_parse(buf, strlen(buf), &t, &err), 0, "%s", err.msg);
    cr_assert(t.success);
    cr_assert_str_eq(t.step, "");
    cr_assert_eq(ops_drill_state_format(&s, buf, 10), -1, "too small a buffer");
}

Test(ops_drill, state_parse_bad)
{
    struct ops_drill_state t;
    struct ws_err err = WS_ERR_INIT;
    char        unknown[] = "future_key = 1\ntime = 5\n";
    char        badnum[] = "time = soon\n";
    char        badres[] = "result = maybe\n";
    char        garbage[] = "= = =\n";

    cr_assert_eq(ops_drill_state_parse(unknown, strlen(unknown), &t, &err), 0);
    cr_assert_eq(t.time, 5);
    cr_assert_eq(ops_drill_state_parse(badnum, strlen(badnum), &t, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT);
    cr_assert(strstr(err.msg, "time") != NULL, "%s", err.msg);
    cr_assert_eq(ops_drill_state_parse(badres, strlen(badres), &t, &err), -1);
    cr_assert_eq(ops_drill_state_parse(garbage, strlen(garbage), &t, &err), -1);
}

static char *
csv(const char *v, bool null)
{
    static char buf[256];
    FILE       *f;

    memset(buf, 0, sizeof(buf));
    f = fmemopen(buf, sizeof(buf), "w");

    ops_drill_csv_field(f, v, null);
    fclose(f);
    return buf;
}

Test(ops_drill, csv_field)
{
    cr_assert_str_eq(csv("plain", false), "plain");
    cr_assert_str_eq(csv("", false), "\"\"");
    cr_assert_str_eq(csv(NULL, true), "");
    cr_assert_str_eq(csv("a,b", false), "\"a,b\"");
    cr_assert_str_eq(csv("say \"hi\"", false), "\"say \"\"hi\"\"\"");
    cr_assert_str_eq(csv("two\nlines", false), "\"two\nlines\"");
    cr_assert_str_eq(csv("cr\r", false), "\"cr\r\"");
    cr_assert_str_eq(csv("\\.", false), "\"\\.\"");
    cr_assert_str_eq(csv(" spaced ", false), " spaced ");
}

Test(ops_drill, names)
{
    cr_assert_str_eq(ops_drill_step_name(OPS_DRILL_STEP_NONE), "");
    cr_assert_str_eq(ops_drill_step_name(OPS_DRILL_STEP_FETCH), "fetch");
    cr_assert_str_eq(ops_drill_step_name(OPS_DRILL_STEP_REPLAY), "replay");
    cr_assert_str_eq(ops_drill_step_name(OPS_DRILL_STEP_CHECK), "check");
    cr_assert_str_eq(ops_drill_op_name(OPS_DRILL_GE), ">=");
    cr_assert_str_eq(ops_drill_op_name(OPS_DRILL_RUNS), "");
}
