/*
 * test_trace.c - the JSON trace: golden documents, round trips, exact
 * replay, and every kind of bad document getting its own message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/stepper.h>
#include <stepper/trace.h>

#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "examples/bank.h"
#include "helpers.h"

#define DIR "build/test-traces"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	size_t got = fread(buf, 1, (size_t)n, f);
	buf[got] = '\0';
	fclose(f);
	return buf;
}

static void spill(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void setup_dir(void)
{
	mkdir("build", 0777);
	mkdir(DIR, 0777);
}

/* Times vary from run to run; golden files have them as 0, and the
 * measured idle time in a stall report as N. */
static char *normalized(const char *path)
{
	json_error_t je;
	json_t *d = json_load_file(path, 0, &je);
	if (!d)
		fail_msg("%s: %s", path, je.text);
	json_t *evs = json_object_get(d, "events");
	size_t i;
	json_t *e;
	json_array_foreach(evs, i, e)
	{
		if (json_object_get(e, "mono_ns"))
			json_object_set_new(e, "mono_ns", json_integer(0));
	}
	json_t *errs = json_object_get(d, "errors");
	json_array_foreach(errs, i, e)
	{
		const char *t = json_string_value(e);
		const char *p = strstr(t, "no thread ended for ");
		if (!p)
			continue;
		p += strlen("no thread ended for ");
		size_t digits = strspn(p, "0123456789");
		char *fixed = malloc(strlen(t) + 2);
		memcpy(fixed, t, (size_t)(p - t));
		fixed[p - t] = 'N';
		strcpy(fixed + (p - t) + 1, p + digits);
		json_array_set_new(errs, i, json_string(fixed));
		free(fixed);
	}
	char *s = json_dumps(d, JSON_INDENT(2));
	json_decref(d);
	return s;
}

/* Compare with tests/golden/NAME; STEPPER_UPDATE_GOLDEN=1 rewrites it. */
static void assert_golden(const char *trace, const char *name)
{
	char golden[256];
	snprintf(golden, sizeof golden, "tests/golden/%s", name);
	char *got = normalized(trace);
	if (getenv("STEPPER_UPDATE_GOLDEN"))
		spill(golden, got);
	char *want = slurp(golden);
	if (!want)
		fail_msg("%s is missing; the run wrote:\n%s", golden, got);
	size_t wl = strlen(want);
	if (wl && want[wl - 1] == '\n')
		want[wl - 1] = '\0';
	if (strcmp(want, got) != 0)
		fail_msg("%s differs. expected:\n%s\ngot:\n%s", golden, want, got);
	free(want);
	free(got);
}

static stp_stepper *traced(uint64_t seed, const char *path, unsigned stall_ms)
{
	stp_options o;
	stp_options_init(&o);
	o.seed = seed;
	o.trace = path;
	o.stall_ms = stall_ms;
	return stp_new(&o);
}

/* ------------------------------------------------------------------ */
/* Golden documents and round trips                                    */
/* ------------------------------------------------------------------ */

static void test_golden_trace_of_a_passing_run(void **state)
{
	(void)state;
	setup_dir();
	stp_stepper *s = traced(3, DIR "/pass.json", 2000);
	assert_int_equal(fixed_body(s, NULL), 0);
	assert_int_equal(stp_error_count(s), 0);
	stp_free(s);
	assert_golden(DIR "/pass.json", "trace-pass.json");
}

static void test_golden_trace_of_a_failing_run(void **state)
{
	(void)state;
	setup_dir();
	stp_stepper *s = traced(1, DIR "/fail.json", 2000);
	racy_body(s, NULL);
	stp_trace_write(s, DIR "/fail.json"); /* after stp_add_error */
	assert_int_equal(stp_error_count(s), 1);
	stp_free(s);
	assert_golden(DIR "/fail.json", "trace-fail.json");
}

struct stall_fixture {
	pthread_mutex_t m;
};

static void stall_a(void *p)
{
	struct stall_fixture *f = p;
	STEP("a:lock");
	pthread_mutex_lock(&f->m);
	STEP("a:hold");
	pthread_mutex_unlock(&f->m);
}

static void stall_b(void *p)
{
	struct stall_fixture *f = p;
	STEP("b:lock");
	pthread_mutex_lock(&f->m);
	pthread_mutex_unlock(&f->m);
	STEP("b:done");
}

