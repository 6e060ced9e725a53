/*
 * cli_run.c - `stepper run`: a command once per seed, JOBS at a time.
 *
 * The supervisor sleeps in sigtimedwait until a child ends, a signal
 * arrives, a timeout falls due or the progress line needs redrawing;
 * nothing polls.
 */
#include "cli.h"
#include "env.h"
#include "util.h"
#include "stepper.h"
#include <stepper/trace.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATH_SIZE 4096
/* The summary lists this many failures (the lowest seeds); all are kept
 * in the trace dir and in the JUnit file. */
#define SHOW_FAILURES 10

typedef struct run_opts {
	uint64_t first, count;
	int have_n, have_seeds;
	long jobs;
	uint64_t shard_i, shard_n;
	double timeout;
	const char *trace_dir;
	const char *junit;
	uint64_t max_failures;
	char **cmd;
} run_opts;

typedef struct slot {
	pid_t pid;
	uint64_t seed;
	double start, deadline;
	int timed_out;
} slot;

typedef struct failure {
	uint64_t seed;
	char reason[128];
	char error[256]; /* the stepper's first error, from the trace */
	int has_trace;
	double secs;
} failure;

typedef struct outcome {
	uint64_t seed;
	float secs;
	int failure; /* index into failures, or -1 */
} outcome;

typedef struct runner {
	run_opts o;
	cli_env env;
	slot *slots;
	uint64_t *seeds; /* the seeds this shard runs */
	uint64_t total, next, done;
	outcome *results;
	failure *failures;
	size_t nfailures, capfailures;
	int tty, stop, interrupted;
	double start, next_progress;
	char *quoted_cmd;
	const char *self; /* how this stepper was invoked, for replay lines */
} runner;

static const char run_usage[] =
	"usage: stepper run [-n N | --seeds A..B] [-j JOBS] [--shard I/N]\n"
	"                   [--timeout SEC] [--trace-dir DIR] [--junit FILE]\n"
	"                   [--max-failures K] -- COMMAND [ARGS...]\n"
	"\n"
	"Run COMMAND once per seed, with STEPPER_SEED and STEPPER_TRACE set,\n"
	"JOBS at a time. A run fails on a non-zero exit, a signal or the timeout\n"
	"(its whole process group is killed). A failing run keeps its trace and\n"
	"output as DIR/seed-N.json and DIR/seed-N.log; passing runs leave nothing.\n"
	"\n"
	"  -n N              seeds 1..N (default: -n 100)\n"
	"  --seeds A..B      seeds A to B\n"
	"  -j, --jobs JOBS   runs at once (default: the number of cores)\n"
	"  --shard I/N       only the seeds whose index in the range is I mod N\n"
	"  --timeout SEC     per run (default 60; fractions allowed)\n"
	"  --trace-dir DIR   where failing runs are kept (default: $STEPPER_TRACE_DIR\n"
	"                    or ./stepper-traces)\n"
	"  --junit FILE      write JUnit XML: one testcase per seed\n"
	"  --max-failures K  start no new runs after K failures\n"
	"\n"
	"Exit status: 0 all passed, 1 any failed, 2 usage error.\n";

