/*
 * test_num.c — strict integers, ranges and sizes (common/base/num.c).
 *
 * Tables of text -> result: what parses, what is a syntax error (blanks,
 * signs where none belong, junk, overflow) and what is out of range.
 * Parameter structs hold their strings inline: Criterion may re-exec.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdint.h>
#include <string.h>

#include "num.h"

struct int_case
{
    char        text[32];
    int64_t     min;
    int64_t     max;
    int         rc;
    int64_t     value;
};

ParameterizedTestParameters(num, parse_int)
{
    static struct int_case c[] = {
        {"0", 0, 10, 0, 0}, {"10", 0, 10, 0, 10}, {"-5", -5, 19, 0, -5}, {"+7", 0, 10, 0, 7},
        {"11", 0, 10, NUM_ERANGE, 0}, {"-1", 0, 10, NUM_ERANGE, 0},
        {"", 0, 10, NUM_ESYNTAX, 0}, {" 5", 0, 10, NUM_ESYNTAX, 0}, {"5 ", 0, 10, NUM_ESYNTAX, 0},
        {"3.5", 0, 10, NUM_ESYNTAX, 0}, {"12x", 0, 100, NUM_ESYNTAX, 0}, {"-", 0, 10, NUM_ESYNTAX, 0},
        {"99999999999999999999", INT64_MIN, INT64_MAX, NUM_ESYNTAX, 0},
        {"9223372036854775807", INT64_MIN, INT64_MAX, 0, INT64_MAX},
    };

    return cr_make_param_array(struct int_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct int_case *c, num, parse_int)
{
    int64_t     v = 12345;

    cr_assert_eq(num_parse_int(c->text, c->min, c->max, &v), c->rc, "\"%s\"", c->text);
    cr_assert_eq(v, c->rc == 0 ? c->value : 12345, "\"%s\"", c->text);
}

struct uint_case
{
    char        text[32];
    uint64_t    min;
    uint64_t    max;
    int         rc;
    uint64_t    value;
};

ParameterizedTestParameters(num, parse_uint)
{
    static struct uint_case c[] = {
        {"0", 0, 10, 0, 0}, {"4294967295", 1, UINT32_MAX, 0, UINT32_MAX},
        {"4294967296", 1, UINT32_MAX, NUM_ERANGE, 0}, {"0", 1, 10, NUM_ERANGE, 0},
        {"18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX},
        {"18446744073709551616", 0, UINT64_MAX, NUM_ESYNTAX, 0},
        {"-1", 0, UINT64_MAX, NUM_ESYNTAX, 0}, {"+1", 0, 10, NUM_ESYNTAX, 0},
        {" 1", 0, 10, NUM_ESYNTAX, 0}, {"1a", 0, 10, NUM_ESYNTAX, 0}, {"", 0, 10, NUM_ESYNTAX, 0},
    };

    return cr_make_param_array(struct uint_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct uint_case *c, num, parse_uint)
{
    uint64_t    v = 12345;

    cr_assert_eq(num_parse_uint(c->text, c->min, c->max, &v), c->rc, "\"%s\"", c->text);
    cr_assert_eq(v, c->rc == 0 ? c->value : 12345, "\"%s\"", c->text);
}

struct size_case
{
    char        text[32];
    int         rc;
    uint64_t    value;
};

ParameterizedTestParameters(num, parse_size)
{
    static struct size_case c[] = {
        {"0", 0, 0}, {"100", 0, 100}, {"100B", 0, 100}, {"16kB", 0, 16 << 10},
        {"16MB", 0, 16 << 20}, {"16 MB", 0, 16 << 20}, {"5GB", 0, 5ULL << 30},
        {"2TB", 0, 2ULL << 40},
        {"16mb", NUM_ESYNTAX, 0}, {"16KB", NUM_ESYNTAX, 0}, {"16 M", NUM_ESYNTAX, 0},
        {"MB", NUM_ESYNTAX, 0}, {" 1MB", NUM_ESYNTAX, 0}, {"-1MB", NUM_ESYNTAX, 0},
        {"1.5GB", NUM_ESYNTAX, 0}, {"16MB ", NUM_ESYNTAX, 0},
        {"17179869184TB", NUM_ESYNTAX, 0},          /* 2^64 bytes: overflow */
    };

    return cr_make_param_array(struct size_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct size_case *c, num, parse_size)
{
    uint64_t    v = 12345;

    cr_assert_eq(num_parse_size(c->text, 0, UINT64_MAX, &v), c->rc, "\"%s\"", c->text);
    cr_assert_eq(v, c->rc == 0 ? c->value : 12345, "\"%s\"", c->text);
}

