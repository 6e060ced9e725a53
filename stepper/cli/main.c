/*
 * main.c - the `stepper` command: the table of commands, dispatch and
 * `stepper help`. Each command lives in its own file (run.c, replay.c,
 * shrink.c, show.c, export.c, multinode.c, barrier_server.c) and is
 * reached only through this table.
 */
#include "cli.h"

#include <stepper/stepper.h>
#include <stepper/trace.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

const char *cli_self = "stepper";

static const char help_usage[] =
	"usage: stepper help [COMMAND]\n"
	"\n"
	"Print the help of COMMAND (the same text as `stepper COMMAND --help`),\n"
	"or the list of commands.\n";

static void help_help(FILE *out)
{
	fputs(help_usage, out);
}

static int cli_help(int argc, char **argv);

/* A command: its name, what runs it (argv[0] is the command's name), its
 * help, and its line in the list of commands. */
typedef struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	void (*help)(FILE *out);
	const char *summary;
} command;

static const command commands[] = {
	{ "run", cli_run, cli_run_help,
	  "run a test once per seed, in parallel, keeping failing traces" },
	{ "replay", cli_replay, cli_replay_help,
	  "run a test on a recorded trace; say whether the outcome came back" },
	{ "shrink", cli_shrink, cli_shrink_help,
	  "shrink a failing trace to the fewest preemptions, a process per replay" },
	{ "show", cli_show, cli_show_help, "print a trace: seed, outcome, errors, the order" },
	{ "export", cli_export, cli_export_help,
	  "convert a trace (--chrome: Perfetto / chrome://tracing)" },
	{ "multinode", cli_multinode, cli_multinode_help,
	  "run N copies of a command as nodes that meet at barriers" },
	{ "barrier-server", cli_barrier_server, cli_barrier_server_help,
	  "serve barriers for nodes started some other way" },
	{ "help", cli_help, help_help, "help on a command: stepper help run" },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

/* The summaries start in column 13; a longer name is followed by two
 * spaces. */
static void print_usage(FILE *out)
{
	fputs("usage: stepper COMMAND [ARGS...]\n"
	      "\n"
	      "Find and replay concurrency bugs in C code annotated with STEP().\n"
	      "\n"
	      "commands:\n",
	      out);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		int len = (int)strlen(commands[i].name);
		fprintf(out, "  %-*s %s\n", len > 9 ? len + 1 : 9, commands[i].name,
			commands[i].summary);
	}
	fputs("\n"
	      "options: -h, --help, --version. Every command takes -h and --help.\n",
	      out);
}

/* The help of command `what` (NULL: the list of commands), on stdout. */
static int help(const char *what)
{
	if (!what) {
		print_usage(stdout);
		return CLI_OK;
	}
	const command *c = find_command(what);
	if (!c)
		return cli_usage_error(NULL, "no help for '%s': not a command", what);
	c->help(stdout);
	return CLI_OK;
}

static int cli_help(int argc, char **argv)
{
	if (argc > 2)
		return cli_usage_error("help", "one command at a time (got '%s' and '%s')",
				       argv[1], argv[2]);
	if (argc == 2 && cli_is_help(argv[1]))
		return help("help");
	return help(argc == 2 ? argv[1] : NULL);
}

int main(int argc, char **argv)
{
	cli_self = argv[0] && strchr(argv[0], '/') ? argv[0] : "stepper";
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		print_usage(stderr);
		return CLI_USAGE;
	}
	const char *cmd = argv[1];
	if (cli_is_help(cmd))
		return help(NULL);
	if (strcmp(cmd, "--version") == 0) {
		printf("stepper %s (trace format version %d)\n", STP_VERSION,
		       STP_TRACE_VERSION);
		return CLI_OK;
	}
	const command *c = find_command(cmd);
	if (!c)
		return cli_usage_error(NULL, "unknown command '%s'", cmd);
	/* `stepper CMD -h` is `stepper help CMD`, whatever CMD parses */
	if (argc > 2 && cli_is_help(argv[2]))
		return help(cmd);
	return c->run(argc - 1, argv + 1);
}
