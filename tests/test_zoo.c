/*
 * test_zoo.c - the zoo of bugs (tests/bugs): every fixed program passes
 * every strategy, and every buggy one is found, the way it says it fails,
 * within the seeds its table row documents.
 *
 * The strategies are zoo_strategies[] ("random", "pct:3", "pos", "dfs");
 * one that this build's stp_interleave refuses with STP_EINVAL (not written
 * yet) is skipped with a printed note, so the suite covers it once it
 * lands. Every loop prints the seed of a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/stepper.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bugs/zoo.h"

#define DIR "build/test-zoo"

/* Seeds each seeded strategy runs over every fixed program. */
#define FIXED_SEEDS 300
/* The most schedules dfs explores of a fixed program whose row has no
 * cap of its own. */
#define DFS_CAP 5000
#ifdef __SANITIZE_THREAD__
/* The AB/BA program takes two mutexes in both orders on purpose: that is
 * the deadlock the stepper must find, and in the runs where it does not
 * happen TSan would report the inversion as a potential deadlock of this
 * binary. Data races are still reported. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "detect_deadlocks=0";
}
#endif

/* A loop over seeds first.. of count, serial, with strategy, named name,
 * its traces in DIR, quiet. */
static stp_loop_options loop_options(const char *name, const char *strategy, uint64_t first,
				     uint64_t count)
{
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.first_seed = first;
	lo.count = count;
	lo.quiet = 1;
	lo.name = name;
	lo.base.strategy = strategy;
	lo.base.mode = STP_SERIAL;
	lo.base.trace = NULL;
	lo.base.replay = NULL;
	lo.base.debug = 0;
	lo.base.trace_dir = DIR;
	return lo;
}

static int loop(const zoo_bug *b, const char *strategy, int fixed, uint64_t first,
		uint64_t count, stp_loop_result *r)
{
	char name[96];
	snprintf(name, sizeof name, "zoo %s%s %s", b->name, fixed ? " (fixed)" : "",
		 strategy);
	stp_loop_options lo = loop_options(name, strategy, first, count);
	return stp_loop(&lo, b->body, &fixed, r);
}

/* The strategies this build has; a note for each one it lacks. */
static size_t available(const char **out)
{
	size_t n = 0;
	for (size_t k = 0; k < zoo_nstrategies; k++) {
		char why[512];
		if (zoo_strategy_available(zoo_strategies[k], why, sizeof why))
			out[n++] = zoo_strategies[k];
		else
			printf("note: strategy '%s' skipped, this build refuses it: %s\n",
			       zoo_strategies[k], why);
	}
	return n;
}

static const zoo_bug *bug_named(const char *name)
{
	for (size_t i = 0; i < zoo_nbugs; i++)
		if (strcmp(zoo_bugs[i].name, name) == 0)
			return &zoo_bugs[i];
	return NULL;
}

/* Whether the first error of s contains one of the '|'-separated pieces. */
static int fails_the_way_it_says(stp_stepper *s, const char *pieces)
{
	if (stp_error_count(s) == 0)
		return 0;
	const char *e = stp_error(s, 0);
	char buf[256];
	snprintf(buf, sizeof buf, "%s", pieces);
	for (char *save = NULL, *p = strtok_r(buf, "|", &save); p;
	     p = strtok_r(NULL, "|", &save))
		if (strstr(e, p))
			return 1;
	return 0;
}

/* Replay the trace of a failing run that a loop kept, and check its first
 * error. A replay needs no strategy, and gets back runs whose strategy
 * keeps state across a loop's runs (PCT's length, dfs's position), which
 * a seed alone does not. */
