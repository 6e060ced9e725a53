/*
 * loop.c - running a test body once per seed, stopping at the first
 * failure and saying how to get it back.
 */
#include "stepper_int.h"
#include "env.h"
#include "base.h"
#include "trace_int.h"
#include "dfs.h"
#include "shrink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The command line of this process, quoted so that a printed command can
 * be pasted as it is; the program name when /proc is not there. The
 * result is static. */
static const char *command_line(void)
{
	static char line[2048];
	char buf[2048];
	char *argv[64];
	size_t n = 0, argc = 0;
	FILE *f = fopen("/proc/self/cmdline", "r");
	if (f) {
		n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	for (size_t i = 0; i < n && argc + 1 < sizeof argv / sizeof argv[0];
	     i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	argv[argc] = NULL;
	char *q = argc ? stp__quote_argv(argv) : NULL;
	snprintf(line, sizeof line, "%s", q ? q : program_invocation_name);
	free(q);
	return line;
}

/* How often a progress line is redrawn on a terminal. */
#define PROGRESS_NS 250000000u

/* A dfs loop counts schedules: each seed runs the next one. */
static void progress(FILE *out, const stp_loop_options *lo, const stp__explore *e,
		     uint64_t done, uint64_t start_ns)
{
	double secs = (double)(stp__mono_ns() - start_ns) / 1e9;
	char what[160] = "seeds";
	if (stp__dfs_explores(e)) {
		char bound[64];
		stp__dfs_bound_text(e, bound, sizeof bound);
		snprintf(what, sizeof what, "schedules (dfs, %s; now those with %lu)",
			 bound, stp__dfs_last_preemptions(e));
	}
	fprintf(out, "\rstepper: %s%s%llu/%llu %s, %.0f runs/s   ",
		lo->name ? lo->name : "", lo->name ? ": " : "",
		(unsigned long long)done, (unsigned long long)lo->count, what,
		secs > 0 ? (double)done / secs : 0.0);
	fflush(out);
}

/* dfs: where in the exploration the failing schedule came. */
static void report_dfs(FILE *out, const stp__explore *e)
{
	char bound[64];
	unsigned long p = stp__dfs_last_preemptions(e);
	stp__dfs_bound_text(e, bound, sizeof bound);
	if (p == 0)
		fprintf(out, "; dfs, %s: this schedule has no preemption", bound);
	else
		fprintf(out, "; dfs, %s: this schedule has %lu preemption%s, every "
			"schedule with fewer passed", bound, p, p == 1 ? "" : "s");
}

/* "1..": the start of a seed range (a dfs run is found again only by
 * exploring the schedules before it). Static. */
static const char *first_seeds(uint64_t first)
{
	static char buf[32];
	snprintf(buf, sizeof buf, "%llu..", (unsigned long long)first);
	return buf;
}

static void report_failure(FILE *out, const stp_loop_options *lo,
			   stp_stepper *s, uint64_t seed, uint64_t tried,
			   int body_rc, const char *trace, const stp__shrunk *shrunk)
{
	int dfs = stp__dfs_explores(s->explore);
	fprintf(out, "stepper: %s%sseed %llu failed after %llu %s%s (range %llu..%llu)",
		lo->name ? lo->name : "", lo->name ? ": " : "",
		(unsigned long long)seed, (unsigned long long)tried,
		dfs ? "schedule" : "seed", tried == 1 ? "" : "s",
		(unsigned long long)lo->first_seed,
		(unsigned long long)(lo->first_seed + lo->count - 1));
	if (dfs)
		report_dfs(out, s->explore);
	fputc('\n', out);
	size_t n = stp_error_count(s);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  error: %s\n", stp_error(s, i));
	if (n == 0)
		fprintf(out, "  error: the test body returned %d\n", body_rc);
	fprintf(out, "order of seed %llu:\n", (unsigned long long)seed);
	stp_print_order(s, out);
	const char *cmd = lo->command ? lo->command : command_line();
	if (s->opt.replay)
		fprintf(out, "this run replayed %s\n", s->opt.replay);
	else if (trace && *trace)
		fprintf(out, "replay: STEPPER_REPLAY=%s %s\n", trace, cmd);
	else
		fprintf(out, "%s%s%srerun: STEPPER_SEED%s=%s%llu %s\n",
			s->opt.trace ? "no trace of this seed at " : "",
			s->opt.trace ? s->opt.trace : "",
			s->opt.trace ? " (it could not be written, or keeps an earlier "
				       "failure of this process)\n"
				     : "",
			dfs ? "S" : "", dfs ? first_seeds(lo->first_seed) : "",
			(unsigned long long)seed, cmd);
	stp__shrunk_print(out, shrunk, cmd);
}

/* The folder of this loop's traces: NAME-YYYYMMDD-HHMMSS-PID, with the
 * loop's start time in UTC and NAME made of [A-Za-z0-9_-]. */
static void folder_name(const char *name, time_t started, char *out, size_t size)
{
	char base[96], when[32];
	size_t n = 0;
	for (const char *p = name; *p && n + 1 < sizeof base; p++)
		base[n++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
					    (*p >= '0' && *p <= '9') || *p == '-' ||
					    *p == '_'
				    ? *p
				    : '-';
	base[n] = '\0';
	struct tm tm;
	if (!gmtime_r(&started, &tm) ||
	    strftime(when, sizeof when, "%Y%m%d-%H%M%S", &tm) == 0)
		snprintf(when, sizeof when, "%lld", (long long)started);
	snprintf(out, size, "%s-%s-%ld", n ? base : "loop", when, (long)getpid());
}

/* One loop: its options and where it reports. */
struct loop {
	stp_loop_options lo;
	FILE *out;
	int tty;
	time_t started;    /* wall clock, for the trace folder's name */
	uint64_t start_ns; /* monotonic, for rates */
	stp__explore *explore; /* what the strategy carries from run to run */
};

/* Run one seed: 0 when it passed, 1 when it failed (kept and reported),
 * STP_ENOMEM. */
static int run_seed(struct loop *l, uint64_t seed, stp_body_fn body, void *arg,
		    stp_loop_result *r)
{
	stp_options o = l->lo.base;
	o.seed = seed;
	stp_stepper *s = stp_new(&o);
	if (!s)
		return STP_ENOMEM;
	s->timed = 1; /* a failing run's trace has its times */
	s->explore = l->explore;
	int body_rc = body(s, arg);
	r->tried++;
	l->explore->runs++;
	char verdict[1024];
	if (stp__replay_verdict(s, body_rc, verdict, sizeof verdict) >= 0 && !l->lo.quiet)
		fprintf(l->out, "stepper: %s%s%s\n", l->lo.name ? l->lo.name : "",
			l->lo.name ? ": " : "", verdict);
	if (body_rc == 0 && stp_error_count(s) == 0) {
		stp_free(s);
		return 0;
	}
	r->failures = 1;
	r->failed_seed = s->opt.seed; /* a replay's is the trace's */
	char folder[160];
	folder_name(l->lo.name ? l->lo.name : program_invocation_short_name,
		    l->started, folder, sizeof folder);
	stp__loop_keep_trace(s, folder, r->trace_path, sizeof r->trace_path);
	if (l->tty && !l->lo.quiet)
		fputc('\n', l->out);
	stp__shrunk *shrunk = stp__shrink(&o, s, body_rc, body, arg, r->trace_path,
					  l->lo.quiet);
	if (!l->lo.quiet)
		report_failure(l->out, &l->lo, s, r->failed_seed, r->tried, body_rc,
			       r->trace_path, shrunk);
	stp__shrunk_free(shrunk);
	stp_free(s);
	return 1;
}

static void report_pass(const struct loop *l, uint64_t tried)
{
	double secs = (double)(stp__mono_ns() - l->start_ns) / 1e9;
	const char *name = l->lo.name;
	if (stp__dfs_explores(l->explore)) {
		char sum[512];
		stp__dfs_summary(l->explore, tried, sum, sizeof sum);
		fprintf(l->out, "%sstepper: %s%s%s, in %.2f s\n", l->tty ? "\r" : "",
			name ? name : "", name ? ": " : "", sum, secs);
		return;
	}
	fprintf(l->out, "%sstepper: %s%s%llu seed%s passed (%llu..%llu) in %.2f s\n",
		l->tty ? "\r" : "", name ? name : "", name ? ": " : "",
		(unsigned long long)tried, tried == 1 ? "" : "s",
		(unsigned long long)l->lo.first_seed,
		(unsigned long long)(l->lo.first_seed + l->lo.count - 1), secs);
}

int stp_loop(const stp_loop_options *lo_in, stp_body_fn body, void *arg,
	     stp_loop_result *res)
{
	stp_loop_options def;
	if (!lo_in) {
		stp_loop_options_init(&def);
		lo_in = &def;
	}
	if (!body || lo_in->count == 0)
		return STP_EINVAL;
	if (lo_in->first_seed + (lo_in->count - 1) < lo_in->first_seed)
		return STP_ERANGE;
	struct loop l = { .lo = *lo_in, .started = time(NULL),
			  .start_ns = stp__mono_ns(),
			  .explore = calloc(1, sizeof(stp__explore)) };
	if (!l.explore)
		return STP_ENOMEM;
	l.out = l.lo.out ? l.lo.out : stderr;
	l.tty = !l.lo.quiet && isatty(fileno(l.out)) && !getenv("CI");
	stp_loop_result r = { 0 };
	char why[320];
	int rc = stp__loop_env_check(why, sizeof why);
	if (rc < 0) /* a typo in a seed must not become another test */
		fprintf(l.out, "stepper: %s%s%s\n", l.lo.name ? l.lo.name : "",
			l.lo.name ? ": " : "", why);
	uint64_t last = l.start_ns;
	for (uint64_t i = 0; rc == 0 && i < l.lo.count && !l.explore->exhausted; i++) {
		rc = run_seed(&l, l.lo.first_seed + i, body, arg, &r);
		uint64_t now = l.tty && rc == 0 ? stp__mono_ns() : 0;
		if (now && now - last >= PROGRESS_NS) {
			progress(l.out, &l.lo, l.explore, r.tried, l.start_ns);
			last = now;
		}
	}
	if (!l.lo.quiet && rc == 0)
		report_pass(&l, r.tried);
	stp__explore_free(l.explore);
	if (res)
		*res = r;
	return rc;
}
