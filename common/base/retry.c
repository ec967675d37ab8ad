/*
 * retry.c — backoff, jitter, Retry-After and deadlines for every retry
 * walship makes.  See retry.h for the formula and for which layer retries.
 */
#include "retry.h"
#include "clock.h"

#include <stdint.h>
#include <sys/random.h>
#include <unistd.h>

static bool (*retry_pending) (void) = NULL;

void
retry_set_interrupt(bool (*pending) (void))
{
    retry_pending = pending;
}

bool
retry_interrupted(void)
{
    return retry_pending != NULL && retry_pending();
}

void
retry_sleep_ms(long ms)
{
    /* in slices, so that a stop request ends the wait within 100 ms */
    while (ms > 0 && !retry_interrupted())
    {
        long        slice = ms < 100 ? ms : 100;

        clock_sleep_ms(slice);
        ms -= slice;
    }
}

/* xorshift64*: plenty for spreading waits, and its state is the caller's. */
static unsigned
next_random(struct retry *r)
{
    uint64_t    x = r->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->rng = x;
    return (unsigned) ((x * 0x2545F4914F6CDD1DULL) >> 32);
}

void
retry_begin(struct retry *r, const struct retry_policy *p)
{
    uint64_t    seed = 0;

    r->policy = *p;
    r->retries = 0;
    r->start_ms = clock_now_ms();
    /* two processes started in the same instant must not wait in step */
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t) sizeof(seed))
        seed = ((uint64_t) r->start_ms << 20) ^ (uint64_t) (uintptr_t) r ^ (uint64_t) getpid();
    r->rng = seed != 0 ? seed : 0x9E3779B97F4A7C15ULL;
}

int
retry_attempts(const struct retry *r)
{
    return r->retries + 1;
}

long
retry_backoff_ms(const struct retry_policy *p, int n)
{
    long        cap = p->cap_ms > 0 ? p->cap_ms : 0;
    long        d = p->base_ms > 0 ? p->base_ms : 0;

    if (d >= cap)
        return cap;
    /* doubling stops at the cap, so it cannot overflow */
    for (int i = 0; i < n && d < cap; i++)
        d = d > cap / 2 ? cap : d * 2;
    return d < cap ? d : cap;
}

long
retry_wait_ms(long delay_ms, unsigned rnd, long retry_after_ms, long cap_ms)
{
    long        jitter;
    long        wait;

    if (cap_ms < 0)
        cap_ms = 0;
    if (delay_ms < 0)
        delay_ms = 0;
    if (delay_ms > cap_ms)
        delay_ms = cap_ms;
    jitter = (long) (rnd % ((unsigned long) delay_ms / 2 + 1));
    /* compared before adding, so a cap near LONG_MAX cannot overflow */
    wait = jitter > cap_ms - delay_ms ? cap_ms : delay_ms + jitter;
    /* the server may lengthen the wait up to the cap, never shorten it */
    if (retry_after_ms > cap_ms)
        retry_after_ms = cap_ms;
    return retry_after_ms > wait ? retry_after_ms : wait;
}

bool
retry_next(struct retry *r, long retry_after_ms, long *wait_ms)
{
    const struct retry_policy *p = &r->policy;
    long        wait;

    *wait_ms = 0;
    if (r->retries >= p->max_retries || retry_interrupted())
        return false;
    wait = retry_wait_ms(retry_backoff_ms(p, r->retries), next_random(r), retry_after_ms,
                         p->cap_ms);
    if (p->deadline_ms > 0 && clock_now_ms() - r->start_ms + wait > p->deadline_ms)
        return false;
    r->retries++;
    *wait_ms = wait;
    return true;
}
