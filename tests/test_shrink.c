/*
 * test_shrink.c - a seed loop shrinks its failing schedule to the fewest
 * preemptions that fail the same way (README "Shrinking"): known
 * failures reach their known minimum and keep their signature, the
 * shrunk trace replays to the same failure, STEPPER_SHRINK turns it off
 * (or on in a quiet loop), and the budget stops it early.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/stepper.h>
#include <stepper/trace.h>

#include "helpers.h"

#include <jansson.h>

#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIR "build/test-shrink"

#ifdef __SANITIZE_THREAD__
/* The AB/BA program takes its mutexes in both orders on purpose; in the
 * replays where it does not deadlock TSan would report the inversion as a
 * potential deadlock of this binary. Data races are still reported. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "detect_deadlocks=0";
}
#endif

/* ------------------------------------------------------------------ */
/* Programs                                                            */
/* ------------------------------------------------------------------ */

/* A lost update among three free threads, with steps around it that do
 * not matter: one preemption between a read and its write is enough. */
struct counter {
	atomic_int value; /* a load and a store: the update is still lost, but
			   * after an abort (a replay that diverged) the threads
			   * run at once, and that is no data race */
};

static int load(struct counter *c)
{
	return atomic_load_explicit(&c->value, memory_order_relaxed);
}

static void store(struct counter *c, int v)
{
	atomic_store_explicit(&c->value, v, memory_order_relaxed);
}

static void increment(void *arg)
{
	struct counter *c = arg;
	for (int i = 0; i < 3; i++)
		STEP("noise");
	STEP("read");
	int v = load(c);
	STEP("write");
	store(c, v + 1);
	for (int i = 0; i < 2; i++)
		STEP("after");
}

static int lost_update_body(stp_stepper *s, void *arg)
{
	(void)arg;
	struct counter c = { 0 };
	stp_thread(s, "alice", NULL, increment, &c);
	stp_thread(s, "bob", NULL, increment, &c);
	stp_thread(s, "carol", NULL, increment, &c);
	if (stp_run(s) < 0)
		return -1;
	if (load(&c) != 3)
		stp_add_error(s, "counter is %d, expected 3", load(&c));
	return 0;
}

/* Declared threads: the reader sees a half-made pair when the writer is
 * preempted between its two sets (the reader is registered first, so the
 * writer, the last, goes first by default: one preemption). */
struct pair {
	int a, b;
};

static void writer(void *arg)
{
	struct pair *p = arg;
	STEP("warm 1");
	STEP("warm 2");
	STEP("set a");
	p->a = 1;
	STEP("set b");
	p->b = 1;
	STEP("cool");
}

static void reader(void *arg)
{
	struct pair *p = arg;
	STEP("idle");
	STEP("look");
	STP_CHECK(p->a == p->b);
	STEP("done");
}

static int pair_body(stp_stepper *s, void *arg)
{
	(void)arg;
	struct pair p = { 0, 0 };
	static const char *const r[] = { "idle", "look", "done", NULL };
	static const char *const w[] = { "warm 1", "warm 2", "set a", "set b", "cool", NULL };
	stp_thread(s, "reader", r, reader, &p);
	stp_thread(s, "writer", w, writer, &p);
	return stp_run(s) < 0 ? -1 : 0;
}

/* AB/BA: a deadlock needs one preemption while a thread holds its first
 * mutex. */
struct abba {
	pthread_mutex_t m1, m2;
};

static void take(pthread_mutex_t *first, pthread_mutex_t *second)
{
	STEP("start");
	if (stp_mutex_lock(first) != 0)
		return;
	STEP("has one");
	if (stp_mutex_lock(second) == 0)
		stp_mutex_unlock(second);
	stp_mutex_unlock(first);
	STEP("end");
}

static void ab(void *arg)
{
	struct abba *x = arg;
	take(&x->m1, &x->m2);
}

static void ba(void *arg)
{
	struct abba *x = arg;
	take(&x->m2, &x->m1);
}

static int abba_body(stp_stepper *s, void *arg)
{
	(void)arg;
	struct abba x = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER };
	stp_thread(s, "alice", NULL, ab, &x);
	stp_thread(s, "bob", NULL, ba, &x);
	int rc = stp_run(s);
	pthread_mutex_destroy(&x.m1);
	pthread_mutex_destroy(&x.m2);
	return rc < 0 ? -1 : 0;
}

