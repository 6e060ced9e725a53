/*
 * run.c - `stepper run`: a command once per seed, JOBS at a time.
 *
 * The supervisor sleeps in sigtimedwait until a child ends, a signal
 * arrives, a timeout falls due or the progress line needs redrawing;
 * nothing polls. It is a child subreaper: whatever a run leaves behind
 * (a daemon that called setsid, say) is reparented to it and killed when
 * that run is over. What failing runs leave is kept by run_out.c.
 */
#include "run.h"
#include "base.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const char run_usage[] =
	"usage: stepper run [-n N | --seeds A..B] [-j JOBS] [--shard I/N]\n"
	"                   [--timeout SEC] [--trace-dir DIR] [--junit FILE]\n"
	"                   [--max-failures K] [--strategy S]\n"
	"                   [--auto [--no-server] [--on-stall fail|release]]\n"
	"                   -- COMMAND [ARGS...]\n"
	"\n"
	"Run COMMAND once per seed, with STEPPER_SEED and STEPPER_TRACE set,\n"
	"JOBS at a time. A run fails on a non-zero exit, a signal or the timeout\n"
	"(its whole process group is killed). Each invocation keeps its failing\n"
	"runs in its own folder, DIR/run-YYYYMMDD-HHMMSS-PID/ (UTC start), made at\n"
	"the first failure: seed-N.json (trace), seed-N.log (output; over 2 MiB,\n"
	"its first and last MiB) and run.txt. Passing runs leave nothing.\n"
	"\n"
	"  -n N              seeds 1..N (default: -n 100)\n"
	"  --seeds A..B      seeds A to B\n"
	"  -j, --jobs JOBS   runs at once (default: the number of cores)\n"
	"  --shard I/N       only the seeds whose index in the range is I mod N\n"
	"  --timeout SEC     per run (default 60; fractions allowed)\n"
	"  --trace-dir DIR   where run folders go (default: $STEPPER_TRACE_DIR\n"
	"                    or ./stepper-traces)\n"
	"  --junit FILE      write JUnit XML: one testcase per seed that ran\n"
	"  --max-failures K  start no new runs after K failures\n"
	"  --strategy S      who goes next at each hand-off in every run: sets\n"
	"                    STEPPER_STRATEGY (default: as inherited, else random);\n"
	"                    the strategies are listed below\n"
	"  --auto            COMMAND is an unmodified, dynamically linked pthread\n"
	"                    program: every run preloads " CLI_AUTO_LIB_NAME "\n"
	"                    (LD_PRELOAD, before any inherited one; STEPPER_AUTO=1),\n"
	"                    which makes its pthread calls the points where the\n"
	"                    strategy decides. The program is checked first: a\n"
	"                    script, a static or setuid program is a usage error.\n"
	"                    The library: $STEPPER_AUTO_LIB, else\n"
	"                    ../lib/" CLI_AUTO_LIB_NAME " beside this stepper.\n"
	"                    The program is exec'd once, stopped before main, and\n"
	"                    each run is a copy of it (a fork server)\n"
	"  --no-server       with --auto: exec the program for every run instead\n"
	"  --on-stall WHAT   with --auto: what a run does with a thread that makes\n"
	"                    no pthread call for a while (blocked in read(), a\n"
	"                    spin on an atomic): fail, the default, ends the run as\n"
	"                    a stall (88) after the stall limit; release lets it\n"
	"                    leave control after 100 ms (STEPPER_ESCAPE_MS), the\n"
	"                    others go on, and it comes back at its next pthread\n"
	"                    call (sets STEPPER_ON_STALL)\n"
	"\n"
	"With --auto, the stepper's failures end a run with these exit statuses,\n"
	"named in the summary: 85 misuse, 86 deadlock, 87 step limit, 88 stall,\n"
	"89 divergence, 90 cannot control.\n"
	"\n"
	"SIGINT, SIGTERM and SIGHUP stop it: runs under way are killed and count\n"
	"as interrupted, the summary and JUnit file are written.\n"
	"Exit status: 0 all passed, 1 any failed, 2 usage error, 128+N stopped\n"
	"by signal N.\n";

void cli_run_help(FILE *out)
{
	fputs(run_usage, out);
	fprintf(out, "Strategies: %s.\n", stp_strategies());
}

