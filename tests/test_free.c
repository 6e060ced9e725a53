/*
 * test_free.c - free threads (no declared order) and the decision at every
 * hand-off: loops and branches over free threads, their racy twins found,
 * free and declared threads mixed, the serial invariant, exact replay of
 * what happened, and bad input. Every loop over seeds prints the seed of
 * a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/stepper.h>
#include <stepper/trace.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"

#define SEEDS 2000
#define DIR "build/test-free"

static stp_stepper *stepper_for(uint64_t seed)
{
	stp_options o;
	stp_options_init(&o);
	o.seed = seed;
	o.mode = STP_SERIAL;
	o.trace = NULL;
	o.replay = NULL;
	o.debug = 0;
	return stp_new(&o);
}

static int has_error(stp_stepper *s, const char *text)
{
	for (size_t i = 0; i < stp_error_count(s); i++)
		if (strstr(stp_error(s, i), text))
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Compare-and-swap retry loop, and its racy twin                      */
/* ------------------------------------------------------------------ */

struct counter {
	atomic_int value;
	int racy;
};

static void cas_increment(void *p)
{
	struct counter *c = p;
	if (c->racy) { /* load, then store: another thread's store is lost */
		STEP("load");
		int v = atomic_load(&c->value);
		STEP("store");
		atomic_store(&c->value, v + 1);
		return;
	}
	int v;
	do {
		STEP("load");
		v = atomic_load(&c->value);
		STEP("cas");
	} while (!atomic_compare_exchange_strong(&c->value, &v, v + 1));
}

/* 0 when the count is right; the seed's failure otherwise. */
static int run_counter(uint64_t seed, int nthreads, int racy, int *lost)
{
	struct counter c = { 0, racy };
	stp_stepper *s = stepper_for(seed);
	for (int i = 0; i < nthreads; i++)
		assert_true(stp_thread(s, NULL, NULL, cas_increment, &c) >= 0);
	int rc = stp_run(s);
	if (rc != 0)
		fail_msg("seed %llu: %d errors:\n%s", (unsigned long long)seed, rc,
			 errors_of(s));
	*lost = atomic_load(&c.value) != nthreads;
	stp_free(s);
	return 0;
}

static void test_cas_retry_loop_passes_2000_seeds(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		int lost;
		run_counter(seed, 2 + (int)(seed % 2), 0, &lost);
		if (lost)
			fail_msg("seed %llu: the CAS loop lost an update",
				 (unsigned long long)seed);
	}
}

static void test_load_store_twin_loses_an_update_within_2000_seeds(void **state)
{
	(void)state;
	uint64_t seed;
	int lost = 0;
	for (seed = 1; seed <= SEEDS && !lost; seed++)
		run_counter(seed, 2, 1, &lost);
	assert_true(lost);
	printf("lost update found at seed %llu\n", (unsigned long long)(seed - 1));
}

/* ------------------------------------------------------------------ */
/* Lazy initialisation, and its racy twin                              */
/* ------------------------------------------------------------------ */

struct lazy {
	atomic_int state; /* 0 none, 1 being made, 2 made */
	atomic_int inits;
	int value;
	int racy;
	atomic_int wrong;
};

static void lazy_get(void *p)
{
	struct lazy *l = p;
	STEP("check");
	if (l->racy) { /* check, then act, without a lock */
		if (atomic_load(&l->state) == 0) {
			STEP("init");
			atomic_fetch_add(&l->inits, 1);
			l->value = 42;
			atomic_store(&l->state, 2);
		}
	} else if (atomic_load(&l->state) != 2) {
		int none = 0;
		if (atomic_compare_exchange_strong(&l->state, &none, 1)) {
			STEP("init");
			atomic_fetch_add(&l->inits, 1);
			l->value = 42;
			atomic_store(&l->state, 2);
		}
		while (atomic_load(&l->state) != 2)
			STEP("wait"); /* another thread is making it */
	}
	STEP("use");
	if (l->value != 42)
		atomic_fetch_add(&l->wrong, 1);
}

