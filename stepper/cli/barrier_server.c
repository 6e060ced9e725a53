/*
 * barrier_server.c - `stepper barrier-server`: serve barriers for nodes
 * started some other way, until a signal.
 */
#include "cli.h"

#include <stepper/barrier.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char server_usage[] =
	"usage: stepper barrier-server -n N [--token TOKEN] [--timeout SEC]\n"
	"                              [--hello-timeout SEC]\n"
	"\n"
	"Serve barriers on 127.0.0.1 (a port the kernel picks) for N nodes until\n"
	"SIGINT, SIGTERM or SIGHUP (then exit 0). Prints STEPPER_BARRIER_ADDR=...\n"
	"and STEPPER_BARRIER_TOKEN=... lines for the nodes' environment, then one\n"
	"line per event on stderr. The protocol is in barrier/PROTOCOL.md.\n"
	"\n"
	"  -n N                  nodes, 1 to 256\n"
	"  --token TOKEN         the token nodes must send (default: a random one)\n"
	"  --timeout SEC         for each barrier, from its first arrival (default 30)\n"
	"  --hello-timeout SEC   a connection that has not said HELLO by then is\n"
	"                        closed (default 10)\n";

void cli_barrier_server_help(FILE *out)
{
	fputs(server_usage, out);
}


int cli_barrier_server(int argc, char **argv)
{
	unsigned nodes = 0;
	const char *token = NULL;
	double timeout = 30, hello = STP_BSERVER_HELLO_TIMEOUT_MS / 1000.0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return fputs(server_usage, stdout), CLI_OK;
		if (strcmp(a, "-n") == 0) {
			if (cli_parse_nodes("barrier-server", v, &nodes) < 0)
				return CLI_USAGE;
			i++;
		} else if (strcmp(a, "--token") == 0) {
			if (!v || !stp_barrier_valid_name(v))
				return cli_usage_error("barrier-server",
						       "--token: expected 1-64 characters "
						       "[A-Za-z0-9._-]");
			token = v;
			i++;
		} else if (strcmp(a, "--timeout") == 0) {
			if (!v || cli_parse_seconds("barrier-server", "--timeout", v, &timeout) < 0)
				return CLI_USAGE;
			i++;
		} else if (strcmp(a, "--hello-timeout") == 0) {
			if (!v || cli_parse_seconds("barrier-server", "--hello-timeout", v, &hello) < 0)
				return CLI_USAGE;
			i++;
		} else {
			return cli_usage_error("barrier-server", "unknown option '%s'", a);
		}
	}
	if (!nodes)
		return cli_usage_error("barrier-server", "say how many nodes: -n N");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	char err[256];
	stp_bserver *s = stp_bserver_new(nodes, token, (uint64_t)(timeout * 1000), err,
					 sizeof err);
	if (!s) {
		fprintf(stderr, "stepper: %s\n", err);
		return CLI_FAILED;
	}
	stp_bserver_set_log(s, stderr);
	stp_bserver_set_hello_timeout(s, (uint64_t)(hello * 1000));
	printf("STEPPER_BARRIER_ADDR=%s\nSTEPPER_BARRIER_TOKEN=%s\nSTEPPER_NODE_COUNT=%u\n",
	       stp_bserver_addr(s), stp_bserver_token(s), nodes);
	fflush(stdout);
	int sig;
	sigwait(&set, &sig);
	stp_bserver_free(s);
	return CLI_OK;
}