/* S of --strategy, or an inherited STEPPER_STRATEGY (what = its name):
 * one the library accepts, or a usage error (exit 2) before any run. */
static int check_strategy(const char *what, const char *v, run_opts *o)
{
	char why[320];
	if (stp_strategy_check(v, why, sizeof why) < 0) {
		cli_usage_error("run", "%s: %s", what, why);
		return -1;
	}
	o->strategy = v;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

static int parse_count(const char *opt, const char *v, uint64_t min, uint64_t max,
		       uint64_t *out)
{
	uint64_t x;
	if (stp__parse_u64(v, &x) < 0 || x < min || x > max) {
		cli_usage_error("run", "%s: expected a whole number from %llu to %llu, got '%s'",
				opt, (unsigned long long)min, (unsigned long long)max, v);
		return -1;
	}
	*out = x;
	return 0;
}

static int parse_seeds(const char *v, run_opts *o)
{
	if (stp__parse_range(v, &o->first, &o->count) < 0 || !strstr(v, "..")) {
		cli_usage_error("run", "--seeds: expected A..B with A <= B, got '%s'", v);
		return -1;
	}
	o->have_seeds = 1;
	return 0;
}

static int parse_shard(const char *v, run_opts *o)
{
	const char *slash = strchr(v, '/');
	char left[32];
	size_t n = slash ? (size_t)(slash - v) : 0;
	uint64_t i, m;
	if (!slash || n == 0 || n >= sizeof left) {
		cli_usage_error("run", "--shard: expected I/N, got '%s'", v);
		return -1;
	}
	memcpy(left, v, n);
	left[n] = '\0';
	if (stp__parse_u64(left, &i) < 0 || stp__parse_u64(slash + 1, &m) < 0 || m == 0) {
		cli_usage_error("run",
				"--shard: expected I/N with whole numbers and N >= 1, got '%s'", v);
		return -1;
	}
	if (i >= m) {
		cli_usage_error("run", "--shard %s: I must be below N (shards are 0/N to %llu/N)",
				v, (unsigned long long)(m - 1));
		return -1;
	}
	o->shard_i = i;
	o->shard_n = m;
	return 0;
}

static int parse_timeout(const char *v, run_opts *o)
{
	char *end;
	errno = 0;
	double t = strtod(v, &end);
	if (end == v || *end || errno || !isfinite(t) || t <= 0 || t > 86400) {
		cli_usage_error("run",
				"--timeout: expected seconds above 0 and at most 86400, got '%s'", v);
		return -1;
	}
	o->timeout = t;
	return 0;
}

/* One option; -1 on a usage error, 1 for --help. */
static int parse_option(int c, const char *v, char **argv, run_opts *o)
{
	uint64_t x;
	switch (c) {
	case 'n':
		o->first = 1;
		o->have_n = 1;
		return parse_count("-n", v, 1, UINT64_MAX / 2, &o->count);
	case 's':
		return parse_seeds(v, o);
	case 'j':
		if (parse_count("-j", v, 1, 1024, &x) < 0)
			return -1;
		o->jobs = (long)x;
		return 0;
	case 'S':
		return parse_shard(v, o);
	case 't':
		return parse_timeout(v, o);
	case 'd':
		o->trace_dir = v;
		return 0;
	case 'J':
		o->junit = v;
		return 0;
	case 'm':
		return parse_count("--max-failures", v, 1, UINT64_MAX, &o->max_failures);
	case 'A':
		o->au.on = 1;
		return 0;
	case 'N':
		o->no_server = 1;
		return 0;
	case 'R':
		if (strcmp(v, "fail") != 0 && strcmp(v, "release") != 0) {
			cli_usage_error("run", "--on-stall: expected fail or release, got '%s'", v);
			return -1;
		}
		o->on_stall = 1;
		return setenv("STEPPER_ON_STALL", v, 1) == 0 ? 0 : -1;
	case 'T':
		if (check_strategy("--strategy", v, o) < 0)
			return -1;
		/* the runs inherit it: the environment is copied at their start */
		return setenv("STEPPER_STRATEGY", v, 1) == 0 ? 0 : -1;
	case 'h':
		cli_run_help(stdout);
		return 1;
	default:
		if (optopt)
			cli_usage_error("run", "option -%c needs a value or is unknown", optopt);
		else
			cli_usage_error("run", "unknown option '%s'", argv[optind - 1]);
		return -1;
	}
}

/* dfs explores one schedule after another, each run taking up where the
 * runs before it stopped: one process per seed cannot carry that (each
 * would run the first schedule). strategy as given (NULL: none), from
 * where ("STEPPER_STRATEGY"). -1 after saying so. */
static int refuse_dfs(const char *strategy, const char *from, char **cmd)
{
	if (!strategy || strncmp(strategy, "dfs", 3) != 0 ||
	    (strategy[3] != '\0' && strategy[3] != ':'))
		return 0;
	cli_usage_error("run",
			"%s '%s': dfs explores schedules one after another, each run taking "
			"up where the runs before it stopped, so it cannot run one process "
			"per seed (each would run the first schedule); run the test's own "
			"seed loop instead (stp_loop), e.g. STEPPER_STRATEGY=%s %s",
			from, strategy, strategy, cmd[0]);
	return -1;
}

/* What follows the options: the command. */
static int parse_command(int argc, char **argv, run_opts *o)
{
	if (o->have_n && o->have_seeds) {
		cli_usage_error("run", "give -n or --seeds, not both");
		return -1;
	}
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc) {
		cli_usage_error("run", "missing the command to run (after --)");
		return -1;
	}
	o->cmd = argv + optind;
	if (o->strategy && refuse_dfs(o->strategy,
				      o->strategy == getenv("STEPPER_STRATEGY") ? "STEPPER_STRATEGY"
										 : "--strategy",
				      o->cmd) < 0)
		return -1;
	if (o->no_server && !o->au.on) {
		cli_usage_error("run", "--no-server goes with --auto");
		return -1;
	}
	if (o->on_stall && !o->au.on) {
		cli_usage_error("run", "--on-stall goes with --auto (a test's threads cannot "
				       "leave control)");
		return -1;
	}
	if (o->au.on) {
		if (cli_auto_prepare(o->cmd[0], &o->au) < 0)
			return -1;
	} else if (!cli_command_exists(o->cmd[0])) {
		fprintf(stderr, "stepper: cannot run '%s': no such executable%s\n", o->cmd[0],
			strchr(o->cmd[0], '/') ? "" : " in PATH");
		return -1;
	}
	return cli_run_check_dir(o->trace_dir);
}

