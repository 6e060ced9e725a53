/*
 * test_stepper.c - the core semantics: each rule of "Core semantics" in
 * the design has a test here that fails if the rule breaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/stepper.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */

/* A worker that passes the steps of its declared order and logs each. */
struct walker {
	order_log *log;
	int index;
	const char *const *order;
};

static void walk(void *p)
{
	struct walker *w = p;
	for (int k = 0; w->order[k]; k++) {
		STEP(w->order[k]);
		if (w->log)
			log_add(w->log, w->index, k);
	}
}

static stp_stepper *stall_stepper(uint64_t seed, stp_mode mode, unsigned stall_ms)
{
	stp_options o;
	stp_options_init(&o);
	o.seed = seed;
	o.mode = mode;
	o.debug = 0;
	o.stall_ms = stall_ms;
	return stp_new(&o);
}

static stp_stepper *quiet_stepper(uint64_t seed, stp_mode mode)
{
	return stall_stepper(seed, mode, 2000);
}

static const char *const order_a[] = { "a1", "a2", "a3", NULL };
static const char *const order_b[] = { "b1", "b2", "b3", NULL };
static const char *const order_c[] = { "c1", "c2", NULL };

/* Does the log list the schedule's entries, in order? */
static void assert_log_is_schedule(const stp_stepper *s, const order_log *l)
{
	size_t n;
	const int *sched = stp_schedule(s, &n);
	assert_non_null(sched);
	assert_int_equal(l->n, n);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(l->thread[k], sched[k]);
}

/* ------------------------------------------------------------------ */
/* Order                                                               */
/* ------------------------------------------------------------------ */

static void test_observed_order_equals_schedule_for_1000_seeds(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 1000; seed++) {
		order_log log;
		log_init(&log);
		struct walker w[3] = { { &log, 0, order_a },
				       { &log, 1, order_b },
				       { &log, 2, order_c } };
		stp_stepper *s = quiet_stepper(seed, STP_SERIAL);
		assert_int_equal(stp_thread(s, "a", order_a, walk, &w[0]), 0);
		assert_int_equal(stp_thread(s, "b", order_b, walk, &w[1]), 1);
		assert_int_equal(stp_thread(s, "c", order_c, walk, &w[2]), 2);
		assert_int_equal(stp_interleave(s), 0);
		assert_int_equal(stp_run(s), 0);
		assert_log_is_schedule(s, &log);
		assert_int_equal(stp_steps_left(s), 0);
		stp_free(s);
	}
}

static atomic_int running, most_running;

static void count_running(void *p)
{
	const char *const *order = p;
	for (int k = 0; order[k]; k++) {
		STEP(order[k]);
		int now = atomic_fetch_add(&running, 1) + 1;
		int m = atomic_load(&most_running);
		while (now > m && !atomic_compare_exchange_weak(&most_running, &m, now))
			;
		for (volatile int spin = 0; spin < 200; spin++)
			;
		atomic_fetch_sub(&running, 1);
	}
}

static void test_serial_mode_runs_one_thread_at_a_time(void **state)
{
	(void)state;
	static const char *const o4[] = { "x", "y", "z", "w", NULL };
	atomic_store(&most_running, 0);
	for (uint64_t seed = 1; seed <= 300; seed++) {
		stp_stepper *s = quiet_stepper(seed, STP_SERIAL);
		for (int i = 0; i < 4; i++)
			assert_true(stp_thread(s, NULL, o4, count_running, (void *)o4) >= 0);
		assert_int_equal(stp_run(s), 0);
		stp_free(s);
	}
	assert_int_equal(atomic_load(&most_running), 1);
}

/* Overlap: A passes a1 and then waits for something B does after b1. In
 * serial mode that is a stall (A holds the turnstile); in overlap mode A
 * released it when it passed a1. */
struct overlap_fixture {
	event b_passed;
};

static void overlap_a(void *p)
{
	struct overlap_fixture *f = p;
	STEP("a1");
	event_wait(&f->b_passed);
	STEP("a2");
}

static void overlap_b(void *p)
{
	struct overlap_fixture *f = p;
	STEP("b1");
	event_set(&f->b_passed);
}

