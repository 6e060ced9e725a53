/*
 * test_cli_shrink.c - `stepper shrink TRACE -- COMMAND` (README
 * "Shrinking"): a lost update found by `stepper run` shrinks to its one
 * needed preemption, keeps its failure, replays with `stepper replay`,
 * and -j does not change the result; a crash counts only when the failure
 * was that crash; a hung process is killed at the timeout; the budget
 * stops it; bad input gets a clear error and nothing is written. Each
 * test runs the stepper command as a child and checks its output, exit
 * status and files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/trace.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *bdir(void)
{
	const char *b = getenv("B");
	return b && *b ? b : "build";
}

static char dir[512];     /* this suite's files */
static char stepper[512]; /* the command */
static char prog[512];    /* tests/progs/lost_update */
static char failing[1024]; /* a failing trace of `stepper run` */

/* The time budget is a wall-clock bound that would end a shrink early
 * under a sanitizer (each process starts slowly there): the tests give a
 * large one, so that only the replays decide where it ends. */
#define NO_TIME "--seconds 3600"

/* Run a shell command; its exit status, its output (stdout and stderr)
 * into *out (malloc'd). */
static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
		n += got;
		if (cap - n < 1024) {
			buf = realloc(buf, cap *= 2);
			assert_non_null(buf);
		}
	}
	buf[n] = '\0';
	int st = pclose(p);
	*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Does text have a line matching the extended regex re? Sub-match 1 into
 * sub (may be NULL). */
static int matches(const char *text, const char *re, char *sub, size_t size)
{
	regex_t r;
	regmatch_t m[2];
	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NEWLINE), 0);
	int ok = regexec(&r, text, 2, m, 0) == 0;
	if (ok && sub && m[1].rm_so >= 0)
		snprintf(sub, size, "%.*s", (int)(m[1].rm_eo - m[1].rm_so), text + m[1].rm_so);
	regfree(&r);
	return ok;
}

static void expect(const char *text, const char *re)
{
	if (!matches(text, re, NULL, 0))
		fail_msg("no line matching /%s/ in:\n%s", re, text);
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* path with ".json" made "-shrunk.json". */
static void shrunk_path(const char *path, char *out, size_t size)
{
	snprintf(out, size, "%.*s-shrunk.json", (int)(strlen(path) - 5), path);
}

/* The schedule of a trace, as "thread step\n" lines (malloc'd). */
static char *schedule_of(const char *path)
{
	stp_trace *t = stp_trace_load(path, NULL);
	assert_non_null(t);
	size_t n = stp_trace_schedule_length(t), cap = n * 160 + 1, len = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	s[0] = '\0';
	for (size_t k = 0; k < n; k++)
		len += (size_t)snprintf(s + len, cap - len, "%d %s\n", stp_trace_entry_thread(t, k),
					stp_trace_entry_step(t, k));
	stp_trace_free(t);
	return s;
}

/* Once: `stepper run` finds the lost update; its lowest failing seed's
 * trace is the one shrunk. */
static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "%s/test-cli-shrink", bdir());
	snprintf(stepper, sizeof stepper, "%s/bin/stepper", bdir());
	snprintf(prog, sizeof prog, "%s/tests/progs/lost_update", bdir());
	char *out;
	run(&out, "rm -rf %s && mkdir -p %s", dir, dir);
	free(out);
	int rc = run(&out, "%s run --seeds 1..10 -j 2 --trace-dir %s/run -- %s", stepper, dir, prog);
	if (rc != 1 ||
	    !matches(out, "^    replay: .* replay ([^ ]+/seed-[0-9]+\\.json) --", failing,
		     sizeof failing)) {
		fprintf(stderr, "stepper run found no failure (exit %d):\n%s", rc, out);
		free(out);
		return -1;
	}
	free(out);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Shrinking                                                           */
/* ------------------------------------------------------------------ */

/* The known minimum is one preemption, between a read and its write; the
 * shrunk trace keeps the failure and replays to it. */
