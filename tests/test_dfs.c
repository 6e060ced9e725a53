/*
 * test_dfs.c - the dfs strategy: every schedule exactly once, bounded to B
 * preemptions, counted against an independent enumeration; blocking,
 * deadlocks, a failure found and replayed; what the loop says; bad
 * strategy strings; `stepper run` refusing dfs.
 *
 * The expected counts come from enumerating the interleavings here, with
 * a model of the points (steps, locks, unlocks) and of what a preemption
 * is: a pick other than the thread that reached its next point while that
 * thread could go on. The first decision of a run is taken by the last
 * thread whose prefix ran (the last registered): picking another there is
 * a preemption too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/stepper.h>
#include <stepper/trace.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "examples/bank.h"
#include "helpers.h"

#ifdef __SANITIZE_THREAD__
/* dfs takes the AB/BA program's mutexes in both orders on purpose (that is
 * the deadlock it must find); in the schedules where it does not happen
 * TSan would report the inversion as a potential deadlock of this binary.
 * Data races are still reported. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "detect_deadlocks=0";
}
#endif

#define DIR "build/test-dfs"
#define MAXT 4
#define MAXOPS 8
#define MAXRUNS 4096
#define MAXLEN 64

/* ------------------------------------------------------------------ */
/* The model: threads as lists of points, enumerated                   */
/* ------------------------------------------------------------------ */

enum mop { M_STEP, M_LOCK, M_UNLOCK };

struct model {
	int n;
	int nops[MAXT];
	enum mop op[MAXT][MAXOPS];
	int obj[MAXT][MAXOPS]; /* the mutex of a lock or unlock */
};

/* What the enumeration found: schedules (leaves) by preemptions, the
 * deadlocks among them, and each schedule's decisions. */
struct space {
	uint64_t by_p[MAXLEN];
	uint64_t deadlocks_by_p[MAXLEN];
	size_t n;
	int seq[MAXRUNS][MAXLEN];
	int len[MAXRUNS];
	int preemptions[MAXRUNS];
};

struct walk {
	const struct model *m;
	int pc[MAXT];
	int owner[MAXT];
	int seq[MAXLEN];
	int len;
};

static int can_go(const struct walk *w, int t)
{
	const struct model *m = w->m;
	if (w->pc[t] >= m->nops[t])
		return 0;
	return m->op[t][w->pc[t]] != M_LOCK || w->owner[m->obj[t][w->pc[t]]] < 0;
}

static void leaf(struct space *sp, const struct walk *w, int p, int deadlock)
{
	sp->by_p[p]++;
	if (deadlock)
		sp->deadlocks_by_p[p]++;
	assert_true(sp->n < MAXRUNS);
	memcpy(sp->seq[sp->n], w->seq, (size_t)w->len * sizeof w->seq[0]);
	sp->len[sp->n] = w->len;
	sp->preemptions[sp->n] = p;
	sp->n++;
}

/* Every continuation from here: cur reached its next point (or ended),
 * p preemptions so far. */
static void enumerate(struct space *sp, struct walk *w, int cur, int p)
{
	const struct model *m = w->m;
	int live = 0, en[MAXT], n = 0;
	for (int t = 0; t < m->n; t++) {
		live += w->pc[t] < m->nops[t];
		if (can_go(w, t))
			en[n++] = t;
	}
	if (n == 0) {
		leaf(sp, w, p, live > 0);
		return;
	}
	int cur_on = can_go(w, cur);
	for (int k = 0; k < n; k++) {
		int t = en[k], pc = w->pc[t], o = m->obj[t][pc];
		int saved = w->owner[o];
		if (m->op[t][pc] == M_LOCK)
			w->owner[o] = t;
		else if (m->op[t][pc] == M_UNLOCK)
			w->owner[o] = -1;
		w->pc[t]++;
		assert_true(w->len < MAXLEN);
		w->seq[w->len++] = t;
		enumerate(sp, w, t, p + (cur_on && t != cur));
		w->len--;
		w->pc[t]--;
		w->owner[o] = saved;
	}
}

static void explore_model(const struct model *m, struct space *sp)
{
	memset(sp, 0, sizeof *sp);
	struct walk w = { .m = m };
	for (int i = 0; i < MAXT; i++)
		w.owner[i] = -1;
	enumerate(sp, &w, m->n - 1, 0); /* the last prefix decides first */
}

