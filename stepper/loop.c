/*
 * loop.c - running a test body once per seed, stopping at the first
 * failure and saying how to get it back.
 */
#include "stepper_int.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

static void progress(FILE *out, const stp_loop_options *lo, uint64_t done,
		     uint64_t start_ns)
{
	double secs = (double)(stp__mono_ns() - start_ns) / 1e9;
	fprintf(out, "\rstepper: %s%s%llu/%llu seeds, %.0f runs/s   ",
		lo->name ? lo->name : "", lo->name ? ": " : "",
		(unsigned long long)done, (unsigned long long)lo->count,
		secs > 0 ? (double)done / secs : 0.0);
	fflush(out);
}

static void report_failure(FILE *out, const stp_loop_options *lo,
			   stp_stepper *s, uint64_t seed, uint64_t tried,
			   int body_rc, const char *trace)
{
	fprintf(out, "stepper: %s%sseed %llu failed after %llu seed%s (range %llu..%llu)\n",
		lo->name ? lo->name : "", lo->name ? ": " : "",
		(unsigned long long)seed, (unsigned long long)tried,
		tried == 1 ? "" : "s", (unsigned long long)lo->first_seed,
		(unsigned long long)(lo->first_seed + lo->count - 1));
	size_t n = stp_error_count(s);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  error: %s\n", stp_error(s, i));
	if (n == 0)
		fprintf(out, "  error: the test body returned %d\n", body_rc);
	fprintf(out, "order of seed %llu:\n", (unsigned long long)seed);
	stp_print_order(s, out);
	if (s->opt.replay)
		fprintf(out, "this run replayed %s\n", s->opt.replay);
	else if (trace && *trace)
		fprintf(out, "replay: STEPPER_REPLAY=%s %s\n", trace,
			lo->command ? lo->command : command_line());
	else
		fprintf(out, "rerun: STEPPER_SEED=%llu %s\n",
			(unsigned long long)seed,
			lo->command ? lo->command : command_line());
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
	stp_loop_options lo = *lo_in;
	FILE *out = lo.out ? lo.out : stderr;
	int tty = !lo.quiet && isatty(fileno(out)) && !getenv("CI");
	stp_loop_result r = { 0 };
	uint64_t start = stp__mono_ns(), last = start;
	int rc = 0;
	for (uint64_t i = 0; i < lo.count; i++) {
		stp_options o = lo.base;
		o.seed = lo.first_seed + i;
		stp_stepper *s = stp_new(&o);
		if (!s) {
			rc = STP_ENOMEM;
			break;
		}
		s->timed = 1; /* a failing run's trace has its times */
		int body_rc = body(s, arg);
		r.tried++;
		if (body_rc != 0 || stp_error_count(s) > 0) {
			r.failures = 1;
			r.failed_seed = s->opt.seed; /* a replay's is the trace's */
			stp__loop_keep_trace(s, lo.name ? lo.name : program_invocation_short_name,
					     r.trace_path, sizeof r.trace_path);
			if (!lo.quiet) {
				if (tty)
					fputc('\n', out);
				report_failure(out, &lo, s, r.failed_seed, r.tried,
					       body_rc, r.trace_path);
			}
			stp_free(s);
			rc = 1;
			break;
		}
		stp_free(s);
		if (tty) {
			uint64_t now = stp__mono_ns();
			if (now - last >= PROGRESS_NS) {
				progress(out, &lo, r.tried, start);
				last = now;
			}
		}
	}
	if (!lo.quiet && rc == 0) {
		double secs = (double)(stp__mono_ns() - start) / 1e9;
		fprintf(out, "%sstepper: %s%s%llu seed%s passed (%llu..%llu) in %.2f s\n",
			tty ? "\r" : "", lo.name ? lo.name : "",
			lo.name ? ": " : "", (unsigned long long)r.tried,
			r.tried == 1 ? "" : "s", (unsigned long long)lo.first_seed,
			(unsigned long long)(lo.first_seed + lo.count - 1), secs);
	}
	if (res)
		*res = r;
	return rc;
}
