/*
 * test_strategies.c - the strategies by name (random, pct, pct:D, pos):
 * golden schedules, PCT and POS against an independent implementation
 * (tests/golden/gen_pct.py), POS's conflicts, determinism and exact
 * replay, PCT's length across a seed loop and within a run, a preemption
 * late in a long run PCT finds, a depth-3 bug PCT finds and
 * random does not, bad strategy strings, and `stepper run --strategy` /
 * `stepper show`.
 *
 * The test binary doubles as the program `stepper run` runs:
 *   test_strategies --child   the 3-thread example once, with the options
 *                             of the environment; fails when CHILD_FAIL is
 *                             set
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/clock.h>
#include <stepper/stepper.h>
#include <stepper/trace.h>

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define DIR_ "build/test-strategies"

static const char *bdir(void)
{
	const char *b = getenv("B");
	return b && *b ? b : "build";
}

static char self_path[4096];

/* A serial stepper with this strategy and seed; debug lines go to log
 * (NULL: no debug). */
static stp_stepper *stepper_logging(const char *strategy, uint64_t seed, FILE *log)
{
	stp_options o;
	stp_options_init(&o);
	o.seed = seed;
	o.mode = STP_SERIAL;
	o.trace = NULL;
	o.replay = NULL;
	o.debug = log != NULL;
	if (log)
		o.log = log;
	o.strategy = strategy;
	return stp_new(&o);
}

static stp_stepper *stepper_with(const char *strategy, uint64_t seed)
{
	return stepper_logging(strategy, seed, NULL);
}

/* The whole output of a shell command (stdout and stderr) and its exit
 * status. */
