/*
 * zoo.c - the table of the zoo's programs, and the strategies it runs.
 */
#include "zoo.h"

#include <stdio.h>

/* The *_within seeds and dfs_cap are what test_zoo holds each program
 * to, with room: README ("A zoo of bugs") has the measured numbers.
 * 'rotate' promises nothing but dfs: random passes over the flusher at
 * each of ~180 decisions with probability 1/2, pos redraws the writer's
 * priority at each step against the flusher's fixed one, and pct:3's
 * change points never reach its window (its length for free threads is
 * the longest count of decisions with two threads enabled, which the
 * change points themselves cut short: it stays at the first run's first
 * change point, 53 from seed 1). */
const zoo_bug zoo_bugs[] = {
	{ "lost-update", bug_lost_update, 1, 2, 100, 1000, 1000, 0, "lost update",
	  "two load/store increments of one counter" },
	{ "lazy-init", bug_lazy_init, 1, 2, 100, 1000, 1000, 0, "lazy init",
	  "check-then-act lazy initialisation, two instances made" },
	{ "abba", bug_abba, 1, 2, 100, 1000, 1000, 0, "deadlock: a cycle",
	  "AB/BA deadlock over stp_mutex_lock" },
	{ "lost-wakeup", bug_lost_wakeup, 1, 2, 100, 1000, 1000, 0, "lost wake-up",
	  "flag checked outside the mutex, signal sent before the wait" },
	{ "stages", bug_stages, 2, 3, 2000, 1000, 1000, 0, "!(a == 1 && b == 2)",
	  "order violation: three switches in one order" },
	{ "bounded-buffer", bug_bounded_buffer, 1, 2, 200, 1000, 1000, 0,
	  "bounded buffer|head != atomic_load(&b->tail)",
	  "bounded buffer whose count is updated outside the lock" },
	{ "flag", bug_flag, 1, 2, 100, 1000, 1000, 0, "d == 42",
	  "reader/writer race on a ready flag raised before the data" },
	{ "rotate", bug_rotate, 1, 2, 0, 0, 0, 2000, "atomic_load(&j->open)",
	  "one preemption at one point of a 240-step run" },
	{ "latch", bug_latch, 1, 2, 100, 1000, 1000, 2000, "lost wake-up",
	  "10 threads at a countdown latch with a racy count" },
	{ "aba-stack", bug_aba_stack, 1, 2, 500, 1000, 1000, 0, "aba: node",
	  "lock-free stack, pop races a push (ABA)" },
};

const size_t zoo_nbugs = sizeof zoo_bugs / sizeof zoo_bugs[0];

const char *const zoo_strategies[] = { "random", "pct:3", "pos", "dfs" };

const size_t zoo_nstrategies = sizeof zoo_strategies / sizeof zoo_strategies[0];

_Thread_local const zoo_schedule *zoo_plan;

int zoo_run(stp_stepper *s)
{
	static const int none[1];
	if (zoo_plan) {
		int rc = stp_set_schedule(s, zoo_plan->n ? zoo_plan->threads : none,
					  zoo_plan->n);
		if (rc < 0)
			return rc;
	}
	return stp_run(s);
}

static void nothing(void *arg)
{
	(void)arg;
}

int zoo_strategy_available(const char *strategy, char *why, size_t size)
{
	stp_options o;
	stp_options_init(&o);
	o.strategy = strategy;
	o.trace = NULL;
	o.replay = NULL;
	stp_stepper *s = stp_new(&o);
	if (!s) {
		if (why)
			snprintf(why, size, "out of memory");
		return 0;
	}
	int rc = stp_thread(s, "t", NULL, nothing, NULL);
	if (rc >= 0)
		rc = stp_interleave(s);
	if (why)
		snprintf(why, size, "%s",
			 rc < 0 && stp_error_count(s) ? stp_error(s, 0) : stp_strerror(rc));
	stp_free(s);
	return rc >= 0;
}
