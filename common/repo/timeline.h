/*
 * timeline.h — PostgreSQL timeline history files ("TTTTTTTT.history"):
 * each line names a parent timeline and the LSN where the next one
 * branched off it (PostgreSQL's timeline.c, readTimeLineHistory).
 */
#ifndef WS_TIMELINE_H
#define WS_TIMELINE_H

#include <stdint.h>

#include "err.h"
#include "repo.h"

#define TIMELINE_HISTORY_MAX (4 * 1024 * 1024)  /* largest history file we read */

/* One line of a timeline history file: tli branched off at switchpoint. */
struct timeline_history_entry
{
    uint32_t    tli;
    uint64_t    switchpoint;
};

/*
 * Parse a timeline history file ("1\t0/3000000\treason" lines).  Returns the
 * number of entries (malloc'd into *out, free()), or -1 (WS_ECORRUPT).
 */
int         timeline_history_parse(const char *text, const char *what,
                                   struct timeline_history_entry **out, struct ws_err *err);

/*
 * Fetch wal/<TL>/<TL>.history of timeline tli (a named object, verified)
 * into a malloc'd NUL-terminated *text.  1 found, 0 not in the repository,
 * -1 on any other failure.
 */
int         timeline_history_fetch(struct repo *repo, uint32_t tli, char **text,
                                   struct ws_err *err);

#endif