static void test_a_lost_update_shrinks_to_one_preemption(void **state)
{
	(void)state;
	char *out, shrunk[1100], from[32];
	shrunk_path(failing, shrunk, sizeof shrunk);
	unlink(shrunk);
	int rc = run(&out, "%s shrink -j 2 " NO_TIME " %s -- %s", stepper, failing, prog);
	if (rc != 0)
		fail_msg("exit %d:\n%s", rc, out);
	if (!matches(out, "^shrunk from ([0-9]+) preemptions to 1 in [0-9]+ replays? \\(", from,
		     sizeof from))
		fail_msg("no shrink line in:\n%s", out);
	assert_true(atoi(from) > 1);
	expect(out, "^order after shrinking \\(1 preemption\\):$");
	expect(out, "^critical pair: \\[[a-z]+\\] '(read|write)' #1 runs before \\[[a-z]+\\] "
		    "'write' #1; the other way round the run passes$");
	char line[2400];
	snprintf(line, sizeof line, "^replay shrunk: %s replay %s -- %s$", stepper, shrunk, prog);
	expect(out, line);
	free(out);
	/* the signature is kept: the same outcome and check, masked */
	stp_trace *t = stp_trace_load(shrunk, NULL);
	assert_non_null(t);
	assert_string_equal(stp_trace_strategy(t), "shrunk");
	assert_string_equal(stp_trace_outcome(t), "fail");
	assert_int_equal(stp_trace_error_count(t), 1);
	assert_true(matches(stp_trace_error_at(t, 0), "^counter is [0-2], expected 3$", NULL, 0));
	stp_trace_free(t);
	/* and it replays, strictly and by its anchors */
	rc = run(&out, "%s replay %s -- %s", stepper, shrunk, prog);
	assert_int_equal(rc, 0);
	expect(out, "^verdict: reproduced: the recorded failure happened again$");
	free(out);
	rc = run(&out, "%s replay --lenient %s -- %s", stepper, shrunk, prog);
	assert_int_equal(rc, 0);
	free(out);
}

/* A test of declared threads writes version 1 traces (steps only): its
 * decisions are its schedule's entries, so it shrinks the same way
 * (examples/bank: the lost deposit needs one preemption). */
static void test_a_trace_of_declared_threads_shrinks_too(void **state)
{
	(void)state;
	char *out, v1[1100], shrunk[1100], bank[600];
	snprintf(bank, sizeof bank, "%s/examples/bank", bdir());
	int rc = run(&out, "%s run --seeds 1..5 --trace-dir %s/bank -- %s racy", stepper, dir, bank);
	if (rc != 1 ||
	    !matches(out, "^    replay: .* replay ([^ ]+/seed-[0-9]+\\.json) --", v1, sizeof v1))
		fail_msg("stepper run found no failure (exit %d):\n%s", rc, out);
	free(out);
	char *text = NULL;
	run(&text, "grep -c '\"version\": 1' %s", v1);
	assert_int_equal(atoi(text), 1);
	free(text);
	shrunk_path(v1, shrunk, sizeof shrunk);
	rc = run(&out, "%s shrink " NO_TIME " %s -- %s racy", stepper, v1, bank);
	if (rc != 0)
		fail_msg("exit %d:\n%s", rc, out);
	expect(out, "^shrunk from [0-9]+ preemptions? to 1 in [0-9]+ replays? \\(");
	expect(out, "^critical pair: \\[(alice|bob)\\] 'read balance' #1 runs before "
		    "\\[(alice|bob)\\] 'write balance' #1; the other way round the run passes$");
	free(out);
	rc = run(&out, "%s replay %s -- %s racy", stepper, shrunk, bank);
	assert_int_equal(rc, 0);
	expect(out, "^verdict: reproduced: the recorded failure happened again$");
	free(out);
}

/* The result, and the count of replays, do not depend on -j. */
static void test_jobs_do_not_change_the_result(void **state)
{
	(void)state;
	char *out, shrunk[1100];
	char line[3][256], pair[3][512];
	char *sched[3];
	const int jobs[3] = { 1, 2, 5 };
	shrunk_path(failing, shrunk, sizeof shrunk);
	for (int i = 0; i < 3; i++) {
		unlink(shrunk);
		int rc = run(&out, "%s shrink -j %d " NO_TIME " %s -- %s", stepper, jobs[i], failing, prog);
		if (rc != 0)
			fail_msg("-j %d: exit %d:\n%s", jobs[i], rc, out);
		assert_true(matches(out, "^(shrunk from [0-9]+ preemptions to [0-9]+ in [0-9]+ "
					 "replays?)", line[i], sizeof line[i]));
		assert_true(matches(out, "^(critical pair: .*)$", pair[i], sizeof pair[i]));
		free(out);
		sched[i] = schedule_of(shrunk);
	}
	for (int i = 1; i < 3; i++) {
		assert_string_equal(line[0], line[i]);
		assert_string_equal(pair[0], pair[i]);
		assert_string_equal(sched[0], sched[i]);
	}
	for (int i = 0; i < 3; i++)
		free(sched[i]);
}