/* Schedules with at most b preemptions (b < 0: all). */
static uint64_t within(const struct space *sp, int b)
{
	uint64_t n = 0;
	for (int p = 0; p < MAXLEN; p++)
		if (b < 0 || p <= b)
			n += sp->by_p[p];
	return n;
}

/* n threads of k steps each, declared. */
static struct model steps_model(int n, int k)
{
	struct model m = { .n = n };
	for (int t = 0; t < n; t++)
		m.nops[t] = k;
	return m;
}

/* ------------------------------------------------------------------ */
/* What the loop ran                                                   */
/* ------------------------------------------------------------------ */

static struct ran {
	size_t n;
	int seq[MAXRUNS][MAXLEN];
	int len[MAXRUNS];
} ran;

/* Keep the order a run made (its decisions, lock points included). */
static void keep(stp_stepper *s)
{
	size_t n;
	const int *sched = stp_schedule(s, &n);
	assert_non_null(sched);
	assert_true(ran.n < MAXRUNS && n <= MAXLEN);
	memcpy(ran.seq[ran.n], sched, n * sizeof *sched);
	ran.len[ran.n] = (int)n;
	ran.n++;
}

static int same_seq(const int *a, int na, const int *b, int nb)
{
	return na == nb && memcmp(a, b, (size_t)na * sizeof *a) == 0;
}

/* The runs are distinct and are exactly the model's schedules with at
 * most b preemptions, in rounds: never fewer preemptions than the run
 * before. */
static void expect_runs_are(const struct space *sp, int b)
{
	assert_int_equal(ran.n, within(sp, b));
	int last = 0;
	for (size_t i = 0; i < ran.n; i++) {
		for (size_t j = 0; j < i; j++)
			if (same_seq(ran.seq[i], ran.len[i], ran.seq[j], ran.len[j]))
				fail_msg("runs %zu and %zu made the same schedule", j + 1, i + 1);
		size_t k = 0;
		while (k < sp->n && !same_seq(ran.seq[i], ran.len[i], sp->seq[k], sp->len[k]))
			k++;
		if (k == sp->n)
			fail_msg("run %zu made a schedule the model does not have", i + 1);
		int p = sp->preemptions[k];
		if (b >= 0 && p > b)
			fail_msg("run %zu has %d preemptions, over the bound %d", i + 1, p, b);
		if (p < last)
			fail_msg("run %zu has %d preemptions, after a run with %d", i + 1, p, last);
		last = p;
	}
}

static stp_loop_options dfs_loop(const char *strategy, uint64_t first, uint64_t count,
				 FILE *out)
{
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.first_seed = first;
	lo.count = count;
	lo.out = out;
	lo.quiet = out == NULL;
	lo.name = "dfs";
	lo.base.strategy = strategy;
	lo.base.trace_dir = DIR;
	return lo;
}

#define CONTAINS(hay, needle)                                                \
	do {                                                                 \
		if (!strstr((hay), (needle)))                                \
			fail_msg("output lacks \"%s\":\n%s", (needle), (hay)); \
	} while (0)

/* ------------------------------------------------------------------ */
/* Declared steps                                                      */
/* ------------------------------------------------------------------ */

static void three_steps(void *arg)
{
	(void)arg;
	STEP("a");
	STEP("b");
	STEP("c");
}

static void two_steps(void *arg)
{
	(void)arg;
	STEP("a");
	STEP("b");
}

static const char *const abc[] = { "a", "b", "c", NULL };
static const char *const a_b[] = { "a", "b", NULL };

/* arg: the thread count; 2 threads of 3 steps, or 3 of 2. */
static int steps_body(stp_stepper *s, void *arg)
{
	int n = *(int *)arg;
	static const char *const names[] = { "t0", "t1", "t2" };
	for (int i = 0; i < n; i++)
		stp_thread(s, names[i], n == 2 ? abc : a_b, n == 2 ? three_steps : two_steps,
			   NULL);
	int rc = stp_run(s);
	keep(s);
	return rc;
}