static void test_golden_trace_of_a_stalled_run(void **state)
{
	(void)state;
	setup_dir();
	static const char *const oa[] = { "a:lock", "a:hold", NULL };
	static const char *const ob[] = { "b:lock", "b:done", NULL };
	struct stall_fixture f = { PTHREAD_MUTEX_INITIALIZER };
	/* a wall-clock bound: the stall limit is what makes this trace */
	stp_stepper *s = traced(1, DIR "/stall.json", 100);
	stp_thread(s, "A", oa, stall_a, &f);
	stp_thread(s, "B", ob, stall_b, &f);
	const int sched[] = { 0, 1, 0, 1 };
	stp_set_schedule(s, sched, 4);
	assert_int_equal(stp_run(s), 1);
	stp_free(s);
	assert_golden(DIR "/stall.json", "trace-stall.json");
}

static void test_round_trip_write_load_write_is_identical(void **state)
{
	(void)state;
	setup_dir();
	const char *kinds[] = { DIR "/pass.json", DIR "/fail.json", DIR "/stall.json" };
	for (int i = 0; i < 3; i++) {
		stp_trace_error err;
		stp_trace *t = stp_trace_load(kinds[i], &err);
		char buf[512];
		if (!t)
			fail_msg("%s", stp_trace_error_text(&err, buf, sizeof buf));
		assert_int_equal(stp_trace_save(t, DIR "/again.json"), 0);
		char *a = slurp(kinds[i]), *b = slurp(DIR "/again.json");
		assert_string_equal(a, b);
		free(a);
		free(b);
		stp_trace_free(t);
	}
}

/* ------------------------------------------------------------------ */
/* Replay                                                              */
/* ------------------------------------------------------------------ */

static void test_replay_reproduces_the_failure_100_of_100(void **state)
{
	(void)state;
	setup_dir();
	/* find a failing seed, recorded */
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.quiet = 1;
	lo.count = 1000;
	lo.name = "replay100";
	lo.base.trace_dir = DIR;
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, racy_body, NULL, &r), 1);
	stp_trace *rec = stp_trace_load(r.trace_path, NULL);
	assert_non_null(rec);
	assert_string_equal(stp_trace_outcome(rec), "fail");
	for (int i = 0; i < 100; i++) {
		stp_options o;
		stp_options_init(&o);
		o.replay = r.trace_path;
		o.seed = 999999; /* the trace's seed wins */
		stp_stepper *s = stp_new(&o);
		racy_body(s, NULL);
		assert_int_equal(stp_error_count(s), stp_trace_error_count(rec));
		for (size_t e = 0; e < stp_error_count(s); e++)
			assert_string_equal(stp_error(s, e), stp_trace_error_at(rec, e));
		assert_int_equal(stp_get_options(s)->seed, r.failed_seed);
		stp_free(s);
	}
	stp_trace_free(rec);
}

static void test_replay_with_other_threads_does_not_start(void **state)
{
	(void)state;
	setup_dir();
	stp_stepper *s = traced(1, DIR "/two.json", 2000);
	fixed_body(s, NULL);
	stp_free(s);

	static const char *const other[] = { "begin", "lock", "unlocked", "audit", NULL };
	static const char *const shorter[] = { "begin", "lock", NULL };
	static const char *const renamed[] = { "begin", "LOCK", "unlocked", "audit", NULL };
	struct {
		const char *name1;
		const char *const *order1;
		int threads;
		const char *want;
	} cases[] = {
		{ "bob", other, 1, "has 2 threads, the test registers 1" },
		{ "carol", other, 2, "thread 1 is 'bob' in build/test-traces/two.json, "
				     "'carol' in the test" },
		{ "bob", renamed, 2, "thread 'bob' step 2: build/test-traces/two.json "
				     "declares 'lock', the test 'LOCK'" },
		{ "bob", shorter, 2, "thread 'bob' declares 4 steps in "
				     "build/test-traces/two.json, 2 in the test" },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		stp_options o;
		stp_options_init(&o);
		o.replay = DIR "/two.json";
		stp_stepper *r = stp_new(&o);
		stp_thread(r, "alice", other, deposit_fixed, NULL);
		if (cases[c].threads == 2)
			stp_thread(r, cases[c].name1, cases[c].order1, deposit_fixed, NULL);
		assert_int_equal(stp_interleave(r), STP_EMISMATCH);
		assert_int_equal(stp_run(r), STP_EMISMATCH);
		assert_non_null(strstr(stp_error(r, 0), cases[c].want));
		stp_free(r);
	}
}

static int quit_early;

static void maybe_quits(void *p)
{
	(void)p;
	STEP("one");
	if (quit_early)
		return;
	STEP("two");
}

