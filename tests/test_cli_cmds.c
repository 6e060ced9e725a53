/*
 * test_cli_cmds.c - the `stepper` command's help, replay verdicts, bad
 * trace files and `stepper multinode` under faults and signals. Each test
 * runs the command as a child process and checks its output and exit.
 *
 * The test binary doubles as a node program for multinode, and as the
 * program of the golden deadlock trace:
 *   test_cli_cmds --node-block  print "ready <pid>", then wait to be killed
 *   test_cli_cmds --node-fds    print "fds: ..." (the open descriptors)
 *   test_cli_cmds --mailbox     run tests/golden/mailbox.h's stepper test
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/trace.h>

#include "golden/mailbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIR_ "build/test-cli-cmds"

static const char *bdir(void)
{
	const char *b = getenv("B");
	return b && *b ? b : "build";
}

static char self_path[4096];

/* ------------------------------------------------------------------ */
/* A child process, its output captured                                */
/* ------------------------------------------------------------------ */

typedef struct child_opts {
	char *const *argv;
	rlim_t nofile;         /* RLIMIT_NOFILE for the child; 0: unchanged */
	const char *wait_for;  /* send sig once stdout holds wait_count of these */
	int wait_count;
	int sig;
} child_opts;

typedef struct child_result {
	int code;      /* exit status; 128+signal when killed */
	int signaled;  /* killed by a signal (not an exit) */
	int hung;      /* still running at the bound: killed by the test */
	char *out, *err;
	size_t nout, nerr;
} child_result;

