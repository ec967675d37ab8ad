/*
 * recover_report.h — what walship-recover prints on stdout after a
 * successful run: the backup used, the recovery target, the files written
 * and the next step (docs/walship-recover.md, "Output").
 */
#ifndef WS_RECOVER_REPORT_H
#define WS_RECOVER_REPORT_H

#include <stdio.h>
#include "recover.h"

void        recover_report_print(FILE *out, const struct recover_options *o,
                                 const struct recover_result *res);

#endif