static void test_replay_says_where_the_events_diverged(void **state)
{
	(void)state;
	setup_dir();
	static const char *const o[] = { "one", "two", NULL };
	quit_early = 0;
	stp_stepper *s = traced(1, DIR "/full.json", 2000);
	stp_thread(s, "w", o, maybe_quits, NULL);
	stp_thread(s, "v", o, maybe_quits, NULL);
	const int sched[] = { 0, 1, 0, 1 };
	stp_set_schedule(s, sched, 4);
	assert_int_equal(stp_run(s), 0);
	stp_free(s);

	quit_early = 1; /* the code changed: now each thread ends after "one" */
	stp_options opt;
	stp_options_init(&opt);
	opt.replay = DIR "/full.json";
	s = stp_new(&opt);
	stp_thread(s, "w", o, maybe_quits, NULL);
	stp_thread(s, "v", o, maybe_quits, NULL);
	assert_true(stp_run(s) >= 1);
	int found = 0;
	for (size_t i = 0; i < stp_error_count(s); i++)
		found |= strcmp(stp_error(s, i),
				"replay diverged at event 3: the recorded run passed "
				"[w] 'two' (2/2), this run stopped after 2 events") == 0;
	assert_true(found);
	stp_free(s);
}

/* While the threads run, the plan is already on disk and is a valid,
 * replayable trace without an outcome. */
static char plan_outcome[32];

static void reads_plan(void *p)
{
	const char *path = p;
	STEP("look");
	stp_trace *t = stp_trace_load(path, NULL);
	snprintf(plan_outcome, sizeof plan_outcome, "%s",
		 t ? stp_trace_outcome(t) : "unreadable");
	stp_trace_free(t);
}

static void test_plan_is_written_before_threads_start(void **state)
{
	(void)state;
	setup_dir();
	static const char *const o[] = { "look", NULL };
	remove(DIR "/plan.json");
	stp_stepper *s = traced(5, DIR "/plan.json", 2000);
	stp_thread(s, "reader", o, reads_plan, DIR "/plan.json");
	assert_int_equal(stp_run(s), 0);
	stp_free(s);
	assert_string_equal(plan_outcome, "none");
	stp_trace *t = stp_trace_load(DIR "/plan.json", NULL);
	assert_string_equal(stp_trace_outcome(t), "pass");
	stp_trace_free(t);
}

/* ------------------------------------------------------------------ */
/* Bad documents                                                       */
/* ------------------------------------------------------------------ */

static const char good_prefix[] =
	"{\"format\": \"stepper-trace\", \"version\": 1, \"stepper\": \"0.1.0\", "
	"\"seed\": 4, \"strategy\": \"random\", \"mode\": \"serial\", ";

/* Load text as a trace; the error text must match the regex. */
static void assert_rejected(const char *text, const char *pattern)
{
	setup_dir();
	spill(DIR "/bad.json", text);
	stp_trace_error err;
	stp_trace *t = stp_trace_load(DIR "/bad.json", &err);
	char buf[1024];
	const char *msg = stp_trace_error_text(&err, buf, sizeof buf);
	if (t)
		fail_msg("accepted a bad document (want /%s/)", pattern);
	regex_t re;
	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	int m = regexec(&re, msg, 0, NULL, 0);
	regfree(&re);
	if (m != 0)
		fail_msg("error text \"%s\" does not match /%s/", msg, pattern);
}

static char *with_body(const char *body)
{
	size_t n = strlen(good_prefix) + strlen(body) + 1;
	char *s = malloc(n);
	snprintf(s, n, "%s%s", good_prefix, body);
	return s;
}

#define THREADS2                                                             \
	"\"threads\": [{\"name\": \"a\", \"order\": [\"x\", \"y\"]}, "         \
	"{\"name\": \"b\", \"order\": [\"z\"]}], "