static char *command_output(const char *cmd, int *status)
{
	char full[8192];
	snprintf(full, sizeof full, "%s 2>&1", cmd);
	FILE *p = popen(full, "r");
	assert_non_null(p);
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	char chunk[4096];
	while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) {
		if (len + n + 1 > cap) {
			cap = 2 * (len + n + 1);
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	if (!buf)
		buf = calloc(1, 1);
	buf[len] = '\0';
	int st = pclose(p);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return buf;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* ------------------------------------------------------------------ */
/* The 3-thread declared example of tests/golden/seeds.txt             */
/* ------------------------------------------------------------------ */

static const char *const writer_o[] = { "lock", "read", "write", "unlock", NULL };
static const char *const reader_o[] = { "lock", "read", "unlock", NULL };
static const char *const flusher_o[] = { "poll", "flush", NULL };

static void walk(void *arg)
{
	for (const char *const *p = arg; *p; p++)
		STEP(*p);
}

static void add_example(stp_stepper *s)
{
	assert_int_equal(stp_thread(s, "writer", writer_o, walk, (void *)writer_o), 0);
	assert_int_equal(stp_thread(s, "reader", reader_o, walk, (void *)reader_o), 1);
	assert_int_equal(stp_thread(s, "flusher", flusher_o, walk, (void *)flusher_o), 2);
}

/* Run the example with strategy and seed; debug lines to log (NULL:
 * none); the order to out. */
static void run_example(const char *strategy, uint64_t seed, FILE *log, FILE *out)
{
	stp_stepper *s = stepper_logging(strategy, seed, log);
	add_example(s);
	int rc = stp_run(s);
	if (rc != 0)
		fail_msg("%s seed %llu: %s", strategy, (unsigned long long)seed, errors_of(s));
	stp_print_order(s, out);
	stp_free(s);
}

static void test_golden_schedules_of_seeds_1_to_5_for_each_strategy(void **state)
{
	(void)state;
	static const char *const strategies[] = { "random", "pct:3", "pos" };
	capture c;
	FILE *f = capture_open(&c);
	for (size_t i = 0; i < 3; i++)
		for (uint64_t seed = 1; seed <= 5; seed++) {
			fprintf(f, "%s seed %llu\n", strategies[i], (unsigned long long)seed);
			run_example(strategies[i], seed, NULL, f);
		}
	const char *got = capture_text(&c);
	char *want = read_file("tests/golden/strategies.txt");
	if (!want)
		fail_msg("tests/golden/strategies.txt is missing; this run printed:\n%s", got);
	if (strcmp(want, got) != 0)
		fail_msg("schedules changed. expected:\n%s\ngot:\n%s", want, got);
	free(want);
	capture_free(&c);
}

/* The "pct:" lines of a debug log, then the order, per seed: the text
 * gen_pct.py prints. */
static char *library_text(const char *strategy, uint64_t first, uint64_t last)
{
	capture all;
	FILE *f = capture_open(&all);
	for (uint64_t seed = first; seed <= last; seed++) {
		capture log;
		FILE *l = capture_open(&log);
		capture order;
		FILE *o = capture_open(&order);
		run_example(strategy, seed, l, o);
		fprintf(f, "%s seed %llu\n", strategy, (unsigned long long)seed);
		const char *t = capture_text(&log);
		for (const char *p = t; *p;) {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
			if (strncmp(p, "pct:", 4) == 0)
				fwrite(p, 1, n, f);
			p += n;
		}
		fputs(capture_text(&order), f);
		capture_free(&log);
		capture_free(&order);
	}
	fclose(all.f);
	all.f = NULL;
	return all.buf;
}

static void compare_with_gen_pct(const char *strategy, uint64_t first, uint64_t last)
{
	char cmd[256];
	int status;
	snprintf(cmd, sizeof cmd, "python3 tests/golden/gen_pct.py %s %llu..%llu", strategy,
		 (unsigned long long)first, (unsigned long long)last);
	char *want = command_output(cmd, &status);
	if (status != 0)
		fail_msg("%s: exit %d: %s", cmd, status, want);
	char *got = library_text(strategy, first, last);
	if (strcmp(want, got) != 0)
		fail_msg("%s: the library differs from gen_pct.py.\nexpected:\n%s\ngot:\n%s",
			 strategy, want, got);
	free(want);
	free(got);
}

static void test_pct_priorities_and_change_points_match_gen_pct(void **state)
{
	(void)state;
	compare_with_gen_pct("pct:3", 1, 40);
	compare_with_gen_pct("pct:1", 1, 10);
	compare_with_gen_pct("pct:2", 1, 20);
	compare_with_gen_pct("pct:6", 1, 20);
	compare_with_gen_pct("pct:20", 1, 10); /* more points than decisions */
}

static void test_pos_redraws_match_gen_pct(void **state)
{
	(void)state;
	compare_with_gen_pct("pos", 1, 40);
}

/* POS's conflicts, seen in its debug lines: a holder and a waiter of one
 * mutex, a signaller and a waiter of one condition, two steps of one
 * name; and an idle thread whose steps conflict with nothing. */
struct conflicts {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ready;
};

static void c_signaller(void *p)
{
	struct conflicts *c = p;
	STEP("shared");
	stp_mutex_lock(&c->mu);
	STEP("inside");
	c->ready = 1;
	stp_cond_signal(&c->cv);
	stp_mutex_unlock(&c->mu);
}

static void c_waiter(void *p)
{
	struct conflicts *c = p;
	STEP("shared");
	stp_mutex_lock(&c->mu);
	while (!c->ready)
		stp_cond_wait(&c->cv, &c->mu);
	stp_mutex_unlock(&c->mu);
}

static void c_idle(void *p)
{
	(void)p;
	STEP("x");
	STEP("y");
	STEP("z");
}

static void test_pos_redraws_exactly_the_conflicting_operations(void **state)
{
	(void)state;
	static const char *const want[] = {
		/* the same mutex: lock, unlock, a wait's start (it lets go of
		 * the mutex), against a lock of it */
		"pos: [sig] 'lock(m#1)' chosen; new priorities: [sig], [wait]\n",
		"pos: [sig] 'unlock(m#1)' chosen; new priorities: [sig], [wait]\n",
		"pos: [wait] 'wait(cv#1)' chosen; new priorities: [sig], [wait]\n",
		/* the same condition: a signal and a waiter's wake-up */
		"pos: [sig] 'signal(cv#1)' chosen; new priorities: [sig], [wait]\n",
		/* the same step name */
		"pos: [sig] 'shared' chosen; new priorities: [sig], [wait]\n",
		"pos: [wait] 'shared' chosen; new priorities: [sig], [wait]\n",
	};
	int seen[sizeof want / sizeof want[0]] = { 0 };
	for (uint64_t seed = 1; seed <= 60; seed++) {
		capture log;
		stp_stepper *s = stepper_logging("pos", seed, capture_open(&log));
		struct conflicts c = { .ready = 0 };
		pthread_mutex_init(&c.mu, NULL);
		pthread_cond_init(&c.cv, NULL);
		stp_thread(s, "sig", NULL, c_signaller, &c);
		stp_thread(s, "wait", NULL, c_waiter, &c);
		stp_thread(s, "idle", NULL, c_idle, &c);
		if (stp_run(s) != 0)
			fail_msg("seed %llu: %s", (unsigned long long)seed, errors_of(s));
		stp_free(s);
		pthread_mutex_destroy(&c.mu);
		pthread_cond_destroy(&c.cv);
		const char *t = capture_text(&log);
		for (const char *p = strstr(t, "pos: "); p; p = strstr(p + 1, "pos: ")) {
			const char *nl = strchr(p, '\n');
			int n = (int)(nl - p);
			/* the chosen thread is always redrawn; idle only when chosen,
			 * and its steps make no one else's priority change */
			int idle_chosen = strncmp(p, "pos: [idle]", 11) == 0;
			if (!!memmem(p, (size_t)n, " [idle]", 7) != idle_chosen ||
			    (idle_chosen && !memmem(p, (size_t)n + 1, "new priorities: [idle]\n", 23)))
				fail_msg("seed %llu: %.*s", (unsigned long long)seed, n, p);
			for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
				seen[k] |= strncmp(p, want[k], strlen(want[k])) == 0;
		}
		capture_free(&log);
	}
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
		if (!seen[k])
			fail_msg("never seen in seeds 1-60: %s", want[k]);
}

/* ------------------------------------------------------------------ */
/* A depth-3 order violation                                           */
/* ------------------------------------------------------------------ */

/* Two declared threads of 16 steps. The bug needs three orderings: A's
 * 8th step before B's 1st, B's 8th before A's 9th, A's 9th before B's
 * 9th: B must run its first 8 steps exactly while A waits between its
 * 8th and 9th (two preemptions at the right places). Under uniform random
 * interleavings that is about 1 in 93,000; PCT with depth 3 finds it
 * with probability 1/2 * 1/C(32,2) = 1/992 per run. */
#define DEEP 16

static char deep_names[2][DEEP][8];
static const char *deep_order[2][DEEP + 1];

struct deep {
	atomic_int a_done, b_done, b_start_a, bug;
};

static void deep_a(void *p)
{
	struct deep *d = p;
	for (int i = 0; i < DEEP; i++) {
		STEP(deep_order[0][i]);
		if (i == 8 && atomic_load(&d->b_done) == 8 && atomic_load(&d->b_start_a) == 8)
			atomic_store(&d->bug, 1);
		atomic_fetch_add(&d->a_done, 1);
	}
}

static void deep_b(void *p)
{
	struct deep *d = p;
	for (int i = 0; i < DEEP; i++) {
		STEP(deep_order[1][i]);
		if (i == 0)
			atomic_store(&d->b_start_a, atomic_load(&d->a_done));
		atomic_fetch_add(&d->b_done, 1);
	}
}

static void deep_init(void)
{
	for (int t = 0; t < 2; t++) {
		for (int i = 0; i < DEEP; i++) {
			snprintf(deep_names[t][i], sizeof deep_names[t][i], "%c%d", "ab"[t], i + 1);
			deep_order[t][i] = deep_names[t][i];
		}
		deep_order[t][DEEP] = NULL;
	}
}

/* The first seed in 1..max whose run hits the bug, or 0. */
static uint64_t first_deep_failure(const char *strategy, uint64_t max)
{
	for (uint64_t seed = 1; seed <= max; seed++) {
		struct deep d = { 0 };
		stp_stepper *s = stepper_with(strategy, seed);
		stp_thread(s, "A", deep_order[0], deep_a, &d);
		stp_thread(s, "B", deep_order[1], deep_b, &d);
		int rc = stp_run(s);
		if (rc != 0)
			fail_msg("%s seed %llu: %s", strategy, (unsigned long long)seed,
				 errors_of(s));
		stp_free(s);
		if (atomic_load(&d.bug))
			return seed;
	}
	return 0;
}

static void test_pct_3_finds_a_depth_3_bug_that_random_misses(void **state)
{
	(void)state;
	deep_init();
	/* fixed seeds: the numbers are the library's, pinned */
	uint64_t pct = first_deep_failure("pct:3", 3000);
	printf("pct:3 found the depth-3 bug at seed %llu\n", (unsigned long long)pct);
	assert_true(pct >= 1 && pct <= 3000);
	uint64_t pct2 = first_deep_failure("pct:2", 3000);
	uint64_t random = first_deep_failure("random", 3000);
	printf("pct:2: %llu, random: %llu (0: not within 3000 seeds)\n",
	       (unsigned long long)pct2, (unsigned long long)random);
	assert_int_equal(pct2, 0);   /* depth 2 cannot make two preemptions */
	assert_int_equal(random, 0); /* 3000 seeds are far too few for random */
}

/* ------------------------------------------------------------------ */
/* Determinism and replay                                              */
/* ------------------------------------------------------------------ */

/* Three free threads under a mutex, with a condition: lock points, wait
 * and signal points and steps of the same name in every thread. */
struct shared {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int value, turns;
};

static void free_worker(void *p)
{
	struct shared *sh = p;
	for (int i = 0; i < 3; i++) {
		stp_mutex_lock(&sh->mu);
		STEP("read");
		int v = sh->value;
		STEP("write");
		sh->value = v + 1;
		sh->turns++;
		stp_cond_broadcast(&sh->cv);
		stp_mutex_unlock(&sh->mu);
		STEP("other");
	}
}

static void free_waiter(void *p)
{
	struct shared *sh = p;
	stp_mutex_lock(&sh->mu);
	while (sh->turns < 2)
		stp_cond_wait(&sh->cv, &sh->mu);
	STEP("saw two");
	stp_mutex_unlock(&sh->mu);
}

static stp_stepper *free_run(const char *strategy, uint64_t seed, const char *trace,
			     const char *replay, struct shared *sh)
{
	stp_options o;
	stp_options_init(&o);
	o.seed = seed;
	o.mode = STP_SERIAL;
	o.debug = 0;
	o.strategy = strategy;
	o.trace = trace;
	o.replay = replay;
	stp_stepper *s = stp_new(&o);
	*sh = (struct shared){ .value = 0 };
	pthread_mutex_init(&sh->mu, NULL);
	pthread_cond_init(&sh->cv, NULL);
	stp_thread(s, "w1", NULL, free_worker, sh);
	stp_thread(s, "w2", NULL, free_worker, sh);
	stp_thread(s, "waiter", NULL, free_waiter, sh);
	int rc = stp_run(s);
	if (rc != 0)
		fail_msg("%s seed %llu%s%s: %s", strategy ? strategy : "(replay)",
			 (unsigned long long)seed, replay ? " replaying " : "",
			 replay ? replay : "", errors_of(s));
	pthread_mutex_destroy(&sh->mu);
	pthread_cond_destroy(&sh->cv);
	return s;
}

/* "[w1] lock(m#1) [w2] ...": a run's order as text, for comparing. */
static char *order_text(stp_stepper *s)
{
	capture c;
	stp_print_order(s, capture_open(&c));
	capture_text(&c);
	return c.buf;
}

static const char *const all_strategies[] = { "random", "pct", "pct:1", "pct:2",
					      "pct:5", "pos" };
#define NSTRAT (sizeof all_strategies / sizeof all_strategies[0])

static void test_every_strategy_gives_the_same_schedule_for_the_same_seed(void **state)
{
	(void)state;
	struct shared sh;
	for (size_t i = 0; i < NSTRAT; i++)
		for (uint64_t seed = 1; seed <= 30; seed++) {
			stp_stepper *a = free_run(all_strategies[i], seed, NULL, NULL, &sh);
			stp_stepper *b = free_run(all_strategies[i], seed, NULL, NULL, &sh);
			char *ta = order_text(a), *tb = order_text(b);
			if (strcmp(ta, tb) != 0)
				fail_msg("%s seed %llu: two runs differ:\n%s\nand\n%s",
					 all_strategies[i], (unsigned long long)seed, ta, tb);
			free(ta);
			free(tb);
			stp_free(a);
			stp_free(b);
			/* the declared example too */
			capture c1, c2;
			run_example(all_strategies[i], seed, NULL, capture_open(&c1));
			run_example(all_strategies[i], seed, NULL, capture_open(&c2));
			assert_string_equal(capture_text(&c1), capture_text(&c2));
			capture_free(&c1);
			capture_free(&c2);
		}
}

/* The trace's strategy field and version, read as JSON. */
static void trace_header(const char *path, char *strategy, size_t size, int *version)
{
	json_error_t e;
	json_t *d = json_load_file(path, 0, &e);
	if (!d)
		fail_msg("%s: %s", path, e.text);
	snprintf(strategy, size, "%s", json_string_value(json_object_get(d, "strategy")));
	*version = (int)json_integer_value(json_object_get(d, "version"));
	json_decref(d);
}

static void test_every_strategy_replays_exactly_from_its_trace(void **state)
{
	(void)state;
	struct shared sh;
	char path[256], strategy[64];
	int version;
	for (size_t i = 0; i < NSTRAT; i++)
		for (uint64_t seed = 1; seed <= 20; seed++) {
			snprintf(path, sizeof path, DIR_ "/replay-%zu.json", i);
			stp_stepper *a = free_run(all_strategies[i], seed, path, NULL, &sh);
			trace_header(path, strategy, sizeof strategy, &version);
			assert_int_equal(version, 2);
			/* "pct" is named with its default depth */
			assert_string_equal(strategy, strcmp(all_strategies[i], "pct") == 0
							      ? "pct:3"
							      : all_strategies[i]);
			/* replay needs no strategy: a different one is ignored */
			stp_stepper *b = free_run("pos", 999, NULL, path, &sh);
			char *ta = order_text(a), *tb = order_text(b);
			if (strcmp(ta, tb) != 0)
				fail_msg("%s seed %llu: the replay differs:\n%s\nand\n%s",
					 all_strategies[i], (unsigned long long)seed, ta, tb);
			free(ta);
			free(tb);
			stp_free(a);
			stp_free(b);
		}
}

static void test_a_declared_pct_run_writes_and_replays_a_version_2_trace(void **state)
{
	(void)state;
	char strategy[64];
	int version;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		stp_options o;
		stp_options_init(&o);
		o.seed = seed;
		o.strategy = "pct:2";
		o.trace = DIR_ "/declared.json";
		o.replay = NULL;
		stp_stepper *a = stp_new(&o);
		add_example(a);
		assert_int_equal(stp_run(a), 0);
		trace_header(o.trace, strategy, sizeof strategy, &version);
		assert_string_equal(strategy, "pct:2");
		assert_int_equal(version, 2);
		o.strategy = NULL;
		o.replay = DIR_ "/declared.json";
		o.trace = NULL;
		stp_stepper *b = stp_new(&o);
		add_example(b);
		if (stp_run(b) != 0)
			fail_msg("replay of seed %llu: %s", (unsigned long long)seed, errors_of(b));
		char *ta = order_text(a), *tb = order_text(b);
		assert_string_equal(ta, tb);
		free(ta);
		free(tb);
		stp_free(a);
		stp_free(b);
	}
}

/* A trace with its strategy field set to value. */
static void trace_with_strategy(const char *from, const char *to, const char *value)
{
	json_error_t e;
	json_t *d = json_load_file(from, 0, &e);
	assert_non_null(d);
	json_object_set_new(d, "strategy", json_string(value));
	assert_int_equal(json_dump_file(d, to, JSON_INDENT(2)), 0);
	json_decref(d);
}

static void test_a_trace_may_name_any_strategy_the_library_accepts(void **state)
{
	(void)state;
	struct shared sh;
	stp_free(free_run("pos", 3, DIR_ "/named.json", NULL, &sh));
	static const char *const good[] = { "random", "pct", "pct:1", "pct:100", "pos",
					    "replay", "explicit" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		trace_with_strategy(DIR_ "/named.json", DIR_ "/named2.json", good[i]);
		stp_trace_error e;
		stp_trace *t = stp_trace_load(DIR_ "/named2.json", &e);
		if (!t)
			fail_msg("'%s': %s", good[i], e.text);
		assert_string_equal(stp_trace_strategy(t), good[i]);
		stp_trace_free(t);
	}
	static const char *const wrong[] = { "pct:0", "pct:x", "bogus", "pos:3", "dfs:-1" };
	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
		trace_with_strategy(DIR_ "/named.json", DIR_ "/named2.json", wrong[i]);
		stp_trace_error e;
		assert_null(stp_trace_load(DIR_ "/named2.json", &e));
		char want[256];
		snprintf(want, sizeof want,
			 "expected \"replay\", \"explicit\", \"shrunk\" or a strategy (%s), "
			 "found \"%s\"",
			 stp_strategies(), wrong[i]);
		if (strcmp(e.text, want) != 0 || strcmp(e.path, "strategy") != 0)
			fail_msg("'%s': got %s: %s", wrong[i], e.path, e.text);
	}
}