static int run_lazy(uint64_t seed, int racy)
{
	struct lazy l = { 0, 0, 0, racy, 0 };
	stp_stepper *s = stepper_for(seed);
	assert_int_equal(stp_thread(s, "first", NULL, lazy_get, &l), 0);
	assert_int_equal(stp_thread(s, "second", NULL, lazy_get, &l), 1);
	int rc = stp_run(s);
	if (rc != 0)
		fail_msg("seed %llu: %d errors:\n%s", (unsigned long long)seed, rc,
			 errors_of(s));
	stp_free(s);
	return atomic_load(&l.inits) == 1 && atomic_load(&l.wrong) == 0;
}

static void test_lazy_init_with_a_skipped_branch_passes_2000_seeds(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= SEEDS; seed++)
		if (!run_lazy(seed, 0))
			fail_msg("seed %llu: initialised twice or used before made",
				 (unsigned long long)seed);
}

static void test_check_then_act_twin_is_found(void **state)
{
	(void)state;
	uint64_t seed = 1;
	while (seed <= SEEDS && run_lazy(seed, 1))
		seed++;
	assert_true(seed <= SEEDS);
	printf("double initialisation found at seed %llu\n", (unsigned long long)seed);
}

/* ------------------------------------------------------------------ */
/* Free and declared threads in one run                                */
/* ------------------------------------------------------------------ */

static void declared_walk(void *p)
{
	const char *const *order = p;
	for (int k = 0; order[k]; k++)
		STEP(order[k]);
}

static void free_loop(void *p)
{
	int *rounds = p;
	for (int k = 0; k < *rounds; k++)
		STEP(k % 2 ? "odd" : "even");
}

static void test_free_and_declared_threads_mix(void **state)
{
	(void)state;
	static const char *const order[] = { "a1", "a2", "a3", NULL };
	static int rounds = 4;
	for (uint64_t seed = 1; seed <= 300; seed++) {
		stp_stepper *s = stepper_for(seed);
		assert_int_equal(stp_thread(s, "decl", order, declared_walk, (void *)order), 0);
		assert_int_equal(stp_thread(s, "free", NULL, free_loop, &rounds), 1);
		if (stp_run(s) != 0)
			fail_msg("seed %llu:\n%s", (unsigned long long)seed, errors_of(s));
		size_t n;
		const int *sched = stp_schedule(s, &n);
		assert_int_equal(n, 3 + 4);
		size_t seen[2] = { 0, 0 };
		for (size_t k = 0; k < n; k++) /* each thread's own order kept */
			if (sched[k] == 0)
				assert_string_equal(stp_entry_step(s, k), order[seen[0]++]);
			else
				assert_string_equal(stp_entry_step(s, k), seen[1]++ % 2 ? "odd" : "even");
		stp_free(s);
	}
}

static void test_declared_thread_keeps_its_checks_beside_free_ones(void **state)
{
	(void)state;
	static const char *const order[] = { "a1", "a9", NULL };
	static const char *const short_order[] = { "a1", "a2", "a3", "a4", NULL };
	static const char *const walked[] = { "a1", "a2", NULL };
	static int rounds = 2;
	stp_stepper *s = stepper_for(1);
	stp_thread(s, "decl", order, declared_walk, (void *)walked);
	stp_thread(s, "free", NULL, free_loop, &rounds);
	assert_true(stp_run(s) > 0);
	assert_true(has_error(s, "divergence: [decl] step 2/2: expected 'a9', reached 'a2'"));
	stp_free(s);

	s = stepper_for(1);
	stp_thread(s, "decl", short_order, declared_walk, (void *)walked);
	stp_thread(s, "free", NULL, free_loop, &rounds);
	assert_true(stp_run(s) > 0);
	assert_true(has_error(s, "early end: [decl] ended with 2 declared steps never reached"));
	stp_free(s);
}

/* ------------------------------------------------------------------ */
/* One controlled thread at a time                                     */
/* ------------------------------------------------------------------ */

static atomic_int running, most_running;

