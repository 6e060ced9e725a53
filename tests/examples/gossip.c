/*
 * gossip.c - a small gossip over real UDP sockets on loopback, run as
 * N nodes by `stepper multinode -n N -- gossip`.
 *
 * Node 0 sends a rumour to every other node. Every other node must receive
 * it exactly once, and node 0 must not receive its own. The nodes meet at
 * barriers ("listening", "sent", "checked") instead of sleeping: nobody
 * sends before everyone listens, nobody checks before the rumour was sent.
 *
 * Node i listens on 127.0.1.(i+1), port P, where P is the controller's
 * TCP port: unique per run, so that two runs at once do not meet.
 */
#include <stepper/barrier.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char rumour[] = "rumour from node0";

static struct sockaddr_in node_addr(unsigned i, unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(0x7f000100u + i + 1); /* 127.0.1.(i+1) */
	return a;
}

static int meet(stp_node *n, const char *label)
{
	char detail[256];
	int rc = stp_node_barrier(n, label, NULL, detail, sizeof detail);
	if (rc != 0)
		fprintf(stderr, "barrier '%s': %s: %s\n", label, stp_strerror(rc), detail);
	return rc;
}

/* Messages waiting on fd; wait up to ms for the first one. */
static int count_received(int fd, int first_wait_ms, int *bad)
{
	int count = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (int wait = first_wait_ms; poll(&p, 1, wait) == 1; wait = 0) {
		char buf[256];
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0)
			break;
		if ((size_t)n != sizeof rumour - 1 || memcmp(buf, rumour, (size_t)n) != 0)
			(*bad)++;
		count++;
	}
	return count;
}

int main(void)
{
	char err[256];
	stp_node *node = stp_node_from_env(err, sizeof err);
	const char *addr = getenv("STEPPER_BARRIER_ADDR");
	const char *ns = getenv("STEPPER_NODE_COUNT"), *is = getenv("STEPPER_NODE_INDEX");
	if (!node || !ns || !is) {
		fprintf(stderr, "gossip: %s\n", node ? "STEPPER_NODE_COUNT missing" : err);
		return 2;
	}
	unsigned n = (unsigned)atoi(ns), me = (unsigned)atoi(is);
	unsigned port = (unsigned)atoi(strrchr(addr, ':') + 1);

	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in mine = node_addr(me, port);
	if (fd < 0 || bind(fd, (struct sockaddr *)&mine, sizeof mine) != 0) {
		fprintf(stderr, "gossip: cannot listen: %s\n", strerror(errno));
		return 1;
	}
	printf("listening on 127.0.1.%u:%u\n", me + 1, port);
	fflush(stdout);
	if (meet(node, "listening"))
		return 1;
	if (me == 0) {
		for (unsigned j = 1; j < n; j++) {
			struct sockaddr_in to = node_addr(j, port);
			if (sendto(fd, rumour, sizeof rumour - 1, 0, (struct sockaddr *)&to,
				   sizeof to) < 0)
				fprintf(stderr, "gossip: send to node%u: %s\n", j, strerror(errno));
		}
		printf("sent the rumour to %u nodes\n", n - 1);
		fflush(stdout);
	}
	if (meet(node, "sent"))
		return 1;
	/* Loopback delivers before sendto returns; the first wait covers a
	 * slow one, and is cut short by the message itself. */
	int bad = 0;
	int got = count_received(fd, me == 0 ? 0 : 5000, &bad);
	int ok = bad == 0 && (me == 0 ? got == 0 : got == 1);
	printf("received %d rumour%s%s: %s\n", got, got == 1 ? "" : "s",
	       bad ? " (some garbled)" : "", ok ? "ok" : "WRONG");
	fflush(stdout);
	if (meet(node, "checked"))
		return 1;
	stp_node_free(node);
	close(fd);
	return ok ? 0 : 1;
}
