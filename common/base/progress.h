/*
 * progress.h — a one-line progress display on a terminal (stderr):
 * "1.2 GiB of 1.5 GiB (80%), 143.2 MiB/s, ETA 0:02".  Redrawn at most four
 * times a second; nothing is printed when disabled (not a TTY).
 * Thread-safe: updates from several threads are serialised.
 */
#ifndef WS_PROGRESS_H
#define WS_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct progress
{
    bool        enabled;
    const char *what;               /* "backup", "restore" */
    double      t0;
    double      last_draw;
    bool        drawn;
    pthread_mutex_t lock;
};

/* enabled: -1 = when stderr is a terminal, 0 = never, 1 = always */
void        progress_init(struct progress *p, const char *what, int enabled);
void        progress_update(struct progress *p, uint64_t done, uint64_t total);
/* A message on its own line (clears the progress line first). */
void        progress_note(struct progress *p, const char *msg);
/* End the line (if one was drawn). */
void        progress_end(struct progress *p);
void        progress_destroy(struct progress *p);

/* "1.5 GiB" into buf. */
void        progress_bytes(uint64_t n, char *buf, size_t len);

#endif