static void enter(void)
{
	int now = atomic_fetch_add(&running, 1) + 1;
	int most = atomic_load(&most_running);
	while (now > most && !atomic_compare_exchange_weak(&most_running, &most, now))
		;
}

static void counted_loop(void *p)
{
	int rounds = (int)(intptr_t)p;
	enter();
	for (int k = 0; k < rounds; k++) {
		atomic_fetch_sub(&running, 1);
		STEP(k % 3 ? "spin" : "turn");
		enter();
		for (volatile int i = 0; i < 50; i++) /* a window for another */
			;
	}
	atomic_fetch_sub(&running, 1);
}

static void test_serial_invariant_holds_over_free_threads(void **state)
{
	(void)state;
	static const char *const order[] = { "x", "y", NULL };
	atomic_store(&most_running, 0);
	for (uint64_t seed = 1; seed <= 300; seed++) {
		stp_stepper *s = stepper_for(seed);
		for (int i = 0; i < 3; i++)
			stp_thread(s, NULL, NULL, counted_loop, (void *)(intptr_t)(1 + i * 2));
		stp_thread(s, NULL, order, declared_walk, (void *)order);
		if (stp_run(s) != 0)
			fail_msg("seed %llu:\n%s", (unsigned long long)seed, errors_of(s));
		stp_free(s);
	}
	assert_int_equal(atomic_load(&most_running), 1);
}

/* ------------------------------------------------------------------ */
/* Decisions: one enabled thread, the same seed, an explicit schedule  */
/* ------------------------------------------------------------------ */

static void test_same_seed_same_order_and_pick_spread(void **state)
{
	(void)state;
	static int rounds = 3;
	int starts[2] = { 0, 0 };
	for (uint64_t seed = 1; seed <= 400; seed++) {
		size_t n[2];
		int first[2][16];
		for (int r = 0; r < 2; r++) {
			stp_stepper *s = stepper_for(seed);
			stp_thread(s, NULL, NULL, free_loop, &rounds);
			stp_thread(s, NULL, NULL, free_loop, &rounds);
			assert_int_equal(stp_run(s), 0);
			const int *sched = stp_schedule(s, &n[r]);
			assert_int_equal(n[r], 6);
			memcpy(first[r], sched, n[r] * sizeof *sched);
			stp_free(s);
		}
		assert_memory_equal(first[0], first[1], 6 * sizeof(int));
		starts[first[0][0]]++;
	}
	/* uniform over the two enabled threads at the first decision */
	assert_true(starts[0] > 140 && starts[1] > 140);
}

static void test_explicit_schedule_over_free_threads(void **state)
{
	(void)state;
	static int rounds = 2;
	const int order[] = { 1, 1, 0, 0 };
	stp_stepper *s = stepper_for(1);
	stp_thread(s, "a", NULL, free_loop, &rounds);
	stp_thread(s, "b", NULL, free_loop, &rounds);
	assert_int_equal(stp_set_schedule(s, order, 4), 0);
	assert_int_equal(stp_run(s), 0);
	size_t n;
	const int *sched = stp_schedule(s, &n);
	assert_int_equal(n, 4);
	assert_memory_equal(sched, order, sizeof order);
	stp_free(s);

	const int bad[] = { 1, 1, 1, 0 }; /* b has only two steps */
	s = stepper_for(1);
	stp_thread(s, "a", NULL, free_loop, &rounds);
	stp_thread(s, "b", NULL, free_loop, &rounds);
	assert_int_equal(stp_set_schedule(s, bad, 4), 0);
	assert_true(stp_run(s) > 0);
	assert_true(has_error(s, "schedule: decision 3: recorded [b] '(any step)', but [b] had ended"));
	stp_free(s);
}

static void test_debug_shows_each_decision_and_the_enabled_set(void **state)
{
	(void)state;
	static int rounds = 2;
	capture c;
	stp_options o;
	stp_options_init(&o);
	o.seed = 3;
	o.debug = 1;
	o.log = capture_open(&c);
	stp_stepper *s = stp_new(&o);
	stp_thread(s, "a", NULL, free_loop, &rounds);
	stp_thread(s, "b", NULL, free_loop, &rounds);
	assert_int_equal(stp_run(s), 0);
	stp_free(s);
	const char *text = capture_text(&c);
	assert_non_null(strstr(text, "decision 1: enabled [a] 'even', [b] 'even' -> ["));
	assert_non_null(strstr(text, "(the only one)"));
	assert_non_null(strstr(text, "done [a] odd"));
	capture_free(&c);
}