static void test_two_threads_of_three_steps_make_exactly_20_schedules(void **state)
{
	(void)state;
	struct space *sp = malloc(sizeof *sp);
	struct model m = steps_model(2, 3);
	explore_model(&m, sp);
	assert_int_equal(within(sp, -1), 20);
	capture c;
	stp_loop_options lo = dfs_loop("dfs", 1, 1000, capture_open(&c));
	stp_loop_result r;
	int two = 2;
	ran.n = 0;
	assert_int_equal(stp_loop(&lo, steps_body, &two, &r), 0);
	assert_int_equal(r.tried, 20);
	expect_runs_are(sp, -1);
	CONTAINS(capture_text(&c),
		 "stepper: dfs: explored all 20 schedules (no preemption bound): none failed");
	capture_free(&c);
	free(sp);
}

/* dfs:B runs the schedules with at most B preemptions, no other. */
static void expect_bounded(int threads, int steps, int b, uint64_t expected)
{
	struct space *sp = malloc(sizeof *sp);
	struct model m = steps_model(threads, steps);
	explore_model(&m, sp);
	assert_int_equal(within(sp, b), expected);
	char strategy[16], want[128];
	snprintf(strategy, sizeof strategy, "dfs:%d", b);
	capture c;
	stp_loop_options lo = dfs_loop(strategy, 1, 1000, capture_open(&c));
	stp_loop_result r;
	ran.n = 0;
	assert_int_equal(stp_loop(&lo, steps_body, &threads, &r), 0);
	assert_int_equal(r.tried, expected);
	expect_runs_are(sp, b);
	snprintf(want, sizeof want,
		 "explored all %llu schedule%s (at most %d preemption%s): none failed",
		 (unsigned long long)expected, expected == 1 ? "" : "s", b,
		 b == 1 ? "" : "s");
	CONTAINS(capture_text(&c), want);
	capture_free(&c);
	free(sp);
}

static void test_bounds_0_and_1_make_exactly_the_schedules_within_them(void **state)
{
	(void)state;
	/* 2 x 3 steps: t1 decides first (its prefix ran last), so starting
	 * with t0 preempts it; after that every switch but the last (when the
	 * thread switched from has ended) is one: 1 schedule with none, 3
	 * with one, 6, 6, 3, 1. */
	expect_bounded(2, 3, 0, 1);
	expect_bounded(2, 3, 1, 4);
	expect_bounded(2, 3, 2, 10);
	expect_bounded(2, 3, 5, 20);
}

static void test_three_threads_count_per_bound_as_the_enumeration(void **state)
{
	(void)state;
	struct space *sp = malloc(sizeof *sp);
	struct model m = steps_model(3, 2);
	explore_model(&m, sp);
	assert_int_equal(within(sp, -1), 90); /* 6! / (2! 2! 2!) */
	for (int b = 0; b <= 3; b++)
		expect_bounded(3, 2, b, within(sp, b));
	capture c;
	stp_loop_options lo = dfs_loop("dfs", 1, 1000, capture_open(&c));
	int three = 3;
	ran.n = 0;
	assert_int_equal(stp_loop(&lo, steps_body, &three, NULL), 0);
	expect_runs_are(sp, -1);
	CONTAINS(capture_text(&c), "explored all 90 schedules (no preemption bound)");
	capture_free(&c);
	free(sp);
}

/* The seed plays no part: another range makes the same schedules in the
 * same order. */
static void test_the_seed_range_does_not_change_the_schedules(void **state)
{
	(void)state;
	static struct ran first;
	int two = 2;
	stp_loop_options lo = dfs_loop("dfs:2", 1, 1000, NULL);
	ran.n = 0;
	assert_int_equal(stp_loop(&lo, steps_body, &two, NULL), 0);
	first = ran;
	lo = dfs_loop("dfs:2", 987654321, 1000, NULL);
	ran.n = 0;
	assert_int_equal(stp_loop(&lo, steps_body, &two, NULL), 0);
	assert_int_equal(ran.n, first.n);
	for (size_t i = 0; i < ran.n; i++)
		assert_true(same_seq(ran.seq[i], ran.len[i], first.seq[i], first.len[i]));
}

/* Outside a loop dfs runs the first schedule: the default policy. */
static void test_outside_a_loop_dfs_runs_the_first_schedule(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 5; seed++) {
		stp_options o;
		stp_options_init(&o);
		o.seed = seed;
		o.strategy = "dfs:3";
		stp_stepper *s = stp_new(&o);
		int two = 2;
		ran.n = 0;
		assert_int_equal(steps_body(s, &two), 0);
		static const int first[] = { 1, 1, 1, 0, 0, 0 };
		assert_true(same_seq(ran.seq[0], ran.len[0], first, 6));
		stp_free(s);
	}
}

