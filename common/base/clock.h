/*
 * clock.h — the one home of "what time is it" for durations and of sleeping.
 *
 * Durations are measured on CLOCK_MONOTONIC, which wall-clock steps (NTP,
 * an operator setting the date) never move; wall-clock time (time(2)) is
 * only for what is written down or compared with a server's dates.
 */
#ifndef WS_CLOCK_H
#define WS_CLOCK_H

#include <stdint.h>

/* Milliseconds on the monotonic clock (an arbitrary origin: subtract two). */
int64_t     clock_now_ms(void);

/* Seconds on the monotonic clock, with sub-microsecond resolution. */
double      clock_now_s(void);

/* Wall-clock time in microseconds since the epoch: for what is written down. */
int64_t     clock_wall_us(void);

/*
 * Tests only: make clock_wall_us() return fn() instead (NULL: the real
 * clock again).  Nothing in walship calls it and no environment variable or
 * option reaches it, so a user cannot trip over it; unit tests use it to
 * give walship's own wall clock (ages in walship expire and check) a date.
 */
void        clock_test_set_wall(int64_t (*fn) (void));

/* Sleep ms milliseconds (<= 0: return at once); a signal does not cut it short. */
void        clock_sleep_ms(long ms);

#endif
