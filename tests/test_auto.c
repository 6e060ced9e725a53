/*
 * test_auto.c - unmodified pthread programs under libstepper-auto.so: the
 * proof of issue 13's first slice.
 *
 * Every program in tests/auto/ is built with plain `cc -pthread` and run
 * here as a child with LD_PRELOAD and STEPPER_AUTO=1, one process per
 * seed, exactly as `stepper run --auto` runs it. For each pair, the bug is
 * found within SEEDS_TO_FIND seeds, the fix passes FIX_SEEDS seeds, and
 * the first failing run's trace replays to the same failure every time.
 * Then the reports (deadlock cycle, lost wake-up, self-deadlock, assert,
 * crash, exit status, too many threads) and bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define DIR_NAME "test-auto"
#define SEEDS_TO_FIND 100

static const char *bdir(void)
{
	const char *b = getenv("B");
	return b && *b ? b : "build";
}

/* Fewer runs under a sanitizer: each is many times slower. */
static int scaled(int n)
{
	const char *san = getenv("SAN");
	return san && *san ? (n / 5 > 5 ? n / 5 : 5) : n;
}

static void path_of(char *buf, size_t size, const char *fmt, const char *name)
{
	snprintf(buf, size, fmt, bdir(), name);
}

/* One child's end: its wait status and its output (stdout and stderr). */
struct result {
	int status;
	char out[16384];
};

/* Run tests/auto/PROG under the preload with the variables given
 * ("NAME=value", NULL-terminated), the others inherited without any
 * STEPPER_ or LD_PRELOAD. */
static void run_args(const char *prog, const char *arg, const char *const *vars,
		     struct result *r)
{
	char exe[512], lib[512], preload[600], log[512];
	path_of(exe, sizeof exe, "%s/tests/auto/%s", prog);
	path_of(lib, sizeof lib, "%s/lib/libstepper-auto.so", "");
	snprintf(preload, sizeof preload, "LD_PRELOAD=%s", lib);
	snprintf(log, sizeof log, "%s/" DIR_NAME "/%s.log", bdir(), prog);
	const char *env[256];
	size_t n = 0;
	for (char **e = environ; *e && n < 200; e++)
		if (strncmp(*e, "STEPPER_", 8) != 0 && strncmp(*e, "LD_PRELOAD=", 11) != 0 &&
		    strncmp(*e, "ASAN_OPTIONS=", 13) != 0 && strncmp(*e, "TSAN_OPTIONS=", 13) != 0)
			env[n++] = *e; /* (the sanitizers' options: ours below) */
	env[n++] = preload;
	env[n++] = "STEPPER_AUTO=1";
	if (getenv("STEPPER_CHECK_SETS")) /* (run_tests.sh) */
		env[n++] = "STEPPER_CHECK_SETS=1";
	/* a sanitizer's runtime comes from the program, not first in line */
	env[n++] = "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0";
	/* ThreadSanitizer sleeps a second at exit by default, and calls the
	 * threads a program leaves running at exit (its own business) a leak */
	env[n++] = "TSAN_OPTIONS=atexit_sleep_ms=0 report_thread_leaks=0";
	for (size_t i = 0; vars && vars[i]; i++)
		env[n++] = vars[i];
	env[n] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	char *argv[] = { exe, (char *)arg, NULL };
	pid_t pid;
	int e = posix_spawn(&pid, exe, &fa, NULL, argv, (char **)env);
	posix_spawn_file_actions_destroy(&fa);
	if (e)
		fail_msg("cannot run %s: %s", exe, strerror(e));
	while (waitpid(pid, &r->status, 0) < 0)
		assert_int_equal(errno, EINTR);
	FILE *f = fopen(log, "r");
	size_t len = f ? fread(r->out, 1, sizeof r->out - 1, f) : 0;
	r->out[len] = '\0';
	if (f)
		fclose(f);
}

/* The first bytes of the file at path, as r's output. */
static void read_into(const char *path, struct result *r)
{
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	size_t len = fread(r->out, 1, sizeof r->out - 1, f);
	r->out[len] = '\0';
	fclose(f);
}

static void run(const char *prog, const char *const *vars, struct result *r)
{
	run_args(prog, NULL, vars, r);
}

