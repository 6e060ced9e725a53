/*
 * env.c - the one place that reads the STEPPER_* environment.
 */
#include "stepper_int.h"
#include "env.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>


/* Each malformed variable is reported once per process. */
static void complain(const char *var, const char *value, const char *expected,
		     const char *kept)
{
	static atomic_uint said;
	static const char *const vars[] = { "STEPPER_SEED", "STEPPER_MODE",
					    "STEPPER_STALL_MS", "STEPPER_DEBUG",
					    "STEPPER_SHRINK", "STEPPER_SHRINK_REPLAYS",
					    "STEPPER_SHRINK_SECONDS",
					    "STEPPER_REPLAY_LENIENT", "STEPPER_ON_STALL",
					    "STEPPER_ESCAPE_MS", "STEPPER_FIBERS" };
	unsigned bit = 0;
	for (unsigned i = 0; i < sizeof vars / sizeof vars[0]; i++)
		if (strcmp(vars[i], var) == 0)
			bit = 1u << i;
	if (atomic_fetch_or(&said, bit) & bit)
		return;
	fprintf(stderr,
		"stepper: ignoring %s='%.64s': expected %s; using %s\n", var,
		value, expected, kept);
}

#define SEED_EXPECTED "a decimal number from 0 to 18446744073709551615"
#define RANGE_EXPECTED                                                        \
	"N (seeds 1..N, N >= 1) or A..B (seeds A to B, A <= B), decimal "    \
	"numbers below 2^64"

/* Everything but the loop's own variables; in a loop a malformed
 * STEPPER_SEED is the loop's error, not a warning here. */
static void options_init(stp_options *o, int in_loop)
{
	*o = (stp_options){ .seed = 1, .mode = STP_SERIAL, .stall_ms = 2000,
			    .log = stderr };
	const char *v;
	uint64_t n;
	if ((v = getenv("STEPPER_SEED")) && *v) {
		if (stp__parse_u64(v, &n) == 0)
			o->seed = n;
		else if (!in_loop)
			complain("STEPPER_SEED", v, SEED_EXPECTED, "seed 1");
	}
	if ((v = getenv("STEPPER_MODE")) && *v) {
		if (strcmp(v, "serial") == 0)
			o->mode = STP_SERIAL;
		else if (strcmp(v, "overlap") == 0)
			o->mode = STP_OVERLAP;
		else
			complain("STEPPER_MODE", v, "serial or overlap", "serial");
	}
	if ((v = getenv("STEPPER_STALL_MS")) && *v) {
		if (stp__parse_u64(v, &n) == 0 && n >= 1 && n <= 3600000)
			o->stall_ms = (unsigned)n;
		else
			complain("STEPPER_STALL_MS", v,
				 "milliseconds from 1 to 3600000", "2000");
	}
	if ((v = getenv("STEPPER_DEBUG")) && *v) {
		if (strcmp(v, "0") == 0 || strcmp(v, "1") == 0)
			o->debug = v[0] == '1';
		else
			complain("STEPPER_DEBUG", v, "0 or 1", "0");
	}
	if ((v = getenv("STEPPER_TRACE")) && *v)
		o->trace = v;
	if ((v = getenv("STEPPER_REPLAY")) && *v)
		o->replay = v;
	if ((v = getenv("STEPPER_TRACE_DIR")) && *v)
		o->trace_dir = v;
	if ((v = getenv("STEPPER_STRATEGY")) && *v)
		o->strategy = v;
}

void stp__release_options(int *release, unsigned *escape_ms)
{
	const char *v;
	uint64_t n;
	*release = 0;
	*escape_ms = 100;
	if ((v = getenv("STEPPER_ON_STALL")) && *v) {
		if (strcmp(v, "release") == 0)
			*release = 1;
		else if (strcmp(v, "fail") != 0)
			complain("STEPPER_ON_STALL", v, "fail or release", "fail");
	}
	if ((v = getenv("STEPPER_ESCAPE_MS")) && *v) {
		if (stp__parse_u64(v, &n) == 0 && n >= 1 && n <= 3600000)
			*escape_ms = (unsigned)n;
		else
			complain("STEPPER_ESCAPE_MS", v, "milliseconds from 1 to 3600000", "100");
	}
}

