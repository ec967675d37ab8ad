/*
 * test_pgconf_quote.c — quoting for PostgreSQL configuration values and
 * restore_command (common/format/pgconf_quote.c).
 *
 * The round trips do not trust the encoder's own idea of the rules: each
 * quoted line goes through a decoder written here from guc-file.l (the
 * STRING token and GUC_scanstr), then through the placeholder substitution
 * as PostgreSQL 16's percentrepl.c does it (stricter than 15's: any %x other
 * than %p %f %r %% is an error), then through the real /bin/sh -c, and the
 * words the program receives must be the words put in.
 *
 * Criterion runs each test in a freshly exec'd process, so parameter structs
 * hold their strings inline (char arrays), never as pointers.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pgconf_quote.h"

#define WAL_F "000000010000000000000001"
#define WAL_P "pg_wal/RECOVERYXLOG"

/* ---- an independent reader, per guc-file.l -------------------------------- */

static bool
is_letter(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0200;
}

/*
 * Parse one line "name [=] 'string' [# comment]" as guc-file.l does: the
 * STRING token is \'([^'\\\n]|\\.|\'\')*\' (flex's "." is any byte but
 * newline; the longest match equals a left-to-right scan that takes '' as a
 * pair whenever it can), blanks are [ \t\r]; then GUC_scanstr: \b \f \n \r
 * \t, one to three octal digits, a backslash before anything else stands for
 * that character, '' is '.  Returns false on what the server calls a syntax
 * error.  value must hold strlen(line) bytes.
 */
static bool
guc_parse_line(const char *line, char *name, size_t namelen, char *value)
{
    const char *p = line;
    const char *tok;
    size_t      n;
    char       *out = value;

    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    if (!is_letter((unsigned char) *p))
        return false;
    tok = p;
    while (is_letter((unsigned char) *p) || (*p >= '0' && *p <= '9'))
        p++;
    n = (size_t) (p - tok);
    if (n >= namelen)
        return false;
    memcpy(name, tok, n);
    name[n] = '\0';
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    if (*p == '=')
        p++;
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    if (*p != '\'')
        return false;
    /* the token */
    tok = p++;
    for (;;)
    {
        if (*p == '\0' || *p == '\n')
            return false;       /* unterminated */
        if (*p == '\\')
        {
            if (p[1] == '\0' || p[1] == '\n')
                return false;
            p += 2;
        }
        else if (*p == '\'' && p[1] == '\'')
            p += 2;
        else if (*p == '\'')
        {
            p++;
            break;
        }
        else
            p++;
    }
    /* GUC_scanstr over the token between its quotes */
    for (const char *s = tok + 1; s < p - 1; s++)
    {
        if (*s == '\\')
        {
            s++;
            switch (*s)
            {
                case 'b': *out++ = '\b'; break;
                case 'f': *out++ = '\f'; break;
                case 'n': *out++ = '\n'; break;
                case 'r': *out++ = '\r'; break;
                case 't': *out++ = '\t'; break;
                case '0': case '1': case '2': case '3':
                case '4': case '5': case '6': case '7':
                    {
                        int         k, v = 0;

                        for (k = 0; k < 3 && s[k] >= '0' && s[k] <= '7'; k++)
                            v = (v << 3) + (s[k] - '0');
                        s += k - 1;
                        *out++ = (char) v;
                        break;
                    }
                default: *out++ = *s; break;
            }
        }
        else if (*s == '\'' && s[1] == '\'')
            *out++ = *++s;
        else
            *out++ = *s;
    }
    *out = '\0';
    /* then only blanks, a comment, the end of the line */
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    if (*p == '#')
        p += strcspn(p, "\n");
    if (*p == '\n')
        p++;
    return *p == '\0';
}

/* percentrepl.c (PostgreSQL 16): %p %f %r %% replaced, anything else refused. */
static bool
pg_replace_placeholders(const char *in, char *out, size_t len)
{
    size_t      n = 0;

    for (const char *s = in; *s; s++)
    {
        const char *add;
        char        one[2] = {*s, '\0'};

        if (*s != '%')
            add = one;
        else
        {
            switch (*++s)
            {
                case 'p': add = WAL_P; break;
                case 'f': add = WAL_F; break;
                case 'r': add = "000000010000000000000000"; break;
                case '%': add = "%"; break;
                default: return false;  /* "unexpected placeholder", or a trailing % */
            }
        }
        if (n + strlen(add) >= len)
            return false;
        memcpy(out + n, add, strlen(add) + 1);
        n += strlen(add);
    }
    out[n] = '\0';
    return true;
}

