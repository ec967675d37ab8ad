/*
 * test_retry.c — the one retry policy (retry.c) and the clock (clock.c):
 * the backoff sequence and its cap, the jitter's range, how Retry-After
 * takes precedence, the attempt count and the deadline, a sleep that a
 * signal does not cut short, and the stop check that ends retries and waits.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "clock.h"
#include "retry.h"

TestSuite(retry, .timeout = 60);

/* the S3 driver's policy at the defaults: s3_max_retries = 5, 100 ms, 20 s */
static const struct retry_policy s3_default = {5, 100, 20000, 0};

/* ---- backoff ---------------------------------------------------------------- */

Test(retry, backoff_doubles_up_to_the_cap)
{
    static const long want[] = {100, 200, 400, 800, 1600, 3200, 6400, 12800, 20000, 20000};

    for (int n = 0; n < (int) (sizeof(want) / sizeof(want[0])); n++)
        cr_assert_eq(retry_backoff_ms(&s3_default, n), want[n], "n = %d: %ld", n,
                     retry_backoff_ms(&s3_default, n));
    /* any number of retries: still the cap, no overflow */
    cr_assert_eq(retry_backoff_ms(&s3_default, 1000), 20000);
    cr_assert_eq(retry_backoff_ms(&s3_default, INT_MAX), 20000);
}

Test(retry, backoff_edges)
{
    struct retry_policy p = {3, 0, 30000, 0};

    cr_assert_eq(retry_backoff_ms(&p, 0), 0, "retry_delay_ms = 0 waits 0");
    cr_assert_eq(retry_backoff_ms(&p, 50), 0);
    p.base_ms = 600000;                     /* retry_delay_ms's maximum */
    cr_assert_eq(retry_backoff_ms(&p, 0), 30000, "the cap holds for the first wait too");
    p.base_ms = -7;
    cr_assert_eq(retry_backoff_ms(&p, 2), 0);
    p.base_ms = LONG_MAX / 2 + 1;
    p.cap_ms = LONG_MAX;
    cr_assert_eq(retry_backoff_ms(&p, 0), LONG_MAX / 2 + 1);
    cr_assert_eq(retry_backoff_ms(&p, 1), LONG_MAX, "doubling saturates at the cap");
    cr_assert_eq(retry_backoff_ms(&p, 90), LONG_MAX);
    p.base_ms = 100;
    p.cap_ms = -1;
    cr_assert_eq(retry_backoff_ms(&p, 3), 0);
}

/* ---- the wait: jitter, cap, Retry-After ----------------------------------------- */

Test(retry, wait_arithmetic)
{
    const long  cap = 20000;

    cr_assert_eq(retry_wait_ms(100, 0, 0, cap), 100);
    cr_assert_eq(retry_wait_ms(100, 50, 0, cap), 150);
    cr_assert_eq(retry_wait_ms(100, 51, 0, cap), 100);
    cr_assert_eq(retry_wait_ms(100, UINT_MAX, 0, cap), 100 + (long) (UINT_MAX % 51));
    cr_assert_eq(retry_wait_ms(-5, 3, 0, cap), 0);
    cr_assert_eq(retry_wait_ms(0, UINT_MAX, 0, cap), 0);
    /* the cap covers the jitter too: no wait is longer than the cap */
    cr_assert_eq(retry_wait_ms(cap, 10000, 0, cap), cap);
    cr_assert_eq(retry_wait_ms(15000, 5000, 0, cap), cap);
    cr_assert_eq(retry_wait_ms(15000, 4999, 0, cap), 19999);
    cr_assert_eq(retry_wait_ms(LONG_MAX, UINT_MAX, LONG_MAX, cap), cap);
    cr_assert_eq(retry_wait_ms(LONG_MAX, UINT_MAX, 0, LONG_MAX), LONG_MAX, "no overflow");
    cr_assert_eq(retry_wait_ms(100, 7, 0, -1), 0);
}

Test(retry, retry_after_lengthens_never_shortens)
{
    const long  cap = 20000;

    cr_assert_eq(retry_wait_ms(100, 0, 120, cap), 120);
    cr_assert_eq(retry_wait_ms(100, 30, 120, cap), 130, "a shorter Retry-After keeps the backoff");
    cr_assert_eq(retry_wait_ms(100, 0, 5000, cap), 5000);
    cr_assert_eq(retry_wait_ms(100, 0, cap, cap), cap);
    cr_assert_eq(retry_wait_ms(100, 0, LONG_MAX, cap), cap, "Retry-After is held to the cap");
    cr_assert_eq(retry_wait_ms(100, 7, -1, cap), 107);
    cr_assert_eq(retry_wait_ms(100, 7, LONG_MIN, cap), 107);
    cr_assert_eq(retry_wait_ms(12800, 6400, 1000, cap), 19200);
}

/* Every wait of the sequence lies in delay(n) .. min(cap, 1.5 delay(n)), and they vary. */
Test(retry, jitter_range)
{
    long        lo_seen = LONG_MAX, hi_seen = 0;
    int         distinct = 0;
    long        first[64];

    for (int run = 0; run < 64; run++)
    {
        struct retry r;
        struct retry_policy p = {10, 1000, 20000, 0};
        long        wait;

        retry_begin(&r, &p);
        for (int n = 0; n < 10; n++)
        {
            long        d = retry_backoff_ms(&p, n);
            long        hi = d + d / 2 < p.cap_ms ? d + d / 2 : p.cap_ms;

            cr_assert(retry_next(&r, 0, &wait), "retry %d refused", n);
            cr_assert(wait >= d && wait <= hi, "retry %d: wait %ld outside %ld .. %ld", n, wait, d,
                      hi);
            if (n == 0)
            {
                first[run] = wait;
                lo_seen = wait < lo_seen ? wait : lo_seen;
                hi_seen = wait > hi_seen ? wait : hi_seen;
            }
        }
        cr_assert_not(retry_next(&r, 0, &wait));
        {
            bool        seen = false;

            for (int i = 0; i < run; i++)
                seen = seen || first[i] == first[run];
            distinct += !seen;
        }
    }
    /* 64 draws from 501 values: the same one every time means no jitter */
    cr_assert_gt(distinct, 20, "only %d distinct first waits (%ld .. %ld)", distinct, lo_seen,
                 hi_seen);
}

