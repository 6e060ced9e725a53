/*
 * replay.c - `stepper replay`: run a command on a recorded trace and say
 * whether the recorded outcome came back.
 */
#include "cli.h"
#include "auto.h"
#include "base.h"

#include <stepper/trace.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

static const char replay_usage[] =
	"usage: stepper replay [--lenient] [--auto] TRACE -- COMMAND [ARGS...]\n"
	"\n"
	"Run COMMAND with STEPPER_REPLAY=TRACE, so its stepper takes the schedule\n"
	"from the trace, and say what was recorded, what happened this time and\n"
	"whether the recorded outcome came back: the same outcome and the same\n"
	"errors (for a passing trace: a pass again; for a deadlock: the same\n"
	"deadlock report; for a trace that holds only the plan, because the\n"
	"recorded run died: the replay dying too).\n"
	"\n"
	"--lenient  replay a trace by its anchors (STEPPER_REPLAY_LENIENT=1):\n"
	"           the recorded switches are applied where their thread comes to\n"
	"           the same point the same time, the default policy elsewhere, so a\n"
	"           shrunk trace survives small edits (a renamed or added step).\n"
	"           The failure counts as the same when its outcome and its first\n"
	"           error match with numbers masked, as shrinking compares them.\n"
	"--auto     COMMAND is an unmodified pthread program, as for `stepper run\n"
	"           --auto`: it runs with " CLI_AUTO_LIB_NAME " preloaded (LD_PRELOAD,\n"
	"           STEPPER_AUTO=1), checked first; exits 85-90 are named (85\n"
	"           misuse, 86 deadlock, 87 step limit, 88 stall, 89 divergence,\n"
	"           90 cannot control).\n"
	"\n"
	"SIGINT, SIGTERM and SIGHUP are passed on to COMMAND's process group.\n"
	"\n"
	"Exit status: 0 reproduced, 1 not reproduced (also when the program does\n"
	"not match the trace), 2 usage error or a trace that cannot be read,\n"
	"128+SIG when interrupted by signal SIG.\n";

void cli_replay_help(FILE *out)
{
	fputs(replay_usage, out);
}

/* What one replay did. */
typedef struct replay_run {
	int lenient;         /* --lenient: anchors, and failures compared masked */
	const cli_auto *au;  /* --auto, or not */
	int status;          /* the command's wait status */
	stp_trace *now;      /* the trace it wrote; NULL: none */
	char mismatch[512];  /* the stepper's "replay: ..." error, from its output */
	char line[512];      /* the output line being read (its head) */
	size_t linelen;
	int signal;          /* the first SIGINT, SIGTERM or SIGHUP we got, or 0 */
} replay_run;

/* Same outcome and the same errors? */
/* Lenient: the same outcome and the same first error, numbers masked. */
static int same_signature(const stp_trace *a, const stp_trace *b)
{
	if (stp_trace_error_count(a) == 0 || stp_trace_error_count(b) == 0)
		return stp_trace_error_count(a) == stp_trace_error_count(b) &&
		       strcmp(stp_trace_outcome(a), stp_trace_outcome(b)) == 0;
	char *x = stp__failure_signature(stp_trace_outcome(a), stp_trace_error_at(a, 0));
	char *y = stp__failure_signature(stp_trace_outcome(b), stp_trace_error_at(b, 0));
	int same = x && y && strcmp(x, y) == 0;
	free(x);
	free(y);
	return same;
}

static int same_failure(const stp_trace *a, const stp_trace *b, int lenient)
{
	if (lenient)
		return same_signature(a, b);
	if (strcmp(stp_trace_outcome(a), stp_trace_outcome(b)) != 0)
		return 0;
	if (stp_trace_error_count(a) != stp_trace_error_count(b))
		return 0;
	for (size_t i = 0; i < stp_trace_error_count(a); i++) {
		const char *x = stp_trace_error_at(a, i), *y = stp_trace_error_at(b, i);
		/* stall reports measure real time: compare up to the number */
		const char *cut = strstr(x, "no thread ended for ");
		size_t n = cut ? (size_t)(cut - x) : strlen(x) + 1;
		if (strncmp(x, y, n) != 0)
			return 0;
	}
	return 1;
}

/* A stepper that refuses a trace (other threads or steps than recorded, or
 * a trace it cannot use) writes no trace; its error reaches us only as a
 * line of output, "  error: replay: thread 'a' step 2: ...". */
