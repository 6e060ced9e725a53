/*
 * flag.c - a reader/writer race on a flag: the writer raises its 'ready'
 * flag and then writes the data the flag stands for; a reader that polls
 * in between sees the flag and reads data that is not there yet.
 *
 * Needs 1 preemption ([writer] between raising the flag and writing the
 * data), depth 2. The fix: write the data first, then raise the flag (a
 * seq_cst store, so the order holds for a reader on another core too).
 */
#include "zoo.h"

#include <stdatomic.h>

#define POLLS 2

struct shared {
	atomic_int ready, data;
	atomic_int read; /* what the reader got (0: it never saw the flag) */
	int fixed;
};

static void writer(void *arg)
{
	struct shared *sh = arg;
	if (sh->fixed) {
		STEP("write data");
		atomic_store(&sh->data, 42);
		STEP("raise flag");
		atomic_store(&sh->ready, 1);
		return;
	}
	STEP("raise flag");
	atomic_store(&sh->ready, 1);
	STEP("write data");
	atomic_store(&sh->data, 42);
}

static void reader(void *arg)
{
	struct shared *sh = arg;
	for (int k = 0; k < POLLS; k++) {
		STEP("poll");
		if (!atomic_load(&sh->ready))
			continue;
		STEP("read data");
		int d = atomic_load(&sh->data);
		atomic_store(&sh->read, d);
		STP_CHECK(d == 42); /* the flag said the data was there */
		return;
	}
}

int bug_flag(stp_stepper *s, void *fixed)
{
	struct shared sh = { 0, 0, 0, *(const int *)fixed };
	ZOO_THREAD(s, "reader", reader, &sh);
	ZOO_THREAD(s, "writer", writer, &sh); /* last: it goes first (zoo.h) */
	return zoo_run(s) != 0;
}
