/*
 * multinode.c - `stepper multinode`.
 *
 * multinode starts a barrier controller and N copies of a command, each in
 * its own process group with its output prefixed by its name; when a node
 * fails or the timeout passes it stops the rest. It sleeps in poll() over
 * the nodes' output pipes and a signalfd; nothing polls on a timer.
 */
#include "cli.h"
#include "base.h"
#include <stepper/stepper.h>

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

static const char multinode_usage[] =
	"usage: stepper multinode -n N [--timeout SEC] [--barrier-timeout SEC]\n"
	"                         -- COMMAND [ARGS...]\n"
	"\n"
	"Start a barrier controller on 127.0.0.1 and N copies of COMMAND, with\n"
	"STEPPER_BARRIER_ADDR, STEPPER_BARRIER_TOKEN, STEPPER_NODE_INDEX (0..N-1)\n"
	"and STEPPER_NODE_COUNT set. Each output line is prefixed with the node's\n"
	"name. When a node fails or cannot be started, or the timeout passes, the\n"
	"others are stopped (their process groups are killed with SIGKILL); so\n"
	"are all of them on SIGINT, SIGTERM or SIGHUP.\n"
	"\n"
	"  -n N                  nodes, 1 to 256\n"
	"  --timeout SEC         for the whole run (default 120)\n"
	"  --barrier-timeout SEC for each barrier, from its first arrival (default 30)\n"
	"\n"
	"Exit status: 0 when every node exited 0, 1 otherwise, 2 on a usage error,\n"
	"128+SIG when interrupted by signal SIG.\n";

void cli_multinode_help(FILE *out)
{
	fputs(multinode_usage, out);
}

typedef struct node {
	pid_t pid;    /* -1 until started */
	int out;      /* read end of its output pipe, -1 when closed */
	int status;   /* its wait status, once ended */
	int ended;
	int stopped;  /* we killed it before it ended */
	char buf[4096];
	size_t len;
} node;

/* One multinode run. Every node entry is set up before the first start. */
typedef struct mnode {
	unsigned n;
	double timeout, btimeout;
	char **cmd;
	node nodes[CLI_MAX_NODES];
	stp_bserver *srv;
	int sfd;           /* signalfd: SIGCHLD, SIGINT, SIGTERM, SIGHUP */
	int running;       /* started and not yet reaped */
	int failed;        /* the first node that failed, or -1 */
	int unstarted;     /* the node that could not be started, or -1 */
	char start_err[160];
	int timed_out;
	int signo;         /* the signal that interrupted the run, or 0 */
	int stopping;
	double deadline;
} mnode;

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

/* -1 to go on, else the exit status (help, usage error). */
static int parse_multinode(int argc, char **argv, mnode *m)
{
	int i = 1;
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return fputs(multinode_usage, stdout), CLI_OK;
		if (strcmp(a, "-n") == 0) {
			if (cli_parse_nodes("multinode", v, &m->n) < 0)
				return CLI_USAGE;
			i++;
		} else if (strcmp(a, "--timeout") == 0) {
			if (!v || cli_parse_seconds("multinode", "--timeout", v, &m->timeout) < 0)
				return CLI_USAGE;
			i++;
		} else if (strcmp(a, "--barrier-timeout") == 0) {
			if (!v || cli_parse_seconds("multinode", "--barrier-timeout", v,
						&m->btimeout) < 0)
				return CLI_USAGE;
			i++;
		} else {
			return cli_usage_error("multinode", "unknown option '%s'", a);
		}
	}
	if (!m->n)
		return cli_usage_error("multinode", "say how many nodes: -n N");
	if (i >= argc || ++i >= argc)
		return cli_usage_error("multinode", "missing the command to run (after --)");
	m->cmd = argv + i;
	if (!cli_command_exists(m->cmd[0])) {
		fprintf(stderr, "stepper: cannot run '%s': no such executable\n", m->cmd[0]);
		return CLI_USAGE;
	}
	return -1;
}

/* Kill every started node that has not ended, with its process group. */
static void stop_all(mnode *m)
{
	m->stopping = 1;
	for (unsigned k = 0; k < m->n; k++) {
		node *nd = &m->nodes[k];
		if (nd->pid > 0 && !nd->ended) {
			nd->stopped = 1;
			kill(-nd->pid, SIGKILL);
		}
	}
}