/* A body that pins its own schedule: nothing to shrink. */
static int pinned_body(stp_stepper *s, void *arg)
{
	(void)arg;
	struct counter c = { 0 };
	stp_thread(s, "alice", NULL, increment, &c);
	stp_thread(s, "bob", NULL, increment, &c);
	/* both read before either writes: a lost update */
	static const int order[] = { 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0 };
	stp_set_schedule(s, order, sizeof order / sizeof order[0]);
	if (stp_run(s) < 0)
		return -1;
	if (load(&c) != 2)
		stp_add_error(s, "counter is %d, expected 2", load(&c));
	return 0;
}

/* The lost update after an edit: 'after' renamed 'later', and alice
 * (only she) passes a step more; fixed: the read and the write are one. */
struct edited {
	struct counter *c;
	int extra;
	int fixed;
};

static void increment_edited(void *arg)
{
	struct edited *e = arg;
	for (int i = 0; i < 3; i++)
		STEP("noise");
	if (e->extra)
		STEP("extra");
	STEP("read");
	int v = load(e->c);
	if (e->fixed)
		store(e->c, v + 1);
	STEP("write");
	if (!e->fixed)
		store(e->c, v + 1);
	for (int i = 0; i < 2; i++)
		STEP("later");
}

static int edited_body(stp_stepper *s, void *arg)
{
	int fixed = arg != NULL;
	struct counter c = { 0 };
	struct edited a = { &c, 1, fixed }, b = { &c, 0, fixed }, d = { &c, 0, fixed };
	stp_thread(s, "alice", NULL, increment_edited, &a);
	stp_thread(s, "bob", NULL, increment_edited, &b);
	stp_thread(s, "carol", NULL, increment_edited, &d);
	if (stp_run(s) < 0)
		return -1;
	if (load(&c) != 3)
		stp_add_error(s, "counter is %d, expected 3", load(&c));
	return 0;
}

/* A failure the stepper does not decide: only the first run fails. */
static int first_call_fails(stp_stepper *s, void *arg)
{
	int *calls = arg;
	struct counter c = { 0 };
	stp_thread(s, "alice", NULL, increment, &c);
	stp_thread(s, "bob", NULL, increment, &c);
	if (stp_run(s) < 0)
		return -1;
	if ((*calls)++ == 0)
		stp_add_error(s, "the first run fails, whatever its order");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static stp_loop_options loop_options(const char *name, FILE *out)
{
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.first_seed = 1;
	lo.count = 2000;
	lo.out = out;
	lo.name = name;
	lo.command = "./test_shrink";
	lo.base.trace_dir = DIR;
	return lo;
}

/* Run body's loop, capture its report; the loop must fail. */
static char *failing_loop(const char *name, stp_body_fn body, stp_loop_result *r)
{
	capture c;
	stp_loop_options lo = loop_options(name, capture_open(&c));
	assert_int_equal(stp_loop(&lo, body, NULL, r), 1);
	char *text = strdup(capture_text(&c));
	capture_free(&c);
	assert_non_null(text);
	return text;
}

static int matches(const char *text, const char *pattern)
{
	regex_t re;
	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE), 0);
	int m = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	return m == 0;
}

/* "shrunk from N preemptions to M in R replays (S s)": N, M and R. */
static void shrunk_numbers(const char *text, unsigned *from, unsigned *to, unsigned *replays)
{
	const char *p = strstr(text, "\nshrunk from ");
	if (!p)
		fail_msg("no shrink line in:\n%s", text);
	char unit[32];
	assert_int_equal(sscanf(p, "\nshrunk from %u %31s to %u in %u replays", from, unit,
				to, replays),
			 4);
}