void cli_run_help(FILE *out);
void cli_run_help(FILE *out)
{
	fputs(run_usage, out);
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
	uint64_t x;
	while ((c = getopt_long(argc, argv, "+n:j:h", longs, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_count("-n", optarg, 1, UINT64_MAX / 2, &o->count) < 0)
				return -1;
			o->first = 1;
			o->have_n = 1;
			break;
		case 's':
			if (stp__parse_range(optarg, &o->first, &o->count) < 0 ||
			    !strstr(optarg, "..")) {
				cli_usage_error("run", "--seeds: expected A..B with A <= B, got '%s'",
						optarg);
				return -1;
			}
			o->have_seeds = 1;
			break;
		case 'j':
			if (parse_count("-j", optarg, 1, 1024, &x) < 0)
				return -1;
			o->jobs = (long)x;
			break;
		case 'S': {
			const char *slash = strchr(optarg, '/');
			char left[32];
			size_t n = slash ? (size_t)(slash - optarg) : 0;
			uint64_t i, m;
			if (!slash || n == 0 || n >= sizeof left) {
				cli_usage_error("run", "--shard: expected I/N, got '%s'", optarg);
				return -1;
			}
			memcpy(left, optarg, n);
			left[n] = '\0';
			if (stp__parse_u64(left, &i) < 0 || stp__parse_u64(slash + 1, &m) < 0 ||
			    m == 0) {
				cli_usage_error("run",
						"--shard: expected I/N with whole numbers and N >= 1, got '%s'",
						optarg);
				return -1;
			}
			if (i >= m) {
				cli_usage_error("run",
						"--shard %s: I must be below N (shards are 0/N to %llu/N)",
						optarg, (unsigned long long)(m - 1));
				return -1;
			}
			o->shard_i = i;
			o->shard_n = m;
			break;
		}
		case 't': {
			char *end;
			errno = 0;
			double t = strtod(optarg, &end);
			if (end == optarg || *end || errno || !isfinite(t) || t <= 0 || t > 86400) {
				cli_usage_error("run",
						"--timeout: expected seconds above 0 and at most 86400, got '%s'",
						optarg);
				return -1;
			}
			o->timeout = t;
			break;
		}
		case 'd':
			o->trace_dir = optarg;
			break;
		case 'J':
			o->junit = optarg;
			break;
		case 'm':
			if (parse_count("--max-failures", optarg, 1, UINT64_MAX, &o->max_failures) < 0)
				return -1;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return 1;
		default:
			if (optopt)
				cli_usage_error("run", "option -%c needs a value or is unknown", optopt);
			else
				cli_usage_error("run", "unknown option '%s'", argv[optind - 1]);
			return -1;
		}
	}
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
	if (!cli_command_exists(o->cmd[0])) {
		fprintf(stderr, "stepper: cannot run '%s': no such executable%s\n", o->cmd[0],
			strchr(o->cmd[0], '/') ? "" : " in PATH");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Runs                                                                */
/* ------------------------------------------------------------------ */

static void path_for(const runner *r, uint64_t seed, const char *ext, char *buf)
{
	snprintf(buf, PATH_SIZE, "%s/seed-%llu.%s", r->o.trace_dir,
		 (unsigned long long)seed, ext);
}

static int start_one(runner *r, slot *s)
{
	uint64_t seed = r->seeds[r->next];
	char log[PATH_SIZE], trace[PATH_SIZE];
	char env_seed[64], env_trace[PATH_SIZE + 32];
	path_for(r, seed, "log", log);
	path_for(r, seed, "json", trace);
	snprintf(env_seed, sizeof env_seed, "STEPPER_SEED=%llu", (unsigned long long)seed);
	snprintf(env_trace, sizeof env_trace, "STEPPER_TRACE=%s", trace);
	const char *added[] = { env_seed, env_trace };
	cli_env_set(&r->env, added, 2);
	unlink(trace); /* a stale trace must not pass for this run's */
	pid_t pid = cli_spawn(r->o.cmd, r->env.vars, log, 0);
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

static void first_error(const char *trace, char *buf, size_t size, int *has)
{
	buf[0] = '\0';
	stp_trace *t = stp_trace_load(trace, NULL);
	*has = t != NULL;
	if (!t)
		return;
	if (stp_trace_error_count(t) > 0) {
		const char *e = stp_trace_error_at(t, 0);
		size_t n = strcspn(e, "\n");
		snprintf(buf, size, "%.*s%s", (int)(n < size - 4 ? n : size - 4), e,
			 n < strlen(e) ? " ..." : "");
	} else if (strcmp(stp_trace_outcome(t), "none") == 0) {
		snprintf(buf, size, "the run ended before its trace was complete "
				    "(the trace holds the plan)");
	}
	stp_trace_free(t);
}

static void finish(runner *r, slot *s, int status)
{
	double secs = cli_now() - s->start;
	kill(-s->pid, SIGKILL); /* whatever the run left behind in its group */
	int ok = !s->timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	outcome *res = &r->results[r->done++];
	res->seed = s->seed;
	res->secs = (float)secs;
	res->failure = -1;
	char log[PATH_SIZE], trace[PATH_SIZE];
	path_for(r, s->seed, "log", log);
	path_for(r, s->seed, "json", trace);
	if (ok) {
		unlink(log);
		unlink(trace);
	} else {
		if (r->nfailures == r->capfailures) {
			size_t cap = r->capfailures ? 2 * r->capfailures : 16;
			failure *f = realloc(r->failures, cap * sizeof *f);
			if (!f) {
				fprintf(stderr, "stepper: out of memory\n");
				exit(CLI_USAGE);
			}
			r->failures = f;
			r->capfailures = cap;
		}
		failure *f = &r->failures[r->nfailures];
		memset(f, 0, sizeof *f);
		f->seed = s->seed;
		f->secs = secs;
		if (s->timed_out)
			snprintf(f->reason, sizeof f->reason,
				 "timed out after %g s (process group killed)", r->o.timeout);
		else
			cli_describe_status(status, f->reason, sizeof f->reason);
		first_error(trace, f->error, sizeof f->error, &f->has_trace);
		res->failure = (int)r->nfailures++;
		if (r->o.max_failures && r->nfailures >= r->o.max_failures)
			r->stop = 1;
	}
	s->pid = 0;
}

/* ------------------------------------------------------------------ */
/* Progress and reports                                                */
/* ------------------------------------------------------------------ */

static void progress(runner *r, int final)
{
	double el = cli_now() - r->start;
	double rate = el > 0 ? (double)r->done / el : 0;
	double left = rate > 0 ? (double)(r->total - r->done) / rate : 0;
	if (r->tty) {
		fprintf(stderr, "\r\033[Kstepper run: %llu/%llu · %zu failed · %.0f runs/s",
			(unsigned long long)r->done, (unsigned long long)r->total,
			r->nfailures, rate);
		if (!final && r->done > 0)
			fprintf(stderr, " · ~%.0fs left", ceil(left));
		if (final)
			fputc('\n', stderr);
	} else if (!final) {
		fprintf(stderr, "stepper run: %llu/%llu done, %zu failed, %.0f runs/s, "
				"about %.0f s left\n",
			(unsigned long long)r->done, (unsigned long long)r->total,
			r->nfailures, rate, ceil(left));
	}
	fflush(stderr);
	r->next_progress = cli_now() + (r->tty ? 0.1 : 5.0);
}

static void xml_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			/* XML 1.0 forbids most control characters */
			if (c >= 0x20 || c == '\n' || c == '\t')
				fputc(c, f);
			else
				fputc('?', f);
		}
	}
}