/* Start node k, its output to a close-on-exec pipe; 0 or -1 with errno. */
static int start_node(mnode *m, unsigned k, cli_env *env)
{
	char e_addr[64], e_token[96], e_index[48], e_count[48];
	snprintf(e_addr, sizeof e_addr, "STEPPER_BARRIER_ADDR=%s", stp_bserver_addr(m->srv));
	snprintf(e_token, sizeof e_token, "STEPPER_BARRIER_TOKEN=%s",
		 stp_bserver_token(m->srv));
	snprintf(e_count, sizeof e_count, "STEPPER_NODE_COUNT=%u", m->n);
	snprintf(e_index, sizeof e_index, "STEPPER_NODE_INDEX=%u", k);
	const char *added[] = { e_addr, e_token, e_index, e_count };
	cli_env_set(env, added, 4);
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = cli_spawn_out(m->cmd, env->vars, NULL, p[1], 0);
	int e = errno;
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		errno = e;
		return -1;
	}
	m->nodes[k].pid = pid;
	m->nodes[k].out = p[0];
	m->running++;
	return 0;
}

/* Start every node; on the first that cannot start, stop the others. */
static void start_nodes(mnode *m)
{
	cli_env env;
	if (cli_env_init(&env) < 0) {
		m->unstarted = 0;
		snprintf(m->start_err, sizeof m->start_err, "%s", strerror(ENOMEM));
		return;
	}
	for (unsigned k = 0; k < m->n; k++)
		if (start_node(m, k, &env) < 0) {
			m->unstarted = (int)k;
			snprintf(m->start_err, sizeof m->start_err, "%s", strerror(errno));
			fprintf(stderr, "stepper: cannot start node%u: %s\n", k, m->start_err);
			stop_all(m);
			break;
		}
	cli_env_free(&env);
}

/* Take the pending signals: reap the nodes that ended, note interrupts. */
static void take_signals(mnode *m)
{
	struct signalfd_siginfo si;
	while (read(m->sfd, &si, sizeof si) == sizeof si)
		if (si.ssi_signo != SIGCHLD && !m->stopping && !m->signo)
			m->signo = (int)si.ssi_signo;
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (unsigned k = 0; k < m->n; k++) {
			node *nd = &m->nodes[k];
			if (nd->pid != pid || nd->ended)
				continue;
			nd->ended = 1;
			nd->status = st;
			m->running--;
			kill(-pid, SIGKILL); /* what it left behind */
			int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
			if (!ok && m->failed < 0 && !m->stopping)
				m->failed = (int)k;
		}
	if ((m->failed >= 0 || m->signo) && !m->stopping)
		stop_all(m);
}

/* Relay output and reap nodes until every node has ended and its output
 * is read. Once none runs, output still held open by something that
 * escaped its process group is read while ready, then left. */
static void wait_nodes(mnode *m)
{
	for (;;) {
		struct pollfd fds[CLI_MAX_NODES + 1];
		int who[CLI_MAX_NODES + 1], nfds = 0;
		fds[nfds++] = (struct pollfd){ .fd = m->sfd, .events = POLLIN };
		for (unsigned k = 0; k < m->n; k++)
			if (m->nodes[k].out >= 0) {
				who[nfds] = (int)k;
				fds[nfds++] = (struct pollfd){ .fd = m->nodes[k].out,
							       .events = POLLIN };
			}
		if (m->running == 0 && nfds == 1)
			break;
		double left = m->deadline - cli_now();
		int ms = m->running == 0 ? 0
			 : m->stopping	 ? -1
			 : left <= 0	 ? 0
					 : (int)ceil(left * 1000);
		int r = poll(fds, (nfds_t)nfds, ms);
		if (r == 0 && m->running == 0)
			break;
		if (r == 0 && !m->stopping) {
			m->timed_out = 1;
			stop_all(m);
			continue;
		}
		for (int j = 1; j < nfds; j++)
			if (fds[j].revents)
				pump(&m->nodes[who[j]], who[j]);
		if (fds[0].revents & POLLIN)
			take_signals(m);
	}
	for (unsigned k = 0; k < m->n; k++)
		if (m->nodes[k].out >= 0) {
			close(m->nodes[k].out);
			m->nodes[k].out = -1;
		}
}

