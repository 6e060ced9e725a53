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
#include <time.h>

#include "examples/bank.h"
#include "golden/mailbox.h"
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

/* Are the files a and b the same text, but for a newline at the end (a
 * golden file has none; the writer ends a trace with one)? */
static void assert_same_text(const char *a, const char *b)
{
	char *x = slurp(a), *y = slurp(b);
	if (!x || !y)
		fail_msg("cannot read %s or %s", a, b);
	size_t m = strlen(x), n = strlen(y);
	m -= m && x[m - 1] == '\n';
	n -= n && y[n - 1] == '\n';
	if (m != n || memcmp(x, y, m) != 0)
		fail_msg("%s and %s differ:\n%s\n----\n%s", a, b, x, y);
	free(x);
	free(y);
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
	assert_int_equal(split_body(s, NULL), 0);
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
	split_body(s, NULL);
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
		stp_thread(r, "alice", other, deposit_split, NULL);
		if (cases[c].threads == 2)
			stp_thread(r, cases[c].name1, cases[c].order1, deposit_split, NULL);
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
		  "version: this stepper reads versions 1 to 3, the trace is version 99" },
		{ "{\"format\": \"stepper-trace\"}", 1, "bad.json: version: missing" },
		{ "{\"format\": \"stepper-trace\", \"version\": \"1\"}", 1,
		  "version: expected an integer, found a string" },
		{ "\"threads\": [], \"schedule\": []}", 0,
		  "threads: expected 1 to 1024 threads, found 0" },
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
		  0, "outcome: expected \"pass\", \"fail\", \"divergence\", \"stall\" or "
		     "\"deadlock\", found \"maybe\"" },
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
	stp_thread(s, "a", split_order, deposit_split, NULL);
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
		const char *name = json_string_value(json_object_get(e, "name"));
		meta += strcmp(ph, "M") == 0 && strcmp(name, "thread_name") == 0;
		slices += strcmp(ph, "X") == 0;
	}
	assert_int_equal(meta, 2);   /* alice, bob */
	assert_int_equal(slices, 8); /* one per passed step */
	json_decref(d);
	capture_free(&c);
	stp_trace_free(t);
}

/* ------------------------------------------------------------------ */
/* Whatever the writer writes, the loader reads                        */
/* ------------------------------------------------------------------ */

/* The limits of traces/trace_int.h, as the tests know them. */
#define MAX_ERROR (1u << 20)
#define CUT " [cut: a trace keeps 1 MiB of an error]"

/* Is s well-formed UTF-8? jansson's check, independent of the library's. */
static int utf8_ok(const char *s)
{
	json_t *v = json_string(s);
	json_decref(v);
	return v != NULL;
}

/* A reference repair, written differently from the library's: decode a
 * code point, then check its range. Each byte that starts no well-formed
 * sequence becomes U+FFFD. */
static size_t ref_seq(const unsigned char *p)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len = p[0] < 0x80 ? 1 : (p[0] >> 5) == 6 ? 2 : (p[0] >> 4) == 14 ? 3
					: (p[0] >> 3) == 30 ? 4 : 0;
	if (len == 0)
		return 0;
	uint32_t cp = len == 1 ? p[0] : p[0] & (0x7Fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3Fu);
	}
	if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* What a trace keeps of s: repaired, and cut to max bytes with CUT. */
static char *ref_kept(const char *s, size_t max)
{
	size_t n = strlen(s), o = 0, cut = strlen(CUT), last = 0;
	char *out = malloc(3 * n + cut + 1);
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t k = ref_seq(p);
		size_t w = k ? k : 3;
		if (o + w > max) {
			memcpy(out + last, CUT, cut + 1);
			return out;
		}
		memcpy(out + o, k ? (const char *)p : "\xEF\xBF\xBD", w);
		o += w;
		if (o + cut <= max)
			last = o;
		p += k ? k : 1;
	}
	out[o] = '\0';
	return out;
}

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

static size_t rnd_below(size_t n)
{
	return (size_t)(rnd() % n);
}

/* Random bytes (no NUL): ASCII, well-formed multi-byte characters, and
 * bytes that break UTF-8. */
static char *rnd_text(size_t len)
{
	static const char *const pieces[] = { "a", "Z", " ", "\n", "\"", "\\",
					      "\xC3\xA9", "\xE2\x82\xAC",
					      "\xF0\x9F\x98\x80", "\xEF\xBF\xBD",
					      "\xFF", "\xC0\x80", "\xED\xA0\x80",
					      "\xF4\x90\x80\x80", "\xE2\x82", "\x80",
					      "\x01", "\x7F" };
	char *s = malloc(len + 1);
	size_t n = 0;
	while (n < len) {
		const char *p = pieces[rnd_below(sizeof pieces / sizeof pieces[0])];
		size_t k = strlen(p);
		if (rnd_below(8) == 0) { /* any byte at all */
			s[n++] = (char)(1 + rnd_below(255));
			continue;
		}
		if (n + k > len)
			k = len - n;
		memcpy(s + n, p, k);
		n += k;
	}
	s[n] = '\0';
	return s;
}

/* Lengths near the edges more often than anywhere else. */
static size_t rnd_len(size_t edge)
{
	switch (rnd_below(6)) {
	case 0:
		return 0;
	case 1:
		return edge - 1 + rnd_below(3); /* edge - 1, edge, edge + 1 */
	default:
		return rnd_below(40);
	}
}

struct prop_thread {
	const char *order[4];
	int fail_with; /* stp_fail with text after the first step */
	char *text;
};

static void prop_body(void *p)
{
	struct prop_thread *t = p;
	for (size_t k = 0; t->order[k]; k++) {
		STEP(t->order[k]);
		if (k == 0 && t->fail_with)
			stp_fail("%s", t->text);
	}
}

/* A name stp_thread accepts: 1..128 bytes of UTF-8; else STP_EINVAL. */
static int name_ok(const char *s)
{
	return *s && strlen(s) <= 128 && utf8_ok(s);
}

struct prop_case {
	stp_stepper *s;
	struct prop_thread th[3];
	int nth;
	char *names[3];
	int any_free; /* some threads free: a version 2 trace */
};

