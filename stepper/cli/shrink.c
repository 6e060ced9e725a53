/*
 * shrink.c - `stepper shrink TRACE -- COMMAND`: shrink a failing trace
 * written by `stepper run` (any failing trace) to the fewest
 * preemptions that still fail the same way, one process of COMMAND per
 * replay, JOBS at once (README "Shrinking").
 *
 * The algorithm is the library's (stp_shrink_trace); this file starts the
 * processes it asks for, kills those that pass the timeout, and passes a
 * SIGINT, SIGTERM or SIGHUP on as the end of the shrinking.
 */
#include "cli.h"
#include "auto.h"
#include "base.h"

#include <stepper/stepper.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

static const char shrink_usage[] =
	"usage: stepper shrink [-j JOBS] [--timeout SEC] [--replays N] [--seconds SEC]\n"
	"                      [--auto] TRACE -- COMMAND [ARGS...]\n"
	"\n"
	"Shrink the failure recorded in TRACE (a failing trace, as `stepper run`\n"
	"keeps them) to the fewest preemptions that still fail the same way (the\n"
	"same outcome and first error, numbers masked), as a seed loop shrinks in\n"
	"process: each replay is one process of COMMAND, JOBS at once. Prints how\n"
	"far it shrank, the shrunk order, the critical pair and the command that\n"
	"replays the shrunk trace, written beside TRACE as NAME-shrunk.json.\n"
	"The result does not depend on JOBS.\n"
	"\n"
	"  -j, --jobs JOBS   processes at once (default: the number of cores)\n"
	"  --timeout SEC     per process (default 60; fractions allowed): a process\n"
	"                    past it is killed and counts as not failing the same way\n"
	"  --replays N       at most N replays (default STEPPER_SHRINK_REPLAYS, 2000)\n"
	"  --seconds SEC     at most SEC seconds (default STEPPER_SHRINK_SECONDS, 10)\n"
	"  --auto            COMMAND is an unmodified pthread program, as for\n"
	"                    `stepper run --auto`: each process preloads\n"
	"                    " CLI_AUTO_LIB_NAME " (LD_PRELOAD, STEPPER_AUTO=1)\n"
	"\n"
	"A process killed by a signal fails the same way only when the failing\n"
	"run's replay was killed by that signal too.\n"
	"\n"
	"Exit status: 0 shrunk (the shrunk trace written), 1 not shrunk (COMMAND\n"
	"does not fail the same way on TRACE, ...; nothing written), 2 usage error\n"
	"or a trace that cannot be read or shrunk, 128+SIG when stopped by signal\n"
	"SIG (the best order found so far is reported and written).\n";

void cli_shrink_help(FILE *out)
{
	fputs(shrink_usage, out);
}

typedef struct shrink_cli {
	const char *trace;
	char **cmd;
	unsigned jobs;
	double timeout;
	uint64_t replays;
	double seconds;
	cli_auto au; /* --auto */
	cli_env env;
	int sfd;    /* signalfd of SIGCHLD, SIGINT, SIGTERM, SIGHUP */
	int signal; /* the first SIGINT, SIGTERM or SIGHUP, or 0 */
	int header; /* printed */
} shrink_cli;

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

static int parse_option(int c, const char *v, char **argv, shrink_cli *o)
{
	uint64_t x;
	switch (c) {
	case 'j':
		if (stp__parse_u64(v, &x) < 0 || x < 1 || x > 1024)
			return cli_usage_error("shrink", "-j: expected 1 to 1024 jobs, got '%s'",
					       v), -1;
		o->jobs = (unsigned)x;
		return 0;
	case 't':
		return cli_parse_seconds("shrink", "--timeout", v, &o->timeout);
	case 'r':
		if (stp__parse_u64(v, &x) < 0 || x < 1 || x > 1000000000)
			return cli_usage_error("shrink",
					       "--replays: expected 1 to 1000000000, got '%s'", v),
			       -1;
		o->replays = x;
		return 0;
	case 's':
		return cli_parse_seconds("shrink", "--seconds", v, &o->seconds);
	case 'A':
		o->au.on = 1;
		return 0;
	case 'h':
		cli_shrink_help(stdout);
		return 1;
	default:
		if (optopt)
			cli_usage_error("shrink", "option -%c needs a value or is unknown", optopt);
		else
			cli_usage_error("shrink", "unknown option '%s'", argv[optind - 1]);
		return -1;
	}
}

