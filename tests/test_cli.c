/*
 * test_cli.c - the `stepper` command, run as a subprocess against small
 * programs (tests/progs) and the bank example; its output is checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
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
	char cmd[16384], full[16800];
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
	/* Only 0, 1 and 2 go on to the children: a leak test must see the
	 * CLI's fds, not whatever this suite inherited. */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
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
	rc = sh(&out, "%s/bin/stepper show build/test-cli/crash/run-*/seed-3.json", b);
	assert_int_equal(rc, 0);
	CONTAINS(out, "outcome:  none (a plan");
	free(out);
	rc = sh(&out, "%s/bin/stepper replay build/test-cli/crash/run-*/seed-3.json -- "
		      "%s/tests/progs/crash", b, b);
	assert_int_equal(rc, 0);
	CONTAINS(out, "the replay was killed by SIGSEGV");
	CONTAINS(out, "verdict: reproduced");
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
	rc = sh(&out, "cat build/test-cli/hang/run-*/seed-1.log");
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
	rc = sh(&out, "f=$(ls build/test-cli/bank/run-*/*.json | head -1) && %s/bin/stepper "
		      "replay $f -- %s/examples/bank racy", b, b);
	assert_int_equal(rc, 0);
	CONTAINS(out, "reproduced: the recorded failure happened again");
	free(out);
	rc = sh(&out, "f=$(ls build/test-cli/bank/run-*/*.json | head -1) && %s/bin/stepper "
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
	assert_int_equal(rc, 2);
	CONTAINS(out, "version: this stepper reads versions 1 to 3, the trace is version 99");
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
	CONTAINS(out, "stepper 0.1.0 (trace format version 2)");
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

/* ------------------------------------------------------------------ */
/* stepper run: layout, header, JUnit, signals, leaks, limits           */
/* ------------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path)
{
	char *buf = calloc(1, 1 << 20);
	FILE *f = fopen(path, "rb");
	if (f) {
		size_t n = fread(buf, 1, (1 << 20) - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

/* Every "log:" and "replay:" path the summary printed exists. */
static void printed_paths_exist(const char *out)
{
	int seen = 0;
	for (const char *p = out; (p = strstr(p, "\n    ")); p++) {
		char path[4096];
		if (sscanf(p, "\n    log: %4095s", path) != 1 &&
		    sscanf(p, "\n    replay: %*s replay %4095s", path) != 1)
			continue;
		struct stat st;
		if (stat(path, &st) != 0)
			fail_msg("printed path '%s' does not exist:\n%s", path, out);
		seen++;
	}
	if (seen == 0)
		fail_msg("no paths printed:\n%s", out);
}

static void test_each_run_keeps_its_failures_in_its_own_folder(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir(), *d = "build/test-cli/layout";
	int rc = sh(&out, "%s/bin/stepper run -n 3 -j 2 --trace-dir %s -- %s/tests/progs/crash",
		    b, d, b);
	assert_int_equal(rc, 1);
	CONTAINS(out, "  failing runs go to build/test-cli/layout/run-");
	printed_paths_exist(out);
	free(out);
	/* a passing run adds nothing; a second failing one gets its own folder */
	rc = sh(NULL, "%s/bin/stepper run -n 5 -j 2 --trace-dir %s -- %s/tests/progs/pass", b,
		d, b);
	assert_int_equal(rc, 0);
	rc = sh(&out, "%s/bin/stepper run -n 2 -j 2 --trace-dir %s -- %s/tests/progs/crash", b,
		d, b);
	assert_int_equal(rc, 1);
	printed_paths_exist(out);
	free(out);
	rc = sh(&out, "cd %s && echo entries $(ls -A | wc -l) && ls -A | grep -c "
		      "'^run-[0-9]\\{8\\}-[0-9]\\{6\\}-[0-9]*$' && for f in run-*; do echo "
		      "$(ls $f); done | sort && cat run-*/run.txt",
		d);
	assert_int_equal(rc, 0);
	CONTAINS(out, "entries 2\n2\n");
	CONTAINS(out, "\nrun.txt seed-1.json seed-1.log seed-2.json seed-2.log\n");
	CONTAINS(out, "\nrun.txt seed-1.json seed-1.log seed-2.json seed-2.log seed-3.json "
		      "seed-3.log\n");
	CONTAINS(out, "failed: 3\n");
	CONTAINS(out, "failed: 2\n");
	char want[256];
	snprintf(want, sizeof want, "command: %s/tests/progs/crash\nseeds 1..3\njobs: 2\n", b);
	CONTAINS(out, want);
	free(out);
}

static const char junit_check_py[] =
	"import os, re, sys, xml.etree.ElementTree as E\n"
	"s = E.parse(sys.argv[1]).getroot().find('testsuite')\n"
	"fails, bad = s.findall('testcase/failure'), []\n"
	"for f in fails:\n"
	"    body = f.text or ''\n"
	"    m = re.search(r'^replay: \\S+ replay (\\S+) -- ', body, re.M)\n"
	"    l = re.search(r'^log: (\\S+)$', body, re.M)\n"
	"    if not f.get('message', '').startswith(sys.argv[2]):\n"
	"        bad.append('message: ' + f.get('message', ''))\n"
	"    if not m or not os.path.exists(m.group(1)):\n"
	"        bad.append('replay: ' + body)\n"
	"    if not l or not os.path.exists(l.group(1)):\n"
	"        bad.append('log: ' + body)\n"
	"print(len(fails), 'failures,', len(bad), 'bad', bad)\n";

static void test_junit_failure_holds_the_error_and_the_replay(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir();
	write_file("build/test-cli/junit_check.py", junit_check_py);
	int rc = sh(NULL, "%s/bin/stepper run -n 10 -j 2 --junit build/test-cli/bank.xml "
			  "--trace-dir build/test-cli/jbank -- %s/examples/bank racy",
		    b, b);
	assert_int_equal(rc, 1);
	rc = sh(&out, "python3 build/test-cli/junit_check.py build/test-cli/bank.xml "
		      "'balance is '");
	assert_int_equal(rc, 0);
	CONTAINS(out, " failures, 0 bad []");
	if (strncmp(out, "0 failures", 10) == 0)
		fail_msg("no failures in the JUnit file:\n%s", out);
	free(out);
	/* without an error in the trace, the message is how the run ended */
	rc = sh(NULL, "%s/bin/stepper run -n 2 -j 2 --junit build/test-cli/crash.xml "
		      "--trace-dir build/test-cli/jcrash -- %s/tests/progs/crash",
		b, b);
	assert_int_equal(rc, 1);
	rc = sh(&out, "python3 build/test-cli/junit_check.py build/test-cli/crash.xml "
		      "'killed by SIGSEGV'");
	assert_int_equal(rc, 0);
	CONTAINS(out, "2 failures, 0 bad []");
	free(out);
}

/* /bin/sh -c SCRIPT with default signal handling; returns its pid. */
static pid_t spawn_sh(const char *script)
{
	extern char **environ;
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	posix_spawnattr_t at;
	sigset_t none, sigs;
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &sigs);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	pid_t pid;
	assert_int_equal(posix_spawn(&pid, "/bin/sh", NULL, &at, argv, environ), 0);
	posix_spawnattr_destroy(&at);
	return pid;
}