static int run_overlap_fixture(stp_mode mode, unsigned stall_ms, stp_stepper **out)
{
	static const char *const oa[] = { "a1", "a2", NULL };
	static const char *const ob[] = { "b1", NULL };
	static struct overlap_fixture f;
	event_init(&f.b_passed);
	stp_stepper *s = stall_stepper(1, mode, stall_ms);
	stp_thread(s, "A", oa, overlap_a, &f);
	stp_thread(s, "B", ob, overlap_b, &f);
	const int sched[] = { 0, 1, 0 };
	assert_int_equal(stp_set_schedule(s, sched, 3), 0);
	int rc = stp_run(s);
	*out = s;
	return rc;
}

static void test_overlap_mode_lets_a_thread_run_past_its_step(void **state)
{
	(void)state;
	stp_stepper *s;
	assert_int_equal(run_overlap_fixture(STP_OVERLAP, 2000, &s), 0);
	assert_int_equal(stp_steps_left(s), 0);
	stp_free(s);
	/* The same schedule in serial mode cannot go on: A never releases.
	 * (A wall-clock bound: the stall limit is what is being tested.) */
	assert_true(run_overlap_fixture(STP_SERIAL, 100, &s) > 0);
	assert_non_null(strstr(stp_error(s, 0), "stall"));
	stp_free(s);
}

static void test_same_seed_gives_the_same_schedule(void **state)
{
	(void)state;
	int differ = 0;
	for (uint64_t seed = 1; seed <= 50; seed++) {
		stp_stepper *x = quiet_stepper(seed, STP_SERIAL);
		stp_stepper *y = quiet_stepper(seed, STP_SERIAL);
		stp_stepper *z = quiet_stepper(seed + 1000, STP_SERIAL);
		stp_stepper *all[] = { x, y, z };
		for (int i = 0; i < 3; i++) {
			stp_thread(all[i], "a", order_a, walk, NULL);
			stp_thread(all[i], "b", order_b, walk, NULL);
			assert_int_equal(stp_interleave(all[i]), 0);
		}
		size_t nx, ny, nz;
		const int *sx = stp_schedule(x, &nx), *sy = stp_schedule(y, &ny);
		const int *sz = stp_schedule(z, &nz);
		assert_int_equal(nx, ny);
		assert_memory_equal(sx, sy, nx * sizeof *sx);
		differ += memcmp(sx, sz, nx * sizeof *sx) != 0;
		for (int i = 0; i < 3; i++)
			stp_free(all[i]);
	}
	assert_true(differ > 25); /* other seeds, other schedules */
}

/* Over 10,000 seeds every one of the 20 interleavings of 2x3 steps occurs,
 * each between 400 and 600 times (expected 500, sd 22). */
static void test_random_strategy_is_uniform_over_interleavings(void **state)
{
	(void)state;
	int count[64] = { 0 };
	for (uint64_t seed = 1; seed <= 10000; seed++) {
		order_log log;
		log_init(&log);
		struct walker w[2] = { { &log, 0, order_a }, { &log, 1, order_b } };
		stp_stepper *s = quiet_stepper(seed, STP_SERIAL);
		stp_thread(s, "a", order_a, walk, &w[0]);
		stp_thread(s, "b", order_b, walk, &w[1]);
		assert_int_equal(stp_run(s), 0);
		assert_int_equal(log.n, 6);
		int code = 0;
		for (int k = 0; k < 6; k++)
			code = code * 2 + log.thread[k];
		count[code]++;
		stp_free(s);
	}
	int kinds = 0;
	for (int c = 0; c < 64; c++) {
		if (!count[c])
			continue;
		kinds++;
		if (count[c] < 400 || count[c] > 600)
			fail_msg("interleaving %d occurred %d times in 10000", c, count[c]);
	}
	assert_int_equal(kinds, 20);
}

/* The seed-to-schedule mapping is pinned: any change is a visible diff
 * against tests/golden/seeds.txt. */