static void run_seed(const char *prog, unsigned long long seed, const char *trace,
		     struct result *r)
{
	char s[64], t[600];
	snprintf(s, sizeof s, "STEPPER_SEED=%llu", seed);
	snprintf(t, sizeof t, "STEPPER_TRACE=%s", trace ? trace : "");
	const char *vars[] = { s, trace ? t : NULL, NULL };
	run(prog, vars, r);
}

static int passed(const struct result *r)
{
	return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

/* "exit 86" or "SIGABRT": how a run ended, for messages and comparison. */
static const char *how(const struct result *r, char *buf, size_t size)
{
	if (WIFEXITED(r->status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(r->status));
	else if (WIFSIGNALED(r->status))
		snprintf(buf, size, "SIG%s", sigabbrev_np(WTERMSIG(r->status)));
	else
		snprintf(buf, size, "status %#x", r->status);
	return buf;
}

/* The stepper's first report line ("stepper: deadlock: ..."), or "". */
static void first_report(const struct result *r, char *buf, size_t size)
{
	const char *p = strstr(r->out, "stepper: ");
	while (p && strncmp(p, "stepper: the run failed", 23) == 0)
		p = strstr(p + 1, "stepper: ");
	size_t n = p ? strcspn(p, "\n") : 0;
	snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), p ? p : "");
}

/* ------------------------------------------------------------------ */
/* Bugs found, fixes passed, failures replayed                         */
/* ------------------------------------------------------------------ */

static const char *const shapes[] = { "lost_update", "lazy_init",      "abba",
				      "lost_wakeup", "bounded_buffer", "ten_threads",
				      "sleeps_minutes", "join_race",   "recursive_mutex",
				      "yield_spin",  "timed_wait",     "reader_writer",
				      "sem_pool",    "barrier_phase",  "c11_counter" };
#define NSHAPES (sizeof shapes / sizeof shapes[0])

static void mkdirs(void)
{
	char d[512];
	snprintf(d, sizeof d, "%s/" DIR_NAME, bdir());
	mkdir(d, 0755);
}

/* The first seed of 1..SEEDS_TO_FIND on which prog fails, its trace kept
 * at trace; 0 when none does. */
static unsigned long long first_failure(const char *prog, const char *trace,
					struct result *r)
{
	for (unsigned long long seed = 1; seed <= SEEDS_TO_FIND; seed++) {
		run_seed(prog, seed, trace, r);
		if (!passed(r))
			return seed;
	}
	return 0;
}

static void test_each_bug_is_found_and_its_failure_replays(void **state)
{
	(void)state;
	mkdirs();
	int replays = scaled(100);
	for (size_t i = 0; i < NSHAPES; i++) {
		char prog[64], trace[512], want[64], got[64], first[512], again[512];
		snprintf(prog, sizeof prog, "%s_bug", shapes[i]);
		snprintf(trace, sizeof trace, "%s/" DIR_NAME "/%s.json", bdir(), prog);
		struct result *r = malloc(sizeof *r), *p = malloc(sizeof *p);
		assert_non_null(r);
		assert_non_null(p);
		unsigned long long seed = first_failure(prog, trace, r);
		if (!seed)
			fail_msg("%s: no failure in seeds 1..%d", prog, SEEDS_TO_FIND);
		print_message("%-22s fails first at seed %llu: %s\n", prog, seed,
			      how(r, want, sizeof want));
		first_report(r, first, sizeof first);
		assert_true(first[0] != '\0');
		char rv[700];
		snprintf(rv, sizeof rv, "STEPPER_REPLAY=%s", trace);
		const char *vars[] = { rv, NULL };
		for (int k = 0; k < replays; k++) {
			run(prog, vars, p);
			first_report(p, again, sizeof again);
			if (p->status != r->status || strcmp(first, again) != 0)
				fail_msg("%s: replay %d of seed %llu ended %s with '%s'; the run "
					 "ended %s with '%s'",
					 prog, k + 1, seed, how(p, got, sizeof got), again, want,
					 first);
		}
		free(r);
		free(p);
	}
}