/* Run script with /bin/sh -c; its stdout into out (NUL-terminated too), length returned. */
static size_t
run_sh(const char *script, char *out, size_t len)
{
    int         fds[2];
    pid_t       pid;
    size_t      n = 0;
    ssize_t     r;
    int         st;

    cr_assert_eq(pipe(fds), 0);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0)
    {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", script, (char *) NULL);
        _exit(127);
    }
    close(fds[1]);
    while ((r = read(fds[0], out + n, len - 1 - n)) > 0)
        n += (size_t) r;
    close(fds[0]);
    out[n] = '\0';
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sh -c failed (status %d) on: %s", st,
              script);
    return n;
}

/* The words sh hands to the program, as printf '%s\000' prints them. */
static void
expect_words(const char *got, size_t gotlen, const char *const *want, int nwant)
{
    size_t      off = 0;

    for (int i = 0; i < nwant; i++)
    {
        size_t      k = strlen(want[i]);

        cr_assert(off + k < gotlen + 1 && memcmp(got + off, want[i], k) == 0 &&
                  got[off + k] == '\0', "word %d: want \"%s\", got \"%.*s\"", i, want[i],
                  (int) (gotlen - off), got + off);
        off += k + 1;
    }
    cr_assert_eq(off, gotlen, "more words than expected: \"%.*s\"", (int) (gotlen - off),
                 got + off);
}

/*
 * What the server does with restore_command = <line>: read the value, replace
 * the placeholders, run it.  The command must start with printf '%s\000' so
 * that the output is the words it received.
 */
static size_t
server_runs(const char *line, const char *key, char *out, size_t len)
{
    char        name[64];
    char       *value = malloc(strlen(line) + 1);
    char       *cmd = malloc(strlen(line) + 256);

    cr_assert(value != NULL && cmd != NULL);
    cr_assert(guc_parse_line(line, name, sizeof(name), value),
              "PostgreSQL would refuse the line: %s", line);
    cr_assert_str_eq(name, key);
    cr_assert(pg_replace_placeholders(value, cmd, strlen(line) + 256),
              "PostgreSQL would refuse the placeholders in: %s", value);
    free(value);
    len = run_sh(cmd, out, len);
    free(cmd);
    return len;
}

/* ---- the reader itself ------------------------------------------------------ */

Test(guc_reader, follows_guc_file_l)
{
    char        name[64], v[256];

    cr_assert(guc_parse_line("k = 'it''s'\n", name, sizeof(name), v));
    cr_expect_str_eq(v, "it's");
    cr_assert(guc_parse_line("k='a\\tb\\n\\101\\0\\q\\\\' # note", name, sizeof(name), v));
    cr_expect_eq(memcmp(v, "a\tb\nA", 6), 0);       /* \0 ends the C string, as in the server */
    cr_assert(guc_parse_line("k '\\1012'", name, sizeof(name), v));
    cr_expect_str_eq(v, "A2", "at most three octal digits");
    cr_assert(guc_parse_line("k = 'x\\q\\\\'", name, sizeof(name), v));
    cr_expect_str_eq(v, "xq\\");
    cr_expect_not(guc_parse_line("k = 'a\\'", name, sizeof(name), v), "\\' does not end it");
    cr_expect_not(guc_parse_line("k = 'a\nb'", name, sizeof(name), v), "no raw newline");
    cr_expect_not(guc_parse_line("k = 'a' 'b'", name, sizeof(name), v), "one value");
}

/* What walship-recover wrote before: ' doubled, \ left alone.  The server refused it. */
Test(guc_reader, rejects_the_old_restore_command_line)
{
    char        name[64], v[256];

    cr_expect_not(guc_parse_line("restore_command = '''/o''\\''''brien/walship-restore'' %f %p'",
                                 name, sizeof(name), v));
}

/* ---- exact forms ------------------------------------------------------------ */

static void
shell_is(const char *word, const char *want)
{
    char        buf[256] = "";
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(pgconf_shell_quote(buf, sizeof(buf), word, &err), 0, "%s", err.msg);
    cr_expect_str_eq(buf, want, "shell word for \"%s\"", word);
}

Test(pgconf_shell_quote, forms)
{
    shell_is("/usr/local/bin/walship-restore", "/usr/local/bin/walship-restore");
    shell_is("--config=/etc/walship.conf", "--config=/etc/walship.conf");
    shell_is("--repo=s3://bucket/a,b+c@d:1", "--repo=s3://bucket/a,b+c@d:1");
    shell_is("100%", "100%");
    shell_is("", "''");
    shell_is("with space", "'with space'");
    shell_is("o'brien", "'o'\\''brien'");
    shell_is("back\\slash", "'back\\slash'");
    shell_is("$HOME", "'$HOME'");
    shell_is("x=y", "'x=y'");       /* would be an assignment as the first word */
    shell_is("_a1=b", "'_a1=b'");
    shell_is("/x=y", "/x=y");
    shell_is("~", "'~'");
    shell_is("#", "'#'");
}