/* The path of the shrunk trace: the original's, NAME-shrunk.json. */
static void shrunk_path(const stp_loop_result *r, char *out, size_t size)
{
	size_t len = strlen(r->trace_path);
	assert_true(len > 5);
	snprintf(out, size, "%.*s-shrunk.json", (int)(len - 5), r->trace_path);
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Preemptions of a trace of free threads with steps only: a decision
 * that switched from a thread that had more steps to take (the first
 * decision is the last thread's, the last to run its prefix). */
static size_t preemptions_of(const stp_trace *t)
{
	size_t n = stp_trace_schedule_length(t), count = 0;
	int cur = (int)stp_trace_thread_count(t) - 1;
	for (size_t k = 0; k < n; k++) {
		int th = stp_trace_entry_thread(t, k);
		int cur_goes_on = 0;
		for (size_t j = k; j < n && !cur_goes_on; j++)
			cur_goes_on = stp_trace_entry_thread(t, j) == cur;
		count += th != cur && cur_goes_on;
		cur = th;
	}
	return count;
}

/* Replay path in a loop of its own: it fails with the first error of the
 * trace at path, and is not shrunk again. */
static void replays_to(const char *path, stp_body_fn body)
{
	stp_trace *t = stp_trace_load(path, NULL);
	assert_non_null(t);
	assert_true(stp_trace_error_count(t) >= 1);
	char want[1024];
	snprintf(want, sizeof want, "  error: %s\n", stp_trace_error_at(t, 0));
	stp_trace_free(t);
	capture c;
	stp_loop_options lo = loop_options("replay", capture_open(&c));
	lo.base.replay = path;
	lo.count = 1;
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, body, NULL, &r), 1);
	const char *text = capture_text(&c);
	if (!strstr(text, want))
		fail_msg("the replay of %s did not fail with\n%s\nit said:\n%s", path, want, text);
	assert_non_null(strstr(text, "this run replayed "));
	assert_null(strstr(text, "shrunk from"));
	assert_null(strstr(text, "not shrunk"));
	capture_free(&c);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

static void test_a_lost_update_shrinks_to_one_preemption(void **state)
{
	(void)state;
	stp_loop_result r;
	char *text = failing_loop("lost-update", lost_update_body, &r);
	unsigned from, to, replays;
	shrunk_numbers(text, &from, &to, &replays);
	assert_true(from >= 2); /* the random order switched more */
	assert_int_equal(to, 1);
	assert_true(matches(text, "^shrunk from [0-9]+ preemptions to 1 in [0-9]+ replays "
				  "\\([0-9]+\\.[0-9]{2} s\\)$"));
	assert_true(matches(text, "^order after shrinking \\(1 preemption\\):\n====\n"));
	/* the preempted thread had read and not written; another read */
	assert_true(matches(text, "^critical pair: \\[[a-z]+\\] 'read' #1 runs before "
				  "\\[[a-z]+\\] 'write' #1; the other way round the run passes$"));
	char line[1200], path[600];
	snprintf(line, sizeof line, "\nreplay: STEPPER_REPLAY=%s ./test_shrink\n", r.trace_path);
	assert_non_null(strstr(text, line)); /* the original's stays */
	shrunk_path(&r, path, sizeof path);
	snprintf(line, sizeof line, "\nreplay shrunk: STEPPER_REPLAY=%s ./test_shrink\n", path);
	assert_non_null(strstr(text, line));
	stp_trace *t = stp_trace_load(path, NULL);
	assert_non_null(t);
	assert_string_equal(stp_trace_strategy(t), "shrunk");
	assert_string_equal(stp_trace_outcome(t), "fail");
	assert_int_equal(preemptions_of(t), 1);
	assert_true(matches(stp_trace_error_at(t, 0), "^counter is [0-9], expected 3$"));
	stp_trace_free(t);
	replays_to(path, lost_update_body);
	free(text);
}

static void test_declared_threads_shrink_to_one_preemption(void **state)
{
	(void)state;
	stp_loop_result r;
	char *text = failing_loop("pair", pair_body, &r);
	unsigned from, to, replays;
	shrunk_numbers(text, &from, &to, &replays);
	assert_true(from >= 1);
	assert_int_equal(to, 1);
	assert_true(matches(text, "^critical pair: \\[reader\\] 'look' #1 runs before "
				  "\\[writer\\] 'set b' #1; the other way round the run passes$"));
	char path[600];
	shrunk_path(&r, path, sizeof path);
	stp_trace *t = stp_trace_load(path, NULL);
	assert_non_null(t);
	/* the one order with one preemption that fails: the writer goes
	 * first (the last to run its prefix) up to 'set b' */
	static const char *const want[] = { "writer warm 1", "writer warm 2", "writer set a",
					    "reader idle", "reader look" };
	assert_int_equal(stp_trace_schedule_length(t), 5);
	for (size_t k = 0; k < 5; k++) {
		char got[300];
		snprintf(got, sizeof got, "%s %s",
			 stp_trace_thread_name(t, (size_t)stp_trace_entry_thread(t, k)),
			 stp_trace_entry_step(t, k));
		assert_string_equal(got, want[k]);
	}
	assert_true(matches(stp_trace_error_at(t, 0),
			    "^\\[reader\\] failed after step 'look' \\(2/3\\): check failed: "
			    "p->a == p->b \\(tests/test_shrink.c:[0-9]+\\)$"));
	stp_trace_free(t);
	replays_to(path, pair_body);
	free(text);
}

static void test_an_abba_deadlock_shrinks_to_one_and_keeps_its_cycle(void **state)
{
	(void)state;
	stp_loop_result r;
	char *text = failing_loop("abba", abba_body, &r);
	unsigned from, to, replays;
	shrunk_numbers(text, &from, &to, &replays);
	assert_true(from >= 1);
	assert_int_equal(to, 1);
	/* the other thread took the mutex the preempted one was about to */
	assert_true(matches(text, "^critical pair: \\[(alice|bob)\\] 'lock\\((m#[12])\\)' #1 "
				  "runs before \\[(alice|bob)\\] 'lock\\(\\2\\)' #1; the other way "
				  "round the run passes$"));
	char path[600];
	shrunk_path(&r, path, sizeof path);
	stp_trace *t = stp_trace_load(path, NULL);
	assert_non_null(t);
	assert_string_equal(stp_trace_outcome(t), "deadlock");
	const char *e = stp_trace_error_at(t, 0);
	assert_true(matches(e, "^deadlock: a cycle of threads"));
	assert_true(matches(e, "^  the cycle: \\[(alice|bob)\\] -> m#[12] -> \\[(alice|bob)\\] "
			       "-> m#[12] -> \\[(alice|bob)\\]$"));
	stp_trace_free(t);
	replays_to(path, abba_body);
	free(text);
}

static void test_stepper_shrink_0_turns_it_off(void **state)
{
	(void)state;
	assert_int_equal(setenv("STEPPER_SHRINK", "0", 1), 0);
	stp_loop_result r;
	char *text = failing_loop("off", lost_update_body, &r);
	unsetenv("STEPPER_SHRINK");
	assert_null(strstr(text, "shrunk"));
	assert_null(strstr(text, "critical pair"));
	char path[600];
	shrunk_path(&r, path, sizeof path);
	assert_true(exists(r.trace_path));
	assert_false(exists(path));
	free(text);
}

static void test_a_quiet_loop_shrinks_only_when_asked(void **state)
{
	(void)state;
	stp_loop_options lo = loop_options("quiet", NULL);
	lo.quiet = 1;
	stp_loop_result r;
	char path[600];
	assert_int_equal(stp_loop(&lo, lost_update_body, NULL, &r), 1);
	shrunk_path(&r, path, sizeof path);
	assert_false(exists(path));
	assert_int_equal(setenv("STEPPER_SHRINK", "1", 1), 0);
	assert_int_equal(stp_loop(&lo, lost_update_body, NULL, &r), 1);
	unsetenv("STEPPER_SHRINK");
	shrunk_path(&r, path, sizeof path);
	assert_true(exists(path));
	replays_to(path, lost_update_body);
}

static void test_a_budget_of_replays_stops_it_and_says_so(void **state)
{
	(void)state;
	assert_int_equal(setenv("STEPPER_SHRINK_REPLAYS", "2", 1), 0);
	stp_loop_result r;
	char *text = failing_loop("replays", lost_update_body, &r);
	unsetenv("STEPPER_SHRINK_REPLAYS");
	unsigned from, to, replays;
	shrunk_numbers(text, &from, &to, &replays);
	assert_int_equal(replays, 2);
	assert_true(to <= from);
	assert_true(matches(text, "^  stopped by the budget of 2 replays and 10 s "
				  "\\(STEPPER_SHRINK_REPLAYS, STEPPER_SHRINK_SECONDS\\): more "
				  "may shrink it further$"));
	char path[600];
	shrunk_path(&r, path, sizeof path);
	replays_to(path, lost_update_body); /* what it has is a failure */
	free(text);
}

static void test_a_budget_of_time_stops_it_and_says_so(void **state)
{
	(void)state;
	/* A microsecond: spent by the first replay (three threads that hand
	 * over a turnstile take far longer), and the first is always made. */
	assert_int_equal(setenv("STEPPER_SHRINK_SECONDS", "0.000001", 1), 0);
	stp_loop_result r;
	char *text = failing_loop("seconds", lost_update_body, &r);
	unsetenv("STEPPER_SHRINK_SECONDS");
	unsigned from, to, replays;
	shrunk_numbers(text, &from, &to, &replays);
	assert_int_equal(replays, 1);
	assert_int_equal(to, from);
	assert_true(matches(text, "^shrunk from [0-9]+ preemptions to [0-9]+ in 1 replay "));
	assert_true(matches(text, "^  stopped by the budget of 2000 replays and 1e-06 s "));
	free(text);
}

static void test_a_body_with_its_own_schedule_is_not_shrunk(void **state)
{
	(void)state;
	stp_loop_result r;
	char *text = failing_loop("pinned", pinned_body, &r);
	assert_int_equal(r.failed_seed, 1);
	assert_true(matches(text, "^not shrunk: the test body chooses its own schedule "
				  "\\(stp_set_schedule\\): there is nothing to vary$"));
	assert_null(strstr(text, "critical pair"));
	free(text);
}

static void test_a_failure_the_order_does_not_decide_is_not_shrunk(void **state)
{
	(void)state;
	capture c;
	stp_loop_options lo = loop_options("first", capture_open(&c));
	int calls = 0;
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, first_call_fails, &calls, &r), 1);
	const char *text = capture_text(&c);
	assert_true(matches(text, "^not shrunk: the failing schedule, replayed, did not fail "
				  "the same way \\(it passed\\): the test depends on something "
				  "the stepper does not decide$"));
	assert_int_equal(calls, 2); /* the run, and one replay */
	capture_free(&c);
}