static void check_failure(const zoo_bug *b, const char *strategy, const stp_loop_result *r)
{
	stp_options o;
	stp_options_init(&o);
	o.replay = r->trace_path;
	o.mode = STP_SERIAL;
	o.trace = NULL;
	o.debug = 0;
	stp_stepper *s = stp_new(&o);
	assert_non_null(s);
	int fixed = 0;
	int rc = b->body(s, &fixed);
	if (!fails_the_way_it_says(s, b->fails_with)) {
		print_error("%s: %s failed at seed %llu; its replay (%s): body %d, error '%s'; "
			    "expected one containing '%s'\n",
			    b->name, strategy, (unsigned long long)r->failed_seed,
			    r->trace_path, rc, stp_error_count(s) ? stp_error(s, 0) : "(none)",
			    b->fails_with);
		stp_free(s);
		fail();
	}
	stp_free(s);
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

static void test_the_zoo_has_ten_programs_with_sane_rows(void **state)
{
	(void)state;
	assert_true(zoo_nbugs >= 10);
	for (size_t i = 0; i < zoo_nbugs; i++) {
		const zoo_bug *b = &zoo_bugs[i];
		assert_non_null(b->body);
		assert_true(b->preemptions >= 1);
		assert_true(b->depth >= 2);
		assert_non_null(b->fails_with);
		assert_non_null(b->shape);
		assert_ptr_equal(bug_named(b->name), b); /* names are unique */
	}
	assert_int_equal(zoo_nstrategies, 4);
	assert_string_equal(zoo_strategies[0], "random");
}

/* The skip is only for a strategy the library refuses: random is always
 * there, and a name that is no strategy is refused with a reason. */
static void test_a_strategy_the_build_lacks_is_reported_not_run(void **state)
{
	(void)state;
	char why[512];
	assert_true(zoo_strategy_available("random", why, sizeof why));
	assert_false(zoo_strategy_available("bogus", why, sizeof why));
	assert_non_null(strstr(why, "bogus"));
}

/* ------------------------------------------------------------------ */
/* Every fixed program passes every strategy                           */
/* ------------------------------------------------------------------ */

static void fixed_passes(const zoo_bug *b, const char *strategy)
{
	int dfs = strncmp(strategy, "dfs", 3) == 0;
	uint64_t count = !dfs ? FIXED_SEEDS : b->dfs_cap ? b->dfs_cap : DFS_CAP;
	stp_loop_result r;
	int rc = loop(b, strategy, 1, 1, count, &r);
	if (rc != 0) {
		print_error("%s (fixed) with %s: loop returned %d, failed at seed %llu after "
			    "%llu schedules (trace %s)\n",
			    b->name, strategy, rc, (unsigned long long)r.failed_seed,
			    (unsigned long long)r.tried, r.trace_path);
		fail();
	}
	if (dfs)
		printf("  %-15s dfs: %s %llu schedules\n", b->name,
		       r.tried < count ? "explored all" : "stopped at the cap,",
		       (unsigned long long)r.tried);
}

static void test_every_fixed_program_passes_every_strategy(void **state)
{
	(void)state;
	const char *st[8];
	size_t n = available(st);
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < zoo_nbugs; i++)
			fixed_passes(&zoo_bugs[i], st[k]);
}

/* ------------------------------------------------------------------ */
/* Every bug is found                                                  */
/* ------------------------------------------------------------------ */

/* Loop the buggy program over seeds 1..within, require a failure and
 * check it is the row's (its replay). */
static void found_within(const zoo_bug *b, const char *strategy, uint64_t within)
{
	stp_loop_result r;
	int rc = loop(b, strategy, 0, 1, within, &r);
	if (rc != 1) {
		print_error("%s with %s: not found within %llu seeds (loop returned %d)\n",
			    b->name, strategy, (unsigned long long)within, rc);
		fail();
	}
	printf("  %-15s %-7s found at seed %llu\n", b->name, strategy,
	       (unsigned long long)r.failed_seed);
	check_failure(b, strategy, &r);
}

static void test_random_finds_each_cheap_bug_the_way_it_says(void **state)
{
	(void)state;
	for (size_t i = 0; i < zoo_nbugs; i++) {
		const zoo_bug *b = &zoo_bugs[i];
		if (b->random_within == 0)
			continue;
		found_within(b, "random", b->random_within);
	}
}

/* Random does not get to 'rotate' (it would have to pass over the
 * flusher about 180 times in a row): the reason the row promises nothing. */
