/*
 * zoo.h - a zoo of small concurrent programs, each with its bug and its
 * fix, in the shapes real concurrency bugs take (issue 12). test_zoo.c
 * checks them and `make bench` measures how fast each strategy finds them.
 *
 * Every program is a seed-loop body (stp_body_fn): arg points to an int,
 * 0 for the buggy program and 1 for its fix. The body registers free
 * threads, runs them and checks the outcome after the run (stp_add_error),
 * or the threads check as they go (STP_CHECK): a run of the buggy program
 * that hits the bug fails, every run of the fixed one passes.
 *
 * Shared data is atomic (seq_cst loads and stores, never a read-modify-
 * write where the bug is a lost update): after a failure aborts a run the
 * threads run at once, and the programs must stay free of data races then
 * too. The bugs are atomicity and order violations at the STEP points, not
 * undefined behaviour.
 *
 * Preemptions are counted as the core sees them: the first decision is
 * taken by the last registered thread (its prefix ran last), so keeping it
 * going is not a preemption. Each program registers the thread that its
 * bug's schedule starts with last, so that its count does not depend on
 * whether a strategy counts that first pick.
 */
#ifndef STEPPER_TESTS_ZOO_H
#define STEPPER_TESTS_ZOO_H

#include <stepper/stepper.h>

#include <stddef.h>
#include <stdint.h>

typedef struct zoo_bug {
	const char *name;  /* short, as the bench table prints it */
	stp_body_fn body;  /* arg: const int *, 0 the bug, 1 the fix */
	/* The fewest preemptions a schedule of the bug needs (a switch away
	 * from a thread that could have gone on): the dfs bound that finds
	 * it. By hand from the code, checked by test_zoo once dfs exists. */
	int preemptions;
	/* Its depth in PCT's sense: the ordering constraints between steps
	 * of different threads that make it happen. */
	int depth;
	/* random, pct:3 and pos find the bug within seeds 1..N of a loop
	 * (test_zoo checks it, for a strategy this build has); 0: not
	 * promised (the strategy is not expected to find it). */
	uint64_t random_within, pct_within, pos_within;
	/* The most schedules test_zoo lets dfs explore of the fixed program
	 * (its whole space is larger, or takes too long to run). */
	uint64_t dfs_cap;
	/* How a run that hits the bug fails: a piece of its first error. */
	const char *fails_with;
	const char *shape; /* one line: what the program is */
} zoo_bug;

extern const zoo_bug zoo_bugs[];
extern const size_t zoo_nbugs;

/* The programs (tests/bugs/NAME.c). */
int bug_lost_update(stp_stepper *s, void *fixed);
int bug_lazy_init(stp_stepper *s, void *fixed);
int bug_abba(stp_stepper *s, void *fixed);
int bug_lost_wakeup(stp_stepper *s, void *fixed);
int bug_stages(stp_stepper *s, void *fixed);
int bug_bounded_buffer(stp_stepper *s, void *fixed);
int bug_flag(stp_stepper *s, void *fixed);
int bug_rotate(stp_stepper *s, void *fixed);
int bug_latch(stp_stepper *s, void *fixed);
int bug_aba_stack(stp_stepper *s, void *fixed);

/* The strategies test_zoo and the bench go through, in this order. */
extern const char *const zoo_strategies[];
extern const size_t zoo_nstrategies;

/* 1 when this build's stp_interleave accepts the strategy, 0 when it
 * refuses it with STP_EINVAL (not written yet); why (may be NULL)
 * receives its error. */
int zoo_strategy_available(const char *strategy, char *why, size_t size);

/* The bodies run their threads with zoo_run(s), which is stp_run(s)
 * unless the calling thread set zoo_plan: then it first gives the run
 * that explicit schedule (stp_set_schedule: the thread of each decision),
 * as test_zoo's explorer does to walk the schedules one by one. */
typedef struct zoo_schedule {
	const int *threads;
	size_t n;
} zoo_schedule;

extern _Thread_local const zoo_schedule *zoo_plan;

int zoo_run(stp_stepper *s);

/* Register a free thread in a body; on failure record an error saying so
 * and make the body return 1. */
#define ZOO_THREAD(s, name, fn, arg)                                        \
	do {                                                                \
		int zoo_rc_ = stp_thread((s), (name), NULL, (fn), (arg));   \
		if (zoo_rc_ < 0) {                                          \
			stp_add_error((s), "setup: stp_thread '%s': %s",    \
				      (name), stp_strerror(zoo_rc_));       \
			return 1;                                           \
		}                                                           \
	} while (0)

#endif