void stp_options_init(stp_options *o)
{
	if (o)
		options_init(o, 0);
}

void stp_loop_options_init(stp_loop_options *lo)
{
	if (!lo)
		return;
	*lo = (stp_loop_options){ .first_seed = 1, .count = 1000, .out = stderr };
	options_init(&lo->base, 1);
	const char *v;
	uint64_t a, c;
	if ((v = getenv("STEPPER_SEEDS")) && *v) {
		if (stp__parse_range(v, &a, &c) == 0) {
			lo->first_seed = a;
			lo->count = c;
		} /* else stp_loop refuses to start */
	} else if ((v = getenv("STEPPER_SEED")) && *v &&
		   stp__parse_u64(v, &a) == 0) {
		lo->first_seed = a;
		lo->count = 1;
	}
	if (lo->base.replay)
		lo->count = 1;
}

int stp__loop_env_check(char *why, size_t size)
{
	const char *v;
	uint64_t a, c;
	if ((v = getenv("STEPPER_SEEDS")) && *v && stp__parse_range(v, &a, &c) != 0) {
		snprintf(why, size,
			 "STEPPER_SEEDS='%.64s' is not a seed range: expected "
			 RANGE_EXPECTED "; no seed was run", v);
		return STP_EINVAL;
	}
	if ((v = getenv("STEPPER_SEED")) && *v && stp__parse_u64(v, &a) != 0) {
		snprintf(why, size,
			 "STEPPER_SEED='%.64s' is not a seed: expected " SEED_EXPECTED
			 "; no seed was run", v);
		return STP_EINVAL;
	}
	stp__strategy st;
	char bad[200];
	if ((v = getenv("STEPPER_STRATEGY")) && *v &&
	    stp__strategy_parse(v, &st, bad, sizeof bad) != 0) {
		snprintf(why, size, "STEPPER_STRATEGY: %s; no seed was run", bad);
		return STP_EINVAL;
	}
	return 0;
}

/* A number of seconds: decimal, above 0, at most a day. */
static int parse_seconds(const char *v, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || *end || !(d > 0) || d > 86400 || !isdigit((unsigned char)*v))
		return -1;
	*out = d;
	return 0;
}

void stp__shrink_env_get(stp__shrink_env *e)
{
	*e = (stp__shrink_env){ -1, STP__SHRINK_REPLAYS, STP__SHRINK_SECONDS };
	const char *v;
	uint64_t n;
	if ((v = getenv("STEPPER_SHRINK")) && *v) {
		if (strcmp(v, "0") == 0 || strcmp(v, "1") == 0)
			e->on = v[0] == '1';
		else
			complain("STEPPER_SHRINK", v, "0 (off) or 1 (on, even in a quiet loop)",
				 "on unless the loop is quiet");
	}
	if ((v = getenv("STEPPER_SHRINK_REPLAYS")) && *v) {
		if (stp__parse_u64(v, &n) == 0 && n >= 1 && n <= 1000000000)
			e->replays = n;
		else
			complain("STEPPER_SHRINK_REPLAYS", v, "a number of replays from 1 to 1000000000",
				 "2000");
	}
	if ((v = getenv("STEPPER_SHRINK_SECONDS")) && *v && parse_seconds(v, &e->seconds) != 0)
		complain("STEPPER_SHRINK_SECONDS", v,
			 "seconds above 0, at most 86400 (decimals allowed: 0.5)", "10");
}

int stp__replay_lenient(void)
{
	const char *v = getenv("STEPPER_REPLAY_LENIENT");
	if (!v || !*v || strcmp(v, "0") == 0)
		return 0;
	if (strcmp(v, "1") == 0)
		return 1;
	complain("STEPPER_REPLAY_LENIENT", v, "0 or 1", "0 (strict replay)");
	return 0;
}

int stp__env_fibers(void)
{
	const char *v = getenv("STEPPER_FIBERS");
	if (!v || !*v || strcmp(v, "0") == 0)
		return 0;
	if (strcmp(v, "1") == 0)
		return 1;
	complain("STEPPER_FIBERS", v, "0 or 1", "0 (OS threads)");
	return 0;
}
