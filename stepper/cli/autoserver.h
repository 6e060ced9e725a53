/*
 * autoserver.h - the CLI's end of the --auto fork server (autoserver.c).
 */
#ifndef STEPPER_CLI_AUTOSERVER_H
#define STEPPER_CLI_AUTOSERVER_H

#include "cli.h"

#include <fcntl.h>

typedef struct cli_server {
	pid_t pid; /* the server: the CLI's child, not a run */
	int fd;
} cli_server;

/* Start argv under env (which holds LD_PRELOAD and STEPPER_AUTO=1) as a
 * fork server. 0, or -1 with why filled: the caller execs each run. */
int cli_server_start(cli_server *sv, char *const argv[], char *const env[], char *why,
		     size_t size);
/* One run: a child of the CLI in its own process group with exactly env,
 * stdout and stderr to log, stdin from /dev/null, as cli_spawn makes it.
 * Its pid, or -1 with errno. */
pid_t cli_server_spawn(cli_server *sv, char *const env[], const char *log);
/* Stop the server and reap it. */
void cli_server_stop(cli_server *sv);

#endif
