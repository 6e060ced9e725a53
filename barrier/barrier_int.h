/*
 * barrier_int.h - internal to the barrier module and its tests: deadline
 * arithmetic and a view of the controller's counters.
 */
#ifndef STEPPER_BARRIER_INT_H
#define STEPPER_BARRIER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "barrier.h"

/* now_ns + ms milliseconds, in ns, saturating at UINT64_MAX, which
 * stands for "never". */
uint64_t stp__deadline_ns(uint64_t now_ns, uint64_t ms);

/* What the controller's loop has done, for tests; a snapshot, readable
 * from any thread. */
typedef struct stp__bserver_counts {
	uint64_t loops;   /* rounds of the event loop (poll() calls) */
	size_t labels;    /* labels the controller holds state for */
	size_t clients;   /* open connections */
	uint64_t slow;    /* clients closed because they did not read */
	uint64_t evicted; /* connections closed without a HELLO */
	uint64_t fd_full; /* connections refused at the open-file limit */
} stp__bserver_counts;

void stp__bserver_counts_get(stp_bserver *s, stp__bserver_counts *out);

#endif
