/*
 * test_fibers.c - runs whose controlled threads are fibers on one OS
 * thread (stp_set_fibers, STEPPER_FIBERS): the same schedules and
 * outcomes as with OS threads, seed by seed, declared and free, with
 * model locks and under every strategy; many threads; deadlocks; what each
 * fiber keeps of its own (errno) and shares (pthread_self); a fiber
 * blocked outside the stepper; and the refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/clock.h>
#include <stepper/stepper.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define SEEDS 300

static stp_stepper *new_stepper(uint64_t seed, const char *strategy, int fibers)
{
	stp_options o;
	stp_options_init(&o);
	o.seed = seed;
	o.mode = STP_SERIAL;
	o.trace = NULL;
	o.replay = NULL;
	o.strategy = strategy;
	o.stall_ms = 10000;
	stp_stepper *s = stp_new(&o);
	assert_non_null(s);
	assert_int_equal(stp_set_fibers(s, fibers), 0);
	return s;
}

/* ------------------------------------------------------------------ */
/* The same schedules as OS threads                                    */
/* ------------------------------------------------------------------ */

struct account {
	pthread_mutex_t mu;
	int balance;
	int locked; /* take mu around the update (a model lock) */
};

static void deposit(void *p)
{
	struct account *a = p;
	if (a->locked && stp_mutex_lock(&a->mu) != 0)
		return;
	STEP("read balance");
	int b = a->balance;
	STEP("compute");
	b += 10;
	STEP("write balance");
	a->balance = b;
	if (a->locked)
		stp_mutex_unlock(&a->mu);
}

static const char *const deposit_order[] = { "read balance", "compute", "write balance",
					     NULL };

/* One run of three depositors; its printed order and the balance. */
static int run_deposits(uint64_t seed, const char *strategy, int fibers, int declared,
			int locked, char **order)
{
	struct account a = { PTHREAD_MUTEX_INITIALIZER, 100, locked };
	stp_stepper *s = new_stepper(seed, strategy, fibers);
	const char *const *o = declared ? deposit_order : NULL;
	assert_true(stp_thread(s, "alice", o, deposit, &a) >= 0);
	assert_true(stp_thread(s, "bob", o, deposit, &a) >= 0);
	assert_true(stp_thread(s, "carol", o, deposit, &a) >= 0);
	if (stp_run(s) != 0)
		fail_msg("seed %llu (%s, fibers %d): %s", (unsigned long long)seed,
			 strategy ? strategy : "random", fibers, errors_of(s));
	capture c;
	stp_print_order(s, capture_open(&c));
	*order = strdup(capture_text(&c));
	capture_free(&c);
	stp_free(s);
	return a.balance;
}

static void same_as_threads(const char *strategy, int declared, int locked, int *lost)
{
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		char *with_threads, *with_fibers;
		int bt = run_deposits(seed, strategy, 0, declared, locked, &with_threads);
		int bf = run_deposits(seed, strategy, 1, declared, locked, &with_fibers);
		if (bt != bf || strcmp(with_threads, with_fibers) != 0)
			fail_msg("seed %llu (%s): threads %d\n%s\nfibers %d\n%s",
				 (unsigned long long)seed, strategy ? strategy : "random", bt,
				 with_threads, bf, with_fibers);
		*lost += bf != 130;
		free(with_threads);
		free(with_fibers);
	}
}

static void test_fibers_take_the_schedules_threads_take_seed_by_seed(void **state)
{
	(void)state;
	int lost = 0;
	same_as_threads(NULL, 1, 0, &lost); /* declared: the plan */
	assert_true(lost > 0);
	lost = 0;
	same_as_threads(NULL, 0, 0, &lost); /* free: a decision at every point */
	assert_true(lost > 0);
	const char *strategies[] = { "pct:3", "pos" };
	for (int k = 0; k < 2; k++) {
		lost = 0;
		same_as_threads(strategies[k], 0, 0, &lost);
		assert_true(lost > 0);
	}
	lost = 0;
	same_as_threads(NULL, 0, 1, &lost); /* model locks: never lost */
	assert_int_equal(lost, 0);
}

/* ------------------------------------------------------------------ */
/* Many threads, deadlocks                                             */
/* ------------------------------------------------------------------ */

#define CROWD 300

static void crowd_member(void *p)
{
	struct account *a = p;
	stp_mutex_lock(&a->mu);
	STEP("in");
	a->balance++;
	stp_mutex_unlock(&a->mu);
	STEP("out");
}

