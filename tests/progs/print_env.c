/*
 * print_env.c - for the tests of `--auto`: prints what a controlled child
 * gets, one "NAME=value" line each for LD_PRELOAD, STEPPER_AUTO and
 * STEPPER_SEED ("NAME unset" when it is not set), on stdout and, when
 * $PRINT_ENV_OUT names a file, appended there too.
 *
 *   print_env [STATUS [TRACE]]
 *
 * Exits with STATUS (default 0), after copying the file TRACE to
 * $STEPPER_TRACE when both are given, as a controlled program writes its
 * trace before a failure's exit status.
 */
#include <stdio.h>
#include <stdlib.h>

static void print_var(FILE *f, const char *name)
{
	const char *v = getenv(name);
	if (v)
		fprintf(f, "%s=%s\n", name, v);
	else
		fprintf(f, "%s unset\n", name);
}

static void print_all(FILE *f)
{
	print_var(f, "LD_PRELOAD");
	print_var(f, "STEPPER_AUTO");
	if (getenv("STEPPER_ON_STALL")) /* (only when set: --on-stall's test) */
		print_var(f, "STEPPER_ON_STALL");
	print_var(f, "STEPPER_SEED");
}

static int copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	char buf[4096];
	size_t n;
	int rc = in && out ? 0 : -1;
	while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
		rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		rc = -1;
	return rc;
}

int main(int argc, char **argv)
{
	print_all(stdout);
	const char *path = getenv("PRINT_ENV_OUT");
	FILE *f = path && *path ? fopen(path, "a") : NULL;
	if (f) {
		print_all(f);
		fclose(f);
	}
	const char *trace = getenv("STEPPER_TRACE");
	if (argc > 2 && trace && copy_file(argv[2], trace) < 0)
		return 3;
	return argc > 1 ? atoi(argv[1]) : 0;
}