Test(num, size_range)
{
    uint64_t    v;

    cr_assert_eq(num_parse_size("4MB", 5 << 20, 5ULL << 30, &v), NUM_ERANGE);
    cr_assert_eq(num_parse_size("6GB", 5 << 20, 5ULL << 30, &v), NUM_ERANGE);
    cr_assert_eq(num_parse_size("5GB", 5 << 20, 5ULL << 30, &v), 0);
}

Test(num, scaled_with_own_units)
{
    static const struct num_unit rate[] = {{"", 1}, {"k", 1}, {"M", 1024}, {NULL, 0}};
    uint64_t    v = 0;

    cr_assert_eq(num_parse_scaled("100M", rate, 32, 1 << 20, &v), 0);
    cr_assert_eq(v, 100 * 1024);
    cr_assert_eq(num_parse_scaled("31k", rate, 32, 1 << 20, &v), NUM_ERANGE);
    cr_assert_eq(num_parse_scaled("1G", rate, 32, 1 << 20, &v), NUM_ESYNTAX);
}

Test(num, format_size)
{
    char        buf[32];

    cr_assert_str_eq(num_format_size(5ULL << 30, buf, sizeof(buf)), "5GB");
    cr_assert_str_eq(num_format_size(16 << 20, buf, sizeof(buf)), "16MB");
    cr_assert_str_eq(num_format_size(64ULL << 30, buf, sizeof(buf)), "64GB");
    cr_assert_str_eq(num_format_size(1536 << 10, buf, sizeof(buf)), "1536kB");
    cr_assert_str_eq(num_format_size(100, buf, sizeof(buf)), "100");
    cr_assert_str_eq(num_format_size(0, buf, sizeof(buf)), "0");
}

ParameterizedTestParameters(num, parse_duration)
{
    static struct size_case c[] = {
        {"0", 0, 0}, {"90", 0, 90}, {"90s", 0, 90}, {"30min", 0, 1800}, {"25h", 0, 90000},
        {"25 h", 0, 90000}, {"2d", 0, 172800}, {"2w", 0, 1209600}, {"1y", 0, 31536000},
        {"7y", 0, 220752000}, {"30x", NUM_ESYNTAX, 0}, {"1Y", NUM_ESYNTAX, 0},
        {"25x", NUM_ESYNTAX, 0}, {"25H", NUM_ESYNTAX, 0}, {"1m", NUM_ESYNTAX, 0},
        {"h", NUM_ESYNTAX, 0}, {"-1h", NUM_ESYNTAX, 0}, {"1.5h", NUM_ESYNTAX, 0},
        {"", NUM_ESYNTAX, 0}, {"213503982334602d", NUM_ESYNTAX, 0},     /* overflow */
    };

    return cr_make_param_array(struct size_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct size_case *c, num, parse_duration)
{
    uint64_t    v = 12345;

    cr_assert_eq(num_parse_duration(c->text, 0, UINT64_MAX, &v), c->rc, "\"%s\"", c->text);
    cr_assert_eq(v, c->rc == 0 ? c->value : 12345, "\"%s\"", c->text);
}

Test(num, percent)
{
    uint64_t    v = 0;

    cr_assert_eq(num_parse_percent("20%", 0, 1000, &v), 0);
    cr_assert_eq(v, 20);
    cr_assert_eq(num_parse_percent("5", 0, 1000, &v), 0);
    cr_assert_eq(v, 5);
    cr_assert_eq(num_parse_percent("2000%", 0, 1000, &v), NUM_ERANGE);
    cr_assert_eq(num_parse_percent("20 %%", 0, 1000, &v), NUM_ESYNTAX);
    cr_assert_eq(num_parse_percent("1.5%", 0, 1000, &v), NUM_ESYNTAX);
}

Test(num, format_duration)
{
    char        buf[32];

    cr_assert_str_eq(num_format_duration(90000, buf, sizeof(buf)), "25h");
    cr_assert_str_eq(num_format_duration(1800, buf, sizeof(buf)), "30min");
    cr_assert_str_eq(num_format_duration(172800, buf, sizeof(buf)), "2d");
    cr_assert_str_eq(num_format_duration(90, buf, sizeof(buf)), "90s");
    cr_assert_str_eq(num_format_duration(0, buf, sizeof(buf)), "0s");
    cr_assert_str_eq(num_format_duration(7 * 86400, buf, sizeof(buf)), "1w");
    cr_assert_str_eq(num_format_duration(7 * 365 * 86400, buf, sizeof(buf)), "7y");
}