/* TRACE -- COMMAND [ARGS...] after the options. */
static int parse_rest(int argc, char **argv, shrink_cli *o)
{
	/* getopt takes a "--" that comes before any other word */
	if (optind >= argc || strcmp(argv[optind], "--") == 0 ||
	    strcmp(argv[optind - 1], "--") == 0)
		return cli_usage_error("shrink", "missing the trace to shrink"), -1;
	o->trace = argv[optind++];
	if (optind >= argc || strcmp(argv[optind], "--") != 0)
		return cli_usage_error("shrink", "expected -- and the command after the trace, "
						 "got %s%s%s",
				       optind < argc ? "'" : "nothing",
				       optind < argc ? argv[optind] : "",
				       optind < argc ? "'" : ""),
		       -1;
	if (++optind >= argc)
		return cli_usage_error("shrink", "missing the command to run (after --)"), -1;
	o->cmd = argv + optind;
	if (o->au.on)
		return cli_auto_prepare(o->cmd[0], &o->au);
	if (!cli_command_exists(o->cmd[0])) {
		fprintf(stderr, "stepper: cannot run '%s': no such executable%s\n", o->cmd[0],
			strchr(o->cmd[0], '/') ? "" : " in PATH");
		return -1;
	}
	return 0;
}

/* 0, 1 for --help, -1 on a usage error (said). */
static int parse_options(int argc, char **argv, shrink_cli *o)
{
	static const struct option longs[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "replays", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "auto", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	o->jobs = ncpu > 0 ? (unsigned)(ncpu < 1024 ? ncpu : 1024) : 1;
	o->timeout = 60;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+j:h", longs, NULL)) != -1) {
		int rc = parse_option(c, optarg, argv, o);
		if (rc != 0)
			return rc;
	}
	return parse_rest(argc, argv, o);
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

/* A SIGINT, SIGTERM or SIGHUP (kept in o->signal), or a SIGCHLD. */
static void take_signal(shrink_cli *o)
{
	struct signalfd_siginfo si;
	if (read(o->sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo != SIGCHLD &&
	    !o->signal)
		o->signal = (int)si.ssi_signo;
}

static void kill_all(const pid_t *pid, const int *live, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (live[i])
			kill(-pid[i], SIGKILL);
}

/* Wait for the started processes; kill them all at the timeout or on a
 * signal. */
static void supervise(shrink_cli *o, stp_shrink_proc *procs, const pid_t *pid, int *live,
		      size_t n)
{
	double deadline = cli_now() + o->timeout;
	size_t left = 0;
	for (size_t i = 0; i < n; i++)
		left += live[i] != 0;
	while (left > 0) {
		for (size_t i = 0; i < n; i++)
			if (live[i] && waitpid(pid[i], &procs[i].status, WNOHANG) == pid[i]) {
				live[i] = 0;
				left--;
				kill(-pid[i], SIGKILL); /* what it left in its group */
			}
		double now = cli_now();
		if (left == 0)
			break;
		if (now >= deadline || o->signal) {
			kill_all(pid, live, n);
			for (size_t i = 0; i < n; i++) {
				if (!live[i])
					continue;
				while (waitpid(pid[i], &procs[i].status, 0) < 0 && errno == EINTR)
					;
				procs[i].timed_out = !o->signal;
				live[i] = 0;
			}
			break;
		}
		struct pollfd p = { o->sfd, POLLIN, 0 };
		int ms = (int)((deadline - now) * 1000) + 1;
		if (poll(&p, 1, ms) > 0)
			take_signal(o);
	}
}

static void print_header(shrink_cli *o);

static void exec_procs(void *arg, stp_shrink_proc *procs, size_t n)
{
	shrink_cli *o = arg;
	print_header(o); /* once: a trace refused runs nothing and says only why */
	pid_t *pid = calloc(n, sizeof *pid);
	int *live = calloc(n, sizeof *live);
	for (size_t i = 0; pid && live && i < n && !o->signal; i++) {
		if (cli_env_set(&o->env, procs[i].env, 4) < 0)
			break;
		pid[i] = cli_spawn(o->cmd, o->env.vars, "/dev/null", 0);
		if (pid[i] < 0)
			snprintf(procs[i].what, sizeof procs[i].what, "cannot run '%s': %s",
				 o->cmd[0], strerror(errno));
		else
			live[i] = procs[i].started = 1;
	}
	if (pid && live)
		supervise(o, procs, pid, live, n);
	for (size_t i = 0; i < n; i++) {
		if (o->signal) {
			procs[i].started = 0;
			snprintf(procs[i].what, sizeof procs[i].what, "interrupted by %s",
				 cli_signal_name(o->signal));
		} else if (!procs[i].started && !procs[i].what[0]) {
			snprintf(procs[i].what, sizeof procs[i].what, "out of memory");
		}
	}
	free(pid);
	free(live);
}

/* ------------------------------------------------------------------ */
/* The command                                                         */
/* ------------------------------------------------------------------ */

/* The header, before the first process: what is shrunk, with what. */
static void print_header(shrink_cli *o)
{
	if (o->header)
		return;
	o->header = 1;
	char *q = stp__quote_argv(o->cmd);
	printf("stepper shrink: %s: %s\n", o->trace, q ? q : o->cmd[0]);
	printf("  %u job%s, timeout %g s per process\n", o->jobs, o->jobs == 1 ? "" : "s",
	       o->timeout);
	if (o->au.on)
		printf("  --auto: each process preloads %s\n", o->au.lib);
	free(q);
	fflush(stdout);
}

/* Shrink, report; the exit status. */
static int shrink(shrink_cli *o, const char *dir)
{
	stp_shrink_options so = { .trace = o->trace, .dir = dir, .jobs = o->jobs,
				  .max_replays = o->replays, .max_seconds = o->seconds,
				  .exec = exec_procs, .arg = o };
	stp_shrink_result *r = NULL;
	char why[1024];
	int rc = stp_shrink_trace(&so, &r, why, sizeof why);
	if (rc < 0) {
		fprintf(stderr, "stepper: %s\n", why);
		return rc == STP_ENOMEM ? CLI_FAILED : CLI_USAGE;
	}
	char *q = stp__quote_argv(o->cmd);
	char *before = stp__strdupf("%s replay %s", cli_self, o->au.on ? "--auto " : "");
	char *after = stp__strdupf(" -- %s", q ? q : o->cmd[0]);
	stp_shrink_result_print(r, stdout, before ? before : "stepper replay ",
				after ? after : "");
	free(q);
	free(before);
	free(after);
	rc = o->signal ? 128 + o->signal
	     : stp_shrink_result_why(r)[0] || !stp_shrink_result_trace(r)[0] ? CLI_FAILED
									      : CLI_OK;
	if (stp_shrink_result_why(r)[0])
		printf("stepper shrink: nothing written\n");
	stp_shrink_result_free(r);
	return rc;
}

int cli_shrink(int argc, char **argv)
{
	shrink_cli o = { .sfd = -1 };
	int rc = parse_options(argc, argv, &o);
	if (rc != 0)
		return rc > 0 ? CLI_OK : CLI_USAGE;
	char dir[4096];
	sigset_t set;
	cli_block_child_signals(&set);
	o.sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (o.sfd < 0 || cli_env_init(&o.env) < 0 ||
	    (o.au.on && cli_env_auto(&o.env, o.au.lib) < 0)) {
		fprintf(stderr, "stepper: cannot watch its processes: %s\n", strerror(errno));
		return CLI_FAILED;
	}
	rc = CLI_FAILED;
	if (cli_make_scratch(dir, sizeof dir, "shrink", "the replays") == 0) {
		rc = shrink(&o, dir);
		cli_remove_scratch(dir);
	}
	cli_env_free(&o.env);
	close(o.sfd);
	return rc;
}
