/*
 * exitcode.h — what the exit-status table (exitcode.c) can say besides
 * exitcode_for() (declared in err.h, which every main includes): the
 * status after a signal, and the table as words for --help.
 */
#ifndef WS_EXITCODE_H
#define WS_EXITCODE_H

#include <stdbool.h>
#include <stdio.h>
#include "err.h"

/* The status of an executable stopped by signal sig (128 + sig, as a shell reports it). */
int         exitcode_signal(int sig);

/* The short meaning of status for prog ("not found"), or NULL if prog never exits so. */
const char *exitcode_meaning(enum ws_program prog, int status);

/*
 * "Exit status: 0 success, 1 other failure, ... (docs/exit-codes.md).\n"
 * from the table, for --help; restore adds its standby exception, and
 * signals adds the 128+N line of an executable that handles signals.
 */
void        exitcode_usage(FILE *out, enum ws_program prog, bool signals);

#endif