static void prop_register(struct prop_case *pc)
{
	pc->nth = 1 + (int)rnd_below(3);
	for (int i = 0; i < pc->nth; i++) {
		struct prop_thread *t = &pc->th[i];
		size_t nsteps = 1 + rnd_below(3);
		for (size_t k = 0; k < nsteps; k++) {
			char *step = rnd_text(rnd_len(128));
			t->order[k] = name_ok(step) ? step : strdup("step");
			if (!name_ok(step)) { /* refused at registration, said so */
				const char *bad[] = { step, NULL };
				assert_int_equal(stp_thread(pc->s, "x", bad, prop_body, t),
						 STP_EINVAL);
				free(step);
			}
		}
		t->order[nsteps] = NULL;
		t->fail_with = rnd_below(6) == 0;
		t->text = t->fail_with ? rnd_text(rnd_len(64)) : NULL;
		char *name = rnd_text(rnd_len(128));
		const char *const *order = pc->any_free && (i == 0 || rnd_below(2))
						   ? NULL : t->order; /* NULL: free */
		int rc = stp_thread(pc->s, name, order, prop_body, t);
		if (!name_ok(name))
			assert_int_equal(rc, STP_EINVAL);
		if (rc < 0) {
			free(name);
			name = malloc(24);
			snprintf(name, 24, "thread %d", i);
			assert_int_equal(stp_thread(pc->s, name, order, prop_body, t), i);
		}
		pc->names[i] = name;
	}
}

static void prop_free(struct prop_case *pc)
{
	for (int i = 0; i < pc->nth; i++) {
		for (size_t k = 0; pc->th[i].order[k]; k++)
			free((char *)pc->th[i].order[k]);
		free(pc->th[i].text);
		free(pc->names[i]);
	}
}

/* The run's errors, as the loaded trace must have them. */
static void prop_check_errors(stp_stepper *s, stp_trace *t, uint64_t seed, int c)
{
	assert_int_equal(stp_trace_error_count(t), stp_error_count(s));
	for (size_t i = 0; i < stp_error_count(s); i++) {
		char *want = ref_kept(stp_error(s, i), MAX_ERROR);
		if (strcmp(want, stp_trace_error_at(t, i)) != 0)
			fail_msg("property seed %llu case %d: error %zu differs",
				 (unsigned long long)seed, c, i);
		free(want);
	}
}

static void prop_one(uint64_t seed, int c, const char *path)
{
	static const unsigned stalls[] = { 1u, 3600000u, 3600001u, 4294967295u };
	stp_options o;
	stp_options_init(&o);
	o.trace = path;
	o.seed = rnd_below(4) ? rnd() : (rnd_below(2) ? 0 : UINT64_MAX);
	struct prop_case pc;
	memset(&pc, 0, sizeof pc);
	pc.any_free = rnd_below(3) == 0; /* free threads run in serial mode */
	o.mode = !pc.any_free && rnd_below(2) ? STP_OVERLAP : STP_SERIAL;
	o.stall_ms = rnd_below(2) ? stalls[1 + rnd_below(3)] : 2000 + (unsigned)rnd_below(1u << 30);
	o.log = stdout;
	pc.s = stp_new(&o);
	prop_register(&pc);
	if (rnd_below(2))
		stp_add_error(pc.s, "%s", "before the run");
	assert_true(stp_run(pc.s) >= 0);
	size_t late = rnd_below(4);
	for (size_t i = 0; i < late; i++) { /* after the run: written at once */
		char *e = rnd_below(40) ? rnd_text(rnd_len(64)) : rnd_text(rnd_len(MAX_ERROR));
		stp_add_error(pc.s, "%s", e);
		free(e);
	}
	stp_trace_error err;
	stp_trace *t = stp_trace_load(path, &err);
	char buf[1024];
	if (!t)
		fail_msg("property seed %llu case %d: the writer wrote what the loader "
			 "refuses: %s",
			 (unsigned long long)seed, c, stp_trace_error_text(&err, buf, sizeof buf));
	assert_int_equal(stp_trace_seed(t), stp_get_options(pc.s)->seed);
	assert_int_equal(stp_trace_thread_count(t), (size_t)pc.nth);
	for (int i = 0; i < pc.nth; i++)
		assert_string_equal(stp_trace_thread_name(t, (size_t)i), pc.names[i]);
	size_t n;
	stp_schedule(pc.s, &n);
	assert_int_equal(stp_trace_schedule_length(t), n);
	for (size_t k = 0; k < stp_trace_schedule_length(t); k++)
		assert_string_equal(stp_trace_entry_step(t, k), stp_entry_step(pc.s, k));
	assert_int_equal(stp_trace_save(t, DIR "/property-again.json"), 0);
	char *a = slurp(path), *b = slurp(DIR "/property-again.json");
	if (strcmp(a, b) != 0)
		fail_msg("property seed %llu case %d: saved back, the trace differs:\n%s\n%s",
			 (unsigned long long)seed, c, a, b);
	free(a);
	free(b);
	if (stp_error_count(pc.s) == 0)
		assert_string_equal(stp_trace_outcome(t), "pass");
	else
		assert_string_not_equal(stp_trace_outcome(t), "pass");
	prop_check_errors(pc.s, t, seed, c);
	stp_trace_free(t);
	stp_free(pc.s);
	prop_free(&pc);
}

