/*
 * stages.c - an order violation that needs three specific switches. A
 * worker commits a job in two stages, 1 (prepared) and 2 (committed),
 * after some preparation and with some work between them. A monitor polls
 * the stage twice and announces every change it sees; it assumes it never
 * sees 'prepared' and then 'committed' (it would announce the commit as a
 * second, separate job). That takes three switches in one order: to the
 * monitor after the worker's 'prepared' (a preemption), back to the worker
 * before the monitor's second poll (a preemption), and to the monitor
 * once the worker ends.
 *
 * Needs 2 preemptions, depth 3 (prepared < poll 1 < committed < poll 2).
 * Random must keep the monitor off the first PREPARE+1 decisions and then
 * hit two windows; PCT with depth 3 needs its two change points in the
 * right windows. The fix: the worker holds its mutex from 'prepared' to
 * 'committed' and the monitor polls under it, so stage 1 is never seen.
 */
#include "zoo.h"

#include <pthread.h>
#include <stdatomic.h>

#define PREPARE 4 /* steps before stage 1 */
#define WORK 4    /* steps between stage 1 and stage 2 */

struct job {
	pthread_mutex_t mu;
	atomic_int stage;
	atomic_int seen[2]; /* the monitor's two polls */
	int fixed;
};

static void worker(void *arg)
{
	struct job *j = arg;
	for (int i = 0; i < PREPARE; i++)
		STEP("prepare");
	if (j->fixed && stp_mutex_lock(&j->mu) != 0)
		return;
	STEP("prepared");
	atomic_store(&j->stage, 1);
	for (int i = 0; i < WORK; i++)
		STEP("work");
	STEP("committed");
	atomic_store(&j->stage, 2);
	if (j->fixed)
		stp_mutex_unlock(&j->mu);
}

static void monitor(void *arg)
{
	struct job *j = arg;
	for (int k = 0; k < 2; k++) {
		if (j->fixed && stp_mutex_lock(&j->mu) != 0)
			return;
		STEP("poll");
		atomic_store(&j->seen[k], atomic_load(&j->stage));
		if (j->fixed)
			stp_mutex_unlock(&j->mu);
	}
	int a = atomic_load(&j->seen[0]), b = atomic_load(&j->seen[1]);
	STP_CHECK(!(a == 1 && b == 2)); /* 'prepared' then 'committed' */
}

int bug_stages(stp_stepper *s, void *fixed)
{
	struct job j = { PTHREAD_MUTEX_INITIALIZER, 0, { 0, 0 }, *(const int *)fixed };
	ZOO_THREAD(s, "monitor", monitor, &j);
	ZOO_THREAD(s, "worker", worker, &j); /* last: it goes first (zoo.h) */
	return zoo_run(s) != 0;
}