/* Read n "pid\n" lines from fd. The poll timeout only turns a broken
 * stepper into a failure instead of a hung suite. */
static void read_pids(int fd, pid_t *pids, int n)
{
	char buf[256];
	size_t len = 0;
	int got = 0;
	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 60000) != 1)
			fail_msg("the runs did not start within 60 s");
		ssize_t k = read(fd, buf + len, sizeof buf - 1 - len);
		assert_true(k > 0);
		len += (size_t)k;
		buf[len] = '\0';
		got = 0;
		for (char *q = buf; (q = strchr(q, '\n')); q++)
			got++;
	}
	char *q = buf;
	for (int i = 0; i < n; i++)
		pids[i] = (pid_t)strtol(q, &q, 10);
}

/* A stepper run of 5 hanging runs, 2 at a time, gets sig once both have
 * started. With nohup, it gets a SIGHUP first, which it must ignore. */
static void interrupted_by(int sig, int nohup)
{
	const char *b = bdir();
	char dir[64], fifo[128], junit[128], outp[128], cmd[2048];
	snprintf(dir, sizeof dir, "build/test-cli/sig-%d-%d", sig, nohup);
	snprintf(fifo, sizeof fifo, "%s.fifo", dir);
	snprintf(junit, sizeof junit, "%s.xml", dir);
	snprintf(outp, sizeof outp, "%s.out", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	int ff = open(fifo, O_RDWR | O_CLOEXEC); /* never blocks, never sees EOF */
	assert_true(ff >= 0);
	snprintf(cmd, sizeof cmd,
		 "%sexec %s/bin/stepper run -n 5 -j 2 --timeout 600 --trace-dir %s --junit %s "
		 "-- %s/tests/progs/hang %s > %s 2>&1 < /dev/null",
		 nohup ? "trap '' HUP; " : "", b, dir, junit, b, fifo, outp);
	pid_t pid = spawn_sh(cmd), runs[2];
	read_pids(ff, runs, 2);
	close(ff);
	char *header = slurp(outp); /* what was printed before any run ended */
	/* both pending at once: the lower-numbered SIGHUP would be taken first */
	if (nohup)
		assert_int_equal(kill(pid, SIGHUP), 0);
	assert_int_equal(kill(pid, sig), 0);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	CONTAINS(header, "stepper run: 5 runs of ");
	CONTAINS(header, ", 2 at a time, timeout 600 s\n");
	free(header);
	char *out = slurp(outp);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 128 + sig)
		fail_msg("signal %d: wait status %#x, expected exit %d:\n%s", sig, st, 128 + sig,
			 out);
	CONTAINS(out, "0 passed, 0 failed, 2 interrupted, 3 not run (stopped by a signal)");
	char want[64];
	snprintf(want, sizeof want, "stopped by %s: ",
		 sig == SIGHUP ? "SIGHUP" : sig == SIGINT ? "SIGINT" : "SIGTERM");
	CONTAINS(out, want);
	free(out);
	for (int i = 0; i < 2; i++) /* killed and reaped */
		assert_true(kill(runs[i], 0) == -1 && errno == ESRCH);
	int rc = sh(&out, "ls -A %s | wc -l && python3 -c \"import xml.etree.ElementTree as E; "
			  "s = E.parse('%s').getroot().find('testsuite'); "
			  "print(s.get('failures'), s.get('skipped'), len(s.findall('testcase')), "
			  "len(s.findall('testcase/skipped')), len(s.findall('testcase/failure')))\"",
		    dir, junit);
	assert_int_equal(rc, 0);
	CONTAINS(out, "0\n0 2 2 2 0\n"); /* nothing kept; interrupted, not failed */
	free(out);
}

