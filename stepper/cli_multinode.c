/*
 * cli_multinode.c - `stepper multinode` and `stepper barrier-server`.
 *
 * multinode starts a barrier controller and N copies of a command, each in
 * its own process group with its output prefixed by its name; when a node
 * fails or the timeout passes it stops the rest. It sleeps in poll() over
 * the nodes' output pipes and a signalfd; nothing polls on a timer.
 */
#include "cli.h"
#include "env.h"
#include "util.h"
#include "stepper.h"

#include <stepper/barrier.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_NODES 256

static const char multinode_usage[] =
	"usage: stepper multinode -n N [--timeout SEC] [--barrier-timeout SEC]\n"
	"                         -- COMMAND [ARGS...]\n"
	"\n"
	"Start a barrier controller on 127.0.0.1 and N copies of COMMAND, with\n"
	"STEPPER_BARRIER_ADDR, STEPPER_BARRIER_TOKEN, STEPPER_NODE_INDEX (0..N-1)\n"
	"and STEPPER_NODE_COUNT set. Each output line is prefixed with the node's\n"
	"name. When a node fails, or the timeout passes, the others are stopped\n"
	"(their process groups are killed).\n"
	"\n"
	"  -n N                  nodes, 1 to 256\n"
	"  --timeout SEC         for the whole run (default 120)\n"
	"  --barrier-timeout SEC for each barrier, from its first arrival (default 30)\n"
	"\n"
	"Exit status: 0 when every node exited 0, 1 otherwise, 2 on a usage error.\n";

static const char server_usage[] =
	"usage: stepper barrier-server -n N [--token TOKEN] [--timeout SEC]\n"
	"\n"
	"Serve barriers on 127.0.0.1 (a port the kernel picks) for N nodes until\n"
	"interrupted. Prints STEPPER_BARRIER_ADDR=... and STEPPER_BARRIER_TOKEN=...\n"
	"lines for the nodes' environment, then one line per event on stderr.\n"
	"The protocol is in barrier/PROTOCOL.md.\n";

void cli_multinode_help(FILE *out)
{
	fputs(multinode_usage, out);
}

void cli_barrier_server_help(FILE *out)
{
	fputs(server_usage, out);
}

static int parse_seconds(const char *cmd, const char *opt, const char *v, double *out)
{
	char *end;
	errno = 0;
	double t = strtod(v, &end);
	if (end == v || *end || errno || !isfinite(t) || t <= 0 || t > 86400) {
		cli_usage_error(cmd, "%s: expected seconds above 0 and at most 86400, got '%s'",
				opt, v);
		return -1;
	}
	*out = t;
	return 0;
}

