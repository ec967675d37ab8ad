/*
 * sigstop.c — see sigstop.h.
 */
#include "sigstop.h"

#include <pthread.h>
#include <signal.h>
#include <stddef.h>

static sigset_t stop_set;
static void (*stop_cb) (int sig, void *arg);
static void *stop_arg;
static volatile sig_atomic_t caught;

static void *
stop_thread(void *unused)
{
    int         sig;

    (void) unused;
    if (sigwait(&stop_set, &sig) == 0)
    {
        caught = sig;
        stop_cb(sig, stop_arg);
    }
    return NULL;
}

bool
sigstop_begin(void (*on_stop) (int sig, void *arg), void *arg)
{
    pthread_t   th;

    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGHUP);
    stop_cb = on_stop;
    stop_arg = arg;
    if (pthread_sigmask(SIG_BLOCK, &stop_set, NULL) != 0)
        return false;
    if (pthread_create(&th, NULL, stop_thread, NULL) != 0)
    {
        pthread_sigmask(SIG_UNBLOCK, &stop_set, NULL);
        return false;
    }
    pthread_detach(th);
    return true;
}

int
sigstop_caught(void)
{
    return caught;
}