static void test_golden_seed_mapping(void **state)
{
	(void)state;
	static const char *const ga[] = { "lock", "read", "write", "unlock", NULL };
	static const char *const gb[] = { "lock", "read", "unlock", NULL };
	static const char *const gc[] = { "poll", "flush", NULL };
	capture c;
	FILE *f = capture_open(&c);
	for (uint64_t seed = 1; seed <= 5; seed++) {
		stp_stepper *s = quiet_stepper(seed, STP_SERIAL);
		stp_thread(s, "writer", ga, walk, NULL);
		stp_thread(s, "reader", gb, walk, NULL);
		stp_thread(s, "flusher", gc, walk, NULL);
		assert_int_equal(stp_interleave(s), 0);
		fprintf(f, "seed %llu\n", (unsigned long long)seed);
		stp_print_order(s, f);
		stp_free(s);
	}
	const char *got = capture_text(&c);
	FILE *g = fopen("tests/golden/seeds.txt", "r");
	if (!g)
		fail_msg("tests/golden/seeds.txt is missing; this run printed:\n%s", got);
	char want[8192];
	size_t n = fread(want, 1, sizeof want - 1, g);
	want[n] = '\0';
	fclose(g);
	if (strcmp(want, got) != 0)
		fail_msg("seed mapping changed. expected:\n%s\ngot:\n%s", want, got);
	capture_free(&c);
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

static void wrong_step(void *p)
{
	(void)p;
	STEP("open");
	STEP("close"); /* declared: "read" */
	STEP("read");
}

static void test_divergence_names_thread_position_expected_and_reached(void **state)
{
	(void)state;
	static const char *const o[] = { "open", "read", "close", NULL };
	stp_stepper *s = quiet_stepper(1, STP_SERIAL);
	stp_thread(s, "reader", o, wrong_step, NULL);
	assert_int_equal(stp_run(s), 1);
	const char *e = stp_error(s, 0);
	assert_non_null(strstr(e, "divergence: [reader] step 2/3: expected 'read', "
				 "reached 'close' at "));
	assert_non_null(strstr(e, "test_stepper.c:"));
	assert_int_equal(stp_steps_left(s), 2);
	stp_free(s);
}

static void extra_step(void *p)
{
	(void)p;
	STEP("only");
	STEP("again");
}

static void test_divergence_past_the_last_declared_step(void **state)
{
	(void)state;
	static const char *const o[] = { "only", NULL };
	stp_stepper *s = quiet_stepper(1, STP_SERIAL);
	stp_thread(s, "t", o, extra_step, NULL);
	assert_int_equal(stp_run(s), 1);
	assert_non_null(strstr(stp_error(s, 0),
			       "divergence: [t] reached step 'again' at "));
	assert_non_null(strstr(stp_error(s, 0), "after all 1 of its declared steps"));
	stp_free(s);
}

static void stops_early(void *p)
{
	(void)p;
	STEP("a1");
}

static void test_early_end_names_the_steps_never_reached(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		order_log log;
		log_init(&log);
		struct walker wb = { &log, 1, order_b };
		stp_stepper *s = quiet_stepper(seed, STP_SERIAL);
		stp_thread(s, "quitter", order_a, stops_early, NULL);
		stp_thread(s, "b", order_b, walk, &wb);
		assert_int_equal(stp_run(s), 1);
		assert_string_equal(stp_error(s, 0),
				    "early end: [quitter] ended with 2 declared steps "
				    "never reached: 'a2' (2/3), 'a3' (3/3)");
		/* the others went on: b passed all its steps */
		assert_int_equal(log.n, 3);
		assert_int_equal(stp_steps_left(s), 2);
		stp_free(s);
	}
}

static void fails_after_first(void *p)
{
	(void)p;
	STEP("a1");
	stp_fail("balance is %d, expected %d", 90, 100);
	STEP("a2");
	STEP("a3");
}

static void test_stp_fail_reports_and_lets_every_thread_finish(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		order_log log;
		log_init(&log);
		struct walker wb = { &log, 1, order_b };
		stp_stepper *s = quiet_stepper(seed, STP_SERIAL);
		stp_thread(s, "a", order_a, fails_after_first, NULL);
		stp_thread(s, "b", order_b, walk, &wb);
		assert_int_equal(stp_run(s), 1);
		assert_string_equal(stp_error(s, 0),
				    "[a] failed after step 'a1' (1/3): balance is 90, "
				    "expected 100");
		assert_int_equal(log.n, 3); /* b ran to its end, unhindered */
		stp_free(s);
	}
}