static void test_signals_end_the_runs_as_interrupted(void **state)
{
	(void)state;
	interrupted_by(SIGHUP, 0);
	interrupted_by(SIGINT, 0);
	interrupted_by(SIGTERM, 0);
}

static void test_an_ignored_sighup_stays_ignored(void **state)
{
	(void)state;
	interrupted_by(SIGTERM, 1); /* nohup stepper run ...; then SIGTERM */
}

static void test_children_inherit_only_stdin_stdout_stderr(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir();
	int rc = sh(&out, "%s/bin/stepper run -n 2 -j 2 --junit build/test-cli/fds.xml "
			  "--trace-dir build/test-cli/fds -- %s/tests/progs/fds || "
			  "cat build/test-cli/fds/run-*/seed-1.log",
		    b, b);
	if (rc != 0)
		fail_msg("a run saw more than fds 0, 1, 2:\n%s", out);
	CONTAINS(out, "2 passed, 0 failed");
	free(out);
}

static void test_a_setsid_grandchild_does_not_outlive_its_run(void **state)
{
	(void)state;
	const char *b = bdir();
	/* one invocation whose runs pass, one whose runs fail */
	const char *args[] = { "", " fail" };
	for (int i = 0; i < 2; i++)
		sh(NULL, "%s/bin/stepper run -n 3 -j 2 --trace-dir build/test-cli/escape -- "
			 "%s/tests/progs/escape build/test-cli/escape.pids%s",
		   b, b, args[i]);
	FILE *f = fopen("build/test-cli/escape.pids", "r");
	assert_non_null(f);
	long pid;
	int n = 0, alive = 0;
	while (fscanf(f, "%ld", &pid) == 1) {
		n++;
		if (kill((pid_t)pid, 0) == 0) {
			alive++;
			kill((pid_t)pid, SIGKILL); /* do not leave it to the next test */
		}
	}
	fclose(f);
	assert_int_equal(n, 6);
	assert_int_equal(alive, 0);
}

static void test_a_trace_dir_too_long_is_refused(void **state)
{
	(void)state;
	char *out, dir[4200] = "build/test-cli/long";
	const char *b = bdir();
	while (strlen(dir) < 4000)
		strcat(dir, "/dddddddddddddddddddddddddddddddddddddddddddddddddd");
	int rc = sh(&out, "%s/bin/stepper run -n 1 --trace-dir %s -- %s/tests/progs/crash", b,
		    dir, b);
	assert_int_equal(rc, 2);
	CONTAINS(out, "bytes long; stepper run takes one of at most ");
	CONTAINS(out, "choose a shorter --trace-dir");
	free(out);
	struct stat st;
	assert_int_not_equal(stat("build/test-cli/long", &st), 0); /* nothing made */
}

static void test_a_full_disk_is_named(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir();
	int rc = sh(&out, "%s/bin/stepper run -n 1 --junit /dev/full --trace-dir "
			  "build/test-cli/devfull -- %s/tests/progs/pass",
		    b, b);
	assert_int_equal(rc, 1);
	CONTAINS(out, "cannot write the JUnit file '/dev/full': No space left on device");
	free(out);
	/* a full file system, in a mount namespace of our own */
	if (sh(NULL, "unshare -rm true") != 0) {
		fprintf(stderr, "(no user namespaces: full-disk trace case skipped)\n");
		return;
	}
	mkdir("build/test-cli/full", 0777);
	rc = sh(&out, "unshare -rm sh -c 'mount -t tmpfs -o size=64k tmpfs build/test-cli/full "
		      "&& (head -c 1048576 /dev/zero > build/test-cli/full/fill; "
		      "%s/bin/stepper run -n 1 --trace-dir build/test-cli/full/t -- "
		      "%s/tests/progs/crash)'",
		b, b);
	assert_int_equal(rc, 1);
	CONTAINS(out, "trace:  none written: cannot write in 'build/test-cli/full/t': No space "
		      "left on device");
	if (strstr(out, "does the command run a stepper"))
		fail_msg("a full disk blamed on the command:\n%s", out);
	free(out);
}

