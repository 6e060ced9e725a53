/*
 * autoserver.c - the CLI's end of the fork server (autoproto.h): start
 * the program once under the preload, then ask it for one child per run.
 *
 * A child it makes is the CLI's own (CLONE_PARENT): the caller waits for
 * it, times it out and reads its status as for a child it spawned itself.
 * A server that cannot serve (the preload was not loaded, a sanitizer
 * build, an old protocol) is reported by cli_server_start, and the caller
 * execs each run instead.
 */
#include "autoserver.h"
#include "autoproto.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long a server may take to start (exec, the loader, constructors). */
#define HELLO_MS 10000

static int recv_hdr(int fd, int timeout_ms, stp_auto_hdr *h)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int r;
	while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (r <= 0)
		return -1;
	ssize_t n = recv(fd, h, sizeof *h, 0);
	return n == (ssize_t)sizeof *h && h->magic == STP_AUTO_MAGIC &&
			       h->version == STP_AUTO_VERSION
		       ? 0
		       : -1;
}

int cli_server_start(cli_server *sv, char *const argv[], char *const env[], char *why,
		     size_t size)
{
	*sv = (cli_server){ .pid = -1, .fd = -1 };
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		snprintf(why, size, "socketpair: %s", strerror(errno));
		return -1;
	}
	int child_end = fcntl(sp[1], F_DUPFD, 3); /* without CLOEXEC: the server keeps it */
	size_t n = 0;
	while (env[n])
		n++;
	char **e = calloc(n + 2, sizeof *e);
	char var[48];
	snprintf(var, sizeof var, "STEPPER_AUTO_FD=%d", child_end);
	if (child_end < 0 || !e) {
		snprintf(why, size, "out of descriptors or memory");
		goto fail;
	}
	memcpy(e, env, n * sizeof *e);
	e[n] = var;
	sv->pid = cli_spawn(argv, e, "/dev/null", 0);
	free(e);
	e = NULL;
	close(child_end);
	child_end = -1;
	close(sp[1]);
	sp[1] = -1;
	if (sv->pid < 0) {
		snprintf(why, size, "cannot start %s: %s", argv[0], strerror(errno));
		goto fail;
	}
	sv->fd = sp[0];
	stp_auto_hdr h;
	if (recv_hdr(sv->fd, HELLO_MS, &h) < 0 || h.type != STP_AUTO_HELLO) {
		snprintf(why, size, "the program did not start serving (was the preload loaded?)");
		cli_server_stop(sv);
		return -1;
	}
	if (h.value < 0) {
		snprintf(why, size, "this build of the preload does not serve (%s)",
			 h.value == -ENOSYS ? "a sanitizer build" : strerror(-h.value));
		cli_server_stop(sv);
		return -1;
	}
	return 0;
fail:
	free(e);
	if (child_end >= 0)
		close(child_end);
	close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	return -1;
}

pid_t cli_server_spawn(cli_server *sv, char *const env[], const char *log)
{
	size_t len = sizeof(stp_auto_hdr) + strlen(log) + 1, n = 0;
	for (; env[n]; n++)
		len += strlen(env[n]) + 1;
	if (len > STP_AUTO_MAX_MSG) {
		errno = E2BIG;
		return -1;
	}
	char *msg = malloc(len), *p = msg;
	if (!msg)
		return -1;
	stp_auto_hdr h = { STP_AUTO_MAGIC, STP_AUTO_VERSION, STP_AUTO_RUN, (int32_t)n };
	memcpy(p, &h, sizeof h);
	p += sizeof h;
	p = stpcpy(p, log) + 1;
	for (size_t i = 0; i < n; i++)
		p = stpcpy(p, env[i]) + 1;
	ssize_t sent = send(sv->fd, msg, len, MSG_NOSIGNAL);
	free(msg);
	if (sent != (ssize_t)len || recv_hdr(sv->fd, HELLO_MS, &h) < 0 ||
	    h.type != STP_AUTO_STARTED) {
		errno = EPIPE;
		return -1;
	}
	if (h.value < 0) {
		errno = -h.value;
		return -1;
	}
	return (pid_t)h.value;
}

void cli_server_stop(cli_server *sv)
{
	if (sv->fd >= 0)
		close(sv->fd); /* the server ends at EOF */
	if (sv->pid > 0) {
		kill(sv->pid, SIGKILL);
		while (waitpid(sv->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	*sv = (cli_server){ .pid = -1, .fd = -1 };
}