static void test_three_hundred_fibers_take_turns_under_a_model_lock(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 5; seed++) {
		struct account a = { PTHREAD_MUTEX_INITIALIZER, 0, 1 };
		stp_stepper *s = new_stepper(seed, NULL, 1);
		for (int i = 0; i < CROWD; i++)
			assert_true(stp_thread(s, NULL, NULL, crowd_member, &a) >= 0);
		if (stp_run(s) != 0)
			fail_msg("seed %llu: %s", (unsigned long long)seed, errors_of(s));
		assert_int_equal(a.balance, CROWD);
		stp_free(s);
	}
}

struct pair {
	pthread_mutex_t a, b;
};

static void ab(void *p)
{
	struct pair *x = p;
	if (stp_mutex_lock(&x->a) != 0)
		return;
	STEP("between");
	if (stp_mutex_lock(&x->b) == 0)
		stp_mutex_unlock(&x->b);
	stp_mutex_unlock(&x->a);
}

static void ba(void *p)
{
	struct pair *x = p;
	if (stp_mutex_lock(&x->b) != 0)
		return;
	STEP("between");
	if (stp_mutex_lock(&x->a) == 0)
		stp_mutex_unlock(&x->a);
	stp_mutex_unlock(&x->b);
}

static void test_a_lock_cycle_among_fibers_is_reported_as_a_deadlock(void **state)
{
	(void)state;
	int deadlocks = 0;
	for (uint64_t seed = 1; seed <= 100; seed++) {
		struct pair x = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER };
		stp_stepper *s = new_stepper(seed, NULL, 1);
		stp_thread(s, "ab", NULL, ab, &x);
		stp_thread(s, "ba", NULL, ba, &x);
		int n = stp_run(s);
		if (n > 0) {
			if (!strstr(errors_of(s), "deadlock"))
				fail_msg("seed %llu: %s", (unsigned long long)seed, errors_of(s));
			deadlocks++;
		}
		stp_free(s);
	}
	assert_true(deadlocks > 0 && deadlocks < 100);
}

/* ------------------------------------------------------------------ */
/* What a fiber keeps, and what fibers share                          */
/* ------------------------------------------------------------------ */

struct ids {
	pthread_t self[4];
	int errno_kept[4];
	int errno_fresh[4]; /* 0 at its start, whatever the one before left */
};

struct who {
	struct ids *ids;
	int i;
};

static void identify(void *p)
{
	struct who *w = p;
	w->ids->errno_fresh[w->i] = errno == 0;
	errno = 100 + w->i;
	STEP("one");
	STEP("two"); /* the others ran meanwhile, and set theirs */
	w->ids->errno_kept[w->i] = errno == 100 + w->i;
	w->ids->self[w->i] = pthread_self();
}

static void run_identify(stp_stepper *s, struct ids *ids, struct who *w)
{
	for (int i = 0; i < 4; i++) {
		w[i] = (struct who){ ids, i };
		assert_true(stp_thread(s, NULL, NULL, identify, &w[i]) >= 0);
	}
	if (stp_run(s) != 0)
		fail_msg("%s", errors_of(s));
	stp_free(s);
}

static void test_each_fiber_keeps_its_errno_and_all_share_one_os_thread(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct ids ids = { 0 };
		struct who w[4];
		run_identify(new_stepper(seed, NULL, 1), &ids, w);
		for (int i = 0; i < 4; i++) {
			assert_true(ids.errno_kept[i]);
			assert_true(ids.errno_fresh[i]);
			assert_true(pthread_equal(ids.self[i], ids.self[0]));
		}
		/* with OS threads, four threads */
		run_identify(new_stepper(seed, NULL, 0), &ids, w);
		assert_false(pthread_equal(ids.self[1], ids.self[0]));
	}
}

/* ------------------------------------------------------------------ */
/* A fiber blocked outside the stepper                                 */
/* ------------------------------------------------------------------ */

struct stuck {
	event release, done;
};

static void waits_outside(void *p)
{
	struct stuck *f = p;
	STEP("b1");
	event_wait(&f->release); /* a plain condition: the OS thread blocks */
	STEP("b2");
	event_set(&f->done);
}

static void walker(void *p)
{
	(void)p;
	STEP("a1");
	STEP("a2");
}