/* A process killed by a signal fails the same way only when the failing
 * run's replay was killed by that signal too. */
static void test_a_crash_counts_only_when_the_failure_was_that_crash(void **state)
{
	(void)state;
	char *out, trace[600], shrunk[700];
	/* a test that aborts after the stepper recorded its failure */
	snprintf(trace, sizeof trace, "%s/abort.json", dir);
	shrunk_path(trace, shrunk, sizeof shrunk);
	char seed[32];
	assert_true(matches(failing, "seed-([0-9]+)\\.json$", seed, sizeof seed));
	run(&out, "STEPPER_SHRINK=0 STEPPER_SEED=%s STEPPER_TRACE=%s %s abort", seed, trace, prog);
	free(out);
	int rc = run(&out, "%s shrink -j 2 " NO_TIME " %s -- %s abort", stepper, trace, prog);
	if (rc != 0)
		fail_msg("exit %d:\n%s", rc, out);
	expect(out, "^shrunk from [0-9]+ preemptions to 1 in ");
	free(out);
	assert_true(exists(shrunk));
	/* the failure was no crash: a replay that dies mid-run is not it */
	char other[1100];
	shrunk_path(failing, other, sizeof other);
	unlink(other);
	rc = run(&out, "%s shrink -j 2 %s -- %s crash", stepper, failing, prog);
	assert_int_equal(rc, 1);
	expect(out, "^not shrunk: the command, replaying the trace, was killed by signal 6 "
		    "\\(.*\\) before its run ended$");
	expect(out, "^stepper shrink: nothing written$");
	free(out);
	assert_false(exists(other));
}

/* A process past the timeout is killed; it did not fail the same way. */
static void test_a_hung_command_is_killed_at_the_timeout(void **state)
{
	(void)state;
	char *out;
	/* a bound on purpose: the command never ends by itself */
	int rc = run(&out, "%s shrink --timeout 0.2 %s -- sh -c 'exec sleep 600'", stepper,
		     failing);
	assert_int_equal(rc, 1);
	expect(out, "^not shrunk: the command, replaying the trace, ran past the timeout and "
		    "was killed$");
	free(out);
}

/* --replays is the budget: the report says it stopped it. */
static void test_the_budget_stops_it_and_says_so(void **state)
{
	(void)state;
	char *out;
	int rc = run(&out, "%s shrink -j 2 --replays 3 " NO_TIME " %s -- %s", stepper, failing, prog);
	assert_int_equal(rc, 0);
	expect(out, "^shrunk from [0-9]+ preemptions to [0-9]+ in 3 replays ");
	expect(out, "^  stopped by the budget of 3 replays and 3600 s \\(STEPPER_SHRINK_REPLAYS, "
		    "STEPPER_SHRINK_SECONDS\\): more may shrink it further$");
	free(out);
}

/* ------------------------------------------------------------------ */
/* Bad input                                                           */
/* ------------------------------------------------------------------ */

/* Exit status want, and a line of output matching re. */
static void refused(int want, const char *re, const char *fmt, const char *a, const char *b)
{
	char *out;
	char cmd[4096];
	snprintf(cmd, sizeof cmd, fmt, a, b);
	int rc = run(&out, "%s %s", stepper, cmd);
	if (rc != want || !matches(out, re, NULL, 0))
		fail_msg("stepper %s: exit %d (expected %d), output:\n%s\n(expected /%s/)", cmd,
			 rc, want, out, re);
	free(out);
}

