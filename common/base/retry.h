/*
 * retry.h — the one retry policy: how long to wait before trying a failed
 * operation again, and when to stop.
 *
 * The wait before retry n (n = 0 for the first retry) is
 *
 *     delay(n) = min(cap, base * 2^n)
 *     wait(n)  = max(min(cap, delay(n) + jitter), min(cap, retry_after))
 *
 * with jitter uniform in 0 .. delay(n) / 2, so no wait is ever longer than
 * the cap, and a server's Retry-After can lengthen a wait up to the cap but
 * never shorten it.  An operation is tried at most 1 + max_retries times,
 * and with a deadline no retry starts (nor does a wait end) later than
 * deadline_ms after retry_begin.
 *
 * Which layer retries what (exactly one per operation, so attempts never
 * multiply):
 *   - The S3 driver (storage_s3.c) retries its own HTTP requests: a single
 *     request, a multipart part, the initiation and completion of an upload,
 *     and a GET cut off mid-body, which it resumes with a Range request pinned
 *     to the ETag; also the credential fetch (STS, instance metadata) that a
 *     request needs.  Only it can: a layer above cannot resend one part or
 *     resume a body it has already passed down the filter chain.  Policy:
 *     max_retries = s3_max_retries, base 100 ms, cap 20 s, no deadline.
 *     Drivers that retry their own requests set STORAGE_F_RETRIES.
 *   - walship-restore (restore.c) retries a whole fetch (a new temporary file,
 *     a new reader chain) only with a driver without STORAGE_F_RETRIES (the
 *     filesystem driver, which does not retry): max_retries =
 *     retry_attempts, base = retry_delay_ms, cap 30 s, no deadline.
 *   - Everything else does not retry storage operations: walship-archive
 *     fails and PostgreSQL's archiver calls it again; walship-basebackup's
 *     and walship-recover's storage calls rely on the driver.
 *
 * Thread safety: a struct retry is one operation's state (on its caller's
 * stack) with its own random state, so concurrent operations share nothing.
 */
#ifndef WS_RETRY_H
#define WS_RETRY_H

#include <stdbool.h>
#include <stdint.h>

struct retry_policy
{
    int         max_retries;    /* retries after the first attempt (< 0: none) */
    long        base_ms;        /* the delay before the first retry (< 0: 0) */
    long        cap_ms;         /* no wait is longer (< 0: 0) */
    long        deadline_ms;    /* 0: none; else no retry after this long */
};

/* One operation's retries.  Fields are read-only for callers (tests may set rng). */
struct retry
{
    struct retry_policy policy;
    int         retries;        /* retries granted so far */
    int64_t     start_ms;       /* clock_now_ms() at retry_begin */
    uint64_t    rng;            /* jitter state, never 0 */
};

/*
 * A process-wide "stop retrying" check, for a process that lives long and
 * is asked to stop by a signal it does not own (the archive module: the
 * archiver's SIGTERM sets a flag of PostgreSQL's).  Once pending() answers
 * true, retry_next() grants no more retries, retry_sleep_ms() returns early
 * and the S3 driver abandons a request in flight (WS_EINTERRUPTED).
 * pending is called from any thread, often: it must only read a flag.
 * NULL (the default) is "never".  Set it before any thread starts.
 */
void        retry_set_interrupt(bool (*pending) (void));
bool        retry_interrupted(void);

/* Sleep ms milliseconds, or less once retry_interrupted(). */
void        retry_sleep_ms(long ms);

/* Start an operation under policy p (copied), seeding the jitter from getrandom(2). */
void        retry_begin(struct retry *r, const struct retry_policy *p);

/*
 * After a failed attempt: true with *wait_ms, the time to sleep before the
 * next attempt, if the policy allows another one; false (with *wait_ms = 0)
 * when the attempts are used up or the deadline would pass before the wait
 * ends.  retry_after_ms is what the server asked for (0 if nothing).
 */
bool        retry_next(struct retry *r, long retry_after_ms, long *wait_ms);

/* Attempts made so far, counting the one running: 1 + retries granted. */
int         retry_attempts(const struct retry *r);

/* delay(n) above: the wait before retry n without jitter; never overflows. */
long        retry_backoff_ms(const struct retry_policy *p, int n);

/*
 * wait(n) above for delay_ms = delay(n) and a random rnd: delay_ms +
 * rnd % (delay_ms / 2 + 1), at most cap_ms, raised to retry_after_ms (itself
 * cut to cap_ms) when the server asked for longer.  Negative inputs count as 0.
 */
long        retry_wait_ms(long delay_ms, unsigned rnd, long retry_after_ms, long cap_ms);

#endif
