/*
 * lost_update.c - a lost update among three free threads, with steps
 * around it that do not matter (as in tests/test_shrink.c): a random
 * schedule takes many preemptions, one between a read and its write is
 * enough. One seed per process (STEPPER_SEED), for `stepper run` and
 * `stepper shrink` (tests/test_cli_shrink.c).
 *
 *   lost_update          the lost update: "counter is N, expected 3"
 *   lost_update abort    the same, then abort() after the stepper
 *                        reported (a test that crashes on a failure)
 *   lost_update crash    abort() in the middle of a run whose update
 *                        is lost (the run never ends)
 *   lost_update fixed    the update under a stepper mutex: always passes
 */
#include <stepper/stepper.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *mode = "";

struct counter {
	atomic_int value; /* relaxed loads and stores: the update is lost, but
			   * threads that run at once after an abort do not race */
	atomic_int done;
	pthread_mutex_t mu;
};

static void increment(void *arg)
{
	struct counter *c = arg;
	int fixed = strcmp(mode, "fixed") == 0;
	for (int i = 0; i < 3; i++)
		STEP("noise");
	if (fixed)
		stp_mutex_lock(&c->mu);
	STEP("read");
	int v = atomic_load_explicit(&c->value, memory_order_relaxed);
	STEP("write");
	atomic_store_explicit(&c->value, v + 1, memory_order_relaxed);
	if (fixed)
		stp_mutex_unlock(&c->mu);
	/* crash: the last thread to finish sees the update lost, mid-run */
	if (atomic_fetch_add(&c->done, 1) == 2 && strcmp(mode, "crash") == 0 &&
	    atomic_load(&c->value) != 3)
		abort();
	for (int i = 0; i < 2; i++)
		STEP("after");
}

static int body(stp_stepper *s, void *arg)
{
	(void)arg;
	struct counter c = { .mu = PTHREAD_MUTEX_INITIALIZER };
	stp_thread(s, "alice", NULL, increment, &c);
	stp_thread(s, "bob", NULL, increment, &c);
	stp_thread(s, "carol", NULL, increment, &c);
	if (stp_run(s) < 0)
		return -1;
	int v = atomic_load(&c.value);
	if (v != 3)
		stp_add_error(s, "counter is %d, expected 3", v);
	return 0;
}

int main(int argc, char **argv)
{
	mode = argc > 1 ? argv[1] : "";
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.name = "lost update";
	lo.count = 1;
	stp_loop_result res;
	int rc = stp_loop(&lo, body, NULL, &res);
	if (rc == 1 && strcmp(mode, "abort") == 0)
		abort();
	return rc != 0;
}