Test(pgconf_percent_escape, forms)
{
    char        buf[64] = "a ";
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(pgconf_percent_escape(buf, sizeof(buf), "100% %f %%", &err), 0);
    cr_expect_str_eq(buf, "a 100%% %%f %%%%");
}

Test(pgconf_command_word, forms)
{
    char        buf[128] = "";
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(pgconf_command_word(buf, sizeof(buf), "/o'br\\ien 100%/walship-restore", &err), 0);
    cr_assert_eq(pgconf_command_word(buf, sizeof(buf), "--config=/etc/50%.conf", &err), 0);
    cr_expect_str_eq(buf, "'/o'\\''br\\ien 100%%/walship-restore' --config=/etc/50%%.conf");
}

Test(pgconf_quote_value, forms)
{
    char        buf[128] = "restore_command = ";
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(pgconf_quote_value(buf, sizeof(buf), "restore_command", "a'b\\c\td\re%", &err), 0);
    cr_expect_str_eq(buf, "restore_command = 'a''b\\\\c\td\re%'");
}

/* ---- refusals ---------------------------------------------------------------- */

Test(pgconf_quote_value, refuses_a_newline_naming_the_setting)
{
    char        buf[64] = "x";
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(pgconf_quote_value(buf, sizeof(buf), "recovery_target_name", "a\nb", &err), -1);
    cr_expect_eq(err.code, WS_ECONFIG);
    cr_expect(strstr(err.msg, "\"recovery_target_name\"") != NULL && strstr(err.msg, "newline"),
              "message: %s", err.msg);
    cr_expect_str_eq(buf, "x", "nothing appended");
    err_clear(&err);
    cr_expect_eq(pgconf_check_value("restore_command", "/bin/x\n %f %p", &err), -1);
    cr_expect(strstr(err.msg, "\"restore_command\"") != NULL, "message: %s", err.msg);
    cr_expect_eq(pgconf_check_value("restore_command", "a\rb\tc", &err), 0, "\\r and \\t are fine");
}

Test(pgconf_quote_value, refuses_a_value_too_long)
{
    char       *v = malloc(PGCONF_VALUE_MAX + 1);
    char       *buf = malloc(PGCONF_QUOTED_MAX);
    struct ws_err err = WS_ERR_INIT;

    cr_assert(v != NULL && buf != NULL);
    memset(v, '\'', PGCONF_VALUE_MAX - 1);
    v[PGCONF_VALUE_MAX - 1] = '\0';
    buf[0] = '\0';
    cr_assert_eq(pgconf_quote_value(buf, PGCONF_QUOTED_MAX, "k", v, &err), 0,
                 "the longest value, all quotes, fits PGCONF_QUOTED_MAX: %s", err.msg);
    cr_expect_eq(strlen(buf), 2 * (PGCONF_VALUE_MAX - 1) + 2);
    v[PGCONF_VALUE_MAX - 1] = 'x';
    v[PGCONF_VALUE_MAX] = '\0';
    cr_expect_eq(pgconf_check_value("k", v, &err), -1);
    cr_expect_eq(err.code, WS_ECONFIG);
    free(v);
    free(buf);
}

Test(pgconf_quote, full_buffer_leaves_it_unchanged)
{
    char        buf[12] = "abc";
    struct ws_err err = WS_ERR_INIT;

    cr_expect_eq(pgconf_shell_quote(buf, sizeof(buf), "o'brien", &err), -1);
    cr_expect_eq(err.code, WS_ECONFIG);
    cr_expect_str_eq(buf, "abc");
    cr_expect_eq(pgconf_percent_escape(buf, sizeof(buf), "%%%%%", &err), -1);
    cr_expect_str_eq(buf, "abc");
    cr_expect_eq(pgconf_command_word(buf, sizeof(buf), "12345678", &err), -1, "blank + 8 > 8 left");
    cr_expect_str_eq(buf, "abc");
    cr_expect_eq(pgconf_command_word(buf, sizeof(buf), "1234567", &err), 0);
    cr_expect_str_eq(buf, "abc 1234567");
    cr_expect_eq(pgconf_quote_value(buf, sizeof(buf), "k", "", &err), -1);
    cr_expect_str_eq(buf, "abc 1234567");
}

/* ---- round trips through the server's readers and /bin/sh --------------------- */

struct word_case
{
    char        word[48];
};