/* ------------------------------------------------------------------ */
/* PCT's length over free threads, across a seed loop                  */
/* ------------------------------------------------------------------ */

static void count_steps(void *arg)
{
	int n = *(int *)arg;
	for (int i = 0; i < n; i++)
		STEP("tick");
}

/* Run k (from 1) of the loop: two free threads of 10*k steps. */
static int growing_body(stp_stepper *s, void *arg)
{
	int *k = arg;
	static int steps;
	steps = 10 * ++*k;
	stp_thread(s, "x", NULL, count_steps, &steps);
	stp_thread(s, "y", NULL, count_steps, &steps);
	return stp_run(s) == 0 ? 0 : 1;
}

/* The L of each run, from the debug log's "pct: depth D, length L (...)"
 * lines, and the decisions of each run (every decision line, forced ones
 * too). */
static size_t lengths_and_decisions(const char *log, size_t *len, char why[][64],
				    size_t *decisions, size_t max)
{
	size_t runs = 0;
	for (const char *p = log; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		unsigned long d;
		size_t l;
		int off = 0;
		if (sscanf(p, "pct: depth %lu, length %zu (%n", &d, &l, &off) == 2 && off &&
		    runs < max) {
			const char *close = strchr(p + off, ')');
			snprintf(why[runs], 64, "%.*s", (int)(close - (p + off)), p + off);
			len[runs] = l;
			decisions[runs++] = 0;
		} else if (runs && strncmp(p, "decision ", 9) == 0) {
			decisions[runs - 1]++;
		}
		p += n + (nl ? 1 : 0);
	}
	return runs;
}