static void test_random_misses_the_long_run_bug(void **state)
{
	(void)state;
	const zoo_bug *b = bug_named("rotate");
	assert_non_null(b);
	assert_int_equal(b->random_within, 0);
	stp_loop_result r;
	assert_int_equal(loop(b, "random", 0, 1, 500, &r), 0);
}

/* pct:3 and pos find each bug within the seeds its row says (PCT's
 * guarantee for depth d is a probability of at least 1/(n k^(d-1)) per
 * schedule, n threads and k decisions: about 1/800 for 'stages'). */
static void test_pct_and_pos_find_each_bug_within_its_seeds(void **state)
{
	(void)state;
	const char *others[] = { "pct:3", "pos" };
	for (size_t k = 0; k < 2; k++) {
		if (!zoo_strategy_available(others[k], NULL, 0)) {
			printf("note: strategy '%s' skipped, this build refuses it\n", others[k]);
			continue;
		}
		for (size_t i = 0; i < zoo_nbugs; i++) {
			const zoo_bug *b = &zoo_bugs[i];
			uint64_t within = k == 0 ? b->pct_within : b->pos_within;
			if (within)
				found_within(b, others[k], within);
		}
	}
}

/* The first failure of b's loop with strategy, shrunk: the preemptions
 * of the shrunk schedule ("shrunk from N preemptions to M ..."), or -1
 * when the loop found nothing or did not shrink. */
static long shrunk_to(const zoo_bug *b, const char *strategy, uint64_t within)
{
	FILE *out = tmpfile();
	assert_non_null(out);
	char name[96];
	snprintf(name, sizeof name, "zoo %s %s shrunk", b->name, strategy);
	stp_loop_options lo = loop_options(name, strategy, 1, within);
	lo.quiet = 0; /* the report, with its shrink line */
	lo.out = out;
	int fixed = 0;
	stp_loop_result r;
	int rc = stp_loop(&lo, b->body, &fixed, &r);
	char text[8192];
	rewind(out);
	size_t n = fread(text, 1, sizeof text - 1, out);
	text[n] = '\0';
	fclose(out);
	unsigned long from = 0, to = 0;
	const char *line = strstr(text, "shrunk from ");
	const char *mid = line ? strstr(line, " to ") : NULL;
	if (line && mid) {
		from = strtoul(line + strlen("shrunk from "), NULL, 10);
		to = strtoul(mid + 4, NULL, 10);
	}
	if (rc != 1 || !mid) {
		print_error("%s with %s: loop %d, no shrink line in:\n%s\n", b->name, strategy, rc,
			    text);
		return -1;
	}
	printf("  %-15s %-7s seed %llu: shrunk from %lu to %lu (needs %d)\n", b->name, strategy,
	       (unsigned long long)r.failed_seed, from, to, b->preemptions);
	return (long)to;
}

/* Shrinking brings every bug's first failure down to the preemptions dfs
 * shows the bug needs (the row's count, which test_dfs_needs_the_documented_
 * preemptions checks): random's failure where random finds it, pct:3's
 * where only PCT does ('rotate'). */
static void test_shrinking_reaches_the_preemptions_each_bug_needs(void **state)
{
	(void)state;
	for (size_t i = 0; i < zoo_nbugs; i++) {
		const zoo_bug *b = &zoo_bugs[i];
		const char *strategy = b->random_within ? "random" : "pct:3";
		uint64_t within = b->random_within ? b->random_within : 2000;
		long to = shrunk_to(b, strategy, within);
		if (to != b->preemptions) {
			print_error("%s: shrunk to %ld preemptions, the bug needs %d\n", b->name, to,
				    b->preemptions);
			fail();
		}
	}
}

/* dfs with bound p - 1 finds nothing (within the cap), with bound p it
 * finds the bug: the row's preemption count is the one the bug needs. */