/* 0, 1 for --help, -1 on a usage error (said). */
static int parse_options(int argc, char **argv, run_opts *o)
{
	static const struct option longs[] = {
		{ "seeds", required_argument, NULL, 's' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "shard", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "trace-dir", required_argument, NULL, 'd' },
		{ "junit", required_argument, NULL, 'J' },
		{ "max-failures", required_argument, NULL, 'm' },
		{ "strategy", required_argument, NULL, 'T' },
		{ "auto", no_argument, NULL, 'A' },
		{ "no-server", no_argument, NULL, 'N' },
		{ "on-stall", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	*o = (run_opts){ .first = 1, .count = 100, .jobs = ncpu > 0 ? ncpu : 1,
			 .shard_n = 1, .timeout = 60 };
	o->trace_dir = getenv("STEPPER_TRACE_DIR");
	if (!o->trace_dir || !*o->trace_dir)
		o->trace_dir = "stepper-traces";
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+n:j:h", longs, NULL)) != -1) {
		int rc = parse_option(c, optarg, argv, o);
		if (rc != 0)
			return rc;
	}
	const char *inherited = getenv("STEPPER_STRATEGY");
	if (!o->strategy && inherited && *inherited &&
	    check_strategy("STEPPER_STRATEGY", inherited, o) < 0)
		return -1;
	return parse_command(argc, argv, o);
}

/* ------------------------------------------------------------------ */
/* Runs                                                                */
/* ------------------------------------------------------------------ */

/* The fork server is gone or refused a run: exec from now on. */
static void server_lost(runner *r, const char *why)
{
	fprintf(stderr, "stepper run: the fork server %s; the remaining runs exec %s\n", why,
		r->o.cmd[0]);
	cli_server_stop(&r->server);
	r->serving = 0;
}

/* One run of the command, by the fork server when there is one. */
static pid_t spawn_run(runner *r, const char *log)
{
	if (r->serving) {
		pid_t pid = cli_server_spawn(&r->server, r->env.vars, log);
		if (pid > 0)
			return pid;
		char why[96];
		snprintf(why, sizeof why, "could not make a run (%s)", strerror(errno));
		server_lost(r, why);
	}
	return cli_spawn(r->o.cmd, r->env.vars, log, 0);
}

static int start_one(runner *r, slot *s)
{
	uint64_t seed = cli_run_seed_at(r, r->next);
	char log[RUN_PATH_SIZE], trace[RUN_PATH_SIZE];
	char env_seed[64], env_trace[RUN_PATH_SIZE + 32];
	cli_run_work_path(r, seed, "log", log);
	cli_run_work_path(r, seed, "json", trace);
	snprintf(env_seed, sizeof env_seed, "STEPPER_SEED=%llu", (unsigned long long)seed);
	snprintf(env_trace, sizeof env_trace, "STEPPER_TRACE=%s", trace);
	/* a process does not shrink: its files move to the run folder,
	 * which a shrunk trace's replay line could not name */
	const char *added[] = { env_seed, env_trace, "STEPPER_SHRINK=0" };
	cli_env_set(&r->env, added, 3);
	pid_t pid = spawn_run(r, log);
	if (pid < 0) {
		fprintf(stderr, "stepper: cannot start '%s': %s\n", r->o.cmd[0],
			strerror(errno));
		return -1;
	}
	*s = (slot){ .pid = pid, .seed = seed, .start = cli_now() };
	s->deadline = s->start + r->o.timeout;
	r->next++;
	return 0;
}

static void finish(runner *r, slot *s, int status)
{
	double secs = cli_now() - s->start;
	kill(-s->pid, SIGKILL); /* whatever the run left behind in its group */
	if (s->interrupted)
		cli_run_interrupted(r, s, secs);
	else if (!s->timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		cli_run_passed(r, s, secs);
	else
		cli_run_failed(r, s, status, secs);
	if (r->o.max_failures && r->failed >= r->o.max_failures)
		r->stop = 1;
	s->pid = 0;
}

/* ------------------------------------------------------------------ */
/* Orphans: what runs leave behind, reparented to us (the subreaper)   */
/* ------------------------------------------------------------------ */

static slot *find_slot(runner *r, pid_t pid)
{
	for (long i = 0; i < r->o.jobs; i++)
		if (r->slots[i].pid == pid)
			return &r->slots[i];
	return NULL;
}

/* Does pid come from a run still under way? Its STEPPER_SEED says (it
 * inherited the run's environment), as far as it kept it. */
static int of_running_run(runner *r, pid_t pid)
{
	char path[64], env[8192];
	snprintf(path, sizeof path, "/proc/%ld/environ", (long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, env, sizeof env - 1);
	close(fd);
	if (n <= 0)
		return 0;
	env[n] = '\0';
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(env + i) + 1) {
		uint64_t seed;
		if (strncmp(env + i, "STEPPER_SEED=", 13) != 0 ||
		    stp__parse_u64(env + i + 13, &seed) < 0)
			continue;
		for (long k = 0; k < r->o.jobs; k++)
			if (r->slots[k].pid && r->slots[k].seed == seed)
				return 1;
	}
	return 0;
}

/* Our children, from /proc/self/task/TID/children (Linux 3.5, with
 * CONFIG_PROC_CHILDREN), else from a scan of every /proc/PID/stat. */
static size_t list_children(pid_t *pids, size_t max)
{
	char path[64];
	size_t n = 0;
	long pid, ppid;
	snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long)getpid());
	FILE *f = fopen(path, "re");
	if (f) {
		while (n < max && fscanf(f, "%ld", &pid) == 1)
			pids[n++] = (pid_t)pid;
		fclose(f);
		return n;
	}
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && n < max && (e = readdir(d))) {
		char stat[512], *paren;
		snprintf(path, sizeof path, "/proc/%.20s/stat", e->d_name);
		FILE *sf = isdigit((unsigned char)e->d_name[0]) ? fopen(path, "re") : NULL;
		size_t k = sf ? fread(stat, 1, sizeof stat - 1, sf) : 0;
		if (sf)
			fclose(sf);
		stat[k] = '\0';
		/* "pid (comm) state ppid": comm may hold anything, even ") " */
		if ((paren = strrchr(stat, ')')) && sscanf(paren + 1, " %*c %ld", &ppid) == 1 &&
		    ppid == (long)getpid())
			pids[n++] = (pid_t)atol(stat);
	}
	if (d)
		closedir(d);
	return n;
}