static void test_bad_input_is_refused_clearly(void **state)
{
	(void)state;
	char path[600], plan[600], v1[600], pass[600];
	refused(2, "^stepper: missing the trace to shrink$", "shrink -- %s%s", prog, "");
	snprintf(path, sizeof path, "%s/missing.json", dir);
	refused(2, "^stepper: .*/missing\\.json: cannot open: No such file or directory$",
		"shrink %s -- %s", path, prog);
	snprintf(path, sizeof path, "%s/not-a-trace.json", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"hello\": 1}\n", f);
	fclose(f);
	refused(2, "^stepper: .*not-a-trace\\.json: not a stepper trace", "shrink %s -- %s", path,
		prog);
	refused(2, "^stepper: expected -- and the command after the trace, got '",
		"shrink %s %s", failing, prog);
	refused(2, "^stepper: cannot run '/nonexistent/prog': no such executable$",
		"shrink %s -- %s", failing, "/nonexistent/prog");
	refused(2, "^stepper: -j: expected 1 to 1024 jobs, got '0'$", "shrink -j 0 %s -- %s",
		failing, prog);
	/* traces that hold no failure to shrink */
	char *out, seed[32];
	assert_true(matches(failing, "seed-([0-9]+)\\.json$", seed, sizeof seed));
	snprintf(pass, sizeof pass, "%s/pass.json", dir);
	snprintf(v1, sizeof v1, "%s/v1.json", dir);
	snprintf(plan, sizeof plan, "%s/plan.json", dir);
	run(&out, "STEPPER_SEED=1 STEPPER_TRACE=%s %s fixed; STEPPER_SEED=1 STEPPER_TRACE=%s "
		  "%s/tests/progs/pass; STEPPER_SHRINK=0 STEPPER_SEED=%s STEPPER_TRACE=%s %s crash",
	    pass, prog, v1, bdir(), seed, plan, prog);
	free(out);
	refused(2, "^stepper: .*/pass\\.json recorded a passing run: there is no failure to "
		   "shrink$",
		"shrink %s -- %s", pass, prog);
	/* a version 1 trace of a passing run: refused for passing */
	refused(2, "^stepper: .*/v1\\.json recorded a passing run: there is no failure to "
		   "shrink$",
		"shrink %s -- %s", v1, prog);
	refused(2, "^stepper: .*/plan\\.json holds only the plan: the recorded run died",
		"shrink %s -- %s", plan, prog);
}

/* A command that does not fail the same way on the trace: said, and
 * nothing written. */
static void test_a_command_that_does_not_reproduce_writes_nothing(void **state)
{
	(void)state;
	char shrunk[1100];
	shrunk_path(failing, shrunk, sizeof shrunk);
	unlink(shrunk);
	char *out;
	int rc = run(&out, "%s shrink %s -- %s fixed", stepper, failing, prog);
	assert_int_equal(rc, 1);
	expect(out, "^not shrunk: the command, replaying the trace, did not fail the same way "
		    "\\(it passed\\): is it the test that wrote the trace\\?");
	expect(out, "^stepper shrink: nothing written$");
	free(out);
	assert_false(exists(shrunk));
	rc = run(&out, "%s shrink %s -- true", stepper, failing);
	assert_int_equal(rc, 1);
	expect(out, "^not shrunk: the command did not replay the trace: it wrote no trace and "
		    "exited with status 0 \\(does it run one stepper test");
	free(out);
	assert_false(exists(shrunk));
}

static void test_help(void **state)
{
	(void)state;
	char *out, *out2;
	assert_int_equal(run(&out, "%s help shrink", stepper), 0);
	expect(out, "^usage: stepper shrink \\[-j JOBS\\]");
	expect(out, "^The result does not depend on JOBS\\.$");
	assert_int_equal(run(&out2, "%s shrink --help", stepper), 0);
	assert_string_equal(out, out2);
	free(out2);
	free(out);
	assert_int_equal(run(&out, "%s --help", stepper), 0);
	expect(out, "^  shrink +shrink a failing trace");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_lost_update_shrinks_to_one_preemption),
		cmocka_unit_test(test_jobs_do_not_change_the_result),
		cmocka_unit_test(test_a_trace_of_declared_threads_shrinks_too),
		cmocka_unit_test(test_a_crash_counts_only_when_the_failure_was_that_crash),
		cmocka_unit_test(test_a_hung_command_is_killed_at_the_timeout),
		cmocka_unit_test(test_the_budget_stops_it_and_says_so),
		cmocka_unit_test(test_bad_input_is_refused_clearly),
		cmocka_unit_test(test_a_command_that_does_not_reproduce_writes_nothing),
		cmocka_unit_test(test_help),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