/* ------------------------------------------------------------------ */
/* Bad input                                                           */
/* ------------------------------------------------------------------ */

static void named_step(void *p)
{
	STEP((const char *)p);
}

static void test_a_free_step_name_over_the_limit_fails_the_run(void **state)
{
	(void)state;
	char name[STP_MAX_NAME + 2];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	static const char *const bad_utf8 = "caf\xC3";
	const char *names[] = { name, bad_utf8, "" };
	const char *why[] = { "longer than the limit", "not UTF-8", "empty" };
	for (int i = 0; i < 3; i++) {
		stp_stepper *s = stepper_for(1);
		stp_thread(s, "w", NULL, named_step, (void *)names[i]);
		stp_thread(s, "v", NULL, named_step, (void *)"fine");
		assert_true(stp_run(s) > 0);
		assert_true(has_error(s, "bad step: [w] reached a step at"));
		if (!has_error(s, why[i]))
			fail_msg("case %d:\n%s", i, errors_of(s));
		stp_free(s);
	}
	name[STP_MAX_NAME] = '\0'; /* exactly the limit is fine */
	stp_stepper *s = stepper_for(1);
	stp_thread(s, "w", NULL, named_step, name);
	assert_int_equal(stp_run(s), 0);
	assert_string_equal(stp_entry_step(s, 0), name);
	stp_free(s);
}

static void many_steps(void *p)
{
	(void)p;
	for (long k = 0; k <= STP_MAX_DECISIONS; k++)
		STEP("again");
}

static void test_too_many_steps_is_an_error_not_unbounded_memory(void **state)
{
	(void)state;
	stp_stepper *s = stepper_for(1);
	stp_thread(s, "busy", NULL, many_steps, NULL);
	assert_true(stp_run(s) > 0);
	assert_true(has_error(s, "limit: a run records at most 100000 decisions"));
	size_t n;
	stp_schedule(s, &n);
	assert_int_equal(n, STP_MAX_DECISIONS);
	stp_free(s);
}

static void test_overlap_mode_refuses_free_threads(void **state)
{
	(void)state;
	static int rounds = 1;
	stp_options o;
	stp_options_init(&o);
	o.mode = STP_OVERLAP;
	stp_stepper *s = stp_new(&o);
	stp_thread(s, "f", NULL, free_loop, &rounds);
	assert_int_equal(stp_run(s), STP_EINVAL);
	assert_true(has_error(s, "overlap mode does not support free threads ([f] has no declared order)"));
	stp_free(s);
}

/* ------------------------------------------------------------------ */
/* Stall reports                                                       */
/* ------------------------------------------------------------------ */

static event released;

static void blocks_outside(void *p)
{
	(void)p;
	STEP("s1");
	event_wait(&released); /* blocking the stepper cannot see */
}

static void releases_after_step(void *p)
{
	(void)p;
	STEP("b");
	event_set(&released);
}

static void test_stall_report_names_free_threads_and_their_steps(void **state)
{
	(void)state;
	event_init(&released);
	stp_options o;
	stp_options_init(&o);
	o.stall_ms = 100; /* the behaviour under test is the stall */
	stp_stepper *s = stp_new(&o);
	stp_thread(s, "A", NULL, blocks_outside, NULL);
	stp_thread(s, "B", NULL, releases_after_step, NULL);
	const int order[] = { 0, 1 };
	assert_int_equal(stp_set_schedule(s, order, 2), 0);
	assert_true(stp_run(s) > 0);
	if (!has_error(s, "[A] running since step 's1' (step 1, free), has not reached "
			  "another step or ended") ||
	    !has_error(s, "[B] parked at step 'b' (step 1, free)"))
		fail_msg("%s", errors_of(s));
	stp_free(s);
}