/* Kill our children that are not runs (nor, unless all, from a run still
 * under way); the dead are reaped with the runs. Returns how many were
 * killed; *left counts those we may not kill. */
static int kill_orphans(runner *r, int all, int *left)
{
	pid_t pids[2048];
	size_t n = list_children(pids, sizeof pids / sizeof pids[0]);
	int killed = 0;
	*left = 0;
	for (size_t i = 0; i < n; i++) {
		if (find_slot(r, pids[i]) || (!all && of_running_run(r, pids[i])) ||
		    (r->serving && pids[i] == r->server.pid))
			continue;
		if (kill(pids[i], SIGKILL) == 0)
			killed++;
		else if (errno == EPERM)
			(*left)++;
	}
	return killed;
}

/* At the end: kill and reap every process left to us, and whatever they
 * leave in turn, until none is left (or only some we may not kill). */
static void reap_all_orphans(runner *r)
{
	int left, status;
	for (;;) {
		int killed = kill_orphans(r, 1, &left);
		if (waitpid(-1, &status, killed || !left ? 0 : WNOHANG) <= 0)
			break; /* ECHILD: none left */
	}
	if (left)
		fprintf(stderr, "stepper: %d process%s left behind by the runs could not be "
				"killed\n",
			left, left == 1 ? "" : "es");
}