static void checks(void *p)
{
	int *x = p;
	STEP("a1");
	STP_CHECK(*x == 2);
}

static void test_stp_check_reports_condition_file_and_line(void **state)
{
	(void)state;
	static const char *const o[] = { "a1", NULL };
	int x = 3;
	stp_stepper *s = quiet_stepper(1, STP_SERIAL);
	stp_thread(s, "checker", o, checks, &x);
	assert_int_equal(stp_run(s), 1);
	const char *e = stp_error(s, 0);
	assert_non_null(strstr(e, "[checker] failed after step 'a1' (1/1): check "
				 "failed: *x == 2 (tests/test_stepper.c:"));
	stp_free(s);
	x = 2;
	s = quiet_stepper(1, STP_SERIAL);
	stp_thread(s, "checker", o, checks, &x);
	assert_int_equal(stp_run(s), 0);
	stp_free(s);
}

/* A holds m and parks at a:hold; B, holding the turnstile, blocks on m. */
struct lock_fixture {
	pthread_mutex_t m;
};

static void lock_a(void *p)
{
	struct lock_fixture *f = p;
	STEP("a:lock");
	pthread_mutex_lock(&f->m);
	STEP("a:hold");
	pthread_mutex_unlock(&f->m);
}

static void lock_b(void *p)
{
	struct lock_fixture *f = p;
	STEP("b:lock");
	pthread_mutex_lock(&f->m);
	pthread_mutex_unlock(&f->m);
	STEP("b:done");
}

static void test_stall_report_names_every_thread_and_its_position(void **state)
{
	(void)state;
	static const char *const oa[] = { "a:lock", "a:hold", NULL };
	static const char *const ob[] = { "b:lock", "b:done", NULL };
	static const char *const oc[] = { "c:wait", NULL };
	struct lock_fixture f;
	pthread_mutex_init(&f.m, NULL);
	/* A wall-clock bound: the stall limit is the behaviour under test. */
	stp_stepper *s = stall_stepper(1, STP_SERIAL, 100);
	stp_thread(s, "A", oa, lock_a, &f);
	stp_thread(s, "B", ob, lock_b, &f);
	stp_thread(s, "C", oc, walk, &(struct walker){ NULL, 2, oc });
	const int sched[] = { 0, 1, 0, 1, 2 };
	assert_int_equal(stp_set_schedule(s, sched, 5), 0);
	int n = stp_run(s);
	assert_true(n >= 1);
	const char *e = stp_error(s, 0);
	assert_non_null(strstr(e, "stall: no step passed and no thread ended for "));
	assert_non_null(strstr(e, "next entry 3/5 is [A] 'a:hold'"));
	assert_non_null(strstr(e, "\n  [A] parked at step 'a:hold' (2/2)"));
	assert_non_null(strstr(e, "\n  [B] running since step 'b:lock' (1/2), has "
				 "not reached 'b:done' (not at a step or a stepper wait: "
				 "blocked outside the stepper?)"));
	assert_non_null(strstr(e, "\n  [C] parked at step 'c:wait' (1/1)"));
	/* After the abort A let go of m, so everyone ended: no one is stuck. */
	for (size_t i = 0; i < stp_error_count(s); i++)
		assert_null(strstr(stp_error(s, i), "stuck"));
	stp_free(s);
	pthread_mutex_destroy(&f.m);
}

/* B blocks on something only the test releases, after stp_run returns. */
struct stuck_fixture {
	event release;
	event b_done;
};

static void holds_forever(void *p)
{
	struct stuck_fixture *f = p;
	STEP("b1");
	event_wait(&f->release); /* never, while the run lasts */
	STEP("b2");
	event_set(&f->b_done);
}

