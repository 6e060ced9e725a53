/*
 * node.c - a node's side of the barrier protocol: connect, HELLO, then
 * one BARRIER line and one answer per wait.
 */
#include "barrier.h"
#include "base.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct stp_node {
	int fd;
	char name[STP_BARRIER_MAX_NAME + 1];
	char buf[STP_BARRIER_MAX_LINE * 4 + 1];
	size_t len;
};

static void set(char *err, size_t size, const char *fmt, const char *a, const char *b)
{
	if (err && size)
		snprintf(err, size, fmt, a, b);
}

stp_node *stp_node_connect(const char *addr, const char *name, const char *token,
			   char *err, size_t errsize)
{
	if (!addr || !stp_barrier_valid_name(name) || !stp_barrier_valid_name(token)) {
		set(err, errsize, "%s%s", "expected an address, and a name and a token of "
					  "1-64 characters [A-Za-z0-9._-]", "");
		return NULL;
	}
	char host[64];
	const char *colon = strrchr(addr, ':');
	uint64_t port;
	if (!colon || (size_t)(colon - addr) >= sizeof host ||
	    stp__parse_u64(colon + 1, &port) < 0 || port == 0 || port > 65535) {
		set(err, errsize, "bad address '%s': expected HOST:PORT, e.g. %s", addr,
		    "127.0.0.1:40000");
		return NULL;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		set(err, errsize, "bad address '%s': %s is not an IPv4 address", addr, host);
		return NULL;
	}
	stp_node *n = calloc(1, sizeof *n);
	if (!n) {
		set(err, errsize, "%s%s", "out of memory", "");
		return NULL;
	}
	n->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0 || connect(n->fd, (struct sockaddr *)&a, sizeof a) != 0) {
		set(err, errsize, "cannot connect to %s: %s", addr, strerror(errno));
		if (n->fd >= 0)
			close(n->fd);
		free(n);
		return NULL;
	}
	snprintf(n->name, sizeof n->name, "%s", name);
	char line[STP_BARRIER_MAX_LINE];
	int len = snprintf(line, sizeof line, "HELLO %s %s\n", name, token);
	if (send(n->fd, line, (size_t)len, MSG_NOSIGNAL) != len) {
		set(err, errsize, "cannot talk to %s: %s", addr, strerror(errno));
		stp_node_free(n);
		return NULL;
	}
	return n;
}

stp_node *stp_node_from_env(char *err, size_t errsize)
{
	const char *addr = getenv("STEPPER_BARRIER_ADDR");
	const char *token = getenv("STEPPER_BARRIER_TOKEN");
	const char *index = getenv("STEPPER_NODE_INDEX");
	uint64_t i;
	if (!addr || !token || !index || stp__parse_u64(index, &i) < 0) {
		set(err, errsize, "%s%s", "STEPPER_BARRIER_ADDR, STEPPER_BARRIER_TOKEN and "
					  "STEPPER_NODE_INDEX must be set (stepper multinode "
					  "sets them)", "");
		return NULL;
	}
	char name[32];
	snprintf(name, sizeof name, "node%llu", (unsigned long long)i);
	return stp_node_connect(addr, name, token, err, errsize);
}

void stp_node_free(stp_node *n)
{
	if (!n)
		return;
	close(n->fd);
	free(n);
}

/* One line from the controller, without its newline; -1 on EOF/error. */
static int read_line(stp_node *n, char *out, size_t size)
{
	for (;;) {
		char *nl = memchr(n->buf, '\n', n->len);
		if (nl) {
			size_t l = (size_t)(nl - n->buf);
			snprintf(out, size, "%.*s", (int)l, n->buf);
			n->len -= l + 1;
			memmove(n->buf, nl + 1, n->len);
			return 0;
		}
		if (n->len >= sizeof n->buf - 1)
			return -1;
		ssize_t got = recv(n->fd, n->buf + n->len, sizeof n->buf - 1 - n->len, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		n->len += (size_t)got;
	}
}

int stp_node_barrier(stp_node *n, const char *label, uint64_t *generation,
		     char *detail, size_t detail_size)
{
	if (detail && detail_size)
		detail[0] = '\0';
	if (!n || !stp_barrier_valid_name(label))
		return STP_EINVAL;
	char line[STP_BARRIER_MAX_LINE * 4];
	int len = snprintf(line, sizeof line, "BARRIER %s\n", label);
	if (send(n->fd, line, (size_t)len, MSG_NOSIGNAL) != len) {
		set(detail, detail_size, "cannot send to the controller: %s%s",
		    strerror(errno), "");
		return STP_EIO;
	}
	if (read_line(n, line, sizeof line) < 0) {
		set(detail, detail_size, "%s%s", "the controller closed the connection", "");
		return STP_EIO;
	}
	size_t ll = strlen(label);
	if (strncmp(line, "ERR ", 4) == 0) {
		set(detail, detail_size, "%s%s", line + 4, "");
		return STP_EPARSE;
	}
	const char *rest = NULL;
	int rc = STP_EPARSE;
	if (strncmp(line, "OK ", 3) == 0)
		rest = line + 3, rc = 0;
	else if (strncmp(line, "TIMEOUT ", 8) == 0)
		rest = line + 8, rc = STP_ETIMEDOUT;
	else if (strncmp(line, "FAIL ", 5) == 0)
		rest = line + 5, rc = STP_ECLOSED;
	if (!rest || strncmp(rest, label, ll) != 0 || rest[ll] != ' ') {
		set(detail, detail_size, "unexpected answer from the controller: %s%s", line, "");
		return STP_EPARSE;
	}
	rest += ll + 1;
	if (rc == 0) {
		uint64_t g;
		if (stp__parse_u64(rest, &g) < 0) {
			set(detail, detail_size, "unexpected answer from the controller: %s%s",
			    line, "");
			return STP_EPARSE;
		}
		if (generation)
			*generation = g;
		return 0;
	}
	set(detail, detail_size, "%s%s", rest, "");
	return rc;
}