static void test_whatever_the_writer_writes_the_loader_reads(void **state)
{
	(void)state;
	setup_dir();
	const char *env = getenv("STEPPER_PROPERTY_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
	printf("property seed %llu (STEPPER_PROPERTY_SEED=%llu repeats it)\n",
	       (unsigned long long)seed, (unsigned long long)seed);
	fflush(stdout);
	rng_state = seed;
	for (int c = 0; c < 2000; c++)
		prop_one(seed, c, DIR "/property.json");
}

/* The edges, each on purpose: an empty error, errors at and past 1 MiB,
 * more errors than a trace keeps, a stall limit above an hour. */
static void steps_only(void *p)
{
	(void)p;
	STEP("only");
}

static stp_stepper *one_step_run(const char *path, unsigned stall_ms)
{
	static const char *const o[] = { "only", NULL };
	stp_stepper *s = traced(1, path, stall_ms);
	stp_thread(s, "a", o, steps_only, NULL);
	return s;
}

static void test_limits_are_the_same_for_writer_and_loader(void **state)
{
	(void)state;
	setup_dir();
	char *big = malloc(2 * MAX_ERROR + 1);
	memset(big, 'e', 2 * MAX_ERROR);
	big[2 * MAX_ERROR] = '\0';
	stp_stepper *s = one_step_run(DIR "/limits.json", 10000000);
	char *exact = strndup(big, MAX_ERROR); /* exactly 1 MiB: kept whole */
	for (int i = 0; i < 1200; i++)
		stp_add_error(s, "%s", i == 0 ? "" : i == 1 ? big : i == 2 ? exact : "small");
	stp_run(s);
	stp_trace_error err;
	char buf[512];
	stp_trace *t = stp_trace_load(DIR "/limits.json", &err);
	if (!t)
		fail_msg("%s", stp_trace_error_text(&err, buf, sizeof buf));
	assert_int_equal(stp_trace_error_count(t), 1000);
	assert_string_equal(stp_trace_error_at(t, 0), "");
	const char *cut = stp_trace_error_at(t, 1);
	assert_int_equal(strlen(cut), MAX_ERROR);
	assert_string_equal(cut + MAX_ERROR - strlen(CUT), CUT);
	assert_string_equal(stp_trace_error_at(t, 2), exact);
	assert_string_equal(stp_trace_error_at(t, 999),
			    "201 more errors are not in this trace (a trace keeps 1000 "
			    "errors, 4 MiB of them)");
	stp_trace_free(t);
	stp_free(s);
	free(exact);
	free(big);
}

/* A run too large for a trace gets none, and says why: it never writes a
 * file the loader would refuse. */
static void test_a_run_beyond_the_trace_limits_is_refused_by_the_writer(void **state)
{
	(void)state;
	size_t n = 50001;
	const char **order = calloc(n + 1, sizeof *order);
	for (size_t k = 0; k < n; k++)
		order[k] = "s";
	stp_stepper *s = stp_new(NULL);
	assert_int_equal(stp_thread(s, "a", order, steps_only, NULL), 0);
	assert_int_equal(stp_thread(s, "b", order, steps_only, NULL), 1);
	assert_int_equal(stp_interleave(s), 0);
	assert_int_equal(stp_trace_write(s, DIR "/huge.json"), STP_ELIMIT);
	stp_free(s);
	free(order);
}

static void test_names_that_are_not_utf8_are_refused_at_registration(void **state)
{
	(void)state;
	static const char *const good[] = { "x", NULL };
	static const char *const bad[] = { "ok", "\xC0\x80", NULL };
	stp_stepper *s = stp_new(NULL);
	assert_int_equal(stp_thread(s, "a\xFF", good, steps_only, NULL), STP_EINVAL);
	assert_int_equal(stp_thread(s, "a", bad, steps_only, NULL), STP_EINVAL);
	assert_int_equal(stp_thread(s, "caf\xC3\xA9", good, steps_only, NULL), 0);
	stp_free(s);
}

static void fails_in_latin1(void *p)
{
	(void)p;
	STEP("only");
	stp_fail("%s", "saldo \xE9\xE9 negativo"); /* not UTF-8 */
}

static void test_an_error_that_is_not_utf8_keeps_the_trace(void **state)
{
	(void)state;
	setup_dir();
	static const char *const o[] = { "only", NULL };
	remove(DIR "/latin1.json");
	stp_stepper *s = traced(1, DIR "/latin1.json", 2000);
	stp_thread(s, "a", o, fails_in_latin1, NULL);
	assert_int_equal(stp_run(s), 1);
	stp_free(s);
	stp_trace *t = stp_trace_load(DIR "/latin1.json", NULL);
	assert_non_null(t);
	assert_string_equal(stp_trace_outcome(t), "fail");
	assert_non_null(strstr(stp_trace_error_at(t, 0),
			       "saldo \xEF\xBF\xBD\xEF\xBF\xBD negativo"));
	stp_trace_free(t);
}

/* An error added after the run rewrites the trace at once: a test that
 * exits without stp_free still leaves a trace saying "fail". */
static void test_an_error_after_the_run_rewrites_the_trace_at_once(void **state)
{
	(void)state;
	setup_dir();
	stp_stepper *s = one_step_run(DIR "/late.json", 2000);
	assert_int_equal(stp_run(s), 0);
	stp_add_error(s, "balance is %d, expected %d", 1, 2);
	stp_trace *t = stp_trace_load(DIR "/late.json", NULL); /* before stp_free */
	assert_non_null(t);
	assert_string_equal(stp_trace_outcome(t), "fail");
	assert_int_equal(stp_trace_error_count(t), 1);
	assert_string_equal(stp_trace_error_at(t, 0), "balance is 1, expected 2");
	stp_trace_free(t);
	stp_free(s);
}

/* ------------------------------------------------------------------ */
/* Loading is bounded                                                  */
/* ------------------------------------------------------------------ */

static void test_a_file_over_the_size_limit_is_refused_before_parsing(void **state)
{
	(void)state;
	setup_dir();
	FILE *f = fopen(DIR "/big.json", "wb");
	assert_non_null(f);
	fputc('{', f);
	assert_int_equal(fseek(f, 16l << 20, SEEK_SET), 0); /* 16 MiB + 1 */
	fputc('}', f);
	fclose(f);
	stp_trace_error err;
	char buf[512];
	assert_null(stp_trace_load(DIR "/big.json", &err));
	assert_string_equal(stp_trace_error_text(&err, buf, sizeof buf),
			    DIR "/big.json: the file has 16777217 bytes; a trace has at "
				"most 16777216");
	remove(DIR "/big.json");
}

static void test_json_from_another_tool_is_not_a_stepper_trace(void **state)
{
	(void)state;
	assert_rejected("{\"traceEvents\": [], \"displayTimeUnit\": \"ns\"}",
			"^build/test-traces/bad.json: not a stepper trace \\(no "
			"\"format\": \"stepper-trace\"\\)$");
	assert_rejected("[1, 2]", "bad.json: \\(document\\): expected an object, found "
				  "an array \\(not a stepper trace\\)$");
}

/* ------------------------------------------------------------------ */
/* Chrome export                                                       */
/* ------------------------------------------------------------------ */

/* Every "ts" and "dur" in text is digits, a point and three digits. */
static void assert_exact_times(const char *text)
{
	static const char *const keys[] = { "\"ts\": ", "\"dur\": " };
	for (int i = 0; i < 2; i++) {
		size_t seen = 0;
		for (const char *p = strstr(text, keys[i]); p; p = strstr(p, keys[i])) {
			p += strlen(keys[i]);
			size_t d = strspn(p, "0123456789");
			if (d == 0 || p[d] != '.' || strspn(p + d + 1, "0123456789") != 3 ||
			    (p[d + 4] != ',' && p[d + 4] != '}'))
				fail_msg("not a time with three decimals: %.30s", p);
			seen++;
		}
		assert_true(seen > 0);
	}
}

static void test_chrome_export_times_are_exact_and_the_outcome_shows(void **state)
{
	(void)state;
	setup_dir();
	spill(DIR "/times.json",
	      "{\"format\": \"stepper-trace\", \"version\": 1, \"stepper\": \"0.1.0\", "
	      "\"seed\": 4, \"strategy\": \"random\", \"mode\": \"serial\", "
	      "\"threads\": [{\"name\": \"a\", \"order\": [\"x\", \"y\"]}, "
	      "{\"name\": \"b\", \"order\": [\"z\"]}], "
	      "\"schedule\": [{\"thread\": 0, \"step\": \"x\"}, {\"thread\": 1, "
	      "\"step\": \"z\"}, {\"thread\": 0, \"step\": \"y\"}], "
	      "\"events\": [{\"thread\": 0, \"step\": \"x\", \"mono_ns\": 74020}, "
	      "{\"thread\": 1, \"step\": \"z\", \"mono_ns\": 1000001}, "
	      "{\"thread\": 0, \"step\": \"y\", \"mono_ns\": 2500000}], "
	      "\"outcome\": \"fail\", \"errors\": [\"balance is 150, expected 220\", "
	      "\"a \\\"quoted\\\"\\nsecond line\"]}\n");
	stp_trace *t = stp_trace_load(DIR "/times.json", NULL);
	assert_non_null(t);
	capture c;
	assert_int_equal(stp_trace_export_chrome(t, capture_open(&c)), 0);
	const char *text = capture_text(&c);
	assert_exact_times(text);
	assert_non_null(strstr(text, "\"ts\": 74.020, \"dur\": 2425.980"));
	assert_non_null(strstr(text, "\"ts\": 1000.001, \"dur\": 1499.999"));
	json_error_t je;
	json_t *d = json_loads(text, 0, &je);
	if (!d)
		fail_msg("not JSON: %s\n%s", je.text, text);
	size_t i, errors = 0, outcomes = 0;
	json_t *e;
	json_array_foreach(json_object_get(d, "traceEvents"), i, e)
	{
		const char *cat = json_string_value(json_object_get(e, "cat"));
		const char *text_arg =
			json_string_value(json_object_get(json_object_get(e, "args"), "text"));
		if (cat && strcmp(cat, "error") == 0) {
			assert_string_equal(text_arg, stp_trace_error_at(t, errors));
			assert_string_equal(json_string_value(json_object_get(e, "ph")), "i");
			errors++;
		}
		if (cat && strcmp(cat, "outcome") == 0) {
			assert_string_equal(json_string_value(json_object_get(e, "name")),
					    "outcome: fail");
			assert_true(json_real_value(json_object_get(e, "ts")) == 2500.0);
			outcomes++;
		}
	}
	assert_int_equal(errors, 2);
	assert_int_equal(outcomes, 1);
	json_decref(d);
	capture_free(&c);
	stp_trace_free(t);
}

/* ------------------------------------------------------------------ */
/* Version 2: lock and wait points, and a deadlock                     */
/* ------------------------------------------------------------------ */

#define GOLDEN_DEADLOCK "tests/golden/trace-deadlock.json"

/* The mailbox of tests/golden/mailbox.h on seed, traced to trace and/or
 * replaying replay (each may be NULL). The caller frees it. */
static stp_stepper *mailbox(uint64_t seed, const char *trace, const char *replay,
			    int *rc)
{
	static struct mailbox b;
	b = (struct mailbox){ PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
	stp_options o;
	stp_options_init(&o);
	o.seed = seed;
	o.trace = trace;
	o.replay = replay;
	stp_stepper *s = stp_new(&o);
	*rc = mailbox_run(s, &b);
	return s;
}

static void test_golden_trace_of_a_deadlock_with_waits(void **state)
{
	(void)state;
	setup_dir();
	int rc;
	stp_stepper *s = mailbox(MAILBOX_SEED, DIR "/deadlock.json", NULL, &rc);
	assert_int_equal(rc, 1);
	assert_true(strncmp(stp_error(s, 0), "deadlock: lost wake-up: [consumer]", 34) == 0);
	stp_free(s);
	assert_golden(DIR "/deadlock.json", "trace-deadlock.json");
}

static stp_trace *load_ok(const char *path)
{
	stp_trace_error err;
	char buf[600];
	stp_trace *t = stp_trace_load(path, &err);
	if (!t)
		fail_msg("%s", stp_trace_error_text(&err, buf, sizeof buf));
	return t;
}

static void test_the_golden_deadlock_has_a_kind_for_every_entry(void **state)
{
	(void)state;
	stp_trace *t = load_ok(GOLDEN_DEADLOCK);
	assert_string_equal(stp_trace_outcome(t), "deadlock");
	const char *const want[] = { "lock", "wait", "step", "lock", "signal",
				     "unlock", "wake", "step", "unlock", "step",
				     "lock", "signal", "unlock", "lock", "wait" };
	assert_int_equal(stp_trace_schedule_length(t), 15);
	for (size_t k = 0; k < 15; k++)
		assert_string_equal(stp_trace_entry_kind(t, k), want[k]);
	assert_null(stp_trace_entry_kind(t, 15));
	/* and the round trip writes the same bytes */
	assert_int_equal(stp_trace_save(t, DIR "/deadlock-again.json"), 0);
	assert_same_text(GOLDEN_DEADLOCK, DIR "/deadlock-again.json");
	stp_trace_free(t);
	/* version 1 traces are steps only */
	t = load_ok("tests/golden/trace-fail.json");
	assert_string_equal(stp_trace_entry_kind(t, 0), "step");
	stp_trace_free(t);
}

#define CONTAINS(hay, needle)                                                \
	do {                                                                 \
		if (!strstr((hay), (needle)))                                \
			fail_msg("output lacks \"%s\":\n%s", (needle), (hay)); \
	} while (0)

static void test_show_marks_the_waits_and_prints_the_deadlock_report(void **state)
{
	(void)state;
	stp_trace *t = load_ok(GOLDEN_DEADLOCK);
	capture c;
	stp_trace_print(t, capture_open(&c), 1);
	const char *out = capture_text(&c);
	CONTAINS(out, "outcome:  deadlock (15 of 15 decisions passed: 3 steps, 12 lock "
		      "and wait points)\n");
	/* the report in full, its lines indented under its first */
	CONTAINS(out, "errors:\n  deadlock: lost wake-up: [consumer] waits on cv#1 at "
		      "tests/golden/mailbox.h:57 (with m#1) and no thread that could signal it can "
		      "go on\n    every thread:\n    [producer] ended\n    [consumer] "
		      "waits on cv#1 at tests/golden/mailbox.h:57 (with m#1); no signal "
		      "is pending\norder:\n");
	/* steps plain; points with a note that says what they did */
	CONTAINS(out, "====\n[consumer] lock(m#1)    -- takes m#1\n"
		      "[consumer] wait(cv#1)   -- waits on cv#1, letting go of m#1\n"
		      "[producer] post\n");
	CONTAINS(out, "\n[producer] signal(cv#1) -- may wake [consumer]\n");
	CONTAINS(out, "\n[consumer] wake(cv#1)   -- woken on cv#1; takes m#1 back\n");
	CONTAINS(out, "\n[producer] signal(cv#1) -- wakes nobody: no thread waits on "
		      "cv#1\n");
	CONTAINS(out, "\n[consumer] wait(cv#1)   -- waits on cv#1, letting go of m#1; "
		      "still waiting when the run ended\n====\n");
	CONTAINS(out, "(\"--\" marks the stepper's lock and wait points");
	CONTAINS(out, "     2  [consumer] wait(cv#1) (wait)  at 0.000 us\n");
	CONTAINS(out, "     3  [producer] post (step 1)  at 0.000 us\n");
	CONTAINS(out, "     8  [producer] post (step 2)  at 0.000 us\n");
	capture_free(&c);
	stp_trace_free(t);
	/* a version 1 trace shows as before: no notes, no legend */
	t = load_ok("tests/golden/trace-fail.json");
	stp_trace_print(t, capture_open(&c), 1);
	out = capture_text(&c);
	CONTAINS(out, "outcome:  fail (8 of 8 steps passed)\n");
	CONTAINS(out, "order:\n====\n[bob] begin\n[alice] begin\n");
	CONTAINS(out, "[bob] audit (4/4)  at 0.000 us\n");
	assert_null(strstr(out, "--"));
	capture_free(&c);
	stp_trace_free(t);
}

/* The export of the golden deadlock, parsed. */
static json_t *exported(const char *path)
{
	stp_trace *t = load_ok(path);
	capture c;
	assert_int_equal(stp_trace_export_chrome(t, capture_open(&c)), 0);
	json_error_t je;
	json_t *d = json_loads(capture_text(&c), 0, &je);
	if (!d)
		fail_msg("not JSON: %s\n%s", je.text, capture_text(&c));
	capture_free(&c);
	stp_trace_free(t);
	return d;
}

static const char *str_of(json_t *e, const char *key)
{
	const char *v = json_string_value(json_object_get(e, key));
	return v ? v : "";
}

static void test_export_puts_waits_in_their_category_and_marks_the_deadlock(void **state)
{
	(void)state;
	json_t *d = exported(GOLDEN_DEADLOCK);
	size_t i, waits = 0, locks = 0, signals = 0, wakes = 0, steps = 0, marks = 0;
	size_t reports = 0;
	json_t *e;
	stp_trace *t = load_ok(GOLDEN_DEADLOCK);
	json_array_foreach(json_object_get(d, "traceEvents"), i, e)
	{
		const char *cat = str_of(e, "cat"), *ph = str_of(e, "ph");
		json_int_t tid = json_integer_value(json_object_get(e, "tid"));
		if (strcmp(ph, "X") == 0) {
			waits += strcmp(cat, "wait") == 0;
			locks += strcmp(cat, "lock") == 0;
			signals += strcmp(cat, "signal") == 0;
			wakes += strcmp(cat, "wake") == 0;
			steps += strcmp(cat, "segment") == 0;
		}
		if (strcmp(cat, "wait") == 0) {
			assert_string_equal(str_of(e, "name"), "wait(cv#1)");
			assert_int_equal(tid, 2); /* the consumer's track */
		}
		if (strcmp(cat, "deadlock") == 0 && strcmp(str_of(e, "s"), "t") == 0) {
			/* on the blocked thread's track: where it waits */
			assert_int_equal(tid, 2);
			assert_string_equal(str_of(e, "name"),
					    "deadlock: waits on cv#1 at tests/golden/mailbox.h:57 "
					    "(with m#1); no signal is pending");
			marks++;
		}
		if (strcmp(cat, "deadlock") == 0 && strcmp(str_of(e, "s"), "g") == 0) {
			/* the report, whole */
			assert_string_equal(str_of(json_object_get(e, "args"), "text"),
					    stp_trace_error_at(t, 0));
			assert_string_equal(str_of(e, "ph"), "i");
			reports++;
		}
		if (strcmp(cat, "outcome") == 0)
			assert_string_equal(str_of(e, "name"), "outcome: deadlock");
	}
	assert_int_equal(waits, 2);
	assert_int_equal(locks, 7); /* 4 locks, 3 unlocks */
	assert_int_equal(signals, 2);
	assert_int_equal(wakes, 1);
	assert_int_equal(steps, 3);
	assert_int_equal(marks, 1);
	assert_int_equal(reports, 1);
	stp_trace_free(t);
	json_decref(d);
}

static void test_the_golden_deadlock_replays_to_the_same_deadlock(void **state)
{
	(void)state;
	stp_trace *t = load_ok(GOLDEN_DEADLOCK);
	for (int i = 0; i < 20; i++) {
		int rc;
		stp_stepper *s = mailbox(999, NULL, GOLDEN_DEADLOCK, &rc);
		assert_int_equal(rc, 1);
		assert_int_equal(stp_error_count(s), 1);
		assert_string_equal(stp_error(s, 0), stp_trace_error_at(t, 0));
		size_t n;
		const int *sched = stp_schedule(s, &n);
		assert_int_equal(n, stp_trace_schedule_length(t));
		for (size_t k = 0; k < n; k++) {
			assert_int_equal(sched[k], stp_trace_entry_thread(t, k));
			assert_string_equal(stp_entry_step(s, k), stp_trace_entry_step(t, k));
		}
		stp_free(s);
	}
	stp_trace_free(t);
}

/* The golden deadlock, edited by edit(d) and written to path. */
/* The golden deadlock trace, edited, written to path; bare: without its
 * anchors (counts that an edit of the decisions would make wrong). */
static void edited_golden_as(const char *path, void (*edit)(json_t *d), int bare)
{
	json_error_t je;
	json_t *d = json_load_file(GOLDEN_DEADLOCK, 0, &je);
	if (!d)
		fail_msg("%s: %s", GOLDEN_DEADLOCK, je.text);
	json_t *sched = json_object_get(d, "schedule");
	for (size_t k = 0; bare && k < json_array_size(sched); k++) {
		json_object_del(json_array_get(sched, k), "occurrence");
		json_object_del(json_array_get(sched, k), "from");
		json_object_del(json_array_get(sched, k), "preempt");
	}
	edit(d);
	assert_int_equal(json_dump_file(d, path, JSON_INDENT(2)), 0);
	json_decref(d);
}

static void edited_golden(const char *path, void (*edit)(json_t *d))
{
	edited_golden_as(path, edit, 0);
}

static json_t *entry(json_t *d, const char *list, size_t k)
{
	return json_array_get(json_object_get(d, list), k);
}

static void kind_wait_on_a_lock(json_t *d)
{
	json_object_set_new(entry(d, "schedule", 0), "kind", json_string("wait"));
}

static void kind_lock_on_a_step(json_t *d)
{
	json_object_set_new(entry(d, "schedule", 2), "kind", json_string("lock"));
}

static void kind_unknown(json_t *d)
{
	json_object_set_new(entry(d, "schedule", 1), "kind", json_string("nap"));
}

static void kind_not_a_string(json_t *d)
{
	json_object_set_new(entry(d, "schedule", 1), "kind", json_integer(4));
}

static void event_kind_differs(json_t *d)
{
	json_object_set_new(entry(d, "events", 3), "kind", json_string("unlock"));
}

static void event_kind_of_the_wrong_entry(json_t *d)
{
	json_object_set_new(entry(d, "events", 2), "kind", json_string("step"));
	json_object_set_new(entry(d, "events", 2), "step", json_string("lock(m#1)"));
}

static void kind_point_in_version_2(json_t *d)
{
	json_object_set_new(entry(d, "schedule", 2), "kind", json_string("point"));
}

static void left_control_in_version_2(json_t *d)
{
	json_object_set_new(d, "left_control", json_integer(1));
}

static void left_control_zero(json_t *d)
{
	json_object_set_new(d, "version", json_integer(3));
	json_object_set_new(d, "left_control", json_integer(0));
}

static void kind_point_on_a_lock(json_t *d)
{
	json_object_set_new(d, "version", json_integer(3));
	json_object_set_new(entry(d, "schedule", 0), "kind", json_string("point"));
}

static void bad_label(json_t *d)
{
	json_object_set_new(entry(d, "schedule", 0), "step", json_string("lock(m#01)"));
}

static void test_kinds_are_checked_against_the_names(void **state)
{
	(void)state;
	setup_dir();
	struct {
		void (*edit)(json_t *d);
		const char *want;
	} cases[] = {
		{ kind_wait_on_a_lock, "schedule[0].kind: \"wait\" is a point named wait(cv#N) "
				       "or timedwait(cv#N), but the entry's step is 'lock(m#1)'" },
		{ kind_lock_on_a_step, "schedule[2].kind: \"lock\" is a point named lock(m#N), "
				       "but the entry's step is 'post'" },
		{ kind_unknown, "schedule[1].kind: expected \"step\", \"lock\", \"trylock\", "
				"\"unlock\", \"wait\", \"wake\", \"signal\", \"broadcast\", "
				"\"sleep\" or \"point\", found \"nap\"" },
		{ kind_point_in_version_2, "schedule[2].kind: \"point\" needs version 3, the "
					   "trace is version 2" },
		{ kind_point_on_a_lock, "schedule[0].kind: \"point\" is a point of no other "
					"kind, but 'lock(m#1)' is a lock point" },
		{ left_control_in_version_2, "left_control: needs version 3, the trace is "
					     "version 2" },
		{ left_control_zero, "left_control: expected 1 to 100000, found 0" },
		{ kind_not_a_string, "schedule[1].kind: expected a string, found an integer" },
		{ event_kind_differs, "events[3].kind: \"unlock\" is a point named "
				      "unlock(m#N), but the entry's step is 'lock(m#1)'" },
		{ event_kind_of_the_wrong_entry, "events[2].step: [producer] 'lock(m#1)' is "
						 "not a schedule entry after the previous "
						 "event's" },
		{ bad_label, "schedule[0].kind: \"lock\" is a point named lock(m#N), but "
			     "the entry's step is 'lock(m#01)'" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		edited_golden(DIR "/kind.json", cases[i].edit);
		stp_trace_error err;
		char buf[600];
		stp_trace *t = stp_trace_load(DIR "/kind.json", &err);
		if (t)
			fail_msg("case %zu loaded", i);
		stp_trace_error_text(&err, buf, sizeof buf);
		if (!strstr(buf, cases[i].want))
			fail_msg("case %zu: %s\nexpected: %s", i, buf, cases[i].want);
	}
}

/* Version 3: entry 2 ('post', a step of the mailbox) as a program's
 * point, in the schedule and its event. */
static void as_version_3(json_t *d)
{
	json_object_set_new(d, "version", json_integer(3));
	json_object_set_new(d, "left_control", json_integer(2));
	json_object_set_new(entry(d, "schedule", 2), "kind", json_string("point"));
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(d, "events"), i, e)
		if (strcmp(json_string_value(json_object_get(e, "step")), "post") == 0) {
			json_object_set_new(e, "kind", json_string("point"));
			break;
		}
}

static void test_a_version_3_point_loads_shows_and_saves(void **state)
{
	(void)state;
	setup_dir();
	edited_golden(DIR "/v3.json", as_version_3);
	stp_trace *t = load_ok(DIR "/v3.json");
	assert_string_equal(stp_trace_entry_kind(t, 2), "point");
	assert_string_equal(stp_trace_entry_kind(t, 0), "lock");
	/* saved, it stays version 3 with its point */
	assert_int_equal(stp_trace_save(t, DIR "/v3-back.json"), 0);
	stp_trace *back = load_ok(DIR "/v3-back.json");
	assert_string_equal(stp_trace_entry_kind(back, 2), "point");
	stp_trace_free(back);
	char *text = slurp(DIR "/v3-back.json");
	assert_non_null(strstr(text, "\"version\": 3"));
	assert_non_null(strstr(text, "\"left_control\": 2"));
	free(text);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	stp_trace_print(t, f, 0);
	fclose(f);
	if (!strstr(out, "[producer] post") || !strstr(out, " -- a pthread call") ||
	    !strstr(out, "\nleft control: 2 times (STEPPER_ON_STALL=release)"))
		fail_msg("no point line or no left control in:\n%s", out);
	free(out);
	stp_trace_free(t);
}

static void drop_kinds(json_t *d)
{
	const char *lists[] = { "schedule", "events" };
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(d, lists[l]), i, e)
			json_object_del(e, "kind");
	}
}