static int parse_nodes(const char *cmd, const char *v, unsigned *out)
{
	uint64_t n;
	if (!v || stp__parse_u64(v, &n) < 0 || n < 1 || n > MAX_NODES) {
		cli_usage_error(cmd, "-n: expected 1 to %d nodes, got '%s'", MAX_NODES,
				v ? v : "");
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* barrier-server                                                      */
/* ------------------------------------------------------------------ */

int cli_barrier_server(int argc, char **argv)
{
	unsigned nodes = 0;
	const char *token = NULL;
	double timeout = 30;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0)
			return fputs(server_usage, stdout), CLI_OK;
		if (strcmp(a, "-n") == 0) {
			if (parse_nodes("barrier-server", v, &nodes) < 0)
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
			if (!v || parse_seconds("barrier-server", "--timeout", v, &timeout) < 0)
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
	sigprocmask(SIG_BLOCK, &set, NULL);
	char err[256];
	stp_bserver *s = stp_bserver_new(nodes, token, (uint64_t)(timeout * 1000), err,
					 sizeof err);
	if (!s) {
		fprintf(stderr, "stepper: %s\n", err);
		return CLI_FAILED;
	}
	stp_bserver_set_log(s, stderr);
	printf("STEPPER_BARRIER_ADDR=%s\nSTEPPER_BARRIER_TOKEN=%s\nSTEPPER_NODE_COUNT=%u\n",
	       stp_bserver_addr(s), stp_bserver_token(s), nodes);
	fflush(stdout);
	int sig;
	sigwait(&set, &sig);
	stp_bserver_free(s);
	return CLI_OK;
}

/* ------------------------------------------------------------------ */
/* multinode                                                           */
/* ------------------------------------------------------------------ */

typedef struct node {
	pid_t pid;
	int out;      /* read end of its output pipe, -1 when closed */
	int status;
	int ended;
	char buf[4096];
	size_t len;
} node;

static void emit(int i, const char *line, size_t n)
{
	printf("[node%d] %.*s\n", i, (int)n, line);
}

static void pump(node *nd, int i)
{
	ssize_t got = read(nd->out, nd->buf + nd->len, sizeof nd->buf - nd->len);
	if (got <= 0) {
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (nd->len)
			emit(i, nd->buf, nd->len);
		nd->len = 0;
		close(nd->out);
		nd->out = -1;
		return;
	}
	nd->len += (size_t)got;
	char *start = nd->buf, *nl;
	while ((nl = memchr(start, '\n', nd->len - (size_t)(start - nd->buf)))) {
		emit(i, start, (size_t)(nl - start));
		start = nl + 1;
	}
	nd->len -= (size_t)(start - nd->buf);
	memmove(nd->buf, start, nd->len);
	if (nd->len == sizeof nd->buf) { /* a very long line: print it in parts */
		emit(i, nd->buf, nd->len);
		nd->len = 0;
	}
	fflush(stdout);
}

int cli_multinode(int argc, char **argv)
{
	unsigned n = 0;
	double timeout = 120, btimeout = 30;
	int i = 1;
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0)
			return fputs(multinode_usage, stdout), CLI_OK;
		if (strcmp(a, "-n") == 0) {
			if (parse_nodes("multinode", v, &n) < 0)
				return CLI_USAGE;
			i++;
		} else if (strcmp(a, "--timeout") == 0) {
			if (!v || parse_seconds("multinode", "--timeout", v, &timeout) < 0)
				return CLI_USAGE;
			i++;
		} else if (strcmp(a, "--barrier-timeout") == 0) {
			if (!v || parse_seconds("multinode", "--barrier-timeout", v, &btimeout) < 0)
				return CLI_USAGE;
			i++;
		} else {
			return cli_usage_error("multinode", "unknown option '%s'", a);
		}
	}
	if (!n)
		return cli_usage_error("multinode", "say how many nodes: -n N");
	if (i >= argc || ++i >= argc)
		return cli_usage_error("multinode", "missing the command to run (after --)");
	char **cmd = argv + i;
	if (!cli_command_exists(cmd[0])) {
		fprintf(stderr, "stepper: cannot run '%s': no such executable\n", cmd[0]);
		return CLI_USAGE;
	}

	sigset_t set;
	cli_block_child_signals(&set);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	char err[256];
	stp_bserver *srv = stp_bserver_new(n, NULL, (uint64_t)(btimeout * 1000), err,
					   sizeof err);
	if (sfd < 0 || !srv) {
		fprintf(stderr, "stepper: cannot start the controller: %s\n",
			srv ? strerror(errno) : err);
		stp_bserver_free(srv);
		return CLI_FAILED;
	}
	stp_bserver_set_log(srv, stdout);
	char *quoted = stp__quote_argv(cmd);
	printf("stepper multinode: %u nodes of %s, controller at %s\n", n, quoted,
	       stp_bserver_addr(srv));
	fflush(stdout);

	node nodes[MAX_NODES];
	cli_env env;
	cli_env_init(&env);
	char e_addr[64], e_token[96], e_index[48], e_count[48];
	snprintf(e_addr, sizeof e_addr, "STEPPER_BARRIER_ADDR=%s", stp_bserver_addr(srv));
	snprintf(e_token, sizeof e_token, "STEPPER_BARRIER_TOKEN=%s", stp_bserver_token(srv));
	snprintf(e_count, sizeof e_count, "STEPPER_NODE_COUNT=%u", n);
	int running = 0, failed = -1, timed_out = 0, interrupted = 0;
	for (unsigned k = 0; k < n; k++) {
		int p[2];
		nodes[k] = (node){ .pid = -1, .out = -1 };
		if (pipe2(p, O_CLOEXEC) != 0) {
			fprintf(stderr, "stepper: pipe: %s\n", strerror(errno));
			failed = (int)k;
			break;
		}
		snprintf(e_index, sizeof e_index, "STEPPER_NODE_INDEX=%u", k);
		const char *added[] = { e_addr, e_token, e_index, e_count };
		cli_env_set(&env, added, 4);
		nodes[k].pid = cli_spawn_out(cmd, env.vars, NULL, p[1], 0);
		close(p[1]);
		nodes[k].out = p[0];
		if (nodes[k].pid < 0) {
			fprintf(stderr, "stepper: cannot start node%u: %s\n", k, strerror(errno));
			close(p[0]);
			nodes[k].out = -1;
			nodes[k].ended = 1;
			failed = (int)k;
			break;
		}
		running++;
	}
	cli_env_free(&env);

	double deadline = cli_now() + timeout;
	int stopping = failed >= 0;
	if (stopping)
		for (unsigned k = 0; k < n; k++)
			if (nodes[k].pid > 0 && !nodes[k].ended)
				kill(-nodes[k].pid, SIGKILL);
	for (;;) {
		struct pollfd fds[MAX_NODES + 1];
		int who[MAX_NODES + 1], m = 0, open_pipes = 0;
		fds[m++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (unsigned k = 0; k < n; k++)
			if (nodes[k].out >= 0) {
				who[m] = (int)k;
				fds[m++] = (struct pollfd){ .fd = nodes[k].out, .events = POLLIN };
				open_pipes++;
			}
		if (running == 0 && open_pipes == 0)
			break;
		double left = deadline - cli_now();
		int ms = stopping ? 1000 : left <= 0 ? 0 : (int)ceil(left * 1000);
		int r = poll(fds, (nfds_t)m, ms);
		if (r == 0 && !stopping) {
			timed_out = 1;
			stopping = 1;
			for (unsigned k = 0; k < n; k++)
				if (!nodes[k].ended)
					kill(-nodes[k].pid, SIGKILL);
			continue;
		}
		for (int j = 1; j < m; j++)
			if (fds[j].revents)
				pump(&nodes[who[j]], who[j]);
		if (fds[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) == sizeof si)
				if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
					interrupted = 1;
			int st;
			pid_t pid;
			while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
				for (unsigned k = 0; k < n; k++)
					if (nodes[k].pid == pid && !nodes[k].ended) {
						nodes[k].ended = 1;
						nodes[k].status = st;
						running--;
						kill(-pid, SIGKILL); /* what it left behind */
						int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
						if (!ok && failed < 0 && !stopping)
							failed = (int)k;
					}
			if ((failed >= 0 || interrupted) && !stopping) {
				stopping = 1;
				for (unsigned k = 0; k < n; k++)
					if (!nodes[k].ended)
						kill(-nodes[k].pid, SIGKILL);
			}
		}
	}
	close(sfd);
	stp_bserver_set_log(srv, NULL); /* the summary is the last word */

	printf("stepper multinode: summary\n");
	int all_ok = 1;
	for (unsigned k = 0; k < n; k++) {
		char how[128] = "not started";
		if (nodes[k].pid > 0)
			cli_describe_status(nodes[k].status, how, sizeof how);
		int ok = nodes[k].pid > 0 && WIFEXITED(nodes[k].status) &&
			 WEXITSTATUS(nodes[k].status) == 0;
		all_ok &= ok;
		const char *why = "";
		if (!ok && (int)k != failed && nodes[k].pid > 0 && WIFSIGNALED(nodes[k].status) &&
		    WTERMSIG(nodes[k].status) == SIGKILL)
			why = timed_out ? " (stopped: the timeout passed)"
			      : interrupted ? " (stopped: interrupted)"
					    : " (stopped after another node failed)";
		printf("  node%u: %s%s\n", k, how, why);
	}
	char last[STP_BARRIER_MAX_LINE * 4];
	stp_bserver_last_event(srv, last, sizeof last);
	if (last[0])
		printf("  controller: last sent %s\n", last);
	if (all_ok)
		printf("result: passed, all %u nodes exited 0\n", n);
	else if (timed_out)
		printf("result: failed, the timeout of %g s passed\n", timeout);
	else if (failed >= 0)
		printf("result: failed, node%d failed first\n", failed);
	else
		printf("result: failed\n");
	stp_bserver_free(srv);
	free(quoted);
	return all_ok ? CLI_OK : CLI_FAILED;
}
