/*
 * show.c - `stepper show`: print a trace.
 */
#include "cli.h"

#include <stepper/trace.h>

#include <stdio.h>
#include <string.h>

static const char show_usage[] =
	"usage: stepper show [--events] TRACE\n"
	"\n"
	"Print a trace's seed, mode, outcome, errors and order; --events adds the\n"
	"steps as they happened, with their times. In the order, each lock and wait\n"
	"point (stp_mutex_*, stp_cond_*) ends in a note after \"--\" saying what it\n"
	"did; after a deadlock's order, where each blocked thread waits.\n"
	"\n"
	"Exit status: 0 shown, 2 usage error or a trace that cannot be read.\n";

void cli_show_help(FILE *out)
{
	fputs(show_usage, out);
}

int cli_show(int argc, char **argv)
{
	int events = 0;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--events") == 0)
			events = 1;
		else if (cli_is_help(argv[i]))
			return fputs(show_usage, stdout), CLI_OK;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error("show", "unknown option '%s'", argv[i]);
		else if (path)
			return cli_usage_error("show", "one trace at a time (got '%s' and '%s')",
					       path, argv[i]);
		else
			path = argv[i];
	}
	if (!path)
		return cli_usage_error("show", "missing the trace to show");
	stp_trace *t = cli_load_trace(path);
	if (!t)
		return CLI_USAGE;
	stp_trace_print(t, stdout, events);
	stp_trace_free(t);
	return CLI_OK;
}