static void test_a_trace_without_kinds_takes_them_from_the_names(void **state)
{
	(void)state;
	setup_dir();
	/* as the first version 2 traces with points were written */
	edited_golden(DIR "/no-kinds.json", drop_kinds);
	stp_trace *t = load_ok(DIR "/no-kinds.json"), *g = load_ok(GOLDEN_DEADLOCK);
	for (size_t k = 0; k < stp_trace_schedule_length(g); k++)
		assert_string_equal(stp_trace_entry_kind(t, k), stp_trace_entry_kind(g, k));
	/* written back, the kinds are there */
	assert_int_equal(stp_trace_save(t, DIR "/kinds-back.json"), 0);
	assert_same_text(GOLDEN_DEADLOCK, DIR "/kinds-back.json");
	stp_trace_free(t);
	stp_trace_free(g);
}

static void drop_last_event(json_t *d)
{
	json_t *evs = json_object_get(d, "events");
	json_array_remove(evs, json_array_size(evs) - 1);
}

static void test_show_marks_an_entry_granted_but_not_passed(void **state)
{
	(void)state;
	setup_dir();
	edited_golden(DIR "/unpassed.json", drop_last_event);
	stp_trace *t = load_ok(DIR "/unpassed.json");
	capture c;
	stp_trace_print(t, capture_open(&c), 0);
	CONTAINS(capture_text(&c), "(14 of 15 decisions passed");
	CONTAINS(capture_text(&c), "[consumer] wait(cv#1)   -- granted, but the run ended "
				   "before it passed\n====\n");
	capture_free(&c);
	stp_trace_free(t);
}