/* When the loop's count runs out first, it says how far it got. */
static void expect_partial(const char *strategy, int threads, uint64_t count,
			   const char *want)
{
	capture c;
	stp_loop_options lo = dfs_loop(strategy, 1, count, capture_open(&c));
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, steps_body, &threads, &r), 0);
	assert_int_equal(r.tried, count);
	CONTAINS(capture_text(&c), want);
	capture_free(&c);
}

static void test_a_count_shorter_than_the_space_says_it_is_not_exhausted(void **state)
{
	(void)state;
	/* 2 x 3 steps: 1 schedule with no preemption, 3 with one, 6 with two */
	expect_partial("dfs", 2, 7,
		       "stepper: dfs: explored 7 schedules (no preemption bound): none "
		       "failed; the space is not exhausted: all 4 schedules with at most 1 "
		       "preemption and 3 of those with 2 (a longer seed range explores "
		       "more), in ");
	expect_partial("dfs:1", 2, 4, "stepper: dfs: explored all 4 schedules (at most 1 "
				      "preemption): none failed, in ");
	expect_partial("dfs:2", 2, 1,
		       "stepper: dfs: explored 1 schedule (at most 2 preemptions): none "
		       "failed; the space is not exhausted: those are all the schedules with "
		       "at most 0 preemptions (a longer seed range explores more), in ");
	/* 3 x 2 steps: t2 first, then t0 or t1: 2 schedules with none */
	expect_partial("dfs", 3, 1,
		       "stepper: dfs: explored 1 schedule (no preemption bound): none failed; "
		       "the space is not exhausted: 1 of the schedules with no preemption (a "
		       "longer seed range explores more), in ");
}

/* The library's cap on the queue of the next round (stepper/dfs.h), which
 * this test lowers. */
extern size_t stp__dfs_queue_max;

/* Past the cap the search ends with its round, and never claims the
 * space. */
static void test_a_full_queue_ends_the_search_without_claiming_the_space(void **state)
{
	(void)state;
	struct space *sp = malloc(sizeof *sp);
	struct model m = steps_model(2, 3);
	explore_model(&m, sp);
	size_t saved = stp__dfs_queue_max;
	stp__dfs_queue_max = 40; /* the 3 schedules with 1 preemption fit, not the 6 with 2 */
	capture c;
	stp_loop_options lo = dfs_loop("dfs", 1, 1000, capture_open(&c));
	stp_loop_result r;
	int two = 2;
	ran.n = 0;
	int rc = stp_loop(&lo, steps_body, &two, &r);
	stp__dfs_queue_max = saved;
	assert_int_equal(rc, 0);
	assert_int_equal(r.tried, within(sp, 1));
	expect_runs_are(sp, 1);
	CONTAINS(capture_text(&c),
		 "stepper: dfs: explored 4 schedules (no preemption bound): none failed; the "
		 "space is not exhausted: those are all the schedules with at most 1 "
		 "preemption, and the ones with more were too many to queue, in ");
	capture_free(&c);
	free(sp);
}

/* ------------------------------------------------------------------ */
/* Free threads with locks                                             */
/* ------------------------------------------------------------------ */

struct locks {
	pthread_mutex_t a, b;
};

static struct locks locks;

static void in_a(void *arg)
{
	(void)arg;
	stp_mutex_lock(&locks.a);
	STEP("in");
	stp_mutex_unlock(&locks.a);
}

static void outside(void *arg)
{
	(void)arg;
	STEP("x");
	STEP("y");
}

static int lock_body(stp_stepper *s, void *arg)
{
	(void)arg;
	stp_thread(s, "p", NULL, in_a, NULL);
	stp_thread(s, "q", NULL, in_a, NULL);
	stp_thread(s, "r", NULL, outside, NULL);
	int rc = stp_run(s);
	keep(s);
	return rc;
}

static struct model lock_model(void)
{
	struct model m = { .n = 3, .nops = { 3, 3, 2 } };
	for (int t = 0; t < 2; t++) {
		m.op[t][0] = M_LOCK;
		m.op[t][1] = M_STEP;
		m.op[t][2] = M_UNLOCK;
	}
	return m;
}

