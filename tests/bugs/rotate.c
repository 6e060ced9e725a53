/*
 * rotate.c - a bug that needs one thread to be preempted exactly once,
 * at one point of a long run. A journal writer appends RECORDS records;
 * after record ROTATE_AT it rotates its segment: it closes the current one
 * and opens the next, two steps apart. A flusher that runs in between
 * finds no open segment. Every other schedule passes: the flusher is
 * enabled from the start, and any schedule that lets it run before the
 * rotation or after it is fine.
 *
 * Needs 1 preemption ([writer] at 'open segment', decision ~ROTATE_AT+2
 * of ~RECORDS+2), depth 2. Random picks the flusher early with
 * probability 1/2 at every decision, so it practically never gets there;
 * PCT's change point lands there with probability about 1/RECORDS; dfs
 * with bound 1 tries the preemption points in order. The fix: the
 * rotation and the flush under the journal's mutex.
 */
#include "zoo.h"

#include <pthread.h>
#include <stdatomic.h>

#define RECORDS 240
#define ROTATE_AT 180

struct journal {
	pthread_mutex_t mu;
	atomic_int open;     /* a segment is open */
	atomic_int segment;  /* the current segment's number */
	atomic_int records;  /* appended so far */
	atomic_int flushed;  /* records the flusher saw */
	int fixed;
};

static void rotate_segment(struct journal *j)
{
	if (j->fixed && stp_mutex_lock(&j->mu) != 0)
		return;
	STEP("close segment");
	atomic_store(&j->open, 0);
	STEP("open segment");
	atomic_store(&j->segment, atomic_load(&j->segment) + 1);
	atomic_store(&j->open, 1);
	if (j->fixed)
		stp_mutex_unlock(&j->mu);
}

static void writer(void *arg)
{
	struct journal *j = arg;
	for (int i = 1; i <= RECORDS; i++) {
		STEP("append");
		atomic_store(&j->records, i);
		if (i == ROTATE_AT)
			rotate_segment(j);
	}
}

static void flusher(void *arg)
{
	struct journal *j = arg;
	if (j->fixed && stp_mutex_lock(&j->mu) != 0)
		return;
	STEP("flush");
	STP_CHECK(atomic_load(&j->open)); /* the segment it writes to */
	atomic_store(&j->flushed, atomic_load(&j->records));
	if (j->fixed)
		stp_mutex_unlock(&j->mu);
}

int bug_rotate(stp_stepper *s, void *fixed)
{
	struct journal j = { .mu = PTHREAD_MUTEX_INITIALIZER, .open = 1,
			     .fixed = *(const int *)fixed };
	ZOO_THREAD(s, "flusher", flusher, &j);
	ZOO_THREAD(s, "writer", writer, &j); /* last: it goes first (zoo.h) */
	return zoo_run(s) != 0;
}