static pthread_mutex_t odd_m = PTHREAD_MUTEX_INITIALIZER;

static void odd_names(void *p)
{
	(void)p;
	STEP("lock(m#1)"); /* a step, named like a point */
	stp_mutex_lock(&odd_m);
	stp_mutex_unlock(&odd_m);
}

static void test_a_step_named_like_a_point_stays_a_step(void **state)
{
	(void)state;
	setup_dir();
	stp_stepper *s = traced(1, DIR "/odd.json", 2000);
	stp_thread(s, "odd", NULL, odd_names, NULL);
	assert_int_equal(stp_run(s), 0);
	stp_free(s);
	char *text = slurp(DIR "/odd.json");
	CONTAINS(text, "\"step\": \"lock(m#1)\",\n      \"kind\": \"step\",\n      "
		       "\"occurrence\": 1\n");
	CONTAINS(text, "\"step\": \"lock(m#1)\",\n      \"kind\": \"lock\",\n      "
		       "\"occurrence\": 2\n");
	free(text);
	stp_trace *t = load_ok(DIR "/odd.json");
	assert_string_equal(stp_trace_entry_kind(t, 0), "step");
	assert_string_equal(stp_trace_entry_kind(t, 1), "lock");
	assert_string_equal(stp_trace_entry_kind(t, 2), "unlock");
	capture c;
	stp_trace_print(t, capture_open(&c), 1);
	CONTAINS(capture_text(&c), "====\n[odd] lock(m#1)\n[odd] lock(m#1)   -- takes m#1\n");
	CONTAINS(capture_text(&c), "[odd] lock(m#1) (step 1)");
	capture_free(&c);
	stp_trace_free(t);
}

