/*
 * progress.c — terminal progress line.  See progress.h.
 */
#include "progress.h"
#include "clock.h"

#include <stdio.h>
#include <unistd.h>

void
progress_bytes(uint64_t n, char *buf, size_t len)
{
    static const char *units[] = {"bytes", "kiB", "MiB", "GiB", "TiB", "PiB"};
    double      v = (double) n;
    int         u = 0;

    while (v >= 1024 && u < 5)
    {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu bytes", (unsigned long long) n);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
}

void
progress_init(struct progress *p, const char *what, int enabled)
{
    p->enabled = enabled < 0 ? isatty(STDERR_FILENO) == 1 : enabled != 0;
    p->what = what;
    p->t0 = clock_now_s();
    p->last_draw = 0;
    p->drawn = false;
    pthread_mutex_init(&p->lock, NULL);
}

void
progress_update(struct progress *p, uint64_t done, uint64_t total)
{
    char        d[32], t[32], rate[32], eta[32] = "";
    double      el, r;

    if (!p->enabled)
        return;
    pthread_mutex_lock(&p->lock);
    el = clock_now_s() - p->t0;
    if (el - p->last_draw < 0.25 && !(total > 0 && done >= total))
        goto out;
    p->last_draw = el;
    r = el > 0 ? done / el : 0;
    progress_bytes(done, d, sizeof(d));
    progress_bytes(total, t, sizeof(t));
    progress_bytes((uint64_t) r, rate, sizeof(rate));
    if (total > done && r > 0)
    {
        long        s = (long) ((total - done) / r);

        snprintf(eta, sizeof(eta), ", ETA %ld:%02ld", s / 60, s % 60);
    }
    fprintf(stderr, "\r%s: %s of %s (%d%%), %s/s%s\033[K", p->what, d, t,
            total ? (int) (done * 100 / total) : 0, rate, eta);
    fflush(stderr);
    p->drawn = true;
out:
    pthread_mutex_unlock(&p->lock);
}

void
progress_note(struct progress *p, const char *msg)
{
    pthread_mutex_lock(&p->lock);
    if (p->drawn)
        fputs("\r\033[K", stderr);
    p->drawn = false;
    pthread_mutex_unlock(&p->lock);
    if (p->enabled)
    {
        fprintf(stderr, "%s\n", msg);
        fflush(stderr);
    }
}

void
progress_end(struct progress *p)
{
    pthread_mutex_lock(&p->lock);
    if (p->drawn)
        fputc('\n', stderr);
    p->drawn = false;
    pthread_mutex_unlock(&p->lock);
}

void
progress_destroy(struct progress *p)
{
    pthread_mutex_destroy(&p->lock);
}