/* ------------------------------------------------------------------ */
/* Progress and signals                                                */
/* ------------------------------------------------------------------ */

static void progress(runner *r, int final)
{
	uint64_t done = r->passed + r->failed + r->interrupted;
	double el = cli_now() - r->start;
	double rate = el > 0 ? (double)done / el : 0;
	double left = rate > 0 ? (double)(r->total - done) / rate : 0;
	if (r->tty) {
		fprintf(stderr, "\r\033[Kstepper run: %llu/%llu · %llu failed · %.0f runs/s",
			(unsigned long long)done, (unsigned long long)r->total,
			(unsigned long long)r->failed, rate);
		if (!final && done > 0)
			fprintf(stderr, " · ~%.0fs left", ceil(left));
		if (final)
			fputc('\n', stderr);
	} else if (!final) {
		fprintf(stderr, "stepper run: %llu/%llu done, %llu failed, %.0f runs/s, "
				"about %.0f s left\n",
			(unsigned long long)done, (unsigned long long)r->total,
			(unsigned long long)r->failed, rate, ceil(left));
	}
	fflush(stderr);
	r->next_progress = cli_now() + (r->tty ? 0.1 : 5.0);
}

/* SIGHUP, SIGINT, SIGTERM: start nothing more, kill what runs. */
static void interrupt(runner *r, int sig)
{
	if (!r->signal)
		r->signal = sig;
	r->stop = 1;
	for (long i = 0; i < r->o.jobs; i++)
		if (r->slots[i].pid) {
			r->slots[i].interrupted = 1;
			kill(-r->slots[i].pid, SIGKILL);
		}
}

static void wait_for_events(runner *r, sigset_t *set)
{
	double now = cli_now(), until = r->next_progress;
	for (long i = 0; i < r->o.jobs; i++)
		if (r->slots[i].pid && !r->slots[i].timed_out && r->slots[i].deadline < until)
			until = r->slots[i].deadline;
	double wait = until - now;
	if (wait < 0)
		wait = 0;
	struct timespec ts = { .tv_sec = (time_t)wait,
			       .tv_nsec = (long)((wait - floor(wait)) * 1e9) };
	int sig = sigtimedwait(set, NULL, &ts);
	if (sig == SIGHUP || sig == SIGINT || sig == SIGTERM)
		interrupt(r, sig);
}