/* ------------------------------------------------------------------ */
/* Traces and replay                                                   */
/* ------------------------------------------------------------------ */

struct ran {
	size_t n;
	int thread[64];
	char step[64][16];
	int value;
	size_t errors;
};

static void keep_run(stp_stepper *s, const struct counter *c, struct ran *r)
{
	const int *sched = stp_schedule(s, &r->n);
	assert_true(r->n <= 64);
	for (size_t k = 0; k < r->n; k++) {
		r->thread[k] = sched[k];
		snprintf(r->step[k], sizeof r->step[k], "%s", stp_entry_step(s, k));
	}
	r->value = atomic_load(&c->value);
	r->errors = stp_error_count(s);
}

/* One run of the racy counter over 3 free threads, traced or replayed. */
static void counter_run(uint64_t seed, const char *trace, const char *replay,
			struct ran *r)
{
	struct counter c = { 0, 1 };
	stp_options o;
	stp_options_init(&o);
	o.seed = seed;
	o.trace = trace;
	o.replay = replay;
	stp_stepper *s = stp_new(&o);
	for (int i = 0; i < 3; i++)
		stp_thread(s, NULL, NULL, cas_increment, &c);
	int rc = stp_run(s);
	if (rc < 0 || (replay && rc != 0))
		fail_msg("seed %llu: %d:\n%s", (unsigned long long)seed, rc, errors_of(s));
	if (atomic_load(&c.value) != 3)
		stp_add_error(s, "lost an update: %d of 3", atomic_load(&c.value));
	keep_run(s, &c, r);
	stp_free(s);
}

static void test_free_thread_runs_replay_100_of_100(void **state)
{
	(void)state;
	uint64_t seed = 1;
	struct ran rec, again;
	do { /* a run that loses an update: a failure worth replaying */
		counter_run(seed++, DIR "/rec.json", NULL, &rec);
	} while (rec.value == 3 && seed < SEEDS);
	printf("replaying seed %llu\n", (unsigned long long)(seed - 1));
	assert_int_equal(rec.n, 6);
	stp_trace_error err;
	stp_trace *t = stp_trace_load(DIR "/rec.json", &err);
	assert_non_null(t);
	assert_int_equal(stp_trace_schedule_length(t), rec.n);
	assert_string_equal(stp_trace_outcome(t), "fail");
	stp_trace_free(t);
	for (int i = 0; i < 100; i++) {
		counter_run(seed + 1000, NULL, DIR "/rec.json", &again);
		assert_int_equal(again.n, rec.n);
		assert_memory_equal(again.thread, rec.thread, rec.n * sizeof(int));
		for (size_t k = 0; k < rec.n; k++)
			assert_string_equal(again.step[k], rec.step[k]);
		assert_int_equal(again.value, rec.value);
		assert_int_equal(again.errors, rec.errors);
	}
}

static int variant; /* how steps() departs from the recorded program */

static void steps(void *p)
{
	(void)p;
	STEP("one");
	if (variant == 1)
		STEP("other");
	else if (variant != 2)
		STEP("two");
	if (variant == 3)
		STEP("three");
}

static stp_stepper *steps_run(const char *trace, const char *replay)
{
	stp_options o;
	stp_options_init(&o);
	o.seed = 5;
	o.trace = trace;
	o.replay = replay;
	stp_stepper *s = stp_new(&o);
	stp_thread(s, "alice", NULL, steps, NULL);
	stp_thread(s, "bob", NULL, steps, NULL);
	return s;
}

