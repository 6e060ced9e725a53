/*
 * export.c - `stepper export`: a trace in another format (Chrome
 * trace-event JSON).
 */
#include "cli.h"

#include <stepper/error.h>
#include <stepper/trace.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char export_usage[] =
	"usage: stepper export --chrome TRACE [-o FILE]\n"
	"\n"
	"Write Chrome trace-event JSON (one track per thread, one slice per segment\n"
	"between entries, in a category that says what the entry was: segment for a\n"
	"step, lock, wait, wake, signal; errors, the outcome and a deadlock as\n"
	"instant events) to FILE or standard output; open it in Perfetto\n"
	"(ui.perfetto.dev) or chrome://tracing.\n"
	"\n"
	"Exit status: 0 written, 1 the output could not be written, 2 usage error\n"
	"or a trace that cannot be read.\n";

void cli_export_help(FILE *out)
{
	fputs(export_usage, out);
}

static int export_chrome(const char *path, const char *out)
{
	stp_trace *t = cli_load_trace(path);
	if (!t)
		return CLI_USAGE;
	FILE *f = out ? fopen(out, "we") : stdout;
	if (!f) {
		fprintf(stderr, "stepper: cannot write '%s': %s\n", out, strerror(errno));
		stp_trace_free(t);
		return CLI_FAILED;
	}
	int rc = stp_trace_export_chrome(t, f);
	if (out && fclose(f) != 0)
		rc = STP_EIO;
	stp_trace_free(t);
	if (rc < 0) {
		fprintf(stderr, "stepper: writing the export failed: %s\n", stp_strerror(rc));
		return CLI_FAILED;
	}
	return CLI_OK;
}

int cli_export(int argc, char **argv)
{
	int chrome = 0;
	const char *path = NULL, *out = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--chrome") == 0)
			chrome = 1;
		else if (cli_is_help(argv[i]))
			return fputs(export_usage, stdout), CLI_OK;
		else if (strcmp(argv[i], "-o") == 0) {
			if (++i >= argc)
				return cli_usage_error("export", "-o needs a file");
			out = argv[i];
		} else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error("export", "unknown option '%s'", argv[i]);
		else if (path)
			return cli_usage_error("export", "one trace at a time");
		else
			path = argv[i];
	}
	if (!chrome)
		return cli_usage_error("export", "say which format: --chrome");
	if (!path)
		return cli_usage_error("export", "missing the trace to export");
	return export_chrome(path, out);
}