/* Issue 12: L counts every decision of a run after its first, forced ones
 * too (a run's counted decisions shrink when a change point lets a thread
 * end early), and a loop's first run starts from 1 (it grows in the run)
 * instead of 100. */
static void test_pct_length_over_free_threads_is_every_decision_of_the_longest_run(void **state)
{
	(void)state;
	capture c;
	FILE *f = capture_open(&c);
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.first_seed = 1;
	lo.count = 3;
	lo.quiet = 1;
	lo.base.strategy = "pct";
	lo.base.debug = 1;
	lo.base.log = f;
	lo.base.trace = lo.base.replay = NULL;
	int k = 0;
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, growing_body, &k, &r), 0);
	size_t len[3], decisions[3];
	char why[3][64];
	const char *log = capture_text(&c);
	assert_int_equal(lengths_and_decisions(log, len, why, decisions, 3), 3);
	/* the first run: the default */
	assert_int_equal(len[0], 1);
	assert_string_equal(why[0], "the default for free threads");
	/* then the most decisions after the first of a run so far: it grows */
	assert_string_equal(why[1], "the longest run of this loop so far");
	assert_int_equal(decisions[0], 20); /* two threads of 10 steps each */
	assert_int_equal(len[1], decisions[0] - 1);
	assert_int_equal(len[2], decisions[1] - 1);
	assert_true(decisions[1] > decisions[0]);
	/* outside a loop: the default */
	capture_free(&c);
	f = capture_open(&c);
	stp_options o = lo.base;
	o.log = f;
	stp_stepper *s = stp_new(&o);
	int steps = 5;
	stp_thread(s, "x", NULL, count_steps, &steps);
	stp_thread(s, "y", NULL, count_steps, &steps);
	assert_int_equal(stp_run(s), 0);
	stp_free(s);
	assert_non_null(strstr(capture_text(&c), "pct: depth 3, length 1 (the default "
						 "for free threads)"));
	capture_free(&c);
}