static void test_each_fix_passes(void **state)
{
	(void)state;
	mkdirs();
	int seeds = scaled(500);
	struct result *r = malloc(sizeof *r);
	assert_non_null(r);
	for (size_t i = 0; i < NSHAPES; i++) {
		char prog[64], h[64];
		snprintf(prog, sizeof prog, "%s_fix", shapes[i]);
		for (int seed = 1; seed <= seeds; seed++) {
			run_seed(prog, (unsigned long long)seed, NULL, r);
			if (!passed(r))
				fail_msg("%s: seed %d ended %s:\n%s", prog, seed, how(r, h, sizeof h),
					 r->out);
		}
	}
	free(r);
}

/* pct and pos give the threads a program makes their priorities as they
 * are made: each finds a lost update and a lock-order deadlock. */
static void test_pct_and_pos_find_bugs_in_programs(void **state)
{
	(void)state;
	/* barrier_phase's race is a single sched_yield before a racy read: a
	 * spin rule that lowered every yielder would hide it from pct */
	static const char *const progs[] = { "lost_update_bug", "abba_bug", "lost_wakeup_bug",
					     "barrier_phase_bug" };
	static const char *const strategies[] = { "STEPPER_STRATEGY=pct:3",
						  "STEPPER_STRATEGY=pos" };
	struct result *r = malloc(sizeof *r);
	assert_non_null(r);
	for (size_t i = 0; i < 4; i++)
		for (size_t k = 0; k < 2; k++) {
			int found = 0;
			for (int seed = 1; seed <= SEEDS_TO_FIND && !found; seed++) {
				char v[32];
				snprintf(v, sizeof v, "STEPPER_SEED=%d", seed);
				const char *vars[] = { v, strategies[k], NULL };
				run(progs[i], vars, r);
				found = !passed(r);
			}
			if (!found)
				fail_msg("%s: %s found nothing in %d seeds", progs[i], strategies[k],
					 SEEDS_TO_FIND);
		}
	free(r);
}

/* Correct code that spins on sched_yield or on a trylock bound to fail is
 * no livelock under pct: a spinning thread drops below the others. (Before,
 * pct kept choosing the spinner on about a third of the seeds, until the
 * decision limit.) */