static pthread_mutex_t decl_m = PTHREAD_MUTEX_INITIALIZER;
static int decl_count;

static void declared_locker(void *p)
{
	(void)p;
	STEP("a");
	stp_mutex_lock(&decl_m);
	decl_count++;
	STEP("b");
	stp_mutex_unlock(&decl_m);
}

static stp_stepper *declared_lockers(const char *trace, const char *replay)
{
	static const char *const order[] = { "a", "b", NULL };
	stp_options o;
	stp_options_init(&o);
	o.seed = 3;
	o.trace = trace;
	o.replay = replay;
	stp_stepper *s = stp_new(&o);
	stp_thread(s, "t1", order, declared_locker, NULL);
	stp_thread(s, "t2", order, declared_locker, NULL);
	return s;
}

static void test_declared_threads_with_locks_load_show_and_replay(void **state)
{
	(void)state;
	setup_dir();
	stp_stepper *s = declared_lockers(DIR "/declared-locks.json", NULL);
	assert_int_equal(stp_run(s), 0);
	size_t n;
	const int *sched = stp_schedule(s, &n);
	int rec[16];
	assert_true(n == 8);
	memcpy(rec, sched, n * sizeof *sched);
	stp_free(s);
	/* a declared thread's points come between its declared steps */
	stp_trace *t = load_ok(DIR "/declared-locks.json");
	assert_int_equal(stp_trace_schedule_length(t), 8);
	capture c;
	stp_trace_print(t, capture_open(&c), 1);
	CONTAINS(capture_text(&c), "(8 of 8 decisions passed: 4 steps, 4 lock and wait "
				   "points)");
	CONTAINS(capture_text(&c), "(2/2)");
	capture_free(&c);
	stp_trace_free(t);
	for (int i = 0; i < 10; i++) {
		s = declared_lockers(NULL, DIR "/declared-locks.json");
		assert_int_equal(stp_run(s), 0);
		sched = stp_schedule(s, &n);
		assert_int_equal(n, 8);
		assert_memory_equal(sched, rec, n * sizeof *sched);
		stp_free(s);
	}
}