/* ---- attempts and deadlines ---------------------------------------------------- */

Test(retry, attempts_are_one_plus_max_retries)
{
    struct retry r;
    long        wait;
    int         granted = 0;

    retry_begin(&r, &s3_default);
    cr_assert_eq(retry_attempts(&r), 1);
    while (retry_next(&r, 0, &wait))
        granted++;
    cr_assert_eq(granted, 5);
    cr_assert_eq(retry_attempts(&r), 6);
    cr_assert_eq(wait, 0, "a refused retry has no wait");
    cr_assert_not(retry_next(&r, 0, &wait), "still refused");

    {
        struct retry_policy none = {0, 100, 20000, 0};
        struct retry_policy negative = {-1, 100, 20000, 0};

        retry_begin(&r, &none);
        cr_assert_not(retry_next(&r, 0, &wait));
        cr_assert_eq(retry_attempts(&r), 1);
        retry_begin(&r, &negative);
        cr_assert_not(retry_next(&r, 0, &wait));
    }
}

Test(retry, retry_after_in_the_sequence)
{
    struct retry r;
    long        wait;

    retry_begin(&r, &s3_default);
    cr_assert(retry_next(&r, 5000, &wait));
    cr_assert_eq(wait, 5000, "Retry-After: 5 raises the first wait (100..150 ms) to 5 s");
    cr_assert(retry_next(&r, 50, &wait));
    cr_assert(wait >= 200 && wait <= 300, "Retry-After below the backoff: %ld", wait);
    cr_assert(retry_next(&r, LONG_MAX, &wait));
    cr_assert_eq(wait, 20000, "a huge Retry-After waits the cap");
}

Test(retry, deadline)
{
    struct retry r;
    struct retry_policy p = {100, 100, 20000, 50};
    long        wait;

    retry_begin(&r, &p);
    cr_assert_not(retry_next(&r, 0, &wait), "a 100 ms wait would end after the 50 ms deadline");
    cr_assert_eq(retry_attempts(&r), 1);

    p.base_ms = 10;
    p.deadline_ms = 1000;
    retry_begin(&r, &p);
    cr_assert(retry_next(&r, 0, &wait));
    cr_assert_not(retry_next(&r, 5000, &wait), "Retry-After: 5 s would pass the deadline");
    r.start_ms -= 2000;         /* as if the attempts had taken 2 s */
    cr_assert_not(retry_next(&r, 0, &wait), "no retry after the deadline");
    cr_assert_eq(retry_attempts(&r), 2);
}

/* ---- clock ---------------------------------------------------------------------- */

static void
on_alarm(int sig)
{
    (void) sig;
}

Test(retry, sleep_survives_signals)
{
    struct sigaction sa;
    struct itimerval it;
    double      t0, t1;
    int64_t     m0;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;   /* no SA_RESTART: nanosleep returns EINTR */
    cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
    memset(&it, 0, sizeof(it));
    it.it_value.tv_usec = 20000;
    it.it_interval.tv_usec = 20000;
    cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
    t0 = clock_now_s();
    m0 = clock_now_ms();
    clock_sleep_ms(250);
    t1 = clock_now_s();
    memset(&it, 0, sizeof(it));
    setitimer(ITIMER_REAL, &it, NULL);
    cr_assert(t1 - t0 >= 0.249, "slept %.3f s of 0.25 s", t1 - t0);
    cr_assert_geq(clock_now_ms() - m0, 249);

    t0 = clock_now_s();
    clock_sleep_ms(0);
    clock_sleep_ms(-5);
    cr_assert_lt(clock_now_s() - t0, 0.05);
}

/* ---- the stop check (retry_set_interrupt) -------------------------------------- */

static volatile bool stop_flag;

static bool
stop_pending(void)
{
    return stop_flag;
}

Test(retry, interrupt_ends_retries_and_waits)
{
    struct retry r;
    long        wait;
    int64_t     t0;

    cr_assert(!retry_interrupted(), "no check installed: never interrupted");
    retry_set_interrupt(stop_pending);
    stop_flag = false;
    retry_begin(&r, &s3_default);
    cr_assert(retry_next(&r, 0, &wait), "a retry is granted while nothing is pending");
    stop_flag = true;
    cr_assert(retry_interrupted());
    cr_assert(!retry_next(&r, 0, &wait), "no retry once a stop is pending");
    cr_assert_eq(wait, 0);
    t0 = clock_now_ms();
    retry_sleep_ms(5000);
    cr_assert_lt(clock_now_ms() - t0, 1000, "the wait ends at once when a stop is pending");
    stop_flag = false;
    t0 = clock_now_ms();
    retry_sleep_ms(250);
    cr_assert_geq(clock_now_ms() - t0, 249, "retry_sleep_ms sleeps the whole time otherwise");
    retry_set_interrupt(NULL);
    stop_flag = true;
    cr_assert(!retry_interrupted(), "NULL removes the check");
}
