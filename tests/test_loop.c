/*
 * test_loop.c - in-process seed loops: finding the lost update, saying
 * which seed and which order, and passing the fixed version.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "examples/bank.h"
#include "helpers.h"

#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What the process wrote to its stderr (fd 2) between begin and end. */
typedef struct fd_capture {
	int saved;
	FILE *f;
} fd_capture;

static void stderr_begin(fd_capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	assert_non_null(c->f);
	c->saved = dup(2);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->f), 2) == 2);
}

static char *stderr_end(fd_capture *c)
{
	fflush(stderr);
	assert_true(dup2(c->saved, 2) == 2);
	close(c->saved);
	long n = ftell(c->f);
	char *buf = malloc((size_t)n + 1);
	rewind(c->f);
	size_t got = fread(buf, 1, (size_t)n, c->f);
	buf[got] = '\0';
	fclose(c->f);
	return buf;
}

static size_t count_lines_with(const char *text, const char *what)
{
	size_t n = 0;
	for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

static int matches(const char *text, const char *pattern)
{
	regex_t re;
	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	int m = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	return m == 0;
}

static stp_loop_options quiet_loop(uint64_t first, uint64_t count, FILE *out)
{
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.first_seed = first;
	lo.count = count;
	lo.out = out;
	lo.name = "bank";
	lo.base.trace_dir = "build/test-traces";
	return lo;
}

static void test_loop_finds_the_lost_update_and_says_seed_and_order(void **state)
{
	(void)state;
	capture c;
	stp_loop_options lo = quiet_loop(1, 1000, capture_open(&c));
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, racy_body, NULL, &r), 1);
	assert_int_equal(r.failures, 1);
	assert_true(r.tried >= 1 && r.tried <= 1000);
	assert_int_equal(r.failed_seed, r.tried); /* seeds 1, 2, ... in order */
	const char *out = capture_text(&c);
	char head[128];
	snprintf(head, sizeof head, "stepper: bank: seed %llu failed after %llu seed",
		 (unsigned long long)r.failed_seed, (unsigned long long)r.tried);
	assert_non_null(strstr(out, head));
	assert_non_null(strstr(out, "  error: balance is "));
	assert_non_null(strstr(out, ", expected 220 (100 + 50 + 70)\n"));
	assert_non_null(strstr(out, "\n====\n[")); /* the order, printed */
	/* its own folder: NAME-YYYYMMDD-HHMMSS-PID/seed-N.json */
	char want[256];
	snprintf(want, sizeof want,
		 "^build/test-traces/bank-[0-9]{8}-[0-9]{6}-%ld(-[0-9]+)?/seed-%llu\\.json$",
		 (long)getpid(), (unsigned long long)r.failed_seed);
	if (!matches(r.trace_path, want))
		fail_msg("trace path %s does not match /%s/", r.trace_path, want);
	char line[640];
	snprintf(line, sizeof line, "replay: STEPPER_REPLAY=%s ", r.trace_path);
	assert_non_null(strstr(out, line));
	struct stat st;
	assert_int_equal(stat(r.trace_path, &st), 0);
	capture_free(&c);
}

/* The failing seed, run again on its own, fails the same way. */
static void test_failing_seed_fails_again_alone(void **state)
{
	(void)state;
	stp_loop_result r;
	stp_loop_options lo = quiet_loop(1, 1000, NULL);
	lo.quiet = 1;
	assert_int_equal(stp_loop(&lo, racy_body, NULL, &r), 1);
	for (int i = 0; i < 20; i++) {
		stp_loop_result again;
		stp_loop_options one = quiet_loop(r.failed_seed, 1, NULL);
		one.quiet = 1;
		assert_int_equal(stp_loop(&one, racy_body, NULL, &again), 1);
		assert_int_equal(again.failed_seed, r.failed_seed);
	}
}

static void test_fixed_version_passes_10000_schedules(void **state)
{
	(void)state;
	capture c;
	stp_loop_options lo = quiet_loop(1, 10000, capture_open(&c));
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, fixed_body, NULL, &r), 0);
	assert_int_equal(r.tried, 10000);
	assert_int_equal(r.failures, 0);
	assert_non_null(strstr(capture_text(&c),
			       "stepper: bank: 10000 seeds passed (1..10000) in "));
	capture_free(&c);
}

