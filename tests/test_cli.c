/*
 * test_cli.c - the `stepper` command, run as a subprocess against small
 * programs (tests/progs) and the bank example; its output is checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

/* Run a shell command line; returns the exit status (or 128+signal) and
 * the combined output in *out (caller frees). */
static int sh(char **out, const char *fmt, ...)
{
	char cmd[4096], full[4400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	const char *outfile = "build/test-cli/out.txt";
	snprintf(full, sizeof full, "(%s) > %s 2>&1 < /dev/null", cmd, outfile);
	int st = system(full);
	FILE *f = fopen(outfile, "rb");
	char *buf = calloc(1, 1 << 20);
	if (f) {
		size_t n = fread(buf, 1, (1 << 20) - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	if (out)
		*out = buf;
	else
		free(buf);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

#define CONTAINS(hay, needle)                                                \
	do {                                                                 \
		if (!strstr((hay), (needle)))                                \
			fail_msg("output lacks \"%s\":\n%s", (needle), (hay)); \
	} while (0)

static int setup(void **state)
{
	(void)state;
	mkdir("build", 0777);
	return system("rm -rf build/test-cli && mkdir -p build/test-cli");
}

static void test_crash_is_named_by_signal_and_its_trace_replays(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir();
	int rc = sh(&out, "%s/bin/stepper run -n 4 -j 2 --trace-dir build/test-cli/crash "
			  "-- %s/tests/progs/crash", b, b);
	assert_int_equal(rc, 1);
	CONTAINS(out, "0 passed, 4 failed");
	CONTAINS(out, "  seed 1: killed by SIGSEGV\n");
	CONTAINS(out, "the run ended before its trace was complete");
	CONTAINS(out, "replay: ");
	free(out);
	/* the trace is the plan, and it replays: the crash comes back */
	rc = sh(&out, "%s/bin/stepper show build/test-cli/crash/seed-3.json", b);
	assert_int_equal(rc, 0);
	CONTAINS(out, "outcome:  none (a plan");
	free(out);
	rc = sh(&out, "%s/bin/stepper replay build/test-cli/crash/seed-3.json -- "
		      "%s/tests/progs/crash", b, b);
	assert_int_equal(rc, 0);
	CONTAINS(out, "the command ended with killed by SIGSEGV");
	CONTAINS(out, "reproduced: the recorded failure happened again");
	free(out);
}

static void test_hang_is_killed_at_the_timeout(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir();
	/* a wall-clock bound: the timeout is the behaviour under test */
	int rc = sh(&out, "%s/bin/stepper run -n 2 --timeout 0.3 --trace-dir "
			  "build/test-cli/hang -- %s/tests/progs/hang", b, b);
	assert_int_equal(rc, 1);
	CONTAINS(out, "seed 1: timed out after 0.3 s (process group killed)");
	CONTAINS(out, "seed 2: timed out after 0.3 s (process group killed)");
	free(out);
	rc = sh(&out, "cat build/test-cli/hang/seed-1.log");
	CONTAINS(out, "hanging until killed"); /* the output is kept */
	free(out);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void test_shards_cover_the_range_exactly_once(void **state)
{
	(void)state;
	const char *b = bdir();
	for (int i = 0; i < 3; i++)
		assert_int_equal(sh(NULL, "%s/bin/stepper run --seeds 11..30 --shard %d/3 "
					  "--trace-dir build/test-cli/shard -- "
					  "%s/tests/progs/record build/test-cli/seeds.txt",
				    b, i, b),
				 0);
	FILE *f = fopen("build/test-cli/seeds.txt", "r");
	assert_non_null(f);
	int seeds[64], n = 0;
	while (n < 64 && fscanf(f, "%d", &seeds[n]) == 1)
		n++;
	fclose(f);
	assert_int_equal(n, 20);
	qsort(seeds, (size_t)n, sizeof seeds[0], cmp_int);
	for (int k = 0; k < 20; k++)
		assert_int_equal(seeds[k], 11 + k);
}

static void test_passing_runs_leave_nothing_behind(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir();
	int rc = sh(&out, "%s/bin/stepper run -n 30 -j 2 --trace-dir build/test-cli/pass "
			  "-- %s/tests/progs/pass && ls -A build/test-cli/pass | wc -l", b, b);
	assert_int_equal(rc, 0);
	CONTAINS(out, "30 passed, 0 failed");
	CONTAINS(out, "\n0\n");
	free(out);
}

static void test_junit_output_parses_as_xml(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir();
	int rc = sh(&out, "FAIL_SEED=3 %s/bin/stepper run -n 5 -j 2 --junit "
			  "build/test-cli/junit.xml --trace-dir build/test-cli/junit -- "
			  "%s/tests/progs/record build/test-cli/j.txt", b, b);
	assert_int_equal(rc, 1);
	CONTAINS(out, "junit: build/test-cli/junit.xml");
	free(out);
	rc = sh(&out, "python3 -c \"import xml.etree.ElementTree as E; "
		      "r = E.parse('build/test-cli/junit.xml').getroot(); "
		      "s = r.find('testsuite'); "
		      "print(len(s.findall('testcase')), len(s.findall('testcase/failure')), "
		      "s.get('failures'))\"");
	assert_int_equal(rc, 0);
	CONTAINS(out, "5 1 1");
	free(out);
}

static void test_max_failures_stops_new_runs(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir();
	int rc = sh(&out, "%s/bin/stepper run -n 10 -j 1 --max-failures 2 --trace-dir "
			  "build/test-cli/max -- %s/tests/progs/crash", b, b);
	assert_int_equal(rc, 1);
	CONTAINS(out, "0 passed, 2 failed, 8 not run (--max-failures reached)");
	free(out);
}

static void test_bank_failure_is_replayed_and_reproduced(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir();
	int rc = sh(&out, "%s/bin/stepper run -n 10 -j 2 --trace-dir build/test-cli/bank "
			  "-- %s/examples/bank racy", b, b);
	assert_int_equal(rc, 1);
	CONTAINS(out, "error:  balance is ");
	free(out);
	rc = sh(&out, "f=$(ls build/test-cli/bank/*.json | head -1) && %s/bin/stepper "
		      "replay $f -- %s/examples/bank racy", b, b);
	assert_int_equal(rc, 0);
	CONTAINS(out, "reproduced: the recorded failure happened again");
	free(out);
	rc = sh(&out, "f=$(ls build/test-cli/bank/*.json | head -1) && %s/bin/stepper "
		      "export --chrome $f -o build/test-cli/chrome.json && python3 -c "
		      "\"import json; d = json.load(open('build/test-cli/chrome.json')); "
		      "print(len(d['traceEvents']))\"", b);
	assert_int_equal(rc, 0);
	CONTAINS(out, "13\n"); /* process, 2 thread tracks, 8 segments, error, outcome */
	free(out);
}

static void test_usage_errors_say_what_was_wrong(void **state)
{
	(void)state;
	const char *b = bdir();
	struct {
		const char *args;
		const char *want;
	} cases[] = {
		{ "run --frobnicate -- true", "unknown option '--frobnicate'" },
		{ "run --shard 3/2 -- true", "--shard 3/2: I must be below N" },
		{ "run --shard x -- true", "--shard: expected I/N, got 'x'" },
		{ "run -n 0 -- true", "-n: expected a whole number from 1 to" },
		{ "run -n 5 --seeds 1..9 -- true", "give -n or --seeds, not both" },
		{ "run --seeds 9..1 -- true", "--seeds: expected A..B with A <= B, got '9..1'" },
		{ "run --timeout -1 -- true", "--timeout: expected seconds above 0" },
		{ "run -n 3", "missing the command to run (after --)" },
		{ "run -n 3 -- /no/such/program", "cannot run '/no/such/program': no such "
						  "executable" },
		{ "run -n 3 -- no-such-program-xyz", "no such executable in PATH" },
		{ "run -n 3 --trace-dir Makefile/sub -- true",
		  "cannot use the trace dir 'Makefile/sub': Not a directory" },
		{ "frobnicate", "unknown command 'frobnicate'" },
		{ "help frobnicate", "no help for 'frobnicate'" },
		{ "show", "missing the trace to show" },
		{ "export build/x.json", "say which format: --chrome" },
		{ "replay", "missing the trace to replay" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out;
		int rc = sh(&out, "%s/bin/stepper %s", b, cases[i].args);
		if (rc != 2)
			fail_msg("stepper %s: exit %d, expected 2:\n%s", cases[i].args, rc, out);
		CONTAINS(out, cases[i].want);
		free(out);
	}
}

static void test_bad_trace_files_get_the_loader_message(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir();
	sh(NULL, "printf '{\"format\": \"stepper-trace\", \"version\": 99}' > "
		 "build/test-cli/v99.json");
	int rc = sh(&out, "%s/bin/stepper show build/test-cli/v99.json", b);
	assert_int_equal(rc, 1);
	CONTAINS(out, "version: this stepper reads version 1, the trace is version 99");
	free(out);
	rc = sh(&out, "%s/bin/stepper replay build/test-cli/v99.json -- true", b);
	assert_int_equal(rc, 2);
	CONTAINS(out, "the trace is version 99");
	free(out);
}

static void test_help_and_version(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir();
	assert_int_equal(sh(&out, "%s/bin/stepper --version", b), 0);
	CONTAINS(out, "stepper 0.1.0 (trace format version 1)");
	free(out);
	assert_int_equal(sh(&out, "%s/bin/stepper help run", b), 0);
	CONTAINS(out, "usage: stepper run [-n N | --seeds A..B]");
	free(out);
	assert_int_equal(sh(&out, "%s/bin/stepper --help", b), 0);
	CONTAINS(out, "commands:");
	free(out);
	assert_int_equal(sh(&out, "%s/bin/stepper", b), 2);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_is_named_by_signal_and_its_trace_replays),
		cmocka_unit_test(test_hang_is_killed_at_the_timeout),
		cmocka_unit_test(test_shards_cover_the_range_exactly_once),
		cmocka_unit_test(test_passing_runs_leave_nothing_behind),
		cmocka_unit_test(test_junit_output_parses_as_xml),
		cmocka_unit_test(test_max_failures_stops_new_runs),
		cmocka_unit_test(test_bank_failure_is_replayed_and_reproduced),
		cmocka_unit_test(test_usage_errors_say_what_was_wrong),
		cmocka_unit_test(test_bad_trace_files_get_the_loader_message),
		cmocka_unit_test(test_help_and_version),
	};
	return cmocka_run_group_tests_name("cli", tests, setup, NULL);
}