static void test_dfs_needs_the_documented_preemptions(void **state)
{
	(void)state;
	if (!zoo_strategy_available("dfs", NULL, 0)) {
		printf("note: strategy 'dfs' skipped, this build refuses it\n");
		return;
	}
	for (size_t i = 0; i < zoo_nbugs; i++) {
		const zoo_bug *b = &zoo_bugs[i];
		char below[16], at[16];
		snprintf(below, sizeof below, "dfs:%d", b->preemptions - 1);
		snprintf(at, sizeof at, "dfs:%d", b->preemptions);
		stp_loop_result r;
		int rc = loop(b, below, 0, 1, DFS_CAP, &r);
		if (rc != 0) {
			print_error("%s: %s found it after %llu schedules; the row says it "
				    "needs %d preemptions\n", b->name, below,
				    (unsigned long long)r.tried, b->preemptions);
			fail();
		}
		if (r.tried == DFS_CAP) /* e.g. the latch: 9! orders with no preemption */
			continue;
		found_within(b, at, DFS_CAP);
	}
}


/* ------------------------------------------------------------------ */
/* The preemptions each bug needs, by going through the schedules      */
/* ------------------------------------------------------------------ */

/* An explorer of the test's own, independent of the dfs strategy: it goes
 * through the schedules with at most `bound` preemptions depth first, one
 * run per node of the tree. A run given a prefix of decisions (zoo_plan,
 * stp_set_schedule) ends at the first decision past it with an error that
 * lists the threads that could go on ("... the schedule ends after N
 * decisions, but the run goes on; can go on: [a] 'x', [b] 'y'"); each of
 * them is a child. A child is a preemption when it is not the thread of
 * the previous decision (for the first one, the last registered thread)
 * and that thread is among them. */

#define EXPLORE_DEPTH 4096 /* decisions of one schedule */

struct explorer {
	const zoo_bug *b;
	int bound;
	int fixed; /* explore the fix instead of the bug */
	uint64_t max_runs;
	int prefix[EXPLORE_DEPTH];
	uint64_t runs, schedules;
	int capped, found, found_pre;
	char error[512];
};

static int index_of(stp_stepper *s, const char *name, size_t len)
{
	for (size_t i = 0; i < stp_thread_count(s); i++) {
		const char *t = stp_thread_name(s, (int)i);
		if (strlen(t) == len && strncmp(t, name, len) == 0)
			return (int)i;
	}
	return -1;
}

/* The threads listed after "can go on: " in e, as indices. */
static int threads_listed(stp_stepper *s, const char *e, int *en)
{
	int n = 0;
	for (const char *p = strstr(e, "; can go on: "); p && (p = strchr(p, '[')) != NULL;) {
		const char *q = strchr(p, ']'), *quote = q ? strchr(q, '\'') : NULL;
		const char *end = quote ? strchr(quote + 1, '\'') : NULL;
		if (!end)
			break;
		int i = index_of(s, p + 1, (size_t)(q - p - 1));
		if (i >= 0 && n < STP_MAX_THREADS)
			en[n++] = i;
		p = end + 1;
	}
	return n;
}

/* What one run of a plan says. */
enum { RUN_PASS, RUN_FAIL, RUN_DEPARTS, RUN_ENDS, RUN_ODD };

struct outcome {
	int kind;
	size_t at; /* RUN_DEPARTS: the decision (0-based) the plan did not fit;
		    * RUN_ENDS: the decisions the run made */
	int en[STP_MAX_THREADS], nen; /* RUN_DEPARTS: who could go on there */
	int last;  /* the last registered thread */
};

static size_t number_after(const char *e, const char *text)
{
	const char *p = strstr(e, text);
	return p ? (size_t)strtoull(p + strlen(text), NULL, 10) : 0;
}

/* Run the bug (or its fix) with the first len decisions of x->prefix. The
 * explicit schedule's own errors say where the plan and the run parted:
 * the plan ended first ("... but the run goes on; can go on: ..."), its
 * thread could not go on ("recorded [a] ..., but [a] had ended; can go
 * on: ..."), or every thread ended first ("... (this run made K
 * decisions").
 * Any other first error is the program failing. */