/* Every bound's runs are exactly the model's schedules within it. */
static void expect_space(const struct model *m, stp_body_fn body)
{
	struct space *sp = malloc(sizeof *sp);
	explore_model(m, sp);
	assert_int_equal(sp->deadlocks_by_p[0] + sp->deadlocks_by_p[1], 0);
	for (int b = -1; b <= 2; b++) {
		char strategy[16], want[128];
		snprintf(strategy, sizeof strategy, b < 0 ? "dfs" : "dfs:%d", b);
		capture c;
		stp_loop_options lo = dfs_loop(strategy, 1, 10000, capture_open(&c));
		stp_loop_result r;
		ran.n = 0;
		assert_int_equal(stp_loop(&lo, body, NULL, &r), 0);
		expect_runs_are(sp, b);
		uint64_t n = within(sp, b);
		snprintf(want, sizeof want, "explored all %llu schedule%s (",
			 (unsigned long long)n, n == 1 ? "" : "s");
		CONTAINS(capture_text(&c), want);
		capture_free(&c);
	}
	free(sp);
}

/* A thread that waits for the mutex is not a branch: the space has only
 * the schedules blocking allows, each once. */
static void test_free_threads_with_a_lock_count_as_the_enumeration(void **state)
{
	(void)state;
	pthread_mutex_init(&locks.a, NULL);
	struct model m = lock_model();
	expect_space(&m, lock_body);
	pthread_mutex_destroy(&locks.a);
}

/* bank.h's fixed deposit: declared steps, the read and the write under
 * the mutex (begin, lock, read, write, unlock, audit). */
static int fixed_kept_body(stp_stepper *s, void *arg)
{
	int rc = fixed_body(s, arg);
	keep(s);
	return rc || stp_error_count(s);
}

static void test_declared_threads_with_a_lock_count_as_the_enumeration(void **state)
{
	(void)state;
	struct model m = { .n = 2, .nops = { 6, 6 } };
	static const enum mop ops[] = { M_STEP, M_LOCK, M_STEP, M_STEP, M_UNLOCK, M_STEP };
	for (int t = 0; t < 2; t++)
		memcpy(m.op[t], ops, sizeof ops);
	expect_space(&m, fixed_kept_body);
}

static void lock_ab(void *arg)
{
	(void)arg;
	stp_mutex_lock(&locks.a);
	stp_mutex_lock(&locks.b);
	stp_mutex_unlock(&locks.b);
	stp_mutex_unlock(&locks.a);
}

static void lock_ba(void *arg)
{
	(void)arg;
	stp_mutex_lock(&locks.b);
	stp_mutex_lock(&locks.a);
	stp_mutex_unlock(&locks.a);
	stp_mutex_unlock(&locks.b);
}

static int abba_body(stp_stepper *s, void *arg)
{
	(void)arg;
	pthread_mutex_init(&locks.a, NULL);
	pthread_mutex_init(&locks.b, NULL);
	stp_thread(s, "ab", NULL, lock_ab, NULL);
	stp_thread(s, "ba", NULL, lock_ba, NULL);
	int rc = stp_run(s);
	pthread_mutex_destroy(&locks.a);
	pthread_mutex_destroy(&locks.b);
	return rc;
}

static struct model abba_model(void)
{
	struct model m = { .n = 2, .nops = { 4, 4 } };
	static const enum mop ops[] = { M_LOCK, M_LOCK, M_UNLOCK, M_UNLOCK };
	static const int objs[2][4] = { { 0, 1, 1, 0 }, { 1, 0, 0, 1 } };
	for (int t = 0; t < 2; t++)
		for (int k = 0; k < 4; k++) {
			m.op[t][k] = ops[k];
			m.obj[t][k] = objs[t][k];
		}
	return m;
}

static int has_error(stp_stepper *s, const char *text)
{
	for (size_t i = 0; i < stp_error_count(s); i++)
		if (strstr(stp_error(s, i), text))
			return 1;
	return 0;
}

/* AB/BA needs one preemption: dfs:0 proves the space within that bound
 * clean, dfs finds the deadlock in the next round, and its trace
 * replays it. */