/* A run that counts past L doubles it and draws the change points that
 * did not fit over the new part: a short first run meets all D-1 of them
 * (with the old default of 100 it met none). The run's first decision is
 * not counted: the first change point is at the second decision. */
static void test_pct_grows_length_within_a_run_and_places_the_points_left(void **state)
{
	(void)state;
	capture c;
	FILE *f = capture_open(&c);
	stp_options o;
	stp_options_init(&o);
	o.seed = 1;
	o.strategy = "pct:3";
	o.debug = 1;
	o.log = f;
	o.trace = o.replay = NULL;
	stp_stepper *s = stp_new(&o);
	int steps = 5;
	stp_thread(s, "x", NULL, count_steps, &steps);
	stp_thread(s, "y", NULL, count_steps, &steps);
	assert_int_equal(stp_run(s), 0);
	stp_free(s);
	const char *log = capture_text(&c);
	static const char *const want[] = {
		"pct: depth 3, length 1 (the default for free threads), change points 1;",
		"pct: change point 1 at decision 2: ",
		"pct: counted decision 2 passes length 1: length 2, change points 2 added\n",
		"pct: change point 2 at decision 3: ",
		"pct: counted decision 3 passes length 2: length 4, change points none added\n",
	};
	const char *at = log;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const char *p = strstr(at, want[i]);
		if (!p)
			fail_msg("no '%s' (in this order) in:\n%s", want[i], log);
		at = p + strlen(want[i]);
	}
	assert_null(strstr(log, "at decision 1:"));
	capture_free(&c);
}