static void child_free(child_result *r)
{
	free(r->out);
	free(r->err);
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	assert_non_null(*buf);
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void exec_child(const child_opts *o, int in, int out, int err)
{
	dup2(in, 0);
	dup2(out, 1);
	dup2(err, 2);
	/* only 0, 1 and 2 go on: what the command opens is all it has */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	if (o->nofile) {
		struct rlimit rl = { o->nofile, o->nofile };
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	execv(o->argv[0], o->argv);
	_exit(127);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the child with its stdin a pipe we keep open until it ends (a
 * command that waits on its stdin hangs here, visibly). The 60 s bound
 * is wall-clock on purpose: it only turns a hang into a failure, and no
 * passing test comes near it. */
static void run_child(const child_opts *o, child_result *r)
{
	int in[2], out[2], err[2];
	*r = (child_result){ 0 };
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		exec_child(o, in[0], out[1], err[1]);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	int sent = 0, open_fds = 2;
	double bound = now_s() + 60;
	while (open_fds > 0) {
		struct pollfd p[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
		int left = (int)((bound - now_s()) * 1000);
		if (left <= 0 || poll(p, 2, left) == 0) {
			r->hung = 1;
			kill(pid, SIGKILL);
			break;
		}
		char buf[4096];
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			ssize_t got = read(p[i].fd, buf, sizeof buf);
			if (got <= 0) {
				close(i ? err[0] : out[0]);
				*(i ? &err[0] : &out[0]) = -1;
				open_fds--;
			} else if (i == 0) {
				append(&r->out, &r->nout, buf, (size_t)got);
			} else {
				append(&r->err, &r->nerr, buf, (size_t)got);
			}
		}
		if (o->wait_for && !sent && r->out &&
		    count_of(r->out, o->wait_for) >= o->wait_count) {
			kill(pid, o->sig);
			sent = 1;
		}
	}
	if (out[0] >= 0)
		close(out[0]);
	if (err[0] >= 0)
		close(err[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		assert_int_equal(errno, EINTR);
	close(in[1]);
	r->signaled = WIFSIGNALED(st);
	r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (!r->out)
		append(&r->out, &r->nout, "", 0);
	if (!r->err)
		append(&r->err, &r->nerr, "", 0);
}

/* Run `stepper ARGS...` (a NULL-terminated list). */
static void stepper(child_result *r, ...)
{
	char bin[4200];
	snprintf(bin, sizeof bin, "%s/bin/stepper", bdir());
	char *argv[32] = { bin };
	int n = 1;
	va_list ap;
	va_start(ap, r);
	for (char *a; n < 31 && (a = va_arg(ap, char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	child_opts o = { .argv = argv };
	run_child(&o, r);
	if (r->hung)
		fail_msg("stepper %s did not end:\n%s%s", argv[1], r->out, r->err);
}

#define CONTAINS(hay, needle)                                                \
	do {                                                                 \
		if (!strstr((hay), (needle)))                                \
			fail_msg("output lacks \"%s\":\n%s", (needle), (hay)); \
	} while (0)

/* ------------------------------------------------------------------ */
/* Help                                                                */
/* ------------------------------------------------------------------ */

static void test_every_command_answers_h_and_help_alike(void **state)
{
	(void)state;
	static const char *const cmds[] = { "run",	 "replay",	   "show", "export",
					    "multinode", "barrier-server", "help" };
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		char *cmd = (char *)cmds[i], want[64];
		snprintf(want, sizeof want, "usage: stepper %s", cmd);
		child_result ref, h, help;
		stepper(&ref, "help", cmd, NULL);
		stepper(&h, cmd, "-h", NULL);
		stepper(&help, cmd, "--help", NULL);
		child_result *all[] = { &ref, &h, &help };
		for (int k = 0; k < 3; k++) {
			if (all[k]->code != 0 || all[k]->nerr != 0)
				fail_msg("%s (form %d): exit %d, stderr:\n%s", cmd, k,
					 all[k]->code, all[k]->err);
			if (strncmp(all[k]->out, want, strlen(want)) != 0)
				fail_msg("%s (form %d) printed:\n%s", cmd, k, all[k]->out);
			assert_string_equal(all[k]->out, ref.out);
		}
		for (int k = 0; k < 3; k++)
			child_free(all[k]);
	}
}

/* -h among a command's options is help too, not a usage error */
static void test_h_after_other_options_is_help(void **state)
{
	(void)state;
	static const char *const lines[][4] = {
		{ "run", "-n", "3", "-h" },
		{ "replay", "x.json", "-h", NULL },
		{ "show", "--events", "-h", NULL },
		{ "export", "--chrome", "--help", NULL },
		{ "multinode", "-n", "2", "--help" },
		{ "barrier-server", "-n", "2", "-h" },
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		child_result r, ref;
		stepper(&r, lines[i][0], lines[i][1], lines[i][2], lines[i][3], NULL);
		stepper(&ref, "help", lines[i][0], NULL);
		if (r.code != 0)
			fail_msg("%s ... -h: exit %d:\n%s", lines[i][0], r.code, r.err);
		assert_string_equal(r.out, ref.out);
		child_free(&r);
		child_free(&ref);
	}
}

/* ------------------------------------------------------------------ */
/* Replay verdicts                                                     */
/* ------------------------------------------------------------------ */

static char bank[4200], crash[4200];

/* Run bank MODE on one seed, its trace to path; returns its exit status. */
static int record_bank(const char *mode, int seed, const char *path)
{
	char cmd[8600];
	snprintf(cmd, sizeof cmd, "STEPPER_SEED=%d STEPPER_TRACE=%s %s %s >/dev/null 2>&1",
		 seed, path, bank, mode);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Copy a trace with another outcome and other errors (NULL-terminated). */
static void edit_trace(const char *from, const char *to, const char *outcome, ...)
{
	json_error_t e;
	json_t *d = json_load_file(from, 0, &e);
	if (!d)
		fail_msg("%s: %s", from, e.text);
	json_t *errs = json_array();
	va_list ap;
	va_start(ap, outcome);
	for (const char *s; (s = va_arg(ap, const char *));)
		json_array_append_new(errs, json_string(s));
	va_end(ap);
	json_object_set_new(d, "outcome", json_string(outcome));
	json_object_set_new(d, "errors", errs);
	assert_int_equal(json_dump_file(d, to, JSON_INDENT(2)), 0);
	json_decref(d);
}

/* The recorded error of a trace, for the expected text. */
static void first_error(const char *path, char *buf, size_t size)
{
	stp_trace *t = stp_trace_load(path, NULL);
	assert_non_null(t);
	assert_true(stp_trace_error_count(t) >= 1);
	snprintf(buf, size, "%s", stp_trace_error_at(t, 0));
	stp_trace_free(t);
}

static int replay_setup(void **state)
{
	(void)state;
	snprintf(bank, sizeof bank, "%s/examples/bank", bdir());
	snprintf(crash, sizeof crash, "%s/tests/progs/crash", bdir());
	/* a failing and a passing seed of the racy deposits, found, not assumed */
	int fail_seed = 0, pass_seed = 0;
	for (int s = 1; s <= 50 && (!fail_seed || !pass_seed); s++) {
		int rc = record_bank("racy", s, DIR_ "/probe.json");
		if (rc == 1 && !fail_seed)
			fail_seed = s;
		if (rc == 0 && !pass_seed)
			pass_seed = s;
	}
	if (!fail_seed || !pass_seed)
		return -1;
	printf("racy seeds: %d fails, %d passes\n", fail_seed, pass_seed);
	if (record_bank("racy", fail_seed, DIR_ "/fail.json") != 1 ||
	    record_bank("racy", pass_seed, DIR_ "/pass.json") != 0 ||
	    record_bank("split", 1, DIR_ "/split.json") != 0)
		return -1;
	char cmd[8600];
	snprintf(cmd, sizeof cmd, "STEPPER_TRACE=%s/crash.json %s >/dev/null 2>&1", DIR_,
		 crash);
	system(cmd); /* dies by SIGSEGV, leaving the plan */
	return 0;
}

/* Replay and compare everything from "recorded:" on with want. */
static void check_verdict(const char *trace, const char *prog, const char *arg,
			  int code, const char *want)
{
	child_result r;
	stepper(&r, "replay", (char *)trace, "--", (char *)prog, (char *)arg, NULL);
	const char *tail = strstr(r.out, "\nrecorded: ");
	if (!tail)
		fail_msg("no verdict:\n%s\nstderr:\n%s", r.out, r.err);
	if (strcmp(tail + 1, want) != 0)
		fail_msg("replay of %s printed:\n%s\nexpected:\n%s", trace, tail + 1, want);
	if (r.code != code)
		fail_msg("replay of %s: exit %d, expected %d", trace, r.code, code);
	child_free(&r);
}

static void test_replay_of_a_failure_that_comes_back(void **state)
{
	(void)state;
	char e[512], want[2048];
	first_error(DIR_ "/fail.json", e, sizeof e);
	snprintf(want, sizeof want,
		 "recorded: fail (1 error: %s)\n"
		 "replayed: fail (1 error: %s); exit status 1\n"
		 "verdict: reproduced: the recorded failure happened again\n", e, e);
	check_verdict(DIR_ "/fail.json", bank, "racy", 0, want);
}

/* --lenient compares a failure as shrinking does: the outcome and the
 * first error with its numbers masked. A recorded error whose numbers
 * differ is "other errors" to a strict replay, the same failure to a
 * lenient one; a fixed program is not reproduced either way. */
static void test_lenient_replay_compares_failures_with_numbers_masked(void **state)
{
	(void)state;
	char e[512], want[2048];
	first_error(DIR_ "/fail.json", e, sizeof e);
	const char *other = "balance is 999, expected 220 (100 + 50 + 70)";
	edit_trace(DIR_ "/fail.json", DIR_ "/fail-999.json", "fail", other, NULL);
	child_result r;
	stepper(&r, "replay", DIR_ "/fail-999.json", "--", bank, "racy", NULL);
	assert_non_null(strstr(r.out, "verdict: not reproduced: the replay failed with other "
				      "errors\n"));
	child_free(&r);
	stepper(&r, "replay", "--lenient", DIR_ "/fail-999.json", "--", bank, "racy", NULL);
	snprintf(want, sizeof want,
		 "recorded: fail (1 error: %s)\n"
		 "replayed: fail (1 error: %s); exit status 1\n"
		 "verdict: reproduced: the recorded failure happened again\n", other, e);
	const char *tail = strstr(r.out, "\nrecorded: ");
	if (!tail || strcmp(tail + 1, want) != 0 || r.code != 0)
		fail_msg("lenient replay printed (exit %d):\n%s\nexpected:\n%s", r.code, r.out,
			 want);
	child_free(&r);
	stepper(&r, "replay", "--lenient", DIR_ "/fail-999.json", "--", bank, "fixed", NULL);
	assert_non_null(strstr(r.out, "verdict: not reproduced: the recorded run failed, "
				      "the replay passed\n"));
	assert_int_equal(r.code, 1);
	child_free(&r);
}

static void test_replay_of_a_pass_that_passes_again(void **state)
{
	(void)state;
	check_verdict(DIR_ "/pass.json", bank, "racy", 0,
		      "recorded: pass\n"
		      "replayed: pass; exit status 0\n"
		      "verdict: reproduced: the recorded run passed and the replay passed "
		      "too\n");
}

static void test_replay_of_a_pass_that_now_fails(void **state)
{
	(void)state;
	char e[512], want[2048];
	first_error(DIR_ "/fail.json", e, sizeof e);
	edit_trace(DIR_ "/fail.json", DIR_ "/said-pass.json", "pass", NULL);
	snprintf(want, sizeof want,
		 "recorded: pass\n"
		 "replayed: fail (1 error: %s); exit status 1\n"
		 "verdict: not reproduced: the recorded run passed, the replay did not\n",
		 e);
	check_verdict(DIR_ "/said-pass.json", bank, "racy", 1, want);
}

static void test_replay_of_a_failure_that_now_passes(void **state)
{
	(void)state;
	edit_trace(DIR_ "/pass.json", DIR_ "/said-fail.json", "fail", "it went wrong",
		   NULL);
	check_verdict(DIR_ "/said-fail.json", bank, "racy", 1,
		      "recorded: fail (1 error: it went wrong)\n"
		      "replayed: pass; exit status 0\n"
		      "verdict: not reproduced: the recorded run failed, the replay passed\n");
}

static void test_replay_with_other_errors_lists_each(void **state)
{
	(void)state;
	char e[512], want[2048];
	first_error(DIR_ "/fail.json", e, sizeof e);
	edit_trace(DIR_ "/fail.json", DIR_ "/two.json", "fail", "first", "second", NULL);
	snprintf(want, sizeof want,
		 "recorded: fail (2 errors)\n"
		 "  error: first\n"
		 "  error: second\n"
		 "replayed: fail (1 error: %s); exit status 1\n"
		 "verdict: not reproduced: the replay failed with other errors\n", e);
	check_verdict(DIR_ "/two.json", bank, "racy", 1, want);
}

static void test_replay_on_a_program_that_does_not_match(void **state)
{
	(void)state;
	/* the split deposits' trace (steps outside the lock), replayed by the
	 * racy ones: other steps */
	child_result r;
	stepper(&r, "replay", DIR_ "/split.json", "--", bank, "racy", NULL);
	assert_int_equal(r.code, 1);
	const char *tail = strstr(r.out, "\nrecorded: ");
	assert_non_null(tail);
	assert_string_equal(tail + 1,
			    "recorded: pass\n"
			    "replayed: did not run: the program does not match the trace\n"
			    "  stepper: replay: thread 'alice' step 2: " DIR_ "/split.json "
			    "declares 'lock', the test 'read balance'\n"
			    "verdict: not reproduced: the program does not match the trace\n");
	if (strstr(r.out, "no trace"))
		fail_msg("a mismatch is not a missing trace:\n%s", r.out);
	child_free(&r);
}

static void test_replay_of_a_crash_names_the_signal(void **state)
{
	(void)state;
	check_verdict(DIR_ "/crash.json", crash, NULL, 0,
		      "recorded: no outcome: the recorded run died before its trace was "
		      "complete (a crash or a kill)\n"
		      "replayed: no outcome: the replay was killed by SIGSEGV before its "
		      "trace was complete\n"
		      "verdict: reproduced: the replay died before its trace was complete, "
		      "as the recorded run did\n");
}

static void test_replay_of_a_command_that_writes_no_trace(void **state)
{
	(void)state;
	char e[512], want[2048];
	first_error(DIR_ "/fail.json", e, sizeof e);
	snprintf(want, sizeof want,
		 "recorded: fail (1 error: %s)\n"
		 "replayed: no trace written; the command ended with exit status 0\n"
		 "verdict: not reproduced: the command wrote no trace and printed no "
		 "stepper error (does it run one stepper test, which takes "
		 "STEPPER_REPLAY?)\n", e);
	check_verdict(DIR_ "/fail.json", "/bin/true", NULL, 1, want);
}

/* ------------------------------------------------------------------ */
/* Bad trace files                                                     */
/* ------------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_show_export_and_replay_exit_alike_on_a_bad_trace(void **state)
{
	(void)state;
	write_file(DIR_ "/other-tool.json", "{\"name\": \"a package\", \"version\": 3}\n");
	write_file(DIR_ "/v99.json", "{\"format\": \"stepper-trace\", \"version\": 99}");
	write_file(DIR_ "/text.json", "this is not JSON\n");
	const char *bad[] = { DIR_ "/other-tool.json", DIR_ "/v99.json", DIR_ "/text.json",
			      DIR_ "/no-such-file.json" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		child_result show, replay, exp;
		stepper(&show, "show", (char *)bad[i], NULL);
		stepper(&replay, "replay", (char *)bad[i], "--", "/bin/true", NULL);
		stepper(&exp, "export", "--chrome", (char *)bad[i], NULL);
		if (show.code != 2 || replay.code != 2 || exp.code != 2)
			fail_msg("%s: show exit %d, replay exit %d, export exit %d; "
				 "expected 2 each", bad[i], show.code, replay.code, exp.code);
		/* the same loader message from each, naming the file */
		CONTAINS(show.err, bad[i]);
		assert_string_equal(show.err, replay.err);
		assert_string_equal(show.err, exp.err);
		child_free(&show);
		child_free(&replay);
		child_free(&exp);
	}
}

/* ------------------------------------------------------------------ */
/* Version 2: waits and a deadlock (tests/golden/trace-deadlock.json)  */
/* ------------------------------------------------------------------ */

#define GOLDEN_DEADLOCK "tests/golden/trace-deadlock.json"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0, got;
	char chunk[4096];
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
		append(&buf, &len, chunk, got);
	fclose(f);
	if (!buf)
		append(&buf, &len, "", 0);
	return buf;
}

/* The report, its lines after the first indented as replay lists it. */
static void indented(const char *e, char *buf, size_t size)
{
	size_t o = 0;
	for (; *e && o + 3 < size; e++) {
		buf[o++] = *e;
		if (*e == '\n') {
			buf[o++] = ' ';
			buf[o++] = ' ';
		}
	}
	buf[o] = '\0';
}

static void test_show_of_the_golden_deadlock_reads_as_designed(void **state)
{
	(void)state;
	child_result r;
	stepper(&r, "show", "--events", GOLDEN_DEADLOCK, NULL);
	assert_int_equal(r.code, 0);
	char *want = slurp("tests/golden/show-deadlock.txt");
	if (!want)
		fail_msg("tests/golden/show-deadlock.txt is missing; show printed:\n%s", r.out);
	if (strcmp(r.out, want) != 0)
		fail_msg("stepper show printed:\n%s\nexpected (tests/golden/show-deadlock.txt):"
			 "\n%s", r.out, want);
	free(want);
	child_free(&r);
}

static void test_export_of_the_golden_deadlock_has_the_waits_and_the_deadlock(void **state)
{
	(void)state;
	child_result r;
	stepper(&r, "export", "--chrome", GOLDEN_DEADLOCK, "-o", DIR_ "/deadlock-chrome.json",
		NULL);
	assert_int_equal(r.code, 0);
	child_free(&r);
	json_error_t je;
	json_t *d = json_load_file(DIR_ "/deadlock-chrome.json", 0, &je);
	if (!d)
		fail_msg("not JSON: %s", je.text);
	char e[2048];
	first_error(GOLDEN_DEADLOCK, e, sizeof e);
	size_t i, waits = 0, blocked = 0, reports = 0;
	json_t *ev;
	json_array_foreach(json_object_get(d, "traceEvents"), i, ev)
	{
		const char *cat = json_string_value(json_object_get(ev, "cat"));
		const char *scope = json_string_value(json_object_get(ev, "s"));
		json_t *args = json_object_get(ev, "args");
		if (!cat)
			continue;
		waits += strcmp(cat, "wait") == 0;
		blocked += strcmp(cat, "deadlock") == 0 && strcmp(scope, "t") == 0;
		if (strcmp(cat, "deadlock") == 0 && strcmp(scope, "g") == 0) {
			assert_string_equal(json_string_value(json_object_get(args, "text")), e);
			reports++;
		}
	}
	assert_int_equal(waits, 2);
	assert_int_equal(blocked, 1);
	assert_int_equal(reports, 1);
	json_decref(d);
}

static void test_replay_of_the_golden_deadlock_is_the_same_deadlock(void **state)
{
	(void)state;
	char e[2048], report[2400], want[6000];
	first_error(GOLDEN_DEADLOCK, e, sizeof e);
	indented(e, report, sizeof report);
	snprintf(want, sizeof want,
		 "recorded: deadlock (1 error)\n"
		 "  error: %s\n"
		 "replayed: deadlock (1 error); exit status 1\n"
		 "  error: %s\n"
		 "verdict: reproduced: the recorded deadlock happened again\n",
		 report, report);
	check_verdict(GOLDEN_DEADLOCK, self_path, "--mailbox", 0, want);
}

/* The golden deadlock with decision 12 given to the consumer, which is
 * blocked there (the producer holds m#1): the events follow the schedule. */
static void misfit_golden(const char *path)
{
	json_error_t je;
	json_t *d = json_load_file(GOLDEN_DEADLOCK, 0, &je);
	if (!d)
		fail_msg("%s: %s", GOLDEN_DEADLOCK, je.text);
	json_t *sched = json_object_get(d, "schedule");
	for (size_t k = 0; k < json_array_size(sched); k++) { /* counts the edit makes wrong */
		json_object_del(json_array_get(sched, k), "occurrence");
		json_object_del(json_array_get(sched, k), "from");
		json_object_del(json_array_get(sched, k), "preempt");
	}
	json_t *e = json_array_get(sched, 11);
	json_object_set_new(e, "thread", json_integer(1));
	json_object_set_new(e, "step", json_string("lock(m#1)"));
	json_object_set_new(e, "kind", json_string("lock"));
	json_object_set_new(d, "events", json_deep_copy(sched));
	assert_int_equal(json_dump_file(d, path, JSON_INDENT(2)), 0);
	json_decref(d);
}

static void test_replay_of_decisions_that_do_not_fit_names_the_decision(void **state)
{
	(void)state;
	misfit_golden(DIR_ "/misfit.json");
	child_result r;
	stepper(&r, "replay", DIR_ "/misfit.json", "--", self_path, "--mailbox", NULL);
	assert_int_equal(r.code, 1);
	CONTAINS(r.out, "replayed: divergence (1 error: replay: decision 12: recorded "
			"[consumer] 'lock(m#1)', but [consumer] ");
	const char *tail = strstr(r.out, "\nverdict: ");
	assert_non_null(tail);
	assert_string_equal(tail + 1, "verdict: not reproduced: the replay did not make "
				      "the recorded decisions (has the program changed?)\n");
	child_free(&r);
}

static void test_version_1_golden_traces_still_show_and_replay(void **state)
{
	(void)state;
	const char *golden[] = { "tests/golden/trace-pass.json", "tests/golden/trace-fail.json",
				 "tests/golden/trace-stall.json" };
	for (size_t i = 0; i < 3; i++) {
		child_result r;
		stepper(&r, "show", "--events", (char *)golden[i], NULL);
		if (r.code != 0)
			fail_msg("show %s: exit %d\n%s", golden[i], r.code, r.err);
		CONTAINS(r.out, "order:\n====\n[");
		assert_null(strstr(r.out, " -- ")); /* steps only: no notes */
		child_free(&r);
	}
	char e[512], want[2048];
	first_error("tests/golden/trace-fail.json", e, sizeof e);
	snprintf(want, sizeof want,
		 "recorded: fail (1 error: %s)\n"
		 "replayed: fail (1 error: %s); exit status 1\n"
		 "verdict: reproduced: the recorded failure happened again\n", e, e);
	check_verdict("tests/golden/trace-fail.json", bank, "racy", 0, want);
	check_verdict("tests/golden/trace-pass.json", bank, "split", 0,
		      "recorded: pass\n"
		      "replayed: pass; exit status 0\n"
		      "verdict: reproduced: the recorded run passed and the replay passed "
		      "too\n");
}

/* The program of the golden deadlock, its options from the environment
 * (STEPPER_SEED, STEPPER_TRACE, STEPPER_REPLAY). */
static int mailbox_main(void)
{
	struct mailbox b = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
	stp_options o;
	stp_options_init(&o);
	stp_stepper *s = stp_new(&o);
	int rc = mailbox_run(s, &b);
	for (size_t i = 0; i < stp_error_count(s); i++)
		printf("mailbox: %s\n", stp_error(s, i));
	stp_free(s);
	return rc == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* multinode                                                           */
/* ------------------------------------------------------------------ */

/* After the command ended: no process it started is left. The test is a
 * subreaper, so anything that outlived its parent is our child now. */
static void assert_nothing_left(void)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		; /* ended orphans */
	if (pid == 0)
		fail_msg("a process the command started is still running");
	assert_int_equal(errno, ECHILD);
}

/* Kill the nodes named in "ready <pid>" lines (cleanup after a failure). */
static void kill_ready_nodes(const char *out)
{
	for (const char *p = out; (p = strstr(p, "ready ")); p += 6) {
		long pid = strtol(p + 6, NULL, 10);
		if (pid > 1)
			kill((pid_t)pid, SIGKILL);
	}
}

static void multinode(child_result *r, const char *n, rlim_t nofile, char *const *cmd,
		      int sig, int wait_count)
{
	char bin[4200];
	snprintf(bin, sizeof bin, "%s/bin/stepper", bdir());
	char *argv[16] = { bin, "multinode", "-n", (char *)n, "--" };
	int k = 5;
	for (; *cmd && k < 15; cmd++)
		argv[k++] = *cmd;
	argv[k] = NULL;
	child_opts o = { .argv = argv, .nofile = nofile, .wait_for = sig ? "ready " : NULL,
			 .wait_count = wait_count, .sig = sig };
	run_child(&o, r);
	if (r->hung) {
		kill_ready_nodes(r->out);
		fail_msg("multinode hung (killed by the test):\n%s%s", r->out, r->err);
	}
}

static void test_multinode_node_that_cannot_start(void **state)
{
	(void)state;
	/* it exists and is executable, and exec fails: a bad interpreter */
	write_file(DIR_ "/bad-interpreter", "#!/no/such/interpreter\n");
	chmod(DIR_ "/bad-interpreter", 0755);
	char *cmd[] = { DIR_ "/bad-interpreter", NULL };
	child_result r;
	multinode(&r, "3", 0, cmd, 0, 0);
	assert_int_equal(r.code, 1);
	CONTAINS(r.err, "stepper: cannot start node0: No such file or directory");
	CONTAINS(r.out, "  node0: not started: No such file or directory\n"
			"  node1: not started\n"
			"  node2: not started\n"
			"result: failed, node0 could not be started (No such file or "
			"directory)\n");
	assert_nothing_left();
	child_free(&r);
}

static void test_multinode_under_a_low_fd_limit_stops_what_it_started(void **state)
{
	(void)state;
	char *cmd[] = { self_path, "--node-block", NULL };
	child_result r;
	multinode(&r, "12", 16, cmd, 0, 0);
	kill_ready_nodes(r.out); /* only if the command failed to */
	if (r.code != 1 || !strstr(r.out, "could not be started (Too many open files)"))
		fail_msg("exit %d:\n%s%s", r.code, r.out, r.err);
	CONTAINS(r.err, ": Too many open files");
	CONTAINS(r.out, " (stopped: node");
	assert_nothing_left();
	child_free(&r);
}

static void check_interrupt(int sig, const char *name)
{
	char *cmd[] = { self_path, "--node-block", NULL };
	child_result r;
	/* every node has said it is ready: then the signal */
	multinode(&r, "3", 0, cmd, sig, 3);
	kill_ready_nodes(r.out); /* only if the command failed to */
	if (r.signaled || r.code != 128 + sig)
		fail_msg("%s: exit %d (%s), expected %d:\n%s%s", name, r.code,
			 r.signaled ? "killed" : "exited", 128 + sig, r.out, r.err);
	char want[256];
	for (int k = 0; k < 3; k++) {
		snprintf(want, sizeof want,
			 "  node%d: killed by SIGKILL (stopped: interrupted by %s)\n", k, name);
		CONTAINS(r.out, want);
	}
	snprintf(want, sizeof want, "result: interrupted by %s, the nodes were stopped\n",
		 name);
	CONTAINS(r.out, want);
	assert_nothing_left();
	child_free(&r);
}

/* stepper replay runs its command in a process group of its own, so a
 * signal to stepper alone must be passed on: the command is stopped, and
 * replay exits 128+signal, saying so. */
static void check_replay_interrupt(int sig, const char *name)
{
	char bin[4200];
	snprintf(bin, sizeof bin, "%s/bin/stepper", bdir());
	char *argv[] = { bin, "replay", DIR_ "/fail.json", "--", self_path, "--node-block",
			 NULL };
	child_opts o = { .argv = argv, .wait_for = "ready ", .wait_count = 1, .sig = sig };
	child_result r;
	run_child(&o, &r);
	kill_ready_nodes(r.out); /* only if the command failed to */
	if (r.hung || r.signaled || r.code != 128 + sig)
		fail_msg("%s: exit %d (%s), expected %d:\n%s%s", name, r.code,
			 r.hung ? "hung" : r.signaled ? "killed" : "exited", 128 + sig,
			 r.out, r.err);
	char want[256];
	snprintf(want, sizeof want,
		 "stepper replay: interrupted by %s; the command was stopped (killed by %s)\n",
		 name, name);
	CONTAINS(r.out, want);
	assert_nothing_left();
	child_free(&r);
}

static void test_replay_passes_sigint_on_and_stops(void **state)
{
	(void)state;
	check_replay_interrupt(SIGINT, "SIGINT");
}

static void test_replay_passes_sigterm_on_and_stops(void **state)
{
	(void)state;
	check_replay_interrupt(SIGTERM, "SIGTERM");
}

static void test_replay_passes_sighup_on_and_stops(void **state)
{
	(void)state;
	check_replay_interrupt(SIGHUP, "SIGHUP");
}

static void test_multinode_stops_its_nodes_on_sighup(void **state)
{
	(void)state;
	check_interrupt(SIGHUP, "SIGHUP");
}

static void test_multinode_stops_its_nodes_on_sigint(void **state)
{
	(void)state;
	check_interrupt(SIGINT, "SIGINT");
}

static void test_multinode_stops_its_nodes_on_sigterm(void **state)
{
	(void)state;
	check_interrupt(SIGTERM, "SIGTERM");
}

static void test_multinode_nodes_get_only_stdin_stdout_stderr(void **state)
{
	(void)state;
	char *cmd[] = { self_path, "--node-fds", NULL };
	child_result r;
	multinode(&r, "4", 0, cmd, 0, 0);
	if (r.code != 0)
		fail_msg("exit %d:\n%s%s", r.code, r.out, r.err);
	for (int k = 0; k < 4; k++) {
		char want[64];
		snprintf(want, sizeof want, "[node%d] fds: 0 1 2\n", k);
		CONTAINS(r.out, want);
	}
	child_free(&r);
}

/* ------------------------------------------------------------------ */
/* The node programs                                                   */
/* ------------------------------------------------------------------ */

static _Noreturn void node_block(void)
{
	printf("ready %ld\n", (long)getpid());
	fflush(stdout);
	for (;;)
		pause(); /* until multinode kills the process group */
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int node_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 2;
	int fds[256], n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 256) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd != dirfd(d))
			fds[n++] = fd;
	}
	closedir(d);
	qsort(fds, (size_t)n, sizeof fds[0], cmp_int);
	printf("fds:");
	for (int i = 0; i < n; i++)
		printf(" %d", fds[i]);
	printf("\n");
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (system("rm -rf " DIR_ " && mkdir -p " DIR_) != 0)
		return -1;
	/* orphans of the commands under test become ours, so that a test can
	 * see whether any outlived the command */
	return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--node-block") == 0)
		node_block();
	if (argc > 1 && strcmp(argv[1], "--node-fds") == 0)
		return node_fds();
	if (argc > 1 && strcmp(argv[1], "--mailbox") == 0)
		return mailbox_main();
	if (!realpath(argv[0], self_path))
		return 2;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command_answers_h_and_help_alike),
		cmocka_unit_test(test_h_after_other_options_is_help),
		cmocka_unit_test(test_replay_of_a_failure_that_comes_back),
		cmocka_unit_test(test_lenient_replay_compares_failures_with_numbers_masked),
		cmocka_unit_test(test_replay_of_a_pass_that_passes_again),
		cmocka_unit_test(test_replay_of_a_pass_that_now_fails),
		cmocka_unit_test(test_replay_of_a_failure_that_now_passes),
		cmocka_unit_test(test_replay_with_other_errors_lists_each),
		cmocka_unit_test(test_replay_on_a_program_that_does_not_match),
		cmocka_unit_test(test_replay_of_a_crash_names_the_signal),
		cmocka_unit_test(test_replay_of_a_command_that_writes_no_trace),
		cmocka_unit_test(test_show_export_and_replay_exit_alike_on_a_bad_trace),
		cmocka_unit_test(test_show_of_the_golden_deadlock_reads_as_designed),
		cmocka_unit_test(test_export_of_the_golden_deadlock_has_the_waits_and_the_deadlock),
		cmocka_unit_test(test_replay_of_the_golden_deadlock_is_the_same_deadlock),
		cmocka_unit_test(test_replay_of_decisions_that_do_not_fit_names_the_decision),
		cmocka_unit_test(test_version_1_golden_traces_still_show_and_replay),
		cmocka_unit_test(test_multinode_node_that_cannot_start),
		cmocka_unit_test(test_multinode_under_a_low_fd_limit_stops_what_it_started),
		cmocka_unit_test(test_replay_passes_sigint_on_and_stops),
		cmocka_unit_test(test_replay_passes_sigterm_on_and_stops),
		cmocka_unit_test(test_replay_passes_sighup_on_and_stops),
		cmocka_unit_test(test_multinode_stops_its_nodes_on_sighup),
		cmocka_unit_test(test_multinode_stops_its_nodes_on_sigint),
		cmocka_unit_test(test_multinode_stops_its_nodes_on_sigterm),
		cmocka_unit_test(test_multinode_nodes_get_only_stdin_stdout_stderr),
	};
	if (setup(NULL) != 0 || replay_setup(NULL) != 0) {
		fprintf(stderr, "test_cli_cmds: setup failed\n");
		return 1;
	}
	return cmocka_run_group_tests_name("cli_cmds", tests, NULL, NULL);
}