static int returns_three(stp_stepper *s, void *arg)
{
	(void)s;
	(void)arg;
	return 3;
}

static void test_a_body_that_returns_nonzero_fails_the_seed(void **state)
{
	(void)state;
	capture c;
	stp_loop_options lo = quiet_loop(9, 5, capture_open(&c));
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, returns_three, NULL, &r), 1);
	assert_int_equal(r.failed_seed, 9);
	assert_non_null(strstr(capture_text(&c), "  error: the test body returned 3\n"));
	capture_free(&c);
}

static void test_loop_rejects_bad_arguments(void **state)
{
	(void)state;
	stp_loop_options lo = quiet_loop(1, 0, NULL);
	assert_int_equal(stp_loop(&lo, racy_body, NULL, NULL), STP_EINVAL);
	lo.count = 10;
	assert_int_equal(stp_loop(&lo, NULL, NULL, NULL), STP_EINVAL);
	lo = quiet_loop(UINT64_MAX, 2, NULL);
	assert_int_equal(stp_loop(&lo, racy_body, NULL, NULL), STP_ERANGE);
}

/* ------------------------------------------------------------------ */
/* Seeds from the environment                                          */
/* ------------------------------------------------------------------ */

static int bodies_run;

static int counting_body(stp_stepper *s, void *arg)
{
	(void)s;
	(void)arg;
	bodies_run++;
	return 0;
}

/* A typo in a seed must not become another test: the loop fails before
 * it runs any seed, and says which variable, its value and what it takes. */