static void test_ab_ba_deadlock_is_found_with_one_preemption_and_replays(void **state)
{
	(void)state;
	struct space *sp = malloc(sizeof *sp);
	struct model m = abba_model();
	explore_model(&m, sp);
	assert_int_equal(sp->deadlocks_by_p[0], 0);
	assert_true(sp->deadlocks_by_p[1] > 0);
	capture c;
	stp_loop_options lo = dfs_loop("dfs:0", 1, 1000, capture_open(&c));
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, abba_body, NULL, &r), 0);
	assert_int_equal(r.tried, within(sp, 0));
	CONTAINS(capture_text(&c), "(at most 0 preemptions): none failed");
	capture_free(&c);

	lo = dfs_loop("dfs", 1, 1000, capture_open(&c));
	assert_int_equal(stp_loop(&lo, abba_body, NULL, &r), 1);
	assert_true(r.tried > within(sp, 0) && r.tried <= within(sp, 1));
	const char *out = capture_text(&c);
	CONTAINS(out, "schedules (range 1..1000); dfs, no preemption bound: this schedule "
		      "has 1 preemption, every schedule with fewer passed\n");
	CONTAINS(out, "  error: deadlock: a cycle of threads");
	CONTAINS(out, "replay: STEPPER_REPLAY=");
	capture_free(&c);

	stp_trace *t = stp_trace_load(r.trace_path, NULL);
	assert_non_null(t);
	assert_string_equal(stp_trace_strategy(t), "dfs");
	assert_string_equal(stp_trace_outcome(t), "deadlock");
	stp_trace_free(t);
	for (int i = 0; i < 20; i++) {
		stp_options o;
		stp_options_init(&o);
		o.replay = r.trace_path;
		stp_stepper *s = stp_new(&o);
		assert_true(abba_body(s, NULL) > 0);
		assert_true(has_error(s, "deadlock: a cycle of threads"));
		stp_free(s);
	}
	free(sp);
}

/* ------------------------------------------------------------------ */
/* A failing program                                                   */
/* ------------------------------------------------------------------ */

/* The lost update needs one preemption: the schedule without (bob, who
 * decides first, then alice) passes, and the round with one finds it at
 * its third schedule (bob preempted at 'write balance', after his read).
 * Its trace replays. */
static void test_the_lost_update_is_the_first_failure_and_replays(void **state)
{
	(void)state;
	capture c;
	stp_loop_options lo = dfs_loop("dfs:1", 1, 1000, capture_open(&c));
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, racy_body, NULL, &r), 1);
	assert_int_equal(r.tried, 4);
	assert_int_equal(r.failed_seed, 4);
	const char *out = capture_text(&c);
	CONTAINS(out, "stepper: dfs: seed 4 failed after 4 schedules (range 1..1000); dfs, "
		      "at most 1 preemption: this schedule has 1 preemption, every schedule "
		      "with fewer passed\n");
	CONTAINS(out, "  error: balance is 170, expected 220 (100 + 50 + 70)\n");
	capture_free(&c);

	stp_trace *t = stp_trace_load(r.trace_path, NULL);
	assert_non_null(t);
	assert_string_equal(stp_trace_strategy(t), "dfs:1");
	static const int order[] = { 1, 1, 0, 0, 0, 0, 1, 1 };
	assert_int_equal(stp_trace_schedule_length(t), 8);
	for (size_t k = 0; k < 8; k++)
		assert_int_equal(stp_trace_entry_thread(t, k), order[k]);
	stp_trace_free(t);

	for (int i = 0; i < 20; i++) {
		stp_options o;
		stp_options_init(&o);
		o.replay = r.trace_path;
		stp_stepper *s = stp_new(&o);
		assert_int_equal(racy_body(s, NULL), 0);
		assert_true(has_error(s, "balance is 170, expected 220"));
		stp_free(s);
	}
	/* dfs:0 proves nothing about it: the schedule without a preemption
	 * passes. */
	lo = dfs_loop("dfs:0", 1, 1000, capture_open(&c));
	assert_int_equal(stp_loop(&lo, racy_body, NULL, &r), 0);
	CONTAINS(capture_text(&c), "explored all 1 schedule (at most 0 preemptions): none "
				   "failed");
	capture_free(&c);
	/* ...and the fix passes the whole space. */
	lo = dfs_loop("dfs", 1, 100000, capture_open(&c));
	assert_int_equal(stp_loop(&lo, fixed_body, NULL, &r), 0);
	CONTAINS(capture_text(&c), "schedules (no preemption bound): none failed");
	assert_non_null(strstr(capture_text(&c), "explored all "));
	capture_free(&c);
}