/* Why a node we killed was stopped. */
static void stop_reason(const mnode *m, char *buf, size_t size)
{
	if (m->signo)
		snprintf(buf, size, " (stopped: interrupted by %s)", cli_signal_name(m->signo));
	else if (m->unstarted >= 0)
		snprintf(buf, size, " (stopped: node%d could not be started)", m->unstarted);
	else if (m->timed_out)
		snprintf(buf, size, " (stopped: the timeout passed)");
	else
		snprintf(buf, size, " (stopped after another node failed)");
}

/* Print one line per node; returns 1 when every node exited 0. */
static int print_nodes(const mnode *m)
{
	int all_ok = 1;
	for (unsigned k = 0; k < m->n; k++) {
		const node *nd = &m->nodes[k];
		char how[128], why[96] = "";
		if (nd->pid <= 0) {
			all_ok = 0;
			printf("  node%u: not started%s%s\n", k,
			       (int)k == m->unstarted ? ": " : "",
			       (int)k == m->unstarted ? m->start_err : "");
			continue;
		}
		cli_describe_status(nd->status, how, sizeof how);
		int ok = WIFEXITED(nd->status) && WEXITSTATUS(nd->status) == 0;
		all_ok &= ok;
		if (!ok && nd->stopped && WIFSIGNALED(nd->status) &&
		    WTERMSIG(nd->status) == SIGKILL)
			stop_reason(m, why, sizeof why);
		printf("  node%u: %s%s\n", k, how, why);
	}
	return all_ok;
}

/* The summary; returns the exit status. */
static int summarise(const mnode *m)
{
	printf("stepper multinode: summary\n");
	int all_ok = print_nodes(m);
	char last[STP_BARRIER_MAX_LINE * 4];
	stp_bserver_last_event(m->srv, last, sizeof last);
	if (last[0])
		printf("  controller: last sent %s\n", last);
	int rc = CLI_FAILED;
	if (m->signo) {
		printf("result: interrupted by %s, the nodes were stopped\n",
		       cli_signal_name(m->signo));
		rc = 128 + m->signo;
	} else if (m->unstarted >= 0)
		printf("result: failed, node%d could not be started (%s)\n", m->unstarted,
		       m->start_err);
	else if (all_ok) {
		if (m->n == 1)
			printf("result: passed, the node exited 0\n");
		else
			printf("result: passed, all %u nodes exited 0\n", m->n);
		rc = CLI_OK;
	} else if (m->timed_out)
		printf("result: failed, the timeout of %g s passed\n", m->timeout);
	else if (m->failed >= 0)
		printf("result: failed, node%d failed first\n", m->failed);
	else
		printf("result: failed\n");
	fflush(stdout);
	return rc;
}

int cli_multinode(int argc, char **argv)
{
	mnode *m = calloc(1, sizeof *m);
	if (!m) {
		fprintf(stderr, "stepper: out of memory\n");
		return CLI_FAILED;
	}
	*m = (mnode){ .timeout = 120, .btimeout = 30, .sfd = -1, .failed = -1,
		      .unstarted = -1 };
	for (unsigned k = 0; k < CLI_MAX_NODES; k++)
		m->nodes[k] = (node){ .pid = -1, .out = -1 };
	int rc = parse_multinode(argc, argv, m);
	if (rc >= 0)
		goto out;
	sigset_t set;
	cli_block_child_signals(&set);
	m->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	char err[256];
	m->srv = m->sfd < 0 ? NULL
			    : stp_bserver_new(m->n, NULL, (uint64_t)(m->btimeout * 1000),
					      err, sizeof err);
	if (!m->srv) {
		fprintf(stderr, "stepper: cannot start the controller: %s\n",
			m->sfd < 0 ? strerror(errno) : err);
		rc = CLI_FAILED;
		goto out;
	}
	stp_bserver_set_log(m->srv, stdout);
	char *quoted = stp__quote_argv(m->cmd);
	printf("stepper multinode: %u node%s of %s, controller at %s\n", m->n,
	       m->n == 1 ? "" : "s", quoted ? quoted : m->cmd[0], stp_bserver_addr(m->srv));
	free(quoted);
	fflush(stdout);
	m->deadline = cli_now() + m->timeout;
	start_nodes(m);
	wait_nodes(m);
	stp_bserver_set_log(m->srv, NULL); /* the summary is the last word */
	rc = summarise(m);
out:
	if (m->sfd >= 0)
		close(m->sfd);
	stp_bserver_free(m->srv);
	free(m);
	return rc;
}
