/*
 * sigstop.h — the stop signals (SIGINT: Ctrl-C; SIGTERM: systemd's stop;
 * SIGHUP: a closed terminal) taken by one thread, so that a long-running
 * command can be told to stop, remove what it made and exit 128 + signal
 * like a shell, without async-signal-safety rules in the code that cleans up.
 */
#ifndef WS_SIGSTOP_H
#define WS_SIGSTOP_H

#include <stdbool.h>

/*
 * Block the stop signals in this thread (so in every thread it creates
 * later) and start a thread that waits for the first one and calls
 * on_stop(sig, arg) from it.  Call before creating other threads.  false
 * (signals left as they were) if the thread could not be started.
 */
bool        sigstop_begin(void (*on_stop) (int sig, void *arg), void *arg);

/* The stop signal received, 0 if none. */
int         sigstop_caught(void);

#endif