static void test_run_returns_when_a_thread_is_stuck_forever(void **state)
{
	(void)state;
	static const char *const oa[] = { "a1", "a2", NULL };
	static const char *const ob[] = { "b1", "b2", NULL };
	struct stuck_fixture f;
	event_init(&f.release);
	event_init(&f.b_done);
	stp_stepper *s = stall_stepper(1, STP_SERIAL, 100);
	stp_thread(s, "A", oa, walk, &(struct walker){ NULL, 0, oa });
	stp_thread(s, "B", ob, holds_forever, &f);
	const int sched[] = { 1, 0, 1, 0 };
	assert_int_equal(stp_set_schedule(s, sched, 4), 0);
	int n = stp_run(s); /* returns although B never ends on its own */
	assert_int_equal(n, 2);
	assert_non_null(strstr(stp_error(s, 0), "[B] running since step 'b1' (1/2)"));
	assert_string_equal(stp_error(s, 1),
			    "stuck: [B] did not end within 100 ms after the schedule "
			    "was aborted (last step 'b1', 1/2)");
	stp_free(s); /* B still holds the run's state; it is freed when B ends */
	event_set(&f.release);
	event_wait(&f.b_done);
}

/* ------------------------------------------------------------------ */
/* Step points                                                         */
/* ------------------------------------------------------------------ */

static void test_step_on_an_uncontrolled_thread_does_nothing(void **state)
{
	(void)state;
	STEP("anything");
	STEP("at all");
	stp_fail("not controlled"); /* prints, records nothing, returns */
}

static void test_two_steppers_run_at_once_in_one_process(void **state);

struct parallel_arg {
	uint64_t first;
	int ok;
};

static void *parallel_loop(void *p)
{
	struct parallel_arg *a = p;
	a->ok = 1;
	for (uint64_t seed = a->first; seed < a->first + 300; seed++) {
		order_log log;
		log_init(&log);
		struct walker w[2] = { { &log, 0, order_a }, { &log, 1, order_c } };
		stp_stepper *s = quiet_stepper(seed, STP_SERIAL);
		stp_thread(s, "a", order_a, walk, &w[0]);
		stp_thread(s, "c", order_c, walk, &w[1]);
		if (stp_run(s) != 0)
			a->ok = 0;
		size_t n;
		const int *sched = stp_schedule(s, &n);
		if (log.n != n)
			a->ok = 0;
		for (size_t k = 0; k < n && k < log.n; k++)
			if (log.thread[k] != sched[k])
				a->ok = 0;
		stp_free(s);
	}
	return NULL;
}