static int write_junit(runner *r, FILE *f, double secs)
{
	uint64_t skipped = r->total - r->done;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites tests=\"%llu\" failures=\"%zu\" time=\"%.3f\">\n",
		(unsigned long long)r->total, r->nfailures, secs);
	fprintf(f, "  <testsuite name=\"stepper run\" tests=\"%llu\" failures=\"%zu\" "
		   "errors=\"0\" skipped=\"%llu\" time=\"%.3f\">\n",
		(unsigned long long)r->total, r->nfailures, (unsigned long long)skipped,
		secs);
	fprintf(f, "    <properties><property name=\"command\" value=\"");
	xml_escaped(f, r->quoted_cmd);
	fprintf(f, "\"/></properties>\n");
	for (uint64_t i = 0; i < r->done; i++) {
		const outcome *o = &r->results[i];
		fprintf(f, "    <testcase classname=\"stepper.run\" name=\"seed %llu\" "
			   "time=\"%.3f\"",
			(unsigned long long)o->seed, (double)o->secs);
		if (o->failure < 0) {
			fprintf(f, "/>\n");
			continue;
		}
		const failure *fl = &r->failures[o->failure];
		char trace[PATH_SIZE];
		path_for(r, o->seed, "json", trace);
		fprintf(f, ">\n      <failure message=\"");
		xml_escaped(f, fl->reason);
		fprintf(f, "\" type=\"failure\">");
		xml_escaped(f, fl->reason);
		if (fl->error[0]) {
			fputs("\nerror: ", f);
			xml_escaped(f, fl->error);
		}
		if (fl->has_trace) {
			fputs("\ntrace: ", f);
			xml_escaped(f, trace);
		}
		fprintf(f, "</failure>\n    </testcase>\n");
	}
	for (uint64_t i = r->done; i < r->total; i++)
		fprintf(f, "    <testcase classname=\"stepper.run\" name=\"seed %llu\" "
			   "time=\"0\"><skipped message=\"not run: --max-failures "
			   "reached\"/></testcase>\n",
			(unsigned long long)r->seeds[i]);
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	return ferror(f) ? -1 : 0;
}

