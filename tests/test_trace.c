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
		  "version: this stepper reads versions 1 and 2, the trace is version 99" },
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
	};
	return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