/* One preemption at one spot late in a long run (zoo `rotate`'s shape):
 * [writer] closes and reopens its segment after record LATE_AT of
 * LATE_RECORDS; [flusher] must run exactly in between. When L was the most
 * counted decisions of a run, the change points kept it below ~100 (each
 * lowered the writer, the flusher ended, nothing more was counted), so
 * PCT never got there; with every decision in L it does. */
#define LATE_RECORDS 150
#define LATE_AT 120

struct late {
	atomic_int open;
};

static void late_writer(void *arg)
{
	struct late *j = arg;
	for (int i = 1; i <= LATE_RECORDS; i++) {
		STEP("append");
		if (i == LATE_AT) {
			STEP("close");
			atomic_store(&j->open, 0);
			STEP("open");
			atomic_store(&j->open, 1);
		}
	}
}

static void late_flusher(void *arg)
{
	struct late *j = arg;
	STEP("flush");
	STP_CHECK(atomic_load(&j->open));
}

static int late_body(stp_stepper *s, void *arg)
{
	(void)arg;
	static struct late j;
	atomic_store(&j.open, 1);
	stp_thread(s, "flusher", NULL, late_flusher, &j);
	stp_thread(s, "writer", NULL, late_writer, &j);
	return stp_run(s) != 0;
}

static void test_pct_finds_a_preemption_late_in_a_long_run(void **state)
{
	(void)state;
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.first_seed = 1;
	lo.count = 3000;
	lo.quiet = 1;
	lo.name = "late preemption";
	lo.base.strategy = "pct:3";
	lo.base.trace = lo.base.replay = NULL;
	lo.base.trace_dir = DIR_;
	stp_loop_result r;
	int rc = stp_loop(&lo, late_body, NULL, &r);
	printf("pct:3 found the late preemption at seed %llu\n",
	       (unsigned long long)r.failed_seed);
	assert_int_equal(rc, 1);
}

/* ------------------------------------------------------------------ */
/* Bad strategy strings                                                */
/* ------------------------------------------------------------------ */

static const struct {
	const char *value, *says;
} bad[] = {
	{ "pct:0", "strategy 'pct:0' has D '0', not a number from 1 to 100" },
	{ "pct:x", "strategy 'pct:x' has D 'x', not a number from 1 to 100" },
	{ "pct:101", "strategy 'pct:101' has D '101', not a number from 1 to 100" },
	{ "pct:", "strategy 'pct:' has D '', not a number from 1 to 100" },
	{ "bogus", "strategy 'bogus' is not a strategy" },
	{ "PCT", "strategy 'PCT' is not a strategy" },
	{ "pos:3", "strategy 'pos:3' takes no parameter" },
};