/* A malformed budget is said once, and the default kept. */
static void test_a_malformed_budget_is_reported_and_the_default_kept(void **state)
{
	(void)state;
	fflush(stderr);
	FILE *err = tmpfile();
	assert_non_null(err);
	int saved = dup(2);
	assert_true(saved >= 0 && dup2(fileno(err), 2) == 2);
	assert_int_equal(setenv("STEPPER_SHRINK_REPLAYS", "lots", 1), 0);
	stp_loop_result r;
	char *text = failing_loop("malformed", lost_update_body, &r);
	unsetenv("STEPPER_SHRINK_REPLAYS");
	fflush(stderr);
	assert_true(dup2(saved, 2) == 2);
	close(saved);
	char said[1024] = "";
	rewind(err);
	size_t n = fread(said, 1, sizeof said - 1, err);
	said[n] = '\0';
	fclose(err);
	assert_non_null(strstr(said, "stepper: ignoring STEPPER_SHRINK_REPLAYS='lots': expected "
				     "a number of replays from 1 to 1000000000; using 2000\n"));
	unsigned from, to, replays;
	shrunk_numbers(text, &from, &to, &replays);
	assert_int_equal(to, 1);
	free(text);
}

/* The lost update's shrunk trace, its path in path. */
static void shrunk_lost_update(char *path, size_t size)
{
	stp_loop_result r;
	char *text = failing_loop("lenient", lost_update_body, &r);
	free(text);
	shrunk_path(&r, path, size);
}