static void kill_overdue(runner *r)
{
	double now = cli_now();
	for (long i = 0; i < r->o.jobs; i++) {
		slot *s = &r->slots[i];
		if (s->pid && !s->timed_out && now >= s->deadline) {
			s->timed_out = 1;
			kill(-s->pid, SIGKILL);
		}
	}
}

/* Reap what ended; 1 if a run was among it. */
static int reap(runner *r)
{
	int status, ended = 0;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		slot *s = find_slot(r, pid);
		if (s) {
			finish(r, s, status);
			ended = 1;
		} else if (r->serving && pid == r->server.pid) {
			char why[96], how[64];
			cli_describe_status(status, how, sizeof how);
			snprintf(why, sizeof why, "ended (%s)", how);
			r->server.pid = -1; /* reaped */
			server_lost(r, why);
		}
	}
	return ended;
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

static long start_runs(runner *r)
{
	long running = 0;
	for (long i = 0; i < r->o.jobs; i++) {
		if (!r->slots[i].pid && !r->stop && r->next < r->total &&
		    start_one(r, &r->slots[i]) < 0) {
			r->stop = 1;
			r->start_failed = 1;
		}
		running += r->slots[i].pid != 0;
	}
	return running;
}

static void supervise(runner *r, sigset_t *set)
{
	r->start = cli_now();
	r->next_progress = r->start; /* on a terminal, at once */
	if (!r->tty)
		r->next_progress += 5.0;
	while (start_runs(r) > 0) {
		if (cli_now() >= r->next_progress)
			progress(r, 0);
		wait_for_events(r, set);
		int left;
		if (reap(r))
			kill_orphans(r, 0, &left);
		kill_overdue(r);
	}
	if (r->serving)
		cli_server_stop(&r->server);
	r->serving = 0;
	reap_all_orphans(r);
	if (r->tty)
		progress(r, 1);
}

/* A SIGHUP or SIGINT ignored when we started (nohup, a background job)
 * stays ignored: only the others are taken. */
static void keep_ignored(sigset_t *set)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGTERM };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct sigaction sa;
		if (sigaction(sigs[i], NULL, &sa) != 0 || sa.sa_handler != SIG_IGN)
			continue;
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, sigs[i]);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		sigdelset(set, sigs[i]);
	}
}

static int setup(runner *r)
{
	/* seeds in this shard, without counting them one by one */
	r->total = r->o.count > r->o.shard_i
			   ? (r->o.count - 1 - r->o.shard_i) / r->o.shard_n + 1
			   : 0;
	r->slots = calloc((size_t)r->o.jobs, sizeof *r->slots);
	r->quoted_cmd = stp__quote_argv(r->o.cmd);
	if (!r->slots || !r->quoted_cmd || cli_env_init(&r->env) < 0 ||
	    (r->o.au.on && cli_env_auto(&r->env, r->o.au.lib) < 0)) {
		fprintf(stderr, "stepper: out of memory\n");
		return -1;
	}
	r->self = cli_self;
	r->tty = isatty(2) && !getenv("CI");
	r->server = (cli_server){ .pid = -1, .fd = -1 };
	if (r->o.au.on && !r->o.no_server) {
		char why[256];
		r->serving = cli_server_start(&r->server, r->o.cmd, r->env.vars, why,
					      sizeof why) == 0;
		if (!r->serving)
			fprintf(stderr, "stepper run: no fork server: %s; each run execs %s\n",
				why, r->o.cmd[0]);
	}
	return cli_run_out_open(r);
}

int cli_run(int argc, char **argv)
{
	runner r = { 0 };
	int p = parse_options(argc, argv, &r.o);
	if (p != 0)
		return p > 0 ? CLI_OK : CLI_USAGE;
	/* From here a signal waits for the loop, which ends the runs. */
	sigset_t set;
	cli_block_child_signals(&set);
	keep_ignored(&set);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	int rc = CLI_USAGE;
	if (setup(&r) == 0) {
		cli_run_header(&r);
		supervise(&r, &set);
		cli_run_out_close(&r, cli_now() - r.start);
		rc = r.signal ? 128 + r.signal
		     : r.failed || r.start_failed || r.junit_error ? CLI_FAILED
						  : CLI_OK;
	}
	cli_env_free(&r.env);
	free(r.slots);
	free(r.quoted_cmd);
	return rc;
}