/* What every refusal ends with: the accepted strategies. */
static const char *accepted(void)
{
	static char buf[300];
	snprintf(buf, sizeof buf, "; accepted: %s", stp_strategies());
	return buf;
}

static void test_a_bad_strategy_option_is_refused_naming_value_and_accepted(void **state)
{
	(void)state;
	char want[640];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(want, sizeof want, "%s%s", bad[i].says, accepted());
		stp_stepper *s = stepper_with(bad[i].value, 1);
		add_example(s);
		assert_int_equal(stp_interleave(s), STP_EINVAL);
		assert_int_equal(stp_error_count(s), 1);
		if (!strstr(stp_error(s, 0), want))
			fail_msg("'%s': got '%s', expected '%s'", bad[i].value, stp_error(s, 0),
				 want);
		stp_free(s);
		s = stepper_with(bad[i].value, 1);
		add_example(s);
		assert_int_equal(stp_run(s), STP_EINVAL);
		stp_free(s);
		char why[256];
		assert_int_equal(stp_strategy_check(bad[i].value, why, sizeof why), STP_EINVAL);
		assert_non_null(strstr(why, want));
	}
	assert_int_equal(stp_strategy_check("pct:100", NULL, 0), 0);
	assert_int_equal(stp_strategy_check(NULL, NULL, 0), 0);
	/* the line lists them all (dfs may come in between) */
	assert_true(strncmp(stp_strategies(), "random, pct, pct:D (D >= 1), ", 29) == 0);
	assert_non_null(strstr(stp_strategies(), ", pos"));
}

static int never_body(stp_stepper *s, void *arg)
{
	(void)s;
	++*(int *)arg;
	return 0;
}

static void test_a_bad_STEPPER_STRATEGY_stops_a_loop_before_any_seed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv("STEPPER_STRATEGY", bad[i].value, 1);
		capture c;
		stp_loop_options lo;
		stp_loop_options_init(&lo);
		lo.out = capture_open(&c);
		lo.count = 5;
		int ran = 0;
		assert_int_equal(stp_loop(&lo, never_body, &ran, NULL), STP_EINVAL);
		assert_int_equal(ran, 0);
		char want[640];
		snprintf(want, sizeof want, "stepper: STEPPER_STRATEGY: %s%s; no seed was run\n",
			 bad[i].says, accepted());
		assert_string_equal(capture_text(&c), want);
		capture_free(&c);
	}
	unsetenv("STEPPER_STRATEGY");
}

static int strategy_body(stp_stepper *s, void *arg)
{
	snprintf(arg, 32, "%s", stp_get_options(s)->strategy);
	add_example(s);
	return stp_run(s) == 0 ? 0 : 1;
}

static void test_STEPPER_STRATEGY_picks_the_strategy_of_a_loop(void **state)
{
	(void)state;
	setenv("STEPPER_STRATEGY", "pos", 1);
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.quiet = 1;
	lo.count = 3;
	char seen[32] = "";
	assert_int_equal(stp_loop(&lo, strategy_body, seen, NULL), 0);
	assert_string_equal(seen, "pos");
	unsetenv("STEPPER_STRATEGY");
}

/* ------------------------------------------------------------------ */
/* The command line                                                    */
/* ------------------------------------------------------------------ */

static int child_main(void)
{
	stp_options o;
	stp_options_init(&o); /* STEPPER_SEED, STEPPER_STRATEGY, STEPPER_TRACE */
	stp_stepper *s = stp_new(&o);
	add_example(s);
	int rc = stp_run(s);
	printf("child: strategy %s, seed %llu\n", o.strategy ? o.strategy : "(none)",
	       (unsigned long long)o.seed);
	if (rc == 0 && getenv("CHILD_FAIL"))
		stp_add_error(s, "failing on purpose");
	for (size_t i = 0; i < stp_error_count(s); i++)
		printf("child: error: %s\n", stp_error(s, i));
	int failed = stp_error_count(s) != 0;
	stp_free(s);
	return failed;
}

static void test_stepper_run_refuses_a_bad_strategy_with_usage_exit(void **state)
{
	(void)state;
	char cmd[8192], want[640];
	int status;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(cmd, sizeof cmd, "%s/bin/stepper run --strategy '%s' -n 2 -- %s --child",
			 bdir(), bad[i].value, self_path);
		char *out = command_output(cmd, &status);
		assert_int_equal(status, 2);
		snprintf(want, sizeof want, "stepper: --strategy: %s%s", bad[i].says, accepted());
		if (!strstr(out, want))
			fail_msg("%s: expected '%s' in:\n%s", cmd, want, out);
		free(out);
	}
	/* an inherited one is checked too */
	snprintf(cmd, sizeof cmd, "STEPPER_STRATEGY=bogus %s/bin/stepper run -n 2 -- %s --child",
		 bdir(), self_path);
	char *out = command_output(cmd, &status);
	assert_int_equal(status, 2);
	snprintf(want, sizeof want, "stepper: STEPPER_STRATEGY: strategy 'bogus' is not a "
				    "strategy%s", accepted());
	assert_non_null(strstr(out, want));
	free(out);
}