/* body replays path in a loop, leniently or not: the loop's output. */
static char *replay_output(const char *path, stp_body_fn body, void *arg, int lenient,
			   int want_rc)
{
	if (lenient)
		assert_int_equal(setenv("STEPPER_REPLAY_LENIENT", "1", 1), 0);
	capture c;
	stp_loop_options lo = loop_options("lenient", capture_open(&c));
	lo.base.replay = path;
	lo.count = 1;
	stp_loop_result r;
	int rc = stp_loop(&lo, body, arg, &r);
	unsetenv("STEPPER_REPLAY_LENIENT");
	char *text = strdup(capture_text(&c));
	capture_free(&c);
	if (rc != want_rc)
		fail_msg("the replay returned %d, not %d:\n%s", rc, want_rc, text);
	return text;
}

/* A shrunk trace names each entry's occurrence and, on a switch, where
 * the thread that decided was. */
static void test_a_shrunk_trace_records_its_anchors(void **state)
{
	(void)state;
	char path[600];
	shrunk_lost_update(path, sizeof path);
	json_error_t e;
	json_t *d = json_load_file(path, 0, &e);
	assert_non_null(d);
	json_t *sched = json_object_get(d, "schedule");
	size_t preempts = 0;
	for (size_t k = 0; k < json_array_size(sched); k++) {
		json_t *x = json_array_get(sched, k);
		assert_true(json_integer_value(json_object_get(x, "occurrence")) >= 1);
		if (!json_object_get(x, "preempt"))
			continue;
		preempts++;
		json_t *from = json_object_get(x, "from");
		assert_string_equal(json_string_value(json_object_get(from, "at")), "write");
		assert_int_equal(json_integer_value(json_object_get(from, "occurrence")), 1);
	}
	assert_int_equal(preempts, 1);
	/* a wrong count is refused, naming the entry */
	json_t *x = json_array_get(sched, json_array_size(sched) - 1);
	json_object_set_new(x, "occurrence", json_integer(7));
	assert_int_equal(json_dump_file(d, DIR "/wrong.json", JSON_INDENT(2)), 0);
	json_decref(d);
	stp_trace_error err;
	assert_null(stp_trace_load(DIR "/wrong.json", &err));
	char buf[1024];
	const char *why = stp_trace_error_text(&err, buf, sizeof buf);
	if (!matches(why, "schedule\\[[0-9]+\\]\\.occurrence: expected 2 \\(thread [0-9] at "
			  "'after': time 2 in the schedule\\), found 7"))
		fail_msg("unexpected: %s", why);
}