static pthread_mutex_t mx_a = PTHREAD_MUTEX_INITIALIZER, mx_b = PTHREAD_MUTEX_INITIALIZER;

static void lock_ab(void *p)
{
	(void)p;
	stp_mutex_lock(&mx_a);
	stp_mutex_lock(&mx_b);
	stp_mutex_unlock(&mx_b);
	stp_mutex_unlock(&mx_a);
}

static void lock_ba(void *p)
{
	(void)p;
	stp_mutex_lock(&mx_b);
	stp_mutex_lock(&mx_a);
	stp_mutex_unlock(&mx_a);
	stp_mutex_unlock(&mx_b);
}

static void test_an_abba_deadlock_shows_where_each_thread_blocked(void **state)
{
	(void)state;
	setup_dir();
	/* alice takes A, bob takes B: an explicit schedule, not a search over
	 * seeds, as a seed on which one thread takes both would lock the real
	 * mutexes in both orders in one process, which TSan reports */
	stp_stepper *s = traced(1, DIR "/abba.json", 2000);
	stp_thread(s, "alice", NULL, lock_ab, NULL);
	stp_thread(s, "bob", NULL, lock_ba, NULL);
	const int first[] = { 0, 1 };
	assert_int_equal(stp_set_schedule(s, first, 2), 0);
	assert_int_equal(stp_run(s), 1);
	stp_free(s);
	stp_trace *t = load_ok(DIR "/abba.json");
	assert_string_equal(stp_trace_outcome(t), "deadlock");
	capture c;
	stp_trace_print(t, capture_open(&c), 0);
	const char *out = capture_text(&c);
	CONTAINS(out, "the cycle: [alice] -> m#2 -> [bob] -> m#1 -> [alice]\n");
	CONTAINS(out, "-- takes m#1\n");
	CONTAINS(out, "-- takes m#2\n");
	/* after the order, where each thread of the cycle blocked */
	CONTAINS(out, "====\n(\"--\" marks the stepper's lock and wait points");
	CONTAINS(out, "then no thread could go on (the deadlock):\n  [alice] waits for "
		      "m#2 at tests/test_trace.c:");
	CONTAINS(out, "\n  [bob] waits for m#1 at tests/test_trace.c:");
	capture_free(&c);
	stp_trace_free(t);
	json_t *d = exported(DIR "/abba.json");
	size_t i, marks = 0;
	json_t *e;
	json_array_foreach(json_object_get(d, "traceEvents"), i, e)
		if (strcmp(str_of(e, "cat"), "deadlock") == 0 &&
		    strcmp(str_of(e, "s"), "t") == 0) {
			json_int_t tid = json_integer_value(json_object_get(e, "tid"));
			assert_true(strncmp(str_of(e, "name"),
					    tid == 1 ? "deadlock: waits for m#2 at"
						     : "deadlock: waits for m#1 at", 26) == 0);
			marks++;
		}
	assert_int_equal(marks, 2); /* one on each track */
	json_decref(d);
}