/* Without a trace, schedule N comes back only by exploring the ones
 * before it: the report says to rerun the range up to it. */
static void test_without_a_trace_the_rerun_line_names_the_range(void **state)
{
	(void)state;
	capture c, log;
	stp_loop_options lo = dfs_loop("dfs", 1, 1000, capture_open(&c));
	lo.base.trace = "build/test-dfs-no-such-dir/sub/t.json";
	lo.base.log = capture_open(&log);
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, racy_body, NULL, &r), 1);
	assert_string_equal(r.trace_path, "");
	const char *out = capture_text(&c);
	char want[128];
	snprintf(want, sizeof want, "\nrerun: STEPPER_SEEDS=1..%llu ",
		 (unsigned long long)r.failed_seed);
	CONTAINS(out, want);
	assert_null(strstr(out, "STEPPER_SEED="));
	CONTAINS(capture_text(&log), "cannot write the trace");
	capture_free(&c);
	capture_free(&log);
}

/* A trace names its strategy; the loader takes any name a strategy has,
 * and refuses others saying what it accepts. */
static void test_a_trace_names_its_strategy_and_a_bad_name_is_refused(void **state)
{
	(void)state;
	stp_loop_options lo = dfs_loop("dfs:1", 1, 1000, NULL);
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, racy_body, NULL, &r), 1);
	FILE *f = fopen(r.trace_path, "r");
	assert_non_null(f);
	static char text[1 << 16];
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	char *at = strstr(text, "\"strategy\": \"dfs:1\"");
	assert_non_null(at);
	memcpy(at + 13, "dfs:y", 5);
	f = fopen(DIR "/bad-strategy.json", "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	stp_trace_error err;
	assert_null(stp_trace_load(DIR "/bad-strategy.json", &err));
	char buf[512];
	stp_trace_error_text(&err, buf, sizeof buf);
	char want[400];
	snprintf(want, sizeof want, "strategy: expected \"replay\", \"explicit\", \"shrunk\" or a "
		 "strategy (%s)", stp_strategies());
	CONTAINS(buf, want);
	CONTAINS(buf, "found \"dfs:y\"");
}

/* ------------------------------------------------------------------ */
/* A program that does not repeat itself                               */
/* ------------------------------------------------------------------ */

static int runs_made;

/* Reaches its step only in odd runs: what the stepper sees changes with
 * something outside the decisions. */
static void sometimes(void *arg)
{
	(void)arg;
	if (runs_made % 2)
		STEP("c");
}

/* arg: the threads (2 or 3); the last one is `sometimes`. */
static int flaky_body(stp_stepper *s, void *arg)
{
	int n = *(int *)arg;
	runs_made++;
	for (int i = 0; i < n - 1; i++)
		stp_thread(s, i ? "t1" : "t0", NULL, two_steps, NULL);
	stp_thread(s, "odd", NULL, sometimes, NULL);
	return stp_run(s);
}

static void test_a_program_that_does_not_repeat_itself_fails_naming_it(void **state)
{
	(void)state;
	capture c;
	int three = 3, two = 2;
	stp_loop_options lo = dfs_loop("dfs", 1, 1000, capture_open(&c));
	stp_loop_result r;
	runs_made = 0;
	assert_int_equal(stp_loop(&lo, flaky_body, &three, &r), 1);
	assert_int_equal(r.tried, 2);
	CONTAINS(capture_text(&c),
		 "  error: dfs: decision 1: the program did not repeat itself: after the "
		 "same choices, an earlier run could go on here with t0, t1, odd (odd "
		 "running), this one "
		 "with t0, t1 (dfs needs the points a run reaches to depend on its "
		 "decisions only");
	capture_free(&c);
	/* With two threads the second run has no choice to make at all. */
	lo = dfs_loop("dfs", 1, 1000, capture_open(&c));
	runs_made = 0;
	assert_int_equal(stp_loop(&lo, flaky_body, &two, &r), 1);
	assert_int_equal(r.tried, 2);
	CONTAINS(capture_text(&c),
		 "  error: dfs: the program did not repeat itself: this run ended after 0 "
		 "decisions with a choice, an earlier run with the same choices made more");
	capture_free(&c);
}