static void test_pct_lets_the_others_go_past_a_spinning_thread(void **state)
{
	(void)state;
	static const char *const progs[] = { "yield_spin_fix", "edge_trylock_spin" };
	struct result *r = malloc(sizeof *r);
	assert_non_null(r);
	for (size_t i = 0; i < 2; i++)
		for (int seed = 1; seed <= scaled(100); seed++) {
			char v[32], h[64];
			snprintf(v, sizeof v, "STEPPER_SEED=%d", seed);
			const char *vars[] = { v, "STEPPER_STRATEGY=pct:3", NULL };
			run(progs[i], vars, r);
			if (!passed(r))
				fail_msg("%s, pct:3 seed %d ended %s:\n%s", progs[i], seed,
					 how(r, h, sizeof h), r->out);
		}
	free(r);
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

/* Run prog over seeds until one ends as `ending` ("exit 86",
 * "SIGABRT"); its output must hold each of the texts. */
static void expect_report(const char *prog, const char *ending, const char *const *texts)
{
	struct result *r = malloc(sizeof *r);
	assert_non_null(r);
	char h[64];
	for (unsigned long long seed = 1; seed <= SEEDS_TO_FIND; seed++) {
		run_seed(prog, seed, NULL, r);
		if (strcmp(how(r, h, sizeof h), ending) != 0)
			continue;
		for (size_t i = 0; texts[i]; i++)
			if (!strstr(r->out, texts[i]))
				fail_msg("%s seed %llu: no '%s' in:\n%s", prog, seed, texts[i],
					 r->out);
		free(r);
		return;
	}
	fail_msg("%s: no run ended %s in %d seeds", prog, ending, SEEDS_TO_FIND);
}

static void test_a_lock_order_deadlock_is_reported_as_its_cycle(void **state)
{
	(void)state;
	const char *t[] = { "stepper: deadlock: a cycle of threads, each waiting for a mutex "
			    "the next one holds:",
			    "the cycle: [main/", "holds it (taken at abba_bug+0x",
			    "(blocked: the deadlock)", NULL };
	expect_report("abba_bug", "exit 86", t);
}

static void test_a_wait_nothing_can_signal_is_a_lost_wake_up(void **state)
{
	(void)state;
	const char *t[] = { "stepper: deadlock: lost wake-up: [main/", "waits on cv#1 at",
			    NULL };
	expect_report("lost_wakeup_bug", "exit 86", t);
}

static void test_a_relock_of_a_normal_mutex_is_a_self_deadlock(void **state)
{
	(void)state;
	const char *t[] = { "which it already holds (taken at recursive_mutex_bug+0x",
			    "a self-deadlock", NULL };
	expect_report("recursive_mutex_bug", "exit 86", t);
}

static void test_a_failed_assert_names_the_thread_and_the_order(void **state)
{
	(void)state;
	const char *t[] = { "stepper: assertion failed: [main", "lost_update_bug.c:",
			    "stepper: the order that happened:", "[main/1] start",
			    "Assertion", NULL };
	expect_report("lost_update_bug", "SIGABRT", t);
}

/* ------------------------------------------------------------------ */
/* The edges: what the stepper cannot see, limits, the program's end   */
/* ------------------------------------------------------------------ */

/* prog with vars must end as `ending` with each text in its output. */
static void expect_end(const char *prog, const char *arg, const char *const *vars,
		       const char *ending, const char *const *texts)
{
	struct result *r = malloc(sizeof *r);
	assert_non_null(r);
	char h[64];
	run_args(prog, arg, vars, r);
	if (strcmp(how(r, h, sizeof h), ending) != 0)
		fail_msg("%s ended %s, expected %s:\n%s", prog, h, ending, r->out);
	for (size_t i = 0; texts && texts[i]; i++)
		if (!strstr(r->out, texts[i]))
			fail_msg("%s: no '%s' in:\n%s", prog, texts[i], r->out);
	free(r);
}

static void test_a_thread_blocked_out_of_sight_is_a_stall_naming_it(void **state)
{
	(void)state;
	/* the stall limit is real time: the thread sits in read() for good */
	const char *vars[] = { "STEPPER_STALL_MS=200", NULL };
	const char *t[] = { "stepper: stall:",
			    "[main/1] running since its start, and has made no pthread call "
			    "since: blocked where the stepper cannot see",
			    NULL };
	expect_end("edge_read_pipe", NULL, vars, "exit 88", t);
}

static void test_threads_that_yield_for_ever_meet_the_decision_limit(void **state)
{
	(void)state;
	const char *t[] = { "stepper: limit: a run records at most 100000 decisions",
			    "lines left out (the trace has them)", NULL };
	expect_end("edge_yield_forever", NULL, NULL, "exit 87", t);
}

static void test_one_thread_more_than_the_limit_says_so(void **state)
{
	(void)state;
	const char *t[] = { "stepper: cannot control more than 1024 threads: [main] creates one "
			    "more at edge_many_threads+0x",
			    NULL };
	expect_end("edge_many_threads", NULL, NULL, "exit 90", t);
}

/* A thousand threads: every strategy controls them, a lost deposit among
 * them is found, the fix passes, and the report names the thread. */
static void test_a_thousand_threads_are_controlled(void **state)
{
	(void)state;
	static const char *const strategies[] = { "STEPPER_STRATEGY=random",
						  "STEPPER_STRATEGY=pct:3", "STEPPER_STRATEGY=pos" };
	const char *t[] = { "stepper: assertion failed: [main]", " 7000 decisions)", NULL };
	for (size_t k = 0; k < sizeof strategies / sizeof strategies[0]; k++) {
		for (int seed = 1; seed <= scaled(3); seed++) {
			char v[64];
			snprintf(v, sizeof v, "STEPPER_SEED=%d", seed);
			const char *vars[] = { v, strategies[k], NULL };
			expect_end("ten_threads_fix", "1000", vars, "exit 0", NULL);
			expect_end("edge_many_threads", "1000", vars, "exit 0", NULL);
		}
		/* pct:3 needs a change point in one of the deposits' windows:
		 * about one seed in three */
		int seed = 1;
		struct result *r = malloc(sizeof *r);
		assert_non_null(r);
		for (; seed <= 10; seed++) {
			char v[64];
			snprintf(v, sizeof v, "STEPPER_SEED=%d", seed);
			const char *vars[] = { v, strategies[k], NULL };
			run_args("ten_threads_bug", "1000", vars, r);
			if (!passed(r))
				break;
		}
		if (seed > 10)
			fail_msg("ten_threads_bug 1000: no failure in seeds 1..10 with %s",
				 strategies[k]);
		char v[64];
		snprintf(v, sizeof v, "STEPPER_SEED=%d", seed);
		const char *vars[] = { v, strategies[k], NULL };
		expect_end("ten_threads_bug", "1000", vars, "SIGABRT", t);
		free(r);
	}
}

/* A program's trace is version 3: its start, spawn and join points carry
 * the kind "point", and `stepper show` marks them with their notes. */
static void test_a_program_s_trace_shows_its_pthread_calls(void **state)
{
	(void)state;
	mkdirs();
	char trace[512], cmd[1200];
	snprintf(trace, sizeof trace, "%s/" DIR_NAME "/v3.json", bdir());
	struct result *r = malloc(sizeof *r);
	assert_non_null(r);
	unsigned long long seed = first_failure("join_race_bug", trace, r);
	assert_true(seed > 0);
	read_into(trace, r);
	assert_non_null(strstr(r->out, "\"version\": 3"));
	assert_non_null(strstr(r->out, "\"kind\": \"point\""));
	snprintf(cmd, sizeof cmd, "%s/bin/stepper show %s 2>&1", bdir(), trace);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t len = fread(r->out, 1, sizeof r->out - 1, p);
	r->out[len] = '\0';
	assert_int_equal(pclose(p), 0);
	const char *want[] = { "[main] spawn(main/1) -- makes [main/1]", "[main/1] start",
			       "-- starts", "(\"--\" marks the stepper's points: the program's "
					   "pthread calls under --auto", NULL };
	for (size_t i = 0; want[i]; i++)
		if (!strstr(r->out, want[i]))
			fail_msg("no '%s' in stepper show's output:\n%s", want[i], r->out);
	free(r);
}

static void test_a_thread_made_with_clone_is_refused(void **state)
{
	(void)state;
	const char *t[] = { "stepper: cannot control a thread made with clone() at "
			    "edge_raw_clone+0x",
			    "[main] made it; the stepper controls the threads of pthread_create",
			    NULL };
	expect_end("edge_raw_clone", NULL, NULL, "exit 90", t);
	/* a process made with clone() runs uncontrolled, as a fork's child */
	const char *p[] = { "child process ran", NULL };
	expect_end("edge_raw_clone", "process", NULL, "exit 0", p);
}

/* STEPPER_ON_STALL=release: a thread out of the stepper's sight (read() on
 * a pipe, a spin on an atomic) leaves control and the others go on; it
 * comes back at its next pthread call ("return" in the trace), and a
 * replay of such a run lets threads leave control again by itself. */
static void test_with_release_a_thread_out_of_sight_leaves_control(void **state)
{
	(void)state;
	mkdirs();
	const char *rel = "STEPPER_ON_STALL=release";
	int left = 0;
	struct result *r = malloc(sizeof *r);
	assert_non_null(r);
	char h[64], v[64], trace[512], t[600];
	snprintf(trace, sizeof trace, "%s/" DIR_NAME "/release.json", bdir());
	snprintf(t, sizeof t, "STEPPER_TRACE=%s", trace);
	unsigned long long seed = 0;
	for (int k = 1; k <= 10; k++) {
		snprintf(v, sizeof v, "STEPPER_SEED=%d", k);
		const char *vars[] = { rel, v, t, NULL };
		run_args("edge_pipe_pair", "fail", vars, r);
		if (strcmp(how(r, h, sizeof h), "exit 3") != 0)
			fail_msg("edge_pipe_pair seed %d ended %s, expected exit 3:\n%s", k, h, r->out);
		if (strstr(r->out, "stepper: [main/1] left control: no pthread call for 100 ms")) {
			left++;
			seed = seed ? seed : (unsigned long long)k;
			break;
		}
	}
	assert_true(left > 0); /* the reader read first on some seed */
	/* the failure's trace says so, and replays with the comeback, without
	 * the variable */
	read_into(trace, r);
	assert_non_null(strstr(r->out, "\"left_control\": 1"));
	assert_non_null(strstr(r->out, "\"step\": \"return\""));
	char rv[700];
	snprintf(rv, sizeof rv, "STEPPER_REPLAY=%s", trace);
	for (int k = 0; k < scaled(5); k++) {
		const char *vars[] = { rv, NULL };
		run_args("edge_pipe_pair", "fail", vars, r);
		if (strcmp(how(r, h, sizeof h), "exit 3") != 0)
			fail_msg("replay %d of seed %llu ended %s:\n%s", k + 1, seed, h, r->out);
	}
	for (int k = 1; k <= scaled(5); k++) {
		snprintf(v, sizeof v, "STEPPER_SEED=%d", k);
		const char *vars[] = { rel, v, NULL };
		expect_end("edge_atomic_spin", NULL, vars, "exit 0", NULL);
	}
	/* malformed values are named and the defaults kept: fail, 100 ms
	 * (edge_atomic_spin's writer may go first: the run passes or stalls) */
	const char *bad[] = { "STEPPER_ON_STALL=later", "STEPPER_ESCAPE_MS=0",
			      "STEPPER_STALL_MS=300", NULL };
	run_args("edge_atomic_spin", NULL, bad, r);
	if (!strstr(r->out, "stepper: ignoring STEPPER_ON_STALL='later': expected fail or "
			    "release; using fail") ||
	    !strstr(r->out, "stepper: ignoring STEPPER_ESCAPE_MS='0': expected milliseconds "
			    "from 1 to 3600000; using 100") ||
	    strstr(r->out, "left control"))
		fail_msg("bad STEPPER_ON_STALL / STEPPER_ESCAPE_MS:\n%s", r->out);
	/* a thread that never comes back: the others end, then the stall */
	const char *vars[] = { rel, "STEPPER_STALL_MS=300", NULL };
	const char *want[] = { "stepper: [main/1] left control", "stepper: stall:",
			       "[main] parked at join(main/1)", NULL };
	expect_end("edge_read_pipe", NULL, vars, "exit 88", want);
	free(r);
}

static void test_a_forked_child_runs_uncontrolled(void **state)
{
	(void)state;
	const char *t[] = { "child ran", NULL };
	for (int seed = 1; seed <= 20; seed++) {
		char v[32];
		snprintf(v, sizeof v, "STEPPER_SEED=%d", seed);
		const char *vars[] = { v, NULL };
		expect_end("edge_fork", NULL, vars, "exit 0", t);
	}
}

static void test_a_crash_names_the_thread_and_where(void **state)
{
	(void)state;
	const char *t[] = { "stepper: crash: [main/1] was killed by SIGSEGV (Segmentation fault) "
			    "at edge_segv+0x",
			    "stepper: the order that happened:", NULL };
	expect_report("edge_segv", "SIGSEGV", t);
}

/* A thread left waiting when main returns ends with the program (a note,
 * not a failure); a program that makes no thread passes. */
static void test_threads_left_at_exit_are_noted_and_no_thread_is_fine(void **state)
{
	(void)state;
	const char *t[] = { "stepper: at exit, left running: [main/1] at wake(cv#1)", NULL };
	for (int seed = 1; seed <= 20; seed++) {
		char v[32];
		snprintf(v, sizeof v, "STEPPER_SEED=%d", seed);
		const char *vars[] = { v, NULL };
		struct result *r = malloc(sizeof *r);
		assert_non_null(r);
		run_args("edge_leave_running", NULL, vars, r);
		char h[64];
		if (!passed(r))
			fail_msg("seed %d ended %s:\n%s", seed, how(r, h, sizeof h), r->out);
		/* main may return before the worker reaches its wait */
		if (strstr(r->out, "left running") && !strstr(r->out, "[main/1] "))
			fail_msg("seed %d: the note does not name the worker:\n%s", seed, r->out);
		free(r);
	}
	expect_report("edge_leave_running", "exit 0", t);
	expect_end("edge_leave_running", "nothing", NULL, "exit 0", NULL);
}

/* Every call of the primitives answers as glibc's, on every schedule. */
static void test_the_primitives_answer_as_glibc_does(void **state)
{
	(void)state;
	for (int seed = 1; seed <= scaled(100); seed++) {
		char v[32];
		snprintf(v, sizeof v, "STEPPER_SEED=%d", seed);
		const char *vars[] = { v, NULL };
		expect_end("edge_prims_api", NULL, vars, "exit 0", NULL);
	}
}

/* The clock variants (pthread_cond_clockwait, sem_clockwait, the rwlock's
 * and the mutex's) are points on virtual time: an hour's wait and half an
 * hour's sleep end at once, on every schedule. */
static void test_the_clock_variants_wait_on_virtual_time(void **state)
{
	(void)state;
	for (int seed = 1; seed <= scaled(50); seed++) {
		char v[32];
		snprintf(v, sizeof v, "STEPPER_SEED=%d", seed);
		const char *vars[] = { v, NULL };
		expect_end("edge_clockwait", NULL, vars, "exit 0", NULL);
	}
}

/* A C++ program: std::thread, std::mutex, std::condition_variable's
 * wait_for (pthread_cond_clockwait) and sleep_for reach the same points
 * through libstdc++. Skipped where the Makefile found no C++ compiler. */
static void test_a_cxx_program_is_controlled(void **state)
{
	(void)state;
	char exe[512];
	path_of(exe, sizeof exe, "%s/tests/auto/%s", "cxx_queue");
	if (access(exe, X_OK) != 0) {
		print_message("no %s (no C++ compiler): skipped\n", exe);
		skip();
	}
	for (int seed = 1; seed <= scaled(50); seed++) {
		char v[32];
		snprintf(v, sizeof v, "STEPPER_SEED=%d", seed);
		const char *vars[] = { v, NULL };
		expect_end("cxx_queue", NULL, vars, "exit 0", NULL);
	}
	const char *debug[] = { "STEPPER_DEBUG=1", NULL };
	const char *t[] = { "expecting [main] timedwait(cv#1)", "expecting [main/1] sleep",
			    "expecting [main] spawn(main/1)", NULL };
	expect_end("cxx_queue", NULL, debug, "exit 0", t);
}

/* What glibc runs at a thread's end is part of the run (a cleanup handler
 * that unlocks on pthread_exit, a key destructor that locks), a joined
 * thread's reused id names the new thread, and call_once is a point: on
 * every schedule, under each strategy. */
/* prog exits 0 on seeds 1..seeds under each strategy. */
static void passes_under_each_strategy(const char *prog, int seeds)
{
	static const char *const strategies[] = { "STEPPER_STRATEGY=random",
						  "STEPPER_STRATEGY=pct:3", "STEPPER_STRATEGY=pos" };
	for (size_t k = 0; k < 3; k++)
		for (int seed = 1; seed <= seeds; seed++) {
			char v[32];
			snprintf(v, sizeof v, "STEPPER_SEED=%d", seed);
			const char *vars[] = { v, strategies[k], NULL };
			expect_end(prog, NULL, vars, "exit 0", NULL);
		}
}

static void test_a_thread_ends_after_its_handlers_and_destructors(void **state)
{
	(void)state;
	passes_under_each_strategy("edge_thread_end", scaled(50));
}

/* The failure report is made on the thread that found the failure, whose
 * stack may be the smallest there is. */
static void test_a_report_fits_a_small_thread_stack(void **state)
{
	(void)state;
	const char *t[] = { "stepper: deadlock: a cycle of threads", "the cycle: [main/", NULL };
	expect_report("edge_small_stacks", "exit 86", t);
}

/* exit() ends the run before the atexit handlers: one that takes longer
 * than the stall limit is no stall. */
static void test_slow_atexit_handlers_are_no_stall(void **state)
{
	(void)state;
	const char *vars[] = { "STEPPER_STALL_MS=100", NULL };
	expect_end("edge_slow_atexit", NULL, vars, "exit 0", NULL);
}

/* Threads that wait by polling the clock (with sched_yield, or busy) see
 * virtual time move, on every schedule. (Before, time moved only when all
 * were blocked: the busy one stalled the run, the yielding one met the
 * decision limit.) */
static void test_threads_polling_the_clock_see_time_move(void **state)
{
	(void)state;
	passes_under_each_strategy("edge_clock_poll", scaled(30));
}

/* A named semaphore stays the kernel's: the program runs as it would. */
static void test_a_named_semaphore_is_left_to_the_real_functions(void **state)
{
	(void)state;
	const char *t[] = { "named semaphore taken", NULL };
	for (int seed = 1; seed <= 10; seed++) {
		char v[32];
		snprintf(v, sizeof v, "STEPPER_SEED=%d", seed);
		const char *vars[] = { v, NULL };
		expect_end("edge_named_sem", NULL, vars, "exit 0", t);
	}
}

/* A program bound to glibc's old condition ABI (GLIBC_2.2.5) reaches the
 * same points: its lost wake-up is reported, not a stall in the real wait. */
static void test_the_old_condition_abi_is_controlled_too(void **state)
{
	(void)state;
	const char *t[] = { "stepper: deadlock: lost wake-up: [main/1] waits on cv#1 at "
			    "edge_cond_compat+0x",
			    NULL };
	expect_report("edge_cond_compat", "exit 86", t);
}

static void test_the_program_s_exit_status_is_kept_and_fails_the_run(void **state)
{
	(void)state;
	const char *t[] = { "stepper: exit: the program exited with status 3 ([main/1] at "
			    "edge_exit_status+0x",
			    NULL };
	expect_end("edge_exit_status", NULL, NULL, "exit 3", t);
	/* main's pthread_exit: the others go on, the program exits 0 */
	expect_end("edge_exit_status", "main-exit", NULL, "exit 0", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_bug_is_found_and_its_failure_replays),
		cmocka_unit_test(test_each_fix_passes),
		cmocka_unit_test(test_pct_and_pos_find_bugs_in_programs),
		cmocka_unit_test(test_pct_lets_the_others_go_past_a_spinning_thread),
		cmocka_unit_test(test_a_lock_order_deadlock_is_reported_as_its_cycle),
		cmocka_unit_test(test_a_wait_nothing_can_signal_is_a_lost_wake_up),
		cmocka_unit_test(test_a_relock_of_a_normal_mutex_is_a_self_deadlock),
		cmocka_unit_test(test_a_failed_assert_names_the_thread_and_the_order),
		cmocka_unit_test(test_a_thread_blocked_out_of_sight_is_a_stall_naming_it),
		cmocka_unit_test(test_threads_that_yield_for_ever_meet_the_decision_limit),
		cmocka_unit_test(test_one_thread_more_than_the_limit_says_so),
		cmocka_unit_test(test_a_thousand_threads_are_controlled),
		cmocka_unit_test(test_a_program_s_trace_shows_its_pthread_calls),
		cmocka_unit_test(test_a_thread_made_with_clone_is_refused),
		cmocka_unit_test(test_with_release_a_thread_out_of_sight_leaves_control),
		cmocka_unit_test(test_a_forked_child_runs_uncontrolled),
		cmocka_unit_test(test_a_crash_names_the_thread_and_where),
		cmocka_unit_test(test_the_old_condition_abi_is_controlled_too),
		cmocka_unit_test(test_a_named_semaphore_is_left_to_the_real_functions),
		cmocka_unit_test(test_the_primitives_answer_as_glibc_does),
		cmocka_unit_test(test_the_clock_variants_wait_on_virtual_time),
		cmocka_unit_test(test_a_cxx_program_is_controlled),
		cmocka_unit_test(test_a_thread_ends_after_its_handlers_and_destructors),
		cmocka_unit_test(test_a_report_fits_a_small_thread_stack),
		cmocka_unit_test(test_slow_atexit_handlers_are_no_stall),
		cmocka_unit_test(test_threads_polling_the_clock_see_time_move),
		cmocka_unit_test(test_threads_left_at_exit_are_noted_and_no_thread_is_fine),
		cmocka_unit_test(test_the_program_s_exit_status_is_kept_and_fails_the_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