static void test_a_replay_that_no_longer_fits_names_the_decision(void **state)
{
	(void)state;
	variant = 0;
	stp_stepper *s = steps_run(DIR "/steps.json", NULL);
	assert_int_equal(stp_run(s), 0);
	size_t n;
	const int *sched = stp_schedule(s, &n);
	assert_int_equal(n, 4);
	/* the first decision that reaches a 'two' recorded */
	size_t k2 = 0;
	while (strcmp(stp_entry_step(s, k2), "two") != 0)
		k2++;
	char want[256];
	const char *who = stp_thread_name(s, sched[k2]);
	snprintf(want, sizeof want, "replay: decision %zu: recorded [%s] 'two', but [%s] "
		 "reached 'other'", k2 + 1, who, who);
	stp_free(s);
	const char *expect[] = { want, "had ended", "the recorded run ends after 4 decisions" };
	for (variant = 1; variant <= 3; variant++) {
		s = steps_run(NULL, DIR "/steps.json");
		assert_true(stp_run(s) > 0);
		if (!has_error(s, expect[variant - 1]))
			fail_msg("variant %d: no \"%s\" in:\n%s", variant, expect[variant - 1],
				 errors_of(s));
		stp_free(s);
	}
	variant = 0;
}

static void test_show_and_export_read_a_version_2_trace(void **state)
{
	(void)state;
	variant = 0;
	stp_stepper *s = steps_run(DIR "/show.json", NULL);
	assert_int_equal(stp_run(s), 0);
	stp_free(s);
	stp_trace *t = stp_trace_load(DIR "/show.json", NULL);
	assert_non_null(t);
	assert_int_equal(stp_trace_event_count(t), 4);
	capture c;
	stp_trace_print(t, capture_open(&c), 1);
	const char *text = capture_text(&c);
	if (!strstr(text, "[alice] one (step 1)") || !strstr(text, "[bob] two (step 2)") ||
	    !strstr(text, "outcome:  pass"))
		fail_msg("%s", text);
	capture_free(&c);
	assert_int_equal(stp_trace_export_chrome(t, capture_open(&c)), 0);
	assert_non_null(strstr(capture_text(&c), "\"name\": \"two\""));
	capture_free(&c);
	stp_trace_free(t);
}

static void test_a_version_1_trace_does_not_replay_over_free_threads(void **state)
{
	(void)state;
	static const char *const order[] = { "one", "two", NULL };
	stp_options o;
	stp_options_init(&o);
	o.trace = DIR "/v1.json";
	stp_stepper *s = stp_new(&o);
	stp_thread(s, "alice", order, steps, NULL);
	stp_thread(s, "bob", order, steps, NULL);
	assert_int_equal(stp_run(s), 0);
	stp_free(s);
	s = steps_run(NULL, DIR "/v1.json");
	assert_int_equal(stp_run(s), STP_EMISMATCH);
	assert_true(has_error(s, "replay: thread 'alice' is declared in build/test-free/v1.json, free in the test"));
	stp_free(s);
}

int main(void)
{
	mkdir("build", 0777);
	mkdir(DIR, 0777);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cas_retry_loop_passes_2000_seeds),
		cmocka_unit_test(test_load_store_twin_loses_an_update_within_2000_seeds),
		cmocka_unit_test(test_lazy_init_with_a_skipped_branch_passes_2000_seeds),
		cmocka_unit_test(test_check_then_act_twin_is_found),
		cmocka_unit_test(test_free_and_declared_threads_mix),
		cmocka_unit_test(test_declared_thread_keeps_its_checks_beside_free_ones),
		cmocka_unit_test(test_serial_invariant_holds_over_free_threads),
		cmocka_unit_test(test_same_seed_same_order_and_pick_spread),
		cmocka_unit_test(test_explicit_schedule_over_free_threads),
		cmocka_unit_test(test_debug_shows_each_decision_and_the_enabled_set),
		cmocka_unit_test(test_a_free_step_name_over_the_limit_fails_the_run),
		cmocka_unit_test(test_too_many_steps_is_an_error_not_unbounded_memory),
		cmocka_unit_test(test_overlap_mode_refuses_free_threads),
		cmocka_unit_test(test_stall_report_names_free_threads_and_their_steps),
		cmocka_unit_test(test_free_thread_runs_replay_100_of_100),
		cmocka_unit_test(test_a_replay_that_no_longer_fits_names_the_decision),
		cmocka_unit_test(test_show_and_export_read_a_version_2_trace),
		cmocka_unit_test(test_a_version_1_trace_does_not_replay_over_free_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
