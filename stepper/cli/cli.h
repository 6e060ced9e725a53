/*
 * cli.h - pieces shared by the `stepper` command's subcommands (internal).
 *
 * The CLI is a client of the library: it includes only the public headers
 * (<stepper/...h>) and the base, never the core's internals (the Makefile
 * gives it no other include path).
 */
#ifndef STEPPER_CLI_H
#define STEPPER_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <sys/types.h>

#include <stepper/trace.h>

/* Exit statuses of the command. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

/* multinode and barrier-server serve at most this many nodes. */
#define CLI_MAX_NODES 256

/* Print "stepper: <msg>" and a pointer to help for the subcommand; returns
 * CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Is arg -h or --help? */
int cli_is_help(const char *arg);

/* SEC for option opt of command cmd: above 0, at most a day. 0, or -1
 * after a usage error (said). */
int cli_parse_seconds(const char *cmd, const char *opt, const char *v, double *out);
/* N for -n: 1 to CLI_MAX_NODES (v NULL: missing). 0, or -1 after a usage
 * error (said). */
int cli_parse_nodes(const char *cmd, const char *v, unsigned *out);

/* Load a trace, or print the loader's message and return NULL. A trace
 * that cannot be read is a bad argument: every command that reads one
 * exits CLI_USAGE for it. The caller frees with stp_trace_free. */
stp_trace *cli_load_trace(const char *path);

/* An environment: the current one without the STEPPER_* variables that
 * `stepper` sets itself, plus up to 4 of its own (and the 2 of --auto). */
typedef struct cli_env {
	char **vars;
	size_t n, base;
	char *preload; /* "LD_PRELOAD=..." of --auto, owned; or NULL */
} cli_env;
int cli_env_init(cli_env *e);
/* For --auto: every child gets LD_PRELOAD=lib[:inherited LD_PRELOAD] and
 * STEPPER_AUTO=1 in place of the inherited ones. Call after init, before
 * cli_env_set. 0, or -1 when out of memory. */
int cli_env_auto(cli_env *e, const char *lib);
/* Replace the variables added since init with these ("NAME=value"). */
int cli_env_set(cli_env *e, const char *const *added, size_t n);
void cli_env_free(cli_env *e);

/* Is argv[0] something execvp would find? */
int cli_command_exists(const char *cmd);

/* Start argv in a new process group with env, stdout and stderr to
 * log_path (NULL: inherited), stdin from /dev/null (unless inherit).
 * Returns the pid, or -1 with errno. */
pid_t cli_spawn(char *const argv[], char *const env[], const char *log_path,
		int inherit_stdin);

/* As cli_spawn, with stdout and stderr to out_fd (when log_path is NULL
 * and out_fd >= 0). */
pid_t cli_spawn_out(char *const argv[], char *const env[], const char *log_path,
		    int out_fd, int inherit_stdin);

/* "SIGSEGV" for 11; "signal 77" for unknown ones (static buffer). */
const char *cli_signal_name(int sig);
/* "exit status 3", "killed by SIGSEGV": a wait status, described. */
void cli_describe_status(int status, char *buf, size_t size);

/* Block SIGCHLD, SIGHUP, SIGINT and SIGTERM, to be taken with sigtimedwait or a
 * signalfd; set receives them. Children start with nothing blocked. */
void cli_block_child_signals(sigset_t *set);

/* Monotonic time in seconds. */
double cli_now(void);

/* How this stepper was invoked ("stepper", or a path), for printed
 * commands a person can paste. */
extern const char *cli_self;

/* The commands, one file each (the table is in main.c). cli_X runs
 * `stepper X` (argv[0] is "X") and returns the exit status; cli_X_help
 * prints its help. */
int cli_run(int argc, char **argv);
void cli_run_help(FILE *out);
int cli_replay(int argc, char **argv);
void cli_replay_help(FILE *out);
int cli_shrink(int argc, char **argv);
void cli_shrink_help(FILE *out);
int cli_show(int argc, char **argv);
void cli_show_help(FILE *out);
int cli_export(int argc, char **argv);
void cli_export_help(FILE *out);
int cli_multinode(int argc, char **argv);
void cli_multinode_help(FILE *out);
int cli_barrier_server(int argc, char **argv);
void cli_barrier_server_help(FILE *out);

/* A private folder under $TMPDIR (else /tmp), "stepper-COMMAND-XXXXXX",
 * into dir; -1 after saying on stderr that it cannot make one for what. */
int cli_make_scratch(char *dir, size_t size, const char *command, const char *what);
/* Empty the folder (files only) and remove it. */
void cli_remove_scratch(const char *dir);

#endif