static void test_a_malformed_seed_or_range_fails_the_loop(void **state)
{
	(void)state;
	struct {
		const char *var, *value, *want;
	} cases[] = {
		{ "STEPPER_SEED", "abc", "STEPPER_SEED='abc' is not a seed: expected a "
					 "decimal number from 0 to 18446744073709551615" },
		{ "STEPPER_SEED", "12abc", "STEPPER_SEED='12abc' is not a seed" },
		{ "STEPPER_SEED", "18446744073709551616", "STEPPER_SEED='18446744073709551616'" },
		{ "STEPPER_SEEDS", "1..x", "STEPPER_SEEDS='1..x' is not a seed range: "
					   "expected N (seeds 1..N, N >= 1) or A..B "
					   "(seeds A to B, A <= B)" },
		{ "STEPPER_SEEDS", "0", "STEPPER_SEEDS='0' is not a seed range" },
		{ "STEPPER_SEEDS", "5..2", "STEPPER_SEEDS='5..2' is not a seed range" },
		{ "STEPPER_SEEDS", "18446744073709551616", "STEPPER_SEEDS='1844674407" },
		{ "STEPPER_SEEDS", "1..18446744073709551616", "STEPPER_SEEDS='1..1844" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		setenv(cases[i].var, cases[i].value, 1);
		fd_capture err;
		stderr_begin(&err);
		stp_loop_options lo;
		stp_loop_options_init(&lo); /* says nothing: the loop does */
		capture c;
		lo.out = capture_open(&c);
		lo.name = "typo";
		stp_loop_result r;
		bodies_run = 0;
		int rc = stp_loop(&lo, counting_body, NULL, &r);
		char *said = stderr_end(&err);
		unsetenv(cases[i].var);
		const char *out = capture_text(&c);
		if (rc == 0 || bodies_run != 0 || !strstr(out, cases[i].want))
			fail_msg("%s=%s: rc %d, %d seeds run, said: %s", cases[i].var,
				 cases[i].value, rc, bodies_run, out);
		assert_int_equal(rc, STP_EINVAL);
		assert_int_equal(r.tried, 0);
		assert_non_null(strstr(out, "stepper: typo: "));
		assert_non_null(strstr(out, "; no seed was run\n"));
		assert_null(strstr(said, "using")); /* no "using seed 1" */
		free(said);
		capture_free(&c);
	}
}

/* Other malformed variables keep warn-and-default, in a loop too. */
static void test_other_malformed_variables_still_warn_and_run(void **state)
{
	(void)state;
	setenv("STEPPER_MODE", "sideways", 1);
	fd_capture err;
	stderr_begin(&err);
	stp_loop_options lo;
	stp_loop_options_init(&lo);
	lo.count = 3;
	lo.quiet = 1;
	bodies_run = 0;
	int rc = stp_loop(&lo, counting_body, NULL, NULL);
	char *said = stderr_end(&err);
	unsetenv("STEPPER_MODE");
	assert_int_equal(rc, 0);
	assert_int_equal(bodies_run, 3);
	assert_int_equal(lo.base.mode, STP_SERIAL);
	assert_non_null(strstr(said, "stepper: ignoring STEPPER_MODE='sideways': "
				     "expected serial or overlap; using serial\n"));
	free(said);
}

/* ------------------------------------------------------------------ */
/* Where traces go                                                     */
/* ------------------------------------------------------------------ */

/* An unwritable trace path is said once, not twice per seed; the failing
 * seed's report then offers a rerun, not a replay of a trace that is not
 * there. */
static void test_an_unwritable_trace_is_reported_once(void **state)
{
	(void)state;
	fd_capture err;
	stderr_begin(&err);
	stp_loop_options lo = quiet_loop(1, 200, NULL);
	lo.quiet = 1;
	lo.base.trace = "build/test-no-such-dir/sub/t.json";
	assert_int_equal(stp_loop(&lo, fixed_body, NULL, NULL), 0);
	lo = quiet_loop(1, 1000, NULL);
	lo.base.trace = "build/test-no-such-dir/sub/t.json";
	stp_loop_result r;
	assert_int_equal(stp_loop(&lo, racy_body, NULL, &r), 1);
	char *said = stderr_end(&err);
	assert_int_equal(count_lines_with(said, "cannot write"), 1);
	assert_non_null(strstr(said, "stepper: cannot write the trace "
				     "build/test-no-such-dir/sub/t.json: No such file or "
				     "directory"));
	assert_string_equal(r.trace_path, "");
	assert_non_null(strstr(said, "no trace of this seed at "
				     "build/test-no-such-dir/sub/t.json (it could not be "
				     "written, or keeps an earlier failure of this process)\n"
				     "rerun: STEPPER_SEED="));
	assert_null(strstr(said, "STEPPER_REPLAY="));
	free(said);
}

static size_t entries_in(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Each loop writes into a folder of its own, made at its first failure:
 * a later loop never touches an earlier one's traces. */
static void test_each_loop_keeps_its_trace_in_a_folder_of_its_own(void **state)
{
	(void)state;
	const char *dir = "build/test-loop-folders";
	assert_int_equal(system("rm -rf build/test-loop-folders"), 0);
	stp_loop_options lo = quiet_loop(1, 50, NULL);
	lo.quiet = 1;
	lo.name = "bank racy";
	lo.base.trace_dir = dir;
	assert_int_equal(stp_loop(&lo, fixed_body, NULL, NULL), 0);
	assert_int_equal(access(dir, F_OK), -1); /* made lazily: not yet */
	stp_loop_result a, b;
	lo.count = 1000;
	assert_int_equal(stp_loop(&lo, racy_body, NULL, &a), 1);
	assert_int_equal(stp_loop(&lo, racy_body, NULL, &b), 1);
	char want[256];
	snprintf(want, sizeof want,
		 "^build/test-loop-folders/bank-racy-[0-9]{8}-[0-9]{6}-%ld(-[0-9]+)?/"
		 "seed-[0-9]+\\.json$",
		 (long)getpid());
	assert_true(matches(a.trace_path, want));
	assert_true(matches(b.trace_path, want));
	assert_string_not_equal(a.trace_path, b.trace_path);
	assert_int_equal(entries_in(dir), 2);
	struct stat st;
	assert_int_equal(stat(a.trace_path, &st), 0); /* the first is untouched */
	assert_int_equal(stat(b.trace_path, &st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_finds_the_lost_update_and_says_seed_and_order),
		cmocka_unit_test(test_failing_seed_fails_again_alone),
		cmocka_unit_test(test_fixed_version_passes_10000_schedules),
		cmocka_unit_test(test_a_body_that_returns_nonzero_fails_the_seed),
		cmocka_unit_test(test_loop_rejects_bad_arguments),
		cmocka_unit_test(test_a_malformed_seed_or_range_fails_the_loop),
		cmocka_unit_test(test_other_malformed_variables_still_warn_and_run),
		cmocka_unit_test(test_an_unwritable_trace_is_reported_once),
		cmocka_unit_test(test_each_loop_keeps_its_trace_in_a_folder_of_its_own),
	};
	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