static void scan_line(replay_run *r)
{
	r->line[r->linelen] = '\0';
	const char *p = strstr(r->line, "replay: ");
	if (!r->mismatch[0] && p && strncmp(p + 8, "STEPPER_REPLAY=", 15) != 0)
		snprintf(r->mismatch, sizeof r->mismatch, "%s", p);
	r->linelen = 0;
}

/* Copy what the command wrote to ours, looking at each line; 0 at its end
 * (EOF or an error), else 1. */
static int relay_some(int fd, replay_run *r)
{
	char buf[4096];
	ssize_t got;
	while ((got = read(fd, buf, sizeof buf)) < 0 && errno == EINTR)
		;
	if (got <= 0)
		return 0;
	fwrite(buf, 1, (size_t)got, stdout);
	fflush(stdout);
	for (ssize_t i = 0; i < got; i++) {
		if (buf[i] == '\n')
			scan_line(r);
		else if (r->linelen + 1 < sizeof r->line)
			r->line[r->linelen++] = buf[i];
	}
	return 1;
}

/* A signal to stepper while the command runs. The command has a process
 * group of its own (the terminal's ^C does not reach it), so pass the
 * signal on to that group; a second one sends SIGKILL. The first is kept:
 * the replay then ends with 128+signal. */
static void take_signal(int sfd, pid_t pid, replay_run *r)
{
	struct signalfd_siginfo si;
	if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si || si.ssi_signo == SIGCHLD)
		return;
	kill(-pid, r->signal ? SIGKILL : (int)si.ssi_signo);
	if (!r->signal)
		r->signal = (int)si.ssi_signo;
}

/* Relay the command's output and take signals until it has ended; then
 * relay what output is left, without waiting for a process that escaped
 * its group and still holds the pipe. sfd: a signalfd of SIGCHLD, SIGINT,
 * SIGTERM and SIGHUP, which are blocked. */
static void supervise(pid_t pid, int out, int sfd, replay_run *r)
{
	int ended = 0;
	while (!ended) {
		struct pollfd p[2] = { { sfd, POLLIN, 0 }, { out, POLLIN, 0 } };
		if (poll(p, out >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & POLLIN)
			take_signal(sfd, pid, r);
		if (out >= 0 && p[1].revents && !relay_some(out, r)) {
			close(out);
			out = -1;
		}
		ended = waitpid(pid, &r->status, WNOHANG) == pid;
	}
	if (!ended)
		while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
			;
	struct pollfd p = { out, POLLIN, 0 };
	while (out >= 0 && poll(&p, 1, 0) == 1 && relay_some(out, r))
		;
	if (out >= 0)
		close(out);
	if (r->linelen)
		scan_line(r);
}

/* "NAME=value", malloc'd (NULL when out of memory). */
static char *env_var(const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 2;
	char *v = malloc(n);
	if (v)
		snprintf(v, n, "%s=%s", name, value);
	return v;
}

/* Run cmd with STEPPER_REPLAY=path and STEPPER_TRACE=fresh; fills r.
 * Returns 0, or -1 after saying why it could not run. */
static int run_replay(char **cmd, const char *path, const char *fresh, replay_run *r)
{
	char *env_replay = env_var("STEPPER_REPLAY", path);
	char *env_trace = env_var("STEPPER_TRACE", fresh);
	char *env_lenient = env_var("STEPPER_REPLAY_LENIENT", r->lenient ? "1" : "0");
	cli_env env;
	int p[2] = { -1, -1 }, rc = -1;
	if (!env_replay || !env_trace || !env_lenient || cli_env_init(&env) < 0 ||
	    (r->au->on && cli_env_auto(&env, r->au->lib) < 0)) {
		fprintf(stderr, "stepper: out of memory\n");
		goto out;
	}
	const char *added[] = { env_replay, env_trace, env_lenient };
	cli_env_set(&env, added, 3);
	pid_t pid = -1;
	sigset_t set;
	cli_block_child_signals(&set);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd >= 0 && pipe2(p, O_CLOEXEC) == 0)
		pid = cli_spawn_out(cmd, env.vars, NULL, p[1], 1);
	int e = errno;
	cli_env_free(&env);
	if (p[1] >= 0)
		close(p[1]);
	if (pid < 0) {
		fprintf(stderr, "stepper: cannot run '%s': %s\n", cmd[0], strerror(e));
		if (sfd >= 0)
			close(sfd);
		goto out;
	}
	supervise(pid, p[0], sfd, r);
	p[0] = -1; /* closed by supervise */
	close(sfd);
	r->now = stp_trace_load(fresh, NULL);
	rc = 0;
out:
	if (p[0] >= 0)
		close(p[0]);
	free(env_replay);
	free(env_trace);
	free(env_lenient);
	return rc;
}