static void run_plan(struct explorer *x, size_t len, struct outcome *o)
{
	stp_options opt;
	stp_options_init(&opt);
	opt.strategy = "random";
	opt.mode = STP_SERIAL;
	opt.trace = NULL;
	opt.replay = NULL;
	opt.debug = 0;
	stp_stepper *s = stp_new(&opt);
	assert_non_null(s);
	zoo_schedule plan = { x->prefix, len };
	int fixed = x->fixed;
	zoo_plan = &plan;
	int body_rc = x->b->body(s, &fixed);
	zoo_plan = NULL;
	x->runs++;
	o->last = (int)stp_thread_count(s) - 1;
	const char *e = stp_error_count(s) ? stp_error(s, 0) : "";
	o->kind = !*e ? (body_rc == 0 ? RUN_PASS : RUN_ODD) : RUN_FAIL;
	if (strncmp(e, "schedule: decision ", 19) == 0) {
		o->kind = RUN_ODD;
		if (strstr(e, "; can go on: ")) {
			o->kind = RUN_DEPARTS;
			o->at = number_after(e, "schedule: decision ") - 1;
			o->nen = threads_listed(s, e, o->en);
		} else if (strstr(e, "but every thread had ended (this run made ")) {
			o->kind = RUN_ENDS;
			o->at = number_after(e, "(this run made ");
		}
	}
	if (o->kind == RUN_FAIL || o->kind == RUN_ODD)
		snprintf(x->error, sizeof x->error, "%s", *e ? e : "(no error, body failed)");
	stp_free(s);
}

/* Run the node of the tree at prefix[0..n). With no preemption left, the
 * rest of the schedule is the previous thread for as long as it can go
 * on, then any thread (a free switch): the plan guesses that thread for
 * every decision left, and the run departs from it exactly where a free
 * switch comes (or ends), so one run covers a whole stretch. */
static void run_node(struct explorer *x, size_t n, int pre, struct outcome *o)
{
	if (pre < x->bound || n == 0) {
		run_plan(x, n, o);
		return;
	}
	for (size_t k = n; k < EXPLORE_DEPTH; k++)
		x->prefix[k] = x->prefix[n - 1];
	run_plan(x, EXPLORE_DEPTH, o);
	if (o->kind == RUN_ENDS && o->at >= n)
		run_plan(x, o->at, o); /* the whole schedule: now judge it */
}

static void explore(struct explorer *x, size_t n, int pre)
{
	if (x->found || x->capped)
		return;
	if (x->runs >= x->max_runs || n >= EXPLORE_DEPTH) {
		x->capped = 1;
		return;
	}
	struct outcome o;
	run_node(x, n, pre, &o);
	if (o.kind != RUN_DEPARTS || o.nen == 0 || o.at < n || o.at >= EXPLORE_DEPTH) {
		x->schedules++;
		if (o.kind != RUN_PASS) { /* a failure, or a run the explorer did not expect */
			x->found = o.kind == RUN_FAIL ? 1 : -1;
			x->found_pre = pre;
		}
		return;
	}
	size_t at = o.at;
	int cur = at ? x->prefix[at - 1] : o.last, cur_enabled = 0;
	for (int k = 0; k < o.nen; k++)
		cur_enabled |= o.en[k] == cur;
	for (int k = 0; k < o.nen; k++) {
		int cost = cur_enabled && o.en[k] != cur;
		if (pre + cost > x->bound)
			continue;
		x->prefix[at] = o.en[k];
		explore(x, at + 1, pre + cost);
	}
}

/* Explore from the first n decisions of witness (preemptions: pre); a
 * negative bound explores the fix with bound -bound. */
static struct explorer *explore_bug(const zoo_bug *b, int bound, uint64_t max_runs,
				    const int *witness, size_t n, int pre)
{
	struct explorer *x = calloc(1, sizeof *x);
	assert_non_null(x);
	x->b = b;
	x->bound = bound < 0 ? -bound : bound;
	x->fixed = bound < 0;
	x->max_runs = max_runs;
	if (n)
		memcpy(x->prefix, witness, n * sizeof *witness);
	explore(x, n, pre);
	if (x->found < 0) {
		print_error("%s: the explorer's run ended in an unexpected way: %s\n", b->name,
			    x->error);
		fail();
	}
	return x;
}

