/*
 * auto.h - what `--auto` adds to `stepper run`, `replay` and `shrink`
 * (internal): the program is checked and the preload library found before
 * anything runs, the children's environment gets the library, and the
 * exit statuses of the preload's failures are named.
 *
 * The contract with the preload (stepper/DESIGN.md, "Automatic points"):
 * a controlled child gets LD_PRELOAD=<lib>[:inherited LD_PRELOAD] and
 * STEPPER_AUTO=1; the library is $STEPPER_AUTO_LIB, else
 * <dir of this stepper>/../lib/libstepper-auto.so; a failure the stepper
 * found ends the child with exit status 85 to 90.
 */
#ifndef STEPPER_CLI_AUTO_H
#define STEPPER_CLI_AUTO_H

#include "cli.h"

#include <limits.h>
#include <stddef.h>

/* The name of the library, as messages and help give it. */
#define CLI_AUTO_LIB_NAME "libstepper-auto.so"

/* Exit statuses of a controlled child on a failure the stepper found. */
enum {
	CLI_AUTO_MISUSE = 85,     /* a misuse: an unlock of a free mutex, a wait without it */
	CLI_AUTO_DEADLOCK = 86,   /* deadlock, lost wake-up, stuck join */
	CLI_AUTO_STEP_LIMIT = 87, /* step limit: a livelock */
	CLI_AUTO_STALL = 88,      /* a thread blocked where the stepper cannot see */
	CLI_AUTO_DIVERGED = 89,   /* the replay did not make the recorded decisions */
	CLI_AUTO_CANNOT = 90,     /* cannot control, e.g. too many threads */
};
#define CLI_AUTO_OUTCOMES 6

/* What --auto runs with. */
typedef struct cli_auto {
	int on;             /* --auto was given */
	char lib[PATH_MAX]; /* the library, an absolute path */
} cli_auto;

/* Check that prog (resolved through PATH when it has no '/') is a program
 * the library can be preloaded into, then find the library into a->lib.
 * On a problem, print one line naming what and why on stderr and return
 * -1: the caller exits CLI_USAGE without running anything. 0 when both are
 * fine. */
int cli_auto_prepare(const char *prog, cli_auto *a);

/* The outcome an exit status of a controlled child names: "misuse" for
 * 85, "deadlock" for 86, ... "cannot control" for 90; NULL for any other status. The index
 * of that outcome (0 to CLI_AUTO_OUTCOMES - 1) in *index when not NULL. */
const char *cli_auto_outcome(int status, int *index);

/* The name of outcome k (0 to CLI_AUTO_OUTCOMES - 1): "deadlock", ... */
const char *cli_auto_outcome_name(int k);

/* As cli_describe_status, with the outcome named first:
 * "deadlock (exit 86)"; other statuses as cli_describe_status. */
void cli_auto_describe_status(int status, char *buf, size_t size);

#endif