/* One error on its own line; the lines of a report (a deadlock, a stall)
 * after its first are indented under it. */
static void print_error(const char *e)
{
	fputs("  error: ", stdout);
	for (const char *p = e; *p; p++) {
		putchar(*p);
		if (*p == '\n')
			fputs("  ", stdout);
	}
	putchar('\n');
}

/* "pass", "fail (1 error: TEXT)", "fail (3 errors)" + tail, then each error
 * on its own line when there are several, or when the one error is a
 * report of several lines ("deadlock (1 error)"). */
static void print_outcome(const char *label, const stp_trace *t, const char *tail)
{
	size_t n = stp_trace_error_count(t);
	int listed = n > 1 || (n == 1 && strchr(stp_trace_error_at(t, 0), '\n'));
	printf("%s: %s", label, stp_trace_outcome(t));
	if (listed)
		printf(" (%zu error%s)", n, n == 1 ? "" : "s");
	else if (n == 1)
		printf(" (1 error: %s)", stp_trace_error_at(t, 0));
	printf("%s\n", tail);
	for (size_t i = 0; listed && i < n; i++)
		print_error(stp_trace_error_at(t, i));
}

static int is_plan(const stp_trace *t)
{
	return strcmp(stp_trace_outcome(t), "none") == 0;
}

/* "exit status 3", "the replay was killed by SIGABRT"; with --auto,
 * "deadlock (exit 86)". */
static void describe_end(int status, int au, char *buf, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "the replay was killed by %s%s",
			 cli_signal_name(WTERMSIG(status)),
			 WCOREDUMP(status) ? " (core dumped)" : "");
	else if (au)
		cli_auto_describe_status(status, buf, size);
	else
		cli_describe_status(status, buf, size);
}

static void print_replayed(const replay_run *r)
{
	char how[160], tail[200];
	describe_end(r->status, r->au->on, how, sizeof how);
	if (!r->now && r->mismatch[0])
		printf("replayed: did not run: the program does not match the trace\n"
		       "  stepper: %s\n", r->mismatch);
	else if (!r->now)
		printf("replayed: no trace written; %s%s\n",
		       WIFSIGNALED(r->status) ? "" : "the command ended with ", how);
	else if (is_plan(r->now))
		printf("replayed: no outcome: %s before its trace was complete\n",
		       WIFSIGNALED(r->status) ? how : "the command ended");
	else {
		snprintf(tail, sizeof tail, "; %s", how);
		print_outcome("replayed", r->now, tail);
	}
}

static int is_outcome(const stp_trace *t, const char *outcome)
{
	return strcmp(stp_trace_outcome(t), outcome) == 0;
}

/* A replay that stopped because the run did not make the recorded
 * decisions ("replay: decision 12: ...", "replay diverged at event 3"). */
static int departed(const stp_trace *now)
{
	return is_outcome(now, "divergence") && stp_trace_error_count(now) > 0 &&
	       strncmp(stp_trace_error_at(now, 0), "replay", 6) == 0;
}

/* The verdict when both runs finished and the recorded outcome did not
 * come back. */
static const char *difference(const stp_trace *rec, const stp_trace *now)
{
	int deadlock = is_outcome(rec, "deadlock");
	if (is_outcome(rec, "pass"))
		return "not reproduced: the recorded run passed, the replay did not";
	if (is_outcome(now, "pass"))
		return deadlock ? "not reproduced: the recorded run deadlocked, the replay "
				  "passed"
				: "not reproduced: the recorded run failed, the replay passed";
	if (departed(now) && !is_outcome(rec, "divergence"))
		return "not reproduced: the replay did not make the recorded decisions "
		       "(has the program changed?)";
	if (strcmp(stp_trace_outcome(rec), stp_trace_outcome(now)) == 0)
		return deadlock ? "not reproduced: the replay deadlocked, but not as "
				  "recorded (another report)"
				: "not reproduced: the replay failed with other errors";
	return "not reproduced: the replay ended with another outcome";
}