/* Built with a sanitizer (known at compile time, whatever the
 * environment says)? */
static int sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
	return 1;
#else
	return 0;
#endif
#else
	return 0;
#endif
}

static void test_huge_seed_ranges_start_at_once(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir();
	/* A wall-clock bound: before, these counted 2^64 seeds one by one;
	 * timeout turns that hang into a failure. */
	int rc = sh(&out, "timeout 120 %s/bin/stepper run --seeds 1..18446744073709551615 -j 1 "
			  "--max-failures 1 --trace-dir build/test-cli/huge -- %s/tests/progs/crash",
		    b, b);
	assert_int_equal(rc, 1);
	CONTAINS(out, "stepper run: 18446744073709551615 runs of ");
	CONTAINS(out, "0 passed, 1 failed, 18446744073709551614 not run");
	free(out);
	rc = sh(&out, "timeout 120 %s/bin/stepper run -n 9223372036854775807 -j 2 --shard 1/3 "
		      "--max-failures 1 --trace-dir build/test-cli/huge -- %s/tests/progs/crash",
		b, b);
	assert_int_equal(rc, 1);
	CONTAINS(out, "shard 1/3 (3074457345618258602 seeds)");
	free(out);
	if (sanitized())
		return; /* sanitizers reserve terabytes of address space */
	/* memory does not grow with N: 10^8 seeds in 256 MiB of address space */
	rc = sh(&out, "ulimit -v 262144 && %s/bin/stepper run -n 100000000 -j 1 --max-failures 1 "
		      "--trace-dir build/test-cli/huge -- %s/tests/progs/crash",
		b, b);
	assert_int_equal(rc, 1);
	CONTAINS(out, "0 passed, 1 failed, 99999999 not run");
	free(out);
}

static void test_a_long_log_keeps_its_head_and_tail(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir();
	int rc = sh(NULL, "%s/bin/stepper run -n 1 --trace-dir build/test-cli/loud -- "
			  "%s/tests/progs/loud 5",
		    b, b);
	assert_int_equal(rc, 1);
	rc = sh(&out, "f=$(echo build/test-cli/loud/run-*/seed-1.log) && wc -c < $f && "
		      "head -1 $f && tail -1 $f && grep -c 'bytes of output cut here' $f");
	assert_int_equal(rc, 0);
	long size = strtol(out, NULL, 10);
	if (size < 2 * 1048576 || size > 2 * 1048576 + 200)
		fail_msg("kept log of %ld bytes, expected 2 MiB and a line:\n%.300s", size, out);
	CONTAINS(out, "\nFIRST LINE OF OUTPUT\nLAST LINE OF OUTPUT\n1\n");
	free(out);
}

static void test_a_huge_trace_is_kept_but_not_read(void **state)
{
	(void)state;
	char *out;
	const char *b = bdir();
	int rc = sh(&out, "%s/bin/stepper run -n 1 --trace-dir build/test-cli/bigtrace -- "
			  "%s/tests/progs/bigtrace 6",
		    b, b);
	assert_int_equal(rc, 1);
	CONTAINS(out, "note:   trace too large to read its error (6291459 bytes");
	CONTAINS(out, "replay: ");
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
		cmocka_unit_test(test_each_run_keeps_its_failures_in_its_own_folder),
		cmocka_unit_test(test_junit_failure_holds_the_error_and_the_replay),
		cmocka_unit_test(test_signals_end_the_runs_as_interrupted),
		cmocka_unit_test(test_an_ignored_sighup_stays_ignored),
		cmocka_unit_test(test_children_inherit_only_stdin_stdout_stderr),
		cmocka_unit_test(test_a_setsid_grandchild_does_not_outlive_its_run),
		cmocka_unit_test(test_a_trace_dir_too_long_is_refused),
		cmocka_unit_test(test_a_full_disk_is_named),
		cmocka_unit_test(test_huge_seed_ranges_start_at_once),
		cmocka_unit_test(test_a_long_log_keeps_its_head_and_tail),
		cmocka_unit_test(test_a_huge_trace_is_kept_but_not_read),
	};
	return cmocka_run_group_tests_name("cli", tests, setup, NULL);
}