static void test_bad_documents_each_get_a_clear_message(void **state)
{
	(void)state;
	struct {
		const char *body; /* after good_prefix, or a whole text */
		int whole;
		const char *want;
	} cases[] = {
		{ "", 1, "bad.json: the file is empty" },
		{ "{\"format\": \"stepper-trace\", \"version\": 1, \"thr", 1,
		  "bad.json:1:[0-9]+: (premature end of input|unexpected end)" },
		{ "not json at all", 1, "bad.json:1:[0-9]+: '\\[' or '\\{' expected near 'not'" },
		{ "[1, 2, 3]", 1, "bad.json: \\(document\\): expected an object, found an array" },
		{ "{\"format\": \"other-trace\", \"version\": 1}", 1,
		  "format: expected \"stepper-trace\", found \"other-trace\"" },
		{ "{\"format\": \"stepper-trace\", \"version\": 99}", 1,
		  "version: this stepper reads version 1, the trace is version 99" },
		{ "{\"format\": \"stepper-trace\"}", 1, "bad.json: version: missing" },
		{ "{\"format\": \"stepper-trace\", \"version\": \"1\"}", 1,
		  "version: expected an integer, found a string" },
		{ "\"threads\": [], \"schedule\": []}", 0,
		  "threads: expected 1 to 64 threads, found 0" },
		{ "\"threads\": [{\"name\": \"a\"}], \"schedule\": []}", 0,
		  "threads\\[0\\]\\.order: missing" },
		{ "\"threads\": [{\"name\": 7, \"order\": [\"x\"]}], \"schedule\": []}", 0,
		  "threads\\[0\\]\\.name: expected a string, found an integer" },
		{ "\"threads\": [{\"name\": \"a\", \"order\": [\"x\"]}, {\"name\": \"a\", "
		  "\"order\": [\"y\"]}], \"schedule\": []}",
		  0, "threads\\[1\\]\\.name: \"a\" is also the name of threads\\[0\\]" },
		{ THREADS2 "\"schedule\": [{\"thread\": 0, \"step\": \"x\"}, {\"thread\": 5, "
			   "\"step\": \"z\"}, {\"thread\": 0, \"step\": \"y\"}]}",
		  0, "schedule\\[1\\]\\.thread: expected an integer from 0 to 1, found 5" },
		{ THREADS2 "\"schedule\": [{\"thread\": 0, \"step\": \"y\"}, {\"thread\": 1, "
			   "\"step\": \"z\"}, {\"thread\": 0, \"step\": \"x\"}]}",
		  0, "schedule\\[0\\]\\.step: thread 0 'a' step 1/2 is 'x' in its declared "
		     "order, found 'y'" },
		{ THREADS2 "\"schedule\": [{\"thread\": 0, \"step\": \"x\"}]}", 0,
		  "schedule: expected 3 entries \\(every declared step once\\), found 1" },
		{ THREADS2 "\"schedule\": [{\"thread\": 0, \"step\": \"x\"}, {\"thread\": 0, "
			   "\"step\": \"y\"}, {\"thread\": 0, \"step\": \"y\"}]}",
		  0, "schedule\\[2\\]\\.step: thread 0 'a' declares 2 steps; this would be "
		     "step 3" },
		{ THREADS2 "\"schedule\": [{\"thread\": 0, \"step\": \"x\"}, {\"thread\": 1, "
			   "\"step\": \"z\"}, {\"thread\": 0, \"step\": \"y\"}], \"events\": []}",
		  0, "outcome: missing \\(the document has events\\)" },
		{ THREADS2 "\"schedule\": [{\"thread\": 0, \"step\": \"x\"}, {\"thread\": 1, "
			   "\"step\": \"z\"}, {\"thread\": 0, \"step\": \"y\"}], \"events\": [], "
			   "\"outcome\": \"maybe\"}",
		  0, "outcome: expected \"pass\", \"fail\", \"divergence\" or \"stall\", "
		     "found \"maybe\"" },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		char *text = cases[c].whole ? strdup(cases[c].body) : with_body(cases[c].body);
		assert_rejected(text, cases[c].want);
		free(text);
	}
}

static void test_numbers_beyond_64_bits_are_rejected(void **state)
{
	(void)state;
	char *t = with_body(THREADS2 "\"schedule\": [{\"thread\": 184467440737095516160, "
				     "\"step\": \"x\"}]}");
	assert_rejected(t, "bad.json:1:[0-9]+: too big integer");
	free(t);
	assert_rejected("{\"format\": \"stepper-trace\", \"version\": 1, \"stepper\": "
			"\"0.1.0\", \"seed\": \"18446744073709551616\"}",
			"seed: expected a decimal number below 2\\^64, found "
			"\"18446744073709551616\"");
	assert_rejected("{\"format\": \"stepper-trace\", \"version\": 1, \"stepper\": "
			"\"0.1.0\", \"seed\": -3}",
			"seed: expected a non-negative integer, found a negative integer");
}

static void test_a_10mb_string_is_rejected_with_its_path(void **state)
{
	(void)state;
	size_t big = 10u << 20;
	char *name = malloc(big + 1);
	memset(name, 'n', big);
	name[big] = '\0';
	size_t n = strlen(good_prefix) + big + 128;
	char *text = malloc(n);
	snprintf(text, n, "%s\"threads\": [{\"name\": \"%s\", \"order\": [\"x\"]}]}",
		 good_prefix, name);
	assert_rejected(text, "threads\\[0\\]\\.name: expected a string of 1 to 128 "
			      "bytes, found 10485760 bytes");
	free(text);
	free(name);
}

