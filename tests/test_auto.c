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
static void run(const char *prog, const char *const *vars, struct result *r)
{
	char exe[512], lib[512], preload[600], log[512];
	path_of(exe, sizeof exe, "%s/tests/auto/%s", prog);
	path_of(lib, sizeof lib, "%s/lib/libstepper-auto.so", "");
	snprintf(preload, sizeof preload, "LD_PRELOAD=%s", lib);
	snprintf(log, sizeof log, "%s/" DIR_NAME "/%s.log", bdir(), prog);
	const char *env[256];
	size_t n = 0;
	for (char **e = environ; *e && n < 200; e++)
		if (strncmp(*e, "STEPPER_", 8) != 0 && strncmp(*e, "LD_PRELOAD=", 11) != 0)
			env[n++] = *e;
	env[n++] = preload;
	env[n++] = "STEPPER_AUTO=1";
	/* a sanitizer's runtime comes from the program, not first in line */
	env[n++] = "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0";
	for (size_t i = 0; vars && vars[i]; i++)
		env[n++] = vars[i];
	env[n] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	char *argv[] = { exe, NULL };
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
				      "sem_pool",    "barrier_phase" };
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_bug_is_found_and_its_failure_replays),
		cmocka_unit_test(test_each_fix_passes),
		cmocka_unit_test(test_a_lock_order_deadlock_is_reported_as_its_cycle),
		cmocka_unit_test(test_a_wait_nothing_can_signal_is_a_lost_wake_up),
		cmocka_unit_test(test_a_relock_of_a_normal_mutex_is_a_self_deadlock),
		cmocka_unit_test(test_a_failed_assert_names_the_thread_and_the_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