static void test_a_fiber_blocked_outside_the_stepper_stops_the_run_and_is_reported(void **state)
{
	(void)state;
	static const char *const oa[] = { "a1", "a2", NULL };
	static const char *const ob[] = { "b1", "b2", NULL };
	struct stuck f;
	event_init(&f.release);
	event_init(&f.done);
	stp_options o;
	stp_options_init(&o);
	o.stall_ms = 100; /* the stall limit is the behaviour under test */
	o.trace = NULL;
	stp_stepper *s = stp_new(&o);
	assert_int_equal(stp_set_fibers(s, 1), 0);
	stp_thread(s, "A", oa, walker, NULL);
	stp_thread(s, "B", ob, waits_outside, &f);
	const int sched[] = { 1, 0, 1, 0 };
	assert_int_equal(stp_set_schedule(s, sched, 4), 0);
	assert_true(stp_run(s) > 0); /* returns although B never goes on */
	const char *e = errors_of(s);
	if (!strstr(e, "stall: no step passed") ||
	    !strstr(e, "[B] running since step 'b1' (1/2)"))
		fail_msg("%s", e);
	stp_free(s); /* the host keeps the run until its fibers end */
	event_set(&f.release);
	event_wait(&f.done);
	event_destroy(&f.release);
	event_destroy(&f.done);
}

/* ------------------------------------------------------------------ */
/* Refusals and the environment                                        */
/* ------------------------------------------------------------------ */

static void test_fibers_are_refused_where_a_run_cannot_have_them(void **state)
{
	(void)state;
	assert_int_equal(stp_set_fibers(NULL, 1), STP_EINVAL);
	stp_options o;
	stp_options_init(&o);
	o.mode = STP_OVERLAP;
	stp_stepper *s = stp_new(&o);
	assert_int_equal(stp_set_fibers(s, 1), STP_EINVAL);
	assert_int_equal(stp_set_fibers(s, 0), 0);
	stp_free(s);
	stp_options_init(&o);
	o.clock = stp_clock_new(0);
	s = stp_new(&o);
	assert_int_equal(stp_set_fibers(s, 1), STP_EINVAL);
	stp_free(s);
	stp_clock_free(o.clock);
	s = new_stepper(1, NULL, 1);
	stp_thread(s, "A", NULL, walker, NULL);
	assert_int_equal(stp_run(s), 0);
	assert_int_equal(stp_set_fibers(s, 0), STP_ESTATE);
	stp_free(s);
}

/* stderr while f runs, into buf. */
static void stderr_of(void (*f)(struct ids *), struct ids *ids, char *buf, size_t size)
{
	fflush(stderr);
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	int saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), 2) >= 0);
	f(ids);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	rewind(tmp);
	size_t n = fread(buf, 1, size - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
}

static void identify_by_env(struct ids *ids)
{
	stp_options o;
	stp_options_init(&o);
	o.trace = NULL;
	struct who w[4];
	run_identify(stp_new(&o), ids, w);
}

static void test_stepper_fibers_in_the_environment_turns_them_on(void **state)
{
	(void)state;
	struct ids ids = { 0 };
	char err[1024];
	setenv("STEPPER_FIBERS", "1", 1);
	stderr_of(identify_by_env, &ids, err, sizeof err);
	assert_true(pthread_equal(ids.self[1], ids.self[0]));
	assert_string_equal(err, "");
	/* malformed: named once, OS threads kept */
	setenv("STEPPER_FIBERS", "yes", 1);
	stderr_of(identify_by_env, &ids, err, sizeof err);
	assert_false(pthread_equal(ids.self[1], ids.self[0]));
	if (!strstr(err, "STEPPER_FIBERS") || !strstr(err, "yes") || !strstr(err, "0 or 1"))
		fail_msg("stderr: %s", err);
	unsetenv("STEPPER_FIBERS");
	stderr_of(identify_by_env, &ids, err, sizeof err);
	assert_false(pthread_equal(ids.self[1], ids.self[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fibers_take_the_schedules_threads_take_seed_by_seed),
		cmocka_unit_test(test_three_hundred_fibers_take_turns_under_a_model_lock),
		cmocka_unit_test(test_a_lock_cycle_among_fibers_is_reported_as_a_deadlock),
		cmocka_unit_test(test_each_fiber_keeps_its_errno_and_all_share_one_os_thread),
		cmocka_unit_test(test_a_fiber_blocked_outside_the_stepper_stops_the_run_and_is_reported),
		cmocka_unit_test(test_fibers_are_refused_where_a_run_cannot_have_them),
		cmocka_unit_test(test_stepper_fibers_in_the_environment_turns_them_on),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