/* The row's preemptions are what the bug needs: with one fewer, every
 * schedule passes; with that many, one fails. For the latch, the
 * schedules without a preemption are too many to go through (after each
 * thread blocks, any of the others may go: 9! orders), so the test checks
 * the first 500 runs of them and a witness: [t9] preempted at its count
 * by [t0], then no other preemption. */
static void test_each_bug_needs_exactly_its_preemptions(void **state)
{
	(void)state;
	for (size_t i = 0; i < zoo_nbugs; i++) {
		const zoo_bug *b = &zoo_bugs[i];
		int latch = strcmp(b->name, "latch") == 0;
		static const int witness[] = { 9, 0 };
		struct explorer *below = explore_bug(b, b->preemptions - 1, latch ? 500 : 100000,
						     NULL, 0, 0);
		struct explorer *at = latch ? explore_bug(b, 1, 500, witness, 2, 1)
					    : explore_bug(b, b->preemptions, 100000, NULL, 0, 0);
		const char *e = at->found ? at->error : "not found";
		printf("  %-15s %d preemptions: %llu schedules%s, none failed; %d: failed "
		       "after %llu runs (%.*s)\n",
		       b->name, b->preemptions - 1, (unsigned long long)below->schedules,
		       below->capped ? " (capped)" : " (all)", b->preemptions,
		       (unsigned long long)at->runs, (int)strcspn(e, "\n"), e);
		if (below->found || (below->capped && !latch)) {
			print_error("%s: the row says %d preemptions, but with %d the explorer "
				    "%s: %s\n", b->name, b->preemptions, b->preemptions - 1,
				    below->found ? "found a failure" : "hit its cap",
				    below->found ? below->error : "");
			fail();
		}
		if (!at->found || at->found_pre != b->preemptions) {
			print_error("%s: the row says %d preemptions, but the explorer found "
				    "no failure with that many\n", b->name, b->preemptions);
			fail();
		}
		free(below);
		free(at);
	}
}

/* Every schedule of each fix with at most 2 preemptions passes (the
 * first 1,000 runs of the explorer where there are more: the latch and
 * the long run). */
static void test_every_fix_passes_every_schedule_with_two_preemptions(void **state)
{
	(void)state;
	for (size_t i = 0; i < zoo_nbugs; i++) {
		const zoo_bug *b = &zoo_bugs[i];
		struct explorer *x = explore_bug(b, -2, 1000, NULL, 0, 0);
		printf("  %-15s (fixed) %llu schedules with at most 2 preemptions%s, none "
		       "failed\n", b->name, (unsigned long long)x->schedules,
		       x->capped ? " (capped)" : " (all)");
		if (x->found) {
			print_error("%s (fixed): a schedule fails: %s\n", b->name, x->error);
			fail();
		}
		free(x);
	}
}

int main(void)
{
	mkdir("build", 0777);
	mkdir(DIR, 0777);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_zoo_has_ten_programs_with_sane_rows),
		cmocka_unit_test(test_a_strategy_the_build_lacks_is_reported_not_run),
		cmocka_unit_test(test_every_fixed_program_passes_every_strategy),
		cmocka_unit_test(test_random_finds_each_cheap_bug_the_way_it_says),
		cmocka_unit_test(test_random_misses_the_long_run_bug),
		cmocka_unit_test(test_pct_and_pos_find_each_bug_within_its_seeds),
		cmocka_unit_test(test_each_bug_needs_exactly_its_preemptions),
		cmocka_unit_test(test_every_fix_passes_every_schedule_with_two_preemptions),
		cmocka_unit_test(test_dfs_needs_the_documented_preemptions),
		cmocka_unit_test(test_shrinking_reaches_the_preemptions_each_bug_needs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
