/*
 * shrink.h - shrinking a seed loop's failing schedule (internal to
 * stepper/wire/; README "Shrinking").
 */
#ifndef STEPPER_SHRINK_H
#define STEPPER_SHRINK_H

#include <stdio.h>

#include "stepper_int.h"

/* What shrinking found, for the loop's report. */
typedef struct stp__shrunk stp__shrunk;

/* Shrink the failing run failed, made by body(arg) on a stepper with the
 * options o (the seed's), whose trace is at trace ("" when none was
 * written): replay it with fewer preemptions while it fails the same
 * way, within the budget of STEPPER_SHRINK_REPLAYS and
 * STEPPER_SHRINK_SECONDS, and write the shrunk trace beside trace. NULL
 * when shrinking is off (STEPPER_SHRINK=0, or a quiet loop without
 * STEPPER_SHRINK=1), when failed was a replay, or out of memory. On the
 * loop's thread; failed is only read. Free with stp__shrunk_free. */
stp__shrunk *stp__shrink(const stp_options *o, stp_stepper *failed, int body_rc,
			 stp_body_fn body, void *arg, const char *trace, int quiet);

/* The report's part: how far it shrank, the shrunk order, the critical
 * pair and the command that replays the shrunk trace (cmd: the test's
 * command line), or why it was not shrunk. */
void stp__shrunk_print(FILE *out, const stp__shrunk *r, const char *cmd);

/* The shrunk trace's path ("" when none was written). */
const char *stp__shrunk_trace(const stp__shrunk *r);

void stp__shrunk_free(stp__shrunk *r);

#endif