/* The kept trace of a seed, from the summary's "replay: ... replay PATH --". */
static char *kept_trace(const char *out, uint64_t seed)
{
	char key[64];
	snprintf(key, sizeof key, "  seed %llu:", (unsigned long long)seed);
	const char *p = strstr(out, key);
	assert_non_null(p);
	p = strstr(p, "    replay: "); /* "    replay: STEPPER replay PATH -- CMD" */
	assert_non_null(p);
	p = strstr(p + 12, " replay ");
	assert_non_null(p);
	p += 8;
	const char *end = strstr(p, " -- ");
	assert_non_null(end);
	return strndup(p, (size_t)(end - p));
}

static void test_stepper_run_strategy_reaches_the_runs_and_show_names_it(void **state)
{
	(void)state;
	char cmd[8192];
	int status;
	snprintf(cmd, sizeof cmd,
		 "CHILD_FAIL=1 %s/bin/stepper run --strategy pct:2 -n 3 -j 1 "
		 "--trace-dir " DIR_ " -- %s --child",
		 bdir(), self_path);
	char *out = command_output(cmd, &status);
	assert_int_equal(status, 1);
	if (!strstr(out, "seeds 1..3, STEPPER_STRATEGY=pct:2, 1 at a time"))
		fail_msg("no strategy in the header:\n%s", out);
	assert_non_null(strstr(out, "3 failed with STEPPER_STRATEGY=pct:2 in "));
	char *trace = kept_trace(out, 2);
	snprintf(cmd, sizeof cmd, "%s/bin/stepper show %s", bdir(), trace);
	char *shown = command_output(cmd, &status);
	assert_int_equal(status, 0);
	if (!strstr(shown, "strategy: pct:2\n") || !strstr(shown, "seed:     2\n"))
		fail_msg("stepper show:\n%s", shown);
	/* the child saw it */
	char *log = strdup(trace);
	strcpy(log + strlen(log) - 4, "log");
	char *text = read_file(log);
	assert_non_null(text);
	assert_non_null(strstr(text, "child: strategy pct:2, seed 2"));
	/* the replay needs no strategy (stepper replay sets none) */
	snprintf(cmd, sizeof cmd, "CHILD_FAIL=1 %s/bin/stepper replay %s -- %s --child",
		 bdir(), trace, self_path);
	char *replayed = command_output(cmd, &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(replayed, "child: strategy (none)"));
	if (!strstr(replayed, "verdict: reproduced"))
		fail_msg("%s:\n%s", cmd, replayed);
	free(replayed);
	free(text);
	free(log);
	free(shown);
	free(trace);
	free(out);
	/* the help lists the strategies */
	snprintf(cmd, sizeof cmd, "%s/bin/stepper run --help", bdir());
	out = command_output(cmd, &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(out, "--strategy S"));
	char want[640];
	snprintf(want, sizeof want, "Strategies: %s.\n", stp_strategies());
	assert_non_null(strstr(out, want));
	free(out);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--child") == 0)
		return child_main();
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
	if (n > 0)
		self_path[n] = '\0';
	unsetenv("STEPPER_STRATEGY");
	mkdir("build", 0777);
	mkdir(DIR_, 0777);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_schedules_of_seeds_1_to_5_for_each_strategy),
		cmocka_unit_test(test_pct_priorities_and_change_points_match_gen_pct),
		cmocka_unit_test(test_pos_redraws_match_gen_pct),
		cmocka_unit_test(test_pos_redraws_exactly_the_conflicting_operations),
		cmocka_unit_test(test_pct_3_finds_a_depth_3_bug_that_random_misses),
		cmocka_unit_test(test_every_strategy_gives_the_same_schedule_for_the_same_seed),
		cmocka_unit_test(test_every_strategy_replays_exactly_from_its_trace),
		cmocka_unit_test(test_a_declared_pct_run_writes_and_replays_a_version_2_trace),
		cmocka_unit_test(test_a_trace_may_name_any_strategy_the_library_accepts),
		cmocka_unit_test(test_pct_length_over_free_threads_is_every_decision_of_the_longest_run),
		cmocka_unit_test(test_pct_grows_length_within_a_run_and_places_the_points_left),
		cmocka_unit_test(test_pct_finds_a_preemption_late_in_a_long_run),
		cmocka_unit_test(test_a_bad_strategy_option_is_refused_naming_value_and_accepted),
		cmocka_unit_test(test_a_bad_STEPPER_STRATEGY_stops_a_loop_before_any_seed),
		cmocka_unit_test(test_STEPPER_STRATEGY_picks_the_strategy_of_a_loop),
		cmocka_unit_test(test_stepper_run_refuses_a_bad_strategy_with_usage_exit),
		cmocka_unit_test(test_stepper_run_strategy_reaches_the_runs_and_show_names_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