/* Events as the schedule (without times): an edited schedule stays a
 * trace that loads. */
static void events_from_schedule(json_t *d)
{
	json_object_set_new(d, "events", json_deep_copy(json_object_get(d, "schedule")));
}

static void set_entry(json_t *d, size_t k, int thread, const char *step, const char *kind)
{
	json_t *e = entry(d, "schedule", k);
	json_object_set_new(e, "thread", json_integer(thread));
	json_object_set_new(e, "step", json_string(step));
	json_object_set_new(e, "kind", json_string(kind));
	events_from_schedule(d);
}

/* Decision 12: the consumer, blocked on m#1 (the producer holds it). */
static void wrong_thread_at_a_lock(json_t *d)
{
	set_entry(d, 11, 1, "lock(m#1)", "lock");
}

/* Decision 3: the producer waits, where it is at its step 'post'. */
static void a_wait_where_a_step_is(json_t *d)
{
	set_entry(d, 2, 0, "wait(cv#1)", "wait");
}

/* Decision 1: the right thread and kind, another mutex. */
static void another_mutex(json_t *d)
{
	set_entry(d, 0, 1, "lock(m#2)", "lock");
}

static void cut_after_6(json_t *d)
{
	json_t *sched = json_object_get(d, "schedule");
	while (json_array_size(sched) > 6)
		json_array_remove(sched, 6);
	events_from_schedule(d);
}

/* One decision more than the run can make: it deadlocks first. */
static void one_too_many(json_t *d)
{
	json_array_append_new(json_object_get(d, "schedule"),
			      json_pack("{s:i, s:s, s:s}", "thread", 1, "step", "wake(cv#1)",
					"kind", "wake"));
	events_from_schedule(d);
}

static void test_decisions_that_do_not_fit_the_program_name_the_decision(void **state)
{
	(void)state;
	setup_dir();
	struct {
		void (*edit)(json_t *d);
		const char *outcome_error;
	} cases[] = {
		{ wrong_thread_at_a_lock, "replay: decision 12: recorded [consumer] "
					  "'lock(m#1)', but [consumer] " },
		{ a_wait_where_a_step_is, "replay: decision 3: recorded [producer] "
					  "'wait(cv#1)', but [producer] reached 'post'" },
		{ another_mutex, "replay: decision 1: recorded [consumer] 'lock(m#2)', "
				 "but [consumer] reached 'lock(m#1)'" },
		{ cut_after_6, "replay: decision 7: the recorded run ends after 6 "
			       "decisions, but the run goes on; can go on: " },
		{ one_too_many, "deadlock: lost wake-up: [consumer]" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		edited_golden_as(DIR "/misfit.json", cases[i].edit, 1);
		stp_trace_free(load_ok(DIR "/misfit.json"));
		int rc;
		stp_stepper *s = mailbox(1, NULL, DIR "/misfit.json", &rc);
		assert_true(rc >= 1);
		assert_true(stp_error_count(s) >= 1);
		if (strncmp(stp_error(s, 0), cases[i].outcome_error,
			    strlen(cases[i].outcome_error)) != 0)
			fail_msg("case %zu: %s\nexpected: %s...", i, stp_error(s, 0),
				 cases[i].outcome_error);
		stp_free(s);
	}
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
		cmocka_unit_test(test_chrome_export_times_are_exact_and_the_outcome_shows),
		cmocka_unit_test(test_json_from_another_tool_is_not_a_stepper_trace),
		cmocka_unit_test(test_a_file_over_the_size_limit_is_refused_before_parsing),
		cmocka_unit_test(test_names_that_are_not_utf8_are_refused_at_registration),
		cmocka_unit_test(test_an_error_that_is_not_utf8_keeps_the_trace),
		cmocka_unit_test(test_an_error_after_the_run_rewrites_the_trace_at_once),
		cmocka_unit_test(test_limits_are_the_same_for_writer_and_loader),
		cmocka_unit_test(test_a_run_beyond_the_trace_limits_is_refused_by_the_writer),
		cmocka_unit_test(test_whatever_the_writer_writes_the_loader_reads),
		cmocka_unit_test(test_golden_trace_of_a_deadlock_with_waits),
		cmocka_unit_test(test_the_golden_deadlock_has_a_kind_for_every_entry),
		cmocka_unit_test(test_show_marks_the_waits_and_prints_the_deadlock_report),
		cmocka_unit_test(test_export_puts_waits_in_their_category_and_marks_the_deadlock),
		cmocka_unit_test(test_an_abba_deadlock_shows_where_each_thread_blocked),
		cmocka_unit_test(test_the_golden_deadlock_replays_to_the_same_deadlock),
		cmocka_unit_test(test_kinds_are_checked_against_the_names),
		cmocka_unit_test(test_a_version_3_point_loads_shows_and_saves),
		cmocka_unit_test(test_a_trace_without_kinds_takes_them_from_the_names),
		cmocka_unit_test(test_a_step_named_like_a_point_stays_a_step),
		cmocka_unit_test(test_show_marks_an_entry_granted_but_not_passed),
		cmocka_unit_test(test_declared_threads_with_locks_load_show_and_replay),
		cmocka_unit_test(test_decisions_that_do_not_fit_the_program_name_the_decision),
	};
	return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
