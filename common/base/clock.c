/*
 * clock.c — monotonic and wall-clock time, and sleeping.  See clock.h.
 */
#include "clock.h"

#include <errno.h>
#include <time.h>

/* Nanoseconds on clock id (int64_t holds 292 years of them). */
static int64_t
now_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
clock_now_ms(void)
{
    return now_ns(CLOCK_MONOTONIC) / 1000000;
}

double
clock_now_s(void)
{
    return (double) now_ns(CLOCK_MONOTONIC) / 1e9;
}

/* set by unit tests only (clock.h) */
static int64_t (*test_wall) (void);

void
clock_test_set_wall(int64_t (*fn) (void))
{
    test_wall = fn;
}

int64_t
clock_wall_us(void)
{
    if (test_wall != NULL)
        return test_wall();
    return now_ns(CLOCK_REALTIME) / 1000;
}

void
clock_sleep_ms(long ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    /* nanosleep leaves the time still to sleep in ts when a signal interrupts it */
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}