static void test_nesting_10000_deep_is_rejected(void **state)
{
	(void)state;
	size_t depth = 10000;
	char *text = malloc(2 * depth + 1);
	for (size_t i = 0; i < depth; i++) {
		text[i] = '[';
		text[depth + i] = ']';
	}
	text[2 * depth] = '\0';
	assert_rejected(text, "bad.json:1:[0-9]+: maximum parsing depth reached");
	free(text);
}

static void test_missing_file_and_bad_paths(void **state)
{
	(void)state;
	stp_trace_error err;
	char buf[512];
	assert_null(stp_trace_load("build/no/such/trace.json", &err));
	assert_string_equal(stp_trace_error_text(&err, buf, sizeof buf),
			    "build/no/such/trace.json: cannot open: No such file or "
			    "directory");
	assert_null(stp_trace_load("build", &err));
	assert_non_null(strstr(stp_trace_error_text(&err, buf, sizeof buf),
			       "not a regular file"));
	assert_null(stp_trace_load(NULL, NULL));
	stp_trace_free(NULL);
	assert_int_equal(stp_trace_write(NULL, "x"), STP_EINVAL);
	/* an unwritable place: the error, errno says why */
	stp_stepper *s = stp_new(NULL);
	stp_thread(s, "a", fixed_order, deposit_fixed, NULL);
	stp_interleave(s);
	assert_int_equal(stp_trace_write(s, "build/no/such/dir/t.json"), STP_EIO);
	stp_free(s);
}

/* ------------------------------------------------------------------ */
/* Showing and exporting                                               */
/* ------------------------------------------------------------------ */

static void test_show_prints_seed_outcome_errors_and_order(void **state)
{
	(void)state;
	stp_trace *t = stp_trace_load(DIR "/fail.json", NULL);
	assert_non_null(t);
	capture c;
	stp_trace_print(t, capture_open(&c), 1);
	const char *out = capture_text(&c);
	assert_non_null(strstr(out, "seed:     1\n"));
	assert_non_null(strstr(out, "mode:     serial\n"));
	assert_non_null(strstr(out, "outcome:  fail (8 of 8 steps passed)\n"));
	assert_non_null(strstr(out, "errors:\n  balance is 150, expected 220 (100 + 50 + 70)\n"));
	assert_non_null(strstr(out, "order:\n====\n[bob] begin\n[alice] begin\n"));
	assert_non_null(strstr(out, "events:\n     1  [bob] begin (1/4)  at "));
	capture_free(&c);
	stp_trace_free(t);
}

static void test_chrome_export_has_a_track_per_thread(void **state)
{
	(void)state;
	stp_trace *t = stp_trace_load(DIR "/fail.json", NULL);
	capture c;
	assert_int_equal(stp_trace_export_chrome(t, capture_open(&c)), 0);
	json_error_t je;
	json_t *d = json_loads(capture_text(&c), 0, &je);
	assert_non_null(d);
	json_t *evs = json_object_get(d, "traceEvents");
	size_t i, meta = 0, slices = 0;
	json_t *e;
	json_array_foreach(evs, i, e)
	{
		const char *ph = json_string_value(json_object_get(e, "ph"));
		meta += strcmp(ph, "M") == 0;
		slices += strcmp(ph, "X") == 0;
	}
	assert_int_equal(meta, 2);   /* alice, bob */
	assert_int_equal(slices, 8); /* one per passed step */
	json_decref(d);
	capture_free(&c);
	stp_trace_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_trace_of_a_passing_run),
		cmocka_unit_test(test_golden_trace_of_a_failing_run),
		cmocka_unit_test(test_golden_trace_of_a_stalled_run),
		cmocka_unit_test(test_round_trip_write_load_write_is_identical),
		cmocka_unit_test(test_replay_reproduces_the_failure_100_of_100),
		cmocka_unit_test(test_replay_with_other_threads_does_not_start),
		cmocka_unit_test(test_replay_says_where_the_events_diverged),
		cmocka_unit_test(test_plan_is_written_before_threads_start),
		cmocka_unit_test(test_bad_documents_each_get_a_clear_message),
		cmocka_unit_test(test_numbers_beyond_64_bits_are_rejected),
		cmocka_unit_test(test_a_10mb_string_is_rejected_with_its_path),
		cmocka_unit_test(test_nesting_10000_deep_is_rejected),
		cmocka_unit_test(test_missing_file_and_bad_paths),
		cmocka_unit_test(test_show_prints_seed_outcome_errors_and_order),
		cmocka_unit_test(test_chrome_export_has_a_track_per_thread),
	};
	return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
