/*
 * dfs.h - what a seed loop asks the dfs strategy (dfs.c) about its
 * exploration, to say how far it got (internal).
 *
 * Everything here reads the loop's stp__explore between runs, on the
 * loop's thread.
 */
#ifndef STEPPER_DFS_H
#define STEPPER_DFS_H

#include "stepper_int.h"

/* The most bytes the queue of the next round's schedules may take (256
 * MiB); past it the search ends with the round under way. Tests lower
 * it; read during runs, set it only between loops. */
extern size_t stp__dfs_queue_max;

/* The dfs strategy's source (strategy.c hands it out). */
const stp__source *stp__dfs_source(void);

/* Is e's state a dfs exploration (some run of the loop used dfs)? */
int stp__dfs_explores(const stp__explore *e);

/* The bound as a sentence's parenthesis: "no preemption bound",
 * "at most 1 preemption". */
void stp__dfs_bound_text(const stp__explore *e, char *buf, size_t size);

/* The preemptions of the schedule the last run made. */
unsigned long stp__dfs_last_preemptions(const stp__explore *e);

/* The loop passed every run it made (runs of them): "explored all 20
 * schedules (no preemption bound): none failed", or, when the space was
 * not exhausted, how many were explored, which, and that it was not. */
void stp__dfs_summary(const stp__explore *e, uint64_t runs, char *buf, size_t size);

#endif