static void test_two_steppers_run_at_once_in_one_process(void **state)
{
	(void)state;
	struct parallel_arg a = { 1, 0 }, b = { 5001, 0 };
	pthread_t ta, tb;
	pthread_create(&ta, NULL, parallel_loop, &a);
	pthread_create(&tb, NULL, parallel_loop, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_true(a.ok);
	assert_true(b.ok);
}

/* ------------------------------------------------------------------ */
/* Output formats                                                      */
/* ------------------------------------------------------------------ */

static void test_print_order_format(void **state)
{
	(void)state;
	static const char *const oa[] = { "read balance", "write balance", NULL };
	stp_stepper *s = quiet_stepper(1, STP_SERIAL);
	stp_thread(s, "alice", oa, walk, NULL);
	stp_thread(s, "bob", oa, walk, NULL);
	const int sched[] = { 0, 1, 1, 0 };
	assert_int_equal(stp_set_schedule(s, sched, 4), 0);
	capture c;
	stp_print_order(s, capture_open(&c));
	assert_string_equal(capture_text(&c), "====\n"
					      "[alice] read balance\n"
					      "[bob] read balance\n"
					      "[bob] write balance\n"
					      "[alice] write balance\n"
					      "====\n");
	capture_free(&c);
	stp_free(s);
}

static void test_debug_output_prints_expecting_and_done(void **state)
{
	(void)state;
	static const char *const oa[] = { "x", NULL };
	static const char *const ob[] = { "y", NULL };
	capture c;
	stp_options o;
	stp_options_init(&o);
	o.debug = 1;
	o.log = capture_open(&c);
	stp_stepper *s = stp_new(&o);
	stp_thread(s, "a", oa, walk, &(struct walker){ NULL, 0, oa });
	stp_thread(s, "b", ob, walk, &(struct walker){ NULL, 1, ob });
	const int sched[] = { 1, 0 };
	stp_set_schedule(s, sched, 2);
	assert_int_equal(stp_run(s), 0);
	/* Serial: prefixes in registration order, then the schedule: each
	 * decision with the threads that could go on. */
	assert_string_equal(capture_text(&c),
			    "expecting [a] x\n"
			    "expecting [b] y\n"
			    "decision 1: enabled [a] 'x', [b] 'y' -> [b]\n"
			    "done [b] y\n"
			    "decision 2: enabled [a] 'x' -> [a] (the only one)\n"
			    "done [a] x\n");
	capture_free(&c);
	stp_free(s);
}

/* ------------------------------------------------------------------ */
/* Bad input                                                           */
/* ------------------------------------------------------------------ */

static void noop(void *p)
{
	(void)p;
}

static void test_bad_arguments_get_error_codes(void **state)
{
	(void)state;
	static const char *const empty[] = { NULL };
	static const char *const with_empty_name[] = { "a", "", NULL };
	stp_stepper *s = quiet_stepper(1, STP_SERIAL);
	assert_int_equal(stp_thread(NULL, "x", order_a, noop, NULL), STP_EINVAL);
	/* order NULL registers a free thread (issue 11): see test_free.c */
	assert_int_equal(stp_thread(s, "x", order_a, NULL, NULL), STP_EINVAL);
	assert_int_equal(stp_thread(s, "x", empty, noop, NULL), STP_EINVAL);
	assert_int_equal(stp_thread(s, "x", with_empty_name, noop, NULL), STP_EINVAL);
	assert_int_equal(stp_thread(s, "", order_a, noop, NULL), STP_EINVAL);
	char longname[STP_MAX_NAME + 2];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(stp_thread(s, longname, order_a, noop, NULL), STP_EINVAL);
	assert_int_equal(stp_run(s), STP_EINVAL);        /* no threads */
	assert_int_equal(stp_interleave(s), STP_EINVAL); /* no threads */
	assert_int_equal(stp_run(NULL), STP_EINVAL);
	assert_int_equal(stp_interleave(NULL), STP_EINVAL);
	assert_int_equal(stp_error_count(NULL), 0);
	assert_null(stp_error(NULL, 0));
	assert_null(stp_error(s, 7));
	assert_int_equal(stp_steps_left(NULL), 0);
	stp_print_order(NULL, NULL);
	stp_free(NULL);
	stp_free(s);
}

static void test_duplicate_names_and_too_many_threads(void **state)
{
	(void)state;
	stp_stepper *s = quiet_stepper(1, STP_SERIAL);
	assert_int_equal(stp_thread(s, "x", order_a, noop, NULL), 0);
	assert_int_equal(stp_thread(s, "x", order_b, noop, NULL), STP_EDUP);
	assert_int_equal(stp_thread(s, NULL, order_b, noop, NULL), 1); /* "t1" */
	assert_string_equal(stp_thread_name(s, 1), "t1");
	assert_int_equal(stp_thread(s, "t1", order_b, noop, NULL), STP_EDUP);
	for (int i = 2; i < STP_MAX_THREADS; i++)
		assert_int_equal(stp_thread(s, NULL, order_c, noop, NULL), i);
	assert_int_equal(stp_thread(s, NULL, order_c, noop, NULL), STP_ELIMIT);
	stp_free(s);
}

static void test_call_order_errors(void **state)
{
	(void)state;
	static const char *const o[] = { "a1", NULL };
	stp_stepper *s = quiet_stepper(1, STP_SERIAL);
	stp_thread(s, "a", o, walk, &(struct walker){ NULL, 0, o });
	/* stp_run without stp_interleave interleaves by itself */
	assert_int_equal(stp_run(s), 0);
	assert_int_equal(stp_steps_left(s), 0);
	assert_int_equal(stp_run(s), STP_ESTATE);
	assert_int_equal(stp_thread(s, "b", o, noop, NULL), STP_ESTATE);
	assert_int_equal(stp_interleave(s), STP_ESTATE);
	const int sched[] = { 0 };
	assert_int_equal(stp_set_schedule(s, sched, 1), STP_ESTATE);
	stp_free(s);
}

static void test_explicit_schedule_must_fit_the_orders(void **state)
{
	(void)state;
	stp_stepper *s = quiet_stepper(1, STP_SERIAL);
	stp_thread(s, "a", order_c, noop, NULL);
	stp_thread(s, "b", order_c, noop, NULL);
	const int too_many_a[] = { 0, 0, 0, 1 };
	const int bad_index[] = { 0, 0, 1, 2 };
	const int short_one[] = { 0, 0, 1 };
	const int good[] = { 0, 1, 1, 0 };
	assert_int_equal(stp_set_schedule(s, too_many_a, 4), STP_EMISMATCH);
	assert_int_equal(stp_set_schedule(s, bad_index, 4), STP_EMISMATCH);
	assert_int_equal(stp_set_schedule(s, short_one, 3), STP_EMISMATCH);
	assert_int_equal(stp_set_schedule(s, NULL, 3), STP_EINVAL);
	assert_int_equal(stp_set_schedule(s, good, 4), 0);
	assert_string_equal(stp_entry_step(s, 3), "c2");
	stp_free(s);
}

static void test_strerror_names_every_code(void **state)
{
	(void)state;
	assert_string_equal(stp_strerror(0), "ok");
	assert_string_equal(stp_strerror(STP_EINVAL), "invalid argument");
	assert_string_equal(stp_strerror(STP_ESTALL), "schedule stalled");
	assert_string_equal(stp_strerror(12345), "unknown error");
	assert_string_equal(stp_errname(STP_EDUP), "STP_EDUP");
	for (int c = -1; c >= STP_EPERM; c--)
		assert_string_not_equal(stp_strerror(c), "unknown error");
}

/* ------------------------------------------------------------------ */
/* Environment                                                         */
/* ------------------------------------------------------------------ */

static void test_environment_sets_the_defaults(void **state)
{
	(void)state;
	setenv("STEPPER_SEED", "77", 1);
	setenv("STEPPER_MODE", "overlap", 1);
	setenv("STEPPER_STALL_MS", "1234", 1);
	setenv("STEPPER_DEBUG", "1", 1);
	stp_options o;
	stp_options_init(&o);
	assert_int_equal(o.seed, 77);
	assert_int_equal(o.mode, STP_OVERLAP);
	assert_int_equal(o.stall_ms, 1234);
	assert_int_equal(o.debug, 1);
	/* malformed values keep the defaults */
	setenv("STEPPER_SEED", "12abc", 1);
	setenv("STEPPER_MODE", "parallel", 1);
	setenv("STEPPER_STALL_MS", "0", 1);
	setenv("STEPPER_DEBUG", "yes", 1);
	stp_options_init(&o);
	assert_int_equal(o.seed, 1);
	assert_int_equal(o.mode, STP_SERIAL);
	assert_int_equal(o.stall_ms, 2000);
	assert_int_equal(o.debug, 0);
	setenv("STEPPER_SEED", "18446744073709551616", 1); /* 2^64 */
	stp_options_init(&o);
	assert_int_equal(o.seed, 1);
	unsetenv("STEPPER_SEED");
	unsetenv("STEPPER_MODE");
	unsetenv("STEPPER_STALL_MS");
	unsetenv("STEPPER_DEBUG");
}

static void test_loop_range_comes_from_the_environment(void **state)
{
	(void)state;
	stp_loop_options lo;
	setenv("STEPPER_SEEDS", "5..9", 1);
	stp_loop_options_init(&lo);
	assert_int_equal(lo.first_seed, 5);
	assert_int_equal(lo.count, 5);
	setenv("STEPPER_SEEDS", "7", 1);
	stp_loop_options_init(&lo);
	assert_int_equal(lo.first_seed, 1);
	assert_int_equal(lo.count, 7);
	setenv("STEPPER_SEEDS", "9..5", 1); /* malformed: the test's own range */
	stp_loop_options_init(&lo);
	assert_int_equal(lo.first_seed, 1);
	assert_int_equal(lo.count, 1000);
	unsetenv("STEPPER_SEEDS");
	setenv("STEPPER_SEED", "42", 1);
	stp_loop_options_init(&lo);
	assert_int_equal(lo.first_seed, 42);
	assert_int_equal(lo.count, 1);
	unsetenv("STEPPER_SEED");
}

/* A thread declares up to STP_MAX_STEPS (1,000,000) steps; one more is
 * refused. Two threads of a million steps each run (one hand-off). */
static void million(void *p)
{
	(void)p;
	for (int i = 0; i < STP_MAX_STEPS; i++)
		STEP("s");
}

static void test_a_thread_declares_a_million_steps(void **state)
{
	(void)state;
	const char **order = malloc((STP_MAX_STEPS + 2) * sizeof *order);
	int *sched = malloc(2 * (size_t)STP_MAX_STEPS * sizeof *sched);
	assert_non_null(order);
	assert_non_null(sched);
	for (int i = 0; i <= STP_MAX_STEPS; i++)
		order[i] = "s";
	order[STP_MAX_STEPS + 1] = NULL;
	stp_stepper *s = stp_new(NULL);
	assert_int_equal(stp_thread(s, "a", order, million, NULL), STP_ELIMIT);
	order[STP_MAX_STEPS] = NULL;
	assert_int_equal(stp_thread(s, "a", order, million, NULL), 0);
	assert_int_equal(stp_thread(s, "b", order, million, NULL), 1);
	for (int i = 0; i < 2 * STP_MAX_STEPS; i++)
		sched[i] = i >= STP_MAX_STEPS;
	assert_int_equal(stp_set_schedule(s, sched, 2 * (size_t)STP_MAX_STEPS), 0);
	assert_int_equal(stp_run(s), 0);
	stp_free(s);
	free(sched);
	free(order);
}

/* A process that forked after runs (its pool of workers is the parent's
 * threads, which the child does not have) runs the stepper in the child. */
static void two_steps(void *p)
{
	(void)p;
	STEP("one");
	STEP("two");
}

static int run_two(void)
{
	static const char *const order[] = { "one", "two", NULL };
	stp_options o;
	stp_options_init(&o);
	o.stall_ms = 5000;
	stp_stepper *s = stp_new(&o);
	if (!s)
		return -1;
	stp_thread(s, "a", order, two_steps, NULL);
	stp_thread(s, "b", order, two_steps, NULL);
	int rc = stp_run(s);
	stp_free(s);
	return rc;
}

static void test_a_forked_child_runs_its_own_stepper(void **state)
{
	(void)state;
#if defined(__SANITIZE_THREAD__)
	skip(); /* ThreadSanitizer does not let a forked child make threads */
#else
	for (int i = 0; i < 3; i++)
		assert_int_equal(run_two(), 0); /* the pool has idle workers now */
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(run_two() == 0 && run_two() == 0 ? 0 : 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_observed_order_equals_schedule_for_1000_seeds),
		cmocka_unit_test(test_serial_mode_runs_one_thread_at_a_time),
		cmocka_unit_test(test_overlap_mode_lets_a_thread_run_past_its_step),
		cmocka_unit_test(test_same_seed_gives_the_same_schedule),
		cmocka_unit_test(test_random_strategy_is_uniform_over_interleavings),
		cmocka_unit_test(test_golden_seed_mapping),
		cmocka_unit_test(test_divergence_names_thread_position_expected_and_reached),
		cmocka_unit_test(test_divergence_past_the_last_declared_step),
		cmocka_unit_test(test_early_end_names_the_steps_never_reached),
		cmocka_unit_test(test_stp_fail_reports_and_lets_every_thread_finish),
		cmocka_unit_test(test_stp_check_reports_condition_file_and_line),
		cmocka_unit_test(test_stall_report_names_every_thread_and_its_position),
		cmocka_unit_test(test_run_returns_when_a_thread_is_stuck_forever),
		cmocka_unit_test(test_step_on_an_uncontrolled_thread_does_nothing),
		cmocka_unit_test(test_two_steppers_run_at_once_in_one_process),
		cmocka_unit_test(test_print_order_format),
		cmocka_unit_test(test_debug_output_prints_expecting_and_done),
		cmocka_unit_test(test_bad_arguments_get_error_codes),
		cmocka_unit_test(test_duplicate_names_and_too_many_threads),
		cmocka_unit_test(test_call_order_errors),
		cmocka_unit_test(test_explicit_schedule_must_fit_the_orders),
		cmocka_unit_test(test_strerror_names_every_code),
		cmocka_unit_test(test_environment_sets_the_defaults),
		cmocka_unit_test(test_loop_range_comes_from_the_environment),
		cmocka_unit_test(test_a_forked_child_runs_its_own_stepper),
		cmocka_unit_test(test_a_thread_declares_a_million_steps),
	};
	return cmocka_run_group_tests_name("stepper", tests, NULL, NULL);
}