/* After an edit (a step renamed, a step added to one thread) the strict
 * replay stops at the first difference; the lenient one applies the
 * recorded switches where they come up, and the failure comes back. */
static void test_lenient_replay_after_an_edit_reproduces_the_failure(void **state)
{
	(void)state;
	char path[600];
	shrunk_lost_update(path, sizeof path);
	char *strict = replay_output(path, edited_body, NULL, 0, 1);
	assert_true(matches(strict, "^  error: replay: decision [0-9]+: recorded "));
	free(strict);
	char *text = replay_output(path, edited_body, NULL, 1, 1);
	if (!matches(text, "^stepper: lenient: lenient replay of .*-shrunk\\.json \\(([0-9]+) of "
			   "\\1 recorded switch(es)? applied\\): the recorded failure came back$"))
		fail_msg("no verdict in:\n%s", text);
	assert_true(matches(text, "^  error: counter is [0-9], expected 3$"));
	free(text);
	/* the bug fixed: it does not come back, and the replay says so */
	int fixed = 1;
	text = replay_output(path, edited_body, &fixed, 1, 0);
	assert_true(matches(text, "^stepper: lenient: lenient replay of .*: the recorded "
				  "failure did not come back; this run: it passed$"));
	free(text);
}

/* Not only shrunk traces: the failing run's own trace (version 2, free
 * threads, every switch the random schedule made) carries its anchors,
 * and a lenient replay after the same edit brings its failure back. */
static void test_lenient_replay_of_a_trace_not_shrunk(void **state)
{
	(void)state;
	assert_int_equal(setenv("STEPPER_SHRINK", "0", 1), 0);
	stp_loop_result r;
	char *text = failing_loop("unshrunk", lost_update_body, &r);
	unsetenv("STEPPER_SHRINK");
	free(text);
	stp_trace *t = stp_trace_load(r.trace_path, NULL);
	assert_non_null(t);
	assert_true(preemptions_of(t) >= 1);
	stp_trace_free(t);
	text = replay_output(r.trace_path, edited_body, NULL, 1, 1);
	if (!matches(text, "^stepper: lenient: lenient replay of .*seed-[0-9]+\\.json \\([0-9]+ of "
			   "[0-9]+ recorded switch(es)? applied\\): the recorded failure came back$"))
		fail_msg("no verdict in:\n%s", text);
	free(text);
}

/* A declared pair with a step more in the writer's order and code. */
static void writer_edited(void *arg)
{
	struct pair *p = arg;
	STEP("warm 1");
	STEP("warm 1b");
	STEP("warm 2");
	STEP("set a");
	p->a = 1;
	STEP("set b");
	p->b = 1;
	STEP("cool");
}