/* Print the verdict; returns 1 when the recorded outcome came back. */
static int print_verdict(const stp_trace *rec, const replay_run *r)
{
	const stp_trace *now = r->now;
	const char *v;
	int ok = 0;
	if (!now && r->mismatch[0])
		v = "not reproduced: the program does not match the trace";
	else if (is_plan(rec)) {
		/* the recorded run died before its trace was complete */
		ok = WIFSIGNALED(r->status) || (now && is_plan(now));
		v = ok ? "reproduced: the replay died before its trace was complete, "
			 "as the recorded run did"
		       : "not reproduced: the recorded run died before its trace was "
			 "complete, the replay did not";
	} else if (!now)
		v = "not reproduced: the command wrote no trace and printed no stepper "
		    "error (does it run one stepper test, which takes STEPPER_REPLAY?)";
	else if (is_plan(now))
		v = "not reproduced: the replay died before its trace was complete";
	else if ((ok = same_failure(rec, now, r->lenient)))
		v = is_outcome(rec, "pass")
			    ? "reproduced: the recorded run passed and the replay passed too"
		    : is_outcome(rec, "deadlock")
			    ? "reproduced: the recorded deadlock happened again"
			    : "reproduced: the recorded failure happened again";
	else
		v = difference(rec, now);
	printf("verdict: %s\n", v);
	return ok;
}

/* replay [-h] [--lenient] [--auto] TRACE [--] COMMAND [ARGS...]: -1 to go
 * on, else an exit status. */
static int parse_replay(int argc, char **argv, const char **path, char ***cmd,
			int *lenient, cli_auto *au)
{
	int i = 1;
	for (; i < argc; i++)
		if (strcmp(argv[i], "--lenient") == 0)
			*lenient = 1;
		else if (strcmp(argv[i], "--auto") == 0)
			au->on = 1;
		else
			break;
	if (i < argc && cli_is_help(argv[i]))
		return fputs(replay_usage, stdout), CLI_OK;
	if (i < argc && argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "--") != 0)
		return cli_usage_error("replay", "unknown option '%s'", argv[i]);
	if (i >= argc || strcmp(argv[i], "--") == 0)
		return cli_usage_error("replay", "missing the trace to replay");
	*path = argv[i++];
	if (i < argc && cli_is_help(argv[i]))
		return fputs(replay_usage, stdout), CLI_OK;
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		return cli_usage_error("replay", "missing the command to run (after --)");
	*cmd = argv + i;
	if (au->on)
		return cli_auto_prepare((*cmd)[0], au) < 0 ? CLI_USAGE : -1;
	if (!cli_command_exists((*cmd)[0])) {
		fprintf(stderr, "stepper: cannot run '%s': no such executable\n", (*cmd)[0]);
		return CLI_USAGE;
	}
	return -1;
}

int cli_replay(int argc, char **argv)
{
	const char *path = NULL;
	char **cmd = NULL;
	int lenient = 0;
	static cli_auto au; /* a path of PATH_MAX: not on the stack */
	int rc = parse_replay(argc, argv, &path, &cmd, &lenient, &au);
	if (rc >= 0)
		return rc;
	stp_trace *rec = cli_load_trace(path);
	if (!rec)
		return CLI_USAGE;
	char dir[4096], fresh[4200];
	replay_run r = { .lenient = lenient, .au = &au };
	rc = CLI_USAGE;
	if (cli_make_scratch(dir, sizeof dir, "replay", "the replay's trace") < 0)
		goto out;
	snprintf(fresh, sizeof fresh, "%s/replay.json", dir);
	char *quoted = stp__quote_argv(cmd);
	printf("stepper replay: seed %llu from %s: %s\n",
	       (unsigned long long)stp_trace_seed(rec), path, quoted ? quoted : cmd[0]);
	if (au.on)
		printf("  --auto: preloads %s\n", au.lib);
	free(quoted);
	fflush(stdout);
	int ran = run_replay(cmd, path, fresh, &r) == 0;
	if (ran && r.signal) {
		char how[128];
		cli_describe_status(r.status, how, sizeof how);
		printf("stepper replay: interrupted by %s; the command was stopped (%s)\n",
		       cli_signal_name(r.signal), how);
		rc = 128 + r.signal;
	} else if (ran) {
		if (is_plan(rec))
			printf("recorded: no outcome: the recorded run died before its trace "
			       "was complete (a crash or a kill)\n");
		else
			print_outcome("recorded", rec, "");
		print_replayed(&r);
		rc = print_verdict(rec, &r) ? CLI_OK : CLI_FAILED;
	}
	cli_remove_scratch(dir);
out:
	stp_trace_free(r.now);
	stp_trace_free(rec);
	return rc;
}