static struct word_case word_table[] = {
    {"plain"}, {"/usr/local/bin/walship-restore"}, {"--config=/etc/walship.conf"},
    {"with space"}, {"  two  blanks  "}, {"o'brien"}, {"'"}, {"''"}, {"'\\''"},
    {"back\\slash"}, {"\\"}, {"trailing\\"}, {"\\'"}, {"a\\nb"}, {"\\101"}, {"\\t\\\\"},
    {"100%"}, {"%"}, {"%f"}, {"%p"}, {"%r"}, {"%%"}, {"50%off"}, {"%f %p"},
    {"$HOME"}, {"${HOME}"}, {"$(id)"}, {"`id`"}, {"\"dq\""}, {"\"'\"'"},
    {"tab\there"}, {"cr\rhere"}, {""}, {" "}, {"x=y"}, {"PATH=/tmp"}, {"--a=b=c"},
    {"*"}, {"?"}, {"[a]"}, {"~"}, {"~root"}, {"#hash"}, {"a#b"}, {"semi;colon"},
    {"a&b"}, {"a|b"}, {"(x)"}, {"<in"}, {">out"}, {"{a,b}"}, {"!"}, {"-n"}, {"-e"},
    {"\xc3\xbc" "n" "\xc3\xaf" "c" "\xc3\xb6" "de"}, {"\x01\x7f"},
    {"/tmp/o'br\\ien 100% %file $HOME/walship.conf"},
};

ParameterizedTestParameters(pgconf_quote, round_trip)
{
    return cr_make_param_array(struct word_case, word_table, sizeof(word_table) / sizeof(word_table[0]));
}

/*
 * printf '%s\000' <word> %f %p, built with the library, written as
 * restore_command = '...', read back, substituted and run: printf must get
 * the word, the WAL file name and the path.
 */
ParameterizedTest(struct word_case *c, pgconf_quote, round_trip)
{
    char        cmd[1024] = "";
    char        line[2048] = "restore_command = ";
    char        got[1024];
    size_t      n;
    struct ws_err err = WS_ERR_INIT;
    const char *want[] = {c->word, WAL_F, WAL_P};

    cr_assert_eq(pgconf_command_word(cmd, sizeof(cmd), "printf", &err), 0);
    cr_assert_eq(pgconf_command_word(cmd, sizeof(cmd), "%s\\000", &err), 0);
    cr_assert_eq(pgconf_command_word(cmd, sizeof(cmd), c->word, &err), 0);
    strcat(cmd, " %f %p");
    cr_assert_eq(pgconf_quote_value(line, sizeof(line), "restore_command", cmd, &err), 0, "%s",
                 err.msg);
    strcat(line, "\n");
    n = server_runs(line, "restore_command", got, sizeof(got));
    expect_words(got, n, want, 3);
}

ParameterizedTestParameters(pgconf_quote, value_round_trip)
{
    return cr_make_param_array(struct word_case, word_table, sizeof(word_table) / sizeof(word_table[0]));
}

/* A plain value (no command) comes back byte for byte. */
ParameterizedTest(struct word_case *c, pgconf_quote, value_round_trip)
{
    char        line[256] = "recovery_target_name = ";
    char        name[64], v[256];
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(pgconf_quote_value(line, sizeof(line), "recovery_target_name", c->word, &err), 0);
    cr_assert(guc_parse_line(line, name, sizeof(name), v), "refused: %s", line);
    cr_expect_str_eq(name, "recovery_target_name");
    cr_expect_str_eq(v, c->word, "from %s", line);
}

/* Several awkward words in one command, each arrives whole. */
Test(pgconf_quote, several_words)
{
    static const char *words[] = {"/o'br\\ien 100% $HOME/bin/walship-restore",
        "--config=/o'br\\ien 100% %file $HOME/walship.conf", "--repo=s3://b/100%", "", "a b",
        "`x`"};
    const char *want[] = {words[0], words[1], words[2], words[3], words[4], words[5], WAL_F, WAL_P};
    char        cmd[1024] = "";
    char        line[2048] = "restore_command = ";
    char        got[1024];
    size_t      n;
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(pgconf_command_word(cmd, sizeof(cmd), "printf", &err), 0);
    cr_assert_eq(pgconf_command_word(cmd, sizeof(cmd), "%s\\000", &err), 0);
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        cr_assert_eq(pgconf_command_word(cmd, sizeof(cmd), words[i], &err), 0);
    strcat(cmd, " %f %p");
    cr_assert_eq(pgconf_quote_value(line, sizeof(line), "restore_command", cmd, &err), 0);
    n = server_runs(line, "restore_command", got, sizeof(got));
    expect_words(got, n, want, 8);
}

/* A newline survives the shell layer (the configuration file refuses it, above). */
Test(pgconf_shell_quote, newline_survives_sh)
{
    char        cmd[256] = "printf '%s\\000' ";
    char        got[256];
    struct ws_err err = WS_ERR_INIT;
    const char *want[] = {"two\nlines", "'\n'"};
    size_t      n;

    cr_assert_eq(pgconf_shell_quote(cmd, sizeof(cmd), want[0], &err), 0);
    strcat(cmd, " ");
    cr_assert_eq(pgconf_shell_quote(cmd, sizeof(cmd), want[1], &err), 0);
    n = run_sh(cmd, got, sizeof(got));
    expect_words(got, n, want, 2);
}