static int by_seed(const void *a, const void *b)
{
	uint64_t x = ((const failure *)a)->seed, y = ((const failure *)b)->seed;
	return (x > y) - (x < y);
}

static void summary(runner *r, double secs)
{
	printf("stepper run: %llu run%s of %s",
	       (unsigned long long)r->done, r->done == 1 ? "" : "s", r->quoted_cmd);
	printf("\n  seeds %llu..%llu", (unsigned long long)r->o.first,
	       (unsigned long long)(r->o.first + r->o.count - 1));
	if (r->o.shard_n > 1)
		printf(", shard %llu/%llu (%llu seeds)", (unsigned long long)r->o.shard_i,
		       (unsigned long long)r->o.shard_n, (unsigned long long)r->total);
	printf(", %ld at a time\n", r->o.jobs);
	printf("  %llu passed, %zu failed", (unsigned long long)(r->done - r->nfailures),
	       r->nfailures);
	if (r->done < r->total)
		printf(", %llu not run (%s)", (unsigned long long)(r->total - r->done),
		       r->interrupted ? "interrupted" : "--max-failures reached");
	printf(" in %.2f s (%.0f runs/s)\n", secs, secs > 0 ? (double)r->done / secs : 0);
	if (r->nfailures == 0)
		return;
	/* sorted copy: the results keep their indices into r->failures */
	failure *sorted = malloc(r->nfailures * sizeof *sorted);
	if (sorted) {
		memcpy(sorted, r->failures, r->nfailures * sizeof *sorted);
		qsort(sorted, r->nfailures, sizeof *sorted, by_seed);
	}
	printf("failed seeds:\n");
	size_t shown = r->nfailures < SHOW_FAILURES ? r->nfailures : SHOW_FAILURES;
	for (size_t i = 0; i < shown; i++) {
		const failure *f = sorted ? &sorted[i] : &r->failures[i];
		char trace[PATH_SIZE], log[PATH_SIZE];
		path_for(r, f->seed, "json", trace);
		path_for(r, f->seed, "log", log);
		printf("  seed %llu: %s\n", (unsigned long long)f->seed, f->reason);
		if (f->error[0])
			printf("    error:  %s\n", f->error);
		printf("    log:    %s\n", log);
		if (f->has_trace)
			printf("    replay: %s replay %s -- %s\n", r->self, trace, r->quoted_cmd);
		else
			printf("    trace:  none written (does the command run a stepper?); "
			       "rerun: STEPPER_SEED=%llu %s\n",
			       (unsigned long long)f->seed, r->quoted_cmd);
	}
	if (shown < r->nfailures)
		printf("  ... and %zu more failed seeds: their traces and logs are in %s\n",
		       r->nfailures - shown, r->o.trace_dir);
	free(sorted);
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

static int check_trace_dir(const char *dir)
{
	if (stp__mkdirs(dir) != 0) {
		fprintf(stderr, "stepper: cannot use the trace dir '%s': %s\n", dir,
			strerror(errno));
		return -1;
	}
	char probe[PATH_SIZE];
	snprintf(probe, sizeof probe, "%s/.stepper-probe-%ld", dir, (long)getpid());
	int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "stepper: cannot write to the trace dir '%s': %s\n", dir,
			strerror(errno));
		return -1;
	}
	close(fd);
	unlink(probe);
	return 0;
}