static int pair_edited_body(stp_stepper *s, void *arg)
{
	(void)arg;
	struct pair p = { 0, 0 };
	static const char *const r[] = { "idle", "look", "done", NULL };
	static const char *const w[] = { "warm 1", "warm 1b", "warm 2", "set a", "set b", "cool",
					 NULL };
	stp_thread(s, "reader", r, reader, &p);
	stp_thread(s, "writer", w, writer_edited, &p);
	return stp_run(s) < 0 ? -1 : 0;
}

/* A version 1 trace (declared threads, steps only) names no anchors: the
 * loader derives them from the schedule, so it replays leniently too. */
static void test_lenient_replay_of_a_version_1_trace(void **state)
{
	(void)state;
	assert_int_equal(setenv("STEPPER_SHRINK", "0", 1), 0);
	stp_loop_result r;
	char *text = failing_loop("pair-v1", pair_body, &r);
	unsetenv("STEPPER_SHRINK");
	free(text);
	json_t *d = json_load_file(r.trace_path, 0, NULL);
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "version")), 1);
	json_decref(d);
	char *strict = replay_output(r.trace_path, pair_edited_body, NULL, 0, 1);
	if (!matches(strict, "replay: thread 'writer' step 2: .* declares 'warm 2', the test 'warm 1b'$"))
		fail_msg("strict:\n%s", strict);
	free(strict);
	text = replay_output(r.trace_path, pair_edited_body, NULL, 1, 1);
	if (!matches(text, "^stepper: lenient: lenient replay of .*seed-[0-9]+\\.json \\([0-9]+ of "
			   "[0-9]+ recorded switch(es)? applied\\): the recorded failure came back$"))
		fail_msg("no verdict in:\n%s", text);
	free(text);
}

/* `stepper run` keeps each failing seed's trace and log in its run
 * folder; its processes do not shrink, STEPPER_SHRINK=1 or not (a shrunk
 * trace's replay line would name the folder the process wrote in). */
static void test_stepper_run_processes_do_not_shrink(void **state)
{
	(void)state;
	const char *b = getenv("B") && *getenv("B") ? getenv("B") : "build";
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
		 "rm -rf " DIR "/cli && STEPPER_SHRINK=1 %s/bin/stepper run --seeds 1..2 "
		 "--trace-dir " DIR "/cli -- %s/examples/bank racy > " DIR "/cli.txt 2>&1",
		 b, b);
	int st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1); /* seeds 1 and 2 fail */
	assert_int_equal(system("grep -q 'balance is' " DIR "/cli/run-*/seed-1.log"), 0);
	assert_int_not_equal(system("grep -q 'shrunk' " DIR "/cli/run-*/seed-1.log"), 0);
	assert_int_not_equal(system("ls -a " DIR "/cli/*/ | grep -q shrunk"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_lost_update_shrinks_to_one_preemption),
		cmocka_unit_test(test_declared_threads_shrink_to_one_preemption),
		cmocka_unit_test(test_an_abba_deadlock_shrinks_to_one_and_keeps_its_cycle),
		cmocka_unit_test(test_stepper_shrink_0_turns_it_off),
		cmocka_unit_test(test_a_quiet_loop_shrinks_only_when_asked),
		cmocka_unit_test(test_a_budget_of_replays_stops_it_and_says_so),
		cmocka_unit_test(test_a_budget_of_time_stops_it_and_says_so),
		cmocka_unit_test(test_a_body_with_its_own_schedule_is_not_shrunk),
		cmocka_unit_test(test_a_failure_the_order_does_not_decide_is_not_shrunk),
		cmocka_unit_test(test_a_malformed_budget_is_reported_and_the_default_kept),
		cmocka_unit_test(test_stepper_run_processes_do_not_shrink),
		cmocka_unit_test(test_a_shrunk_trace_records_its_anchors),
		cmocka_unit_test(test_lenient_replay_after_an_edit_reproduces_the_failure),
		cmocka_unit_test(test_lenient_replay_of_a_trace_not_shrunk),
		cmocka_unit_test(test_lenient_replay_of_a_version_1_trace),
	};
	unsetenv("STEPPER_SHRINK");
	unsetenv("STEPPER_SHRINK_REPLAYS");
	unsetenv("STEPPER_SHRINK_SECONDS");
	unsetenv("STEPPER_SEED");
	unsetenv("STEPPER_SEEDS");
	unsetenv("STEPPER_REPLAY");
	unsetenv("STEPPER_REPLAY_LENIENT");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
