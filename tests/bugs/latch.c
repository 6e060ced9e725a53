/*
 * latch.c - ten threads meet at a countdown latch. Each counts itself in
 * with a load and a store outside the latch's mutex; the one that brings
 * the count to THREADS opens the latch and wakes the others, which wait on
 * a condition variable. When two arrivals overlap, one count is lost, no
 * arrival sees THREADS, and every thread waits for ever: the stepper
 * reports the lost wake-up at once.
 *
 * Needs 1 preemption (any thread between its load and its store while
 * another arrives), depth 2; with ten threads nearly every random schedule
 * has one. The fix: count under the mutex (the same steps, inside).
 */
#include "zoo.h"

#include <stepper/clock.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#define THREADS 10

struct latch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_int arrived, open, passed;
	int fixed;
};

/* Count the caller in; returns the count it made, with mu held, or -1
 * (the run was aborted: mu not held). */
static int count_in(struct latch *l)
{
	int n;
	if (l->fixed) {
		if (stp_mutex_lock(&l->mu) != 0)
			return -1;
		STEP("count");
		n = atomic_load(&l->arrived) + 1;
		atomic_store(&l->arrived, n);
		return n;
	}
	n = atomic_load(&l->arrived) + 1;
	STEP("count");
	atomic_store(&l->arrived, n);
	return stp_mutex_lock(&l->mu) == 0 ? n : -1;
}

static void arrive(void *arg)
{
	struct latch *l = arg;
	STEP("arrive");
	int n = count_in(l);
	if (n < 0)
		return;
	if (n == THREADS) {
		atomic_store(&l->open, 1);
		stp_cond_broadcast(&l->cv);
	}
	while (!atomic_load(&l->open)) {
		if (stp_cond_wait(&l->cv, &l->mu) != 0) {
			stp_mutex_unlock(&l->mu);
			return; /* STP_EDEADLOCK: the run was aborted */
		}
	}
	stp_mutex_unlock(&l->mu);
	STEP("past");
	atomic_fetch_add(&l->passed, 1);
}

int bug_latch(stp_stepper *s, void *fixed)
{
	struct latch l = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
			   .fixed = *(const int *)fixed };
	for (int i = 0; i < THREADS; i++) {
		char name[16];
		snprintf(name, sizeof name, "t%d", i);
		ZOO_THREAD(s, name, arrive, &l);
	}
	if (zoo_run(s) != 0)
		return 1;
	int passed = atomic_load(&l.passed);
	if (passed != THREADS)
		stp_add_error(s, "latch: %d of %d threads got past it", passed, THREADS);
	return 0;
}