static slot *find_slot(runner *r, pid_t pid)
{
	for (long i = 0; i < r->o.jobs; i++)
		if (r->slots[i].pid == pid)
			return &r->slots[i];
	return NULL;
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
	if (sig == SIGINT || sig == SIGTERM) {
		r->interrupted = 1;
		r->stop = 1;
		for (long i = 0; i < r->o.jobs; i++)
			if (r->slots[i].pid)
				kill(-r->slots[i].pid, SIGKILL);
	}
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

static void reap(runner *r)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		slot *s = find_slot(r, pid);
		if (s)
			finish(r, s, status);
	}
}

static int supervise(runner *r)
{
	sigset_t set;
	cli_block_child_signals(&set);
	long running = 0;
	r->start = cli_now();
	r->next_progress = r->start + (r->tty ? 0.1 : 5.0);
	for (;;) {
		running = 0;
		for (long i = 0; i < r->o.jobs; i++)
			running += r->slots[i].pid != 0;
		for (long i = 0; i < r->o.jobs && !r->stop && r->next < r->total; i++) {
			if (r->slots[i].pid)
				continue;
			if (start_one(r, &r->slots[i]) < 0) {
				r->stop = 1;
				break;
			}
			running++;
		}
		if (running == 0)
			break;
		wait_for_events(r, &set);
		reap(r);
		kill_overdue(r);
		if (cli_now() >= r->next_progress)
			progress(r, 0);
	}
	if (r->tty)
		progress(r, 1);
	return 0;
}

int cli_run(int argc, char **argv)
{
	runner r = { 0 };
	int p = parse_options(argc, argv, &r.o);
	if (p != 0)
		return p > 0 ? CLI_OK : CLI_USAGE;
	if (check_trace_dir(r.o.trace_dir) < 0)
		return CLI_USAGE;
	FILE *junit = NULL;
	if (r.o.junit && !(junit = fopen(r.o.junit, "w"))) {
		fprintf(stderr, "stepper: cannot write the JUnit file '%s': %s\n", r.o.junit,
			strerror(errno));
		return CLI_USAGE;
	}
	r.total = 0;
	for (uint64_t i = r.o.shard_i; i < r.o.count; i += r.o.shard_n)
		r.total++;
	r.seeds = malloc((r.total ? r.total : 1) * sizeof *r.seeds);
	r.results = calloc(r.total ? r.total : 1, sizeof *r.results);
	r.slots = calloc((size_t)r.o.jobs, sizeof *r.slots);
	r.quoted_cmd = stp__quote_argv(r.o.cmd);
	if (!r.seeds || !r.results || !r.slots || !r.quoted_cmd || cli_env_init(&r.env) < 0) {
		fprintf(stderr, "stepper: out of memory for %llu runs\n",
			(unsigned long long)r.total);
		return CLI_USAGE;
	}
	for (uint64_t i = r.o.shard_i, k = 0; i < r.o.count; i += r.o.shard_n)
		r.seeds[k++] = r.o.first + i;
	r.self = cli_self;
	r.tty = isatty(2) && !getenv("CI");
	supervise(&r);
	double secs = cli_now() - r.start;
	summary(&r, secs);
	if (junit) {
		if (write_junit(&r, junit, secs) < 0 || fclose(junit) != 0)
			fprintf(stderr, "stepper: writing the JUnit file '%s' failed: %s\n",
				r.o.junit, strerror(errno));
		else
			printf("junit: %s\n", r.o.junit);
	}
	int rc = r.nfailures || r.interrupted ? CLI_FAILED : CLI_OK;
	cli_env_free(&r.env);
	free(r.seeds);
	free(r.results);
	free(r.slots);
	free(r.failures);
	free(r.quoted_cmd);
	return rc;
}
