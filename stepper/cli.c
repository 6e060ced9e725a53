/*
 * cli.c - the `stepper` command.
 */
#include "stepper.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: stepper [--help] [--version] COMMAND [ARGS...]\n"
	"\n"
	"stepper finds and replays concurrency bugs in C code annotated with\n"
	"STEP(). Link your tests with libstepper; see README.md.\n";

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("stepper %s\n", STP_VERSION);
		return 0;
	}
	fprintf(stderr, "stepper: unknown command '%s'\n%s", argv[1], usage);
	return 2;
}