/* ------------------------------------------------------------------ */
/* Bad strategy strings, and `stepper run`                             */
/* ------------------------------------------------------------------ */

static void expect_refused(const char *strategy, const char *what)
{
	stp_options o;
	stp_options_init(&o);
	o.strategy = strategy;
	stp_stepper *s = stp_new(&o);
	stp_thread(s, "t0", abc, three_steps, NULL);
	assert_int_equal(stp_interleave(s), STP_EINVAL);
	assert_int_equal(stp_error_count(s), 1);
	char want[256];
	snprintf(want, sizeof want, "strategy '%s' %s; accepted: ", strategy, what);
	const char *e = stp_error(s, 0);
	if (!strstr(e, want) || !strstr(e, "dfs, dfs:B (B >= 0)"))
		fail_msg("error '%s' lacks '%s' or the dfs entry", e, want);
	stp_free(s);
}

static void test_bad_dfs_strings_are_refused_naming_the_value(void **state)
{
	(void)state;
	expect_refused("dfs:-1", "has B '-1', not a number from 0 to 100000");
	expect_refused("dfs:x", "has B 'x', not a number from 0 to 100000");
	expect_refused("dfs:", "has B '', not a number from 0 to 100000");
	expect_refused("dfs:100001", "has B '100001', not a number from 0 to 100000");
	expect_refused("dfsx", "is not a strategy");
	assert_non_null(strstr(stp_strategies(), "dfs, dfs:B (B >= 0)"));
}

static const char *bdir(void)
{
	const char *b = getenv("B");
	return b && *b ? b : "build";
}

static int shell(char *out, size_t size, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* One process per seed would run the first schedule every time. */
static void test_stepper_run_refuses_dfs_and_says_to_use_a_loop(void **state)
{
	(void)state;
	char cmd[512], out[4096];
	snprintf(cmd, sizeof cmd,
		 "STEPPER_STRATEGY=dfs:1 %s/bin/stepper run -n 3 --trace-dir " DIR
		 " -- true 2>&1", bdir());
	assert_int_equal(shell(out, sizeof out, cmd), 2);
	CONTAINS(out, "stepper: STEPPER_STRATEGY 'dfs:1': dfs explores schedules one after "
		      "another");
	CONTAINS(out, "run the test's own seed loop instead (stp_loop), e.g. "
		      "STEPPER_STRATEGY=dfs:1 true");
	snprintf(cmd, sizeof cmd,
		 "STEPPER_STRATEGY=random %s/bin/stepper run -n 2 --trace-dir " DIR
		 " -- true 2>&1", bdir());
	assert_int_equal(shell(out, sizeof out, cmd), 0);
}

int main(void)
{
	mkdir("build", 0777);
	mkdir(DIR, 0777);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_threads_of_three_steps_make_exactly_20_schedules),
		cmocka_unit_test(test_bounds_0_and_1_make_exactly_the_schedules_within_them),
		cmocka_unit_test(test_three_threads_count_per_bound_as_the_enumeration),
		cmocka_unit_test(test_the_seed_range_does_not_change_the_schedules),
		cmocka_unit_test(test_outside_a_loop_dfs_runs_the_first_schedule),
		cmocka_unit_test(test_a_count_shorter_than_the_space_says_it_is_not_exhausted),
		cmocka_unit_test(test_a_full_queue_ends_the_search_without_claiming_the_space),
		cmocka_unit_test(test_free_threads_with_a_lock_count_as_the_enumeration),
		cmocka_unit_test(test_declared_threads_with_a_lock_count_as_the_enumeration),
		cmocka_unit_test(test_ab_ba_deadlock_is_found_with_one_preemption_and_replays),
		cmocka_unit_test(test_the_lost_update_is_the_first_failure_and_replays),
		cmocka_unit_test(test_without_a_trace_the_rerun_line_names_the_range),
		cmocka_unit_test(test_a_trace_names_its_strategy_and_a_bad_name_is_refused),
		cmocka_unit_test(test_a_program_that_does_not_repeat_itself_fails_naming_it),
		cmocka_unit_test(test_bad_dfs_strings_are_refused_naming_the_value),
		cmocka_unit_test(test_stepper_run_refuses_dfs_and_says_to_use_a_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
