/*
 * io_real.c - the real backend: nonblocking sockets and a poll() loop,
 * woken by a pipe when another thread calls stp_io_stop.
 */
#include "io_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

stp_io *stp_io_real_new(void)
{
	stp_io *io = stp__io_new(&stp__io_real_ops);
	if (io && pipe2(io->real.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(io);
		return NULL;
	}
	return io;
}

static void real_destroy(stp_io *io)
{
	for (size_t i = 0; i < io->nc; i++)
		if (io->c[i].fd >= 0)
			close(io->c[i].fd);
	close(io->real.wake[0]);
	close(io->real.wake[1]);
}

static int real_listen(stp_io *io, stp__io_conn *c, const char *addr)
{
	(void)io;
	char host[64];
	const char *colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof host)
		return STP_EINVAL;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(colon + 1)) };
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return STP_EINVAL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	socklen_t al = sizeof a;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		if (fd >= 0)
			close(fd);
		return STP_EIO;
	}
	c->fd = fd;
	c->port = ntohs(a.sin_port);
	return 0;
}

static int real_write_take(stp_io *io, stp_io_id id, stp__io_conn *c, size_t *take)
{
	(void)io;
	(void)id;
	(void)take; /* the buffer takes it all; send() drains it */
	return c->fd < 0 ? STP_ECLOSED : 0;
}

static void real_send(stp_io *io, stp__io_conn *c)
{
	(void)io;
	while (c->fd >= 0 && c->wire.len) {
		ssize_t n = send(c->fd, c->wire.d, c->wire.len, MSG_NOSIGNAL);
		if (n > 0) {
			stp__io_buf_take(&c->wire, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		c->wire.len = 0; /* the peer is gone */
		break;
	}
	if (c->closed_by_code && c->fd >= 0 && c->wire.len == 0) {
		close(c->fd);
		c->fd = -1;
	}
}

static void real_closed(stp_io *io, stp__io_conn *c)
{
	(void)io;
	/* a connection with output left closes once send() drained it */
	if (c->fd >= 0 && (c->is_listener || c->wire.len == 0)) {
		close(c->fd);
		c->fd = -1;
	}
}

/* Empty the wake pipe, so that a stop's byte wakes one poll, not every
 * later one. */
static void drain_wake(stp_io *io)
{
	char buf[64];
	while (read(io->real.wake[0], buf, sizeof buf) > 0)
		;
}

static void real_stop(stp_io *io)
{
	atomic_store(&io->real.stop, 1);
	if (write(io->real.wake[1], "x", 1) < 0 && errno != EAGAIN)
		stp__panic("write(wake)", errno);
}

static void real_accept(stp_io *io, stp_io_id lid)
{
	int fd = accept4(stp__io_get(io, lid)->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	int nid = stp__io_add_conn(io);
	if (nid < 0) {
		close(fd);
		return;
	}
	stp__io_conn *n = stp__io_get(io, nid);
	n->fd = fd;
	n->listener = lid;
	stp__io_notify_accept(io, nid);
}

static void real_readable(stp_io *io, stp_io_id id)
{
	stp__io_conn *c = stp__io_get(io, id);
	if (c->is_listener) {
		real_accept(io, id);
		return;
	}
	unsigned char tmp[65536];
	ssize_t got = recv(c->fd, tmp, sizeof tmp, 0);
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got > 0 && stp__io_buf_add(&c->in, tmp, (size_t)got) == 0) {
		while (stp__io_deliver_one(io, id))
			;
		return;
	}
	c->closed_by_peer = 1;
	while (stp__io_deliver_one(io, id))
		;
	stp__io_notify_closed(io, id);
	c = stp__io_get(io, id);
	if (c->fd >= 0 && !c->closed_by_code) {
		close(c->fd); /* the code closes the id when it likes */
		c->fd = -1;
	}
}

/* One poll() over the wake pipe and every open socket, and the events it
 * returned. Returns 0 when it timed out with no event, 1 when not,
 * STP_ENOMEM. */
static int real_poll_once(stp_io *io, int timeout_ms)
{
	size_t cap = io->nc + 1, n = 0;
	struct pollfd *fds = calloc(cap, sizeof *fds);
	stp_io_id *ids = calloc(cap, sizeof *ids);
	if (!fds || !ids) {
		free(fds);
		free(ids);
		return STP_ENOMEM;
	}
	fds[n++] = (struct pollfd){ .fd = io->real.wake[0], .events = POLLIN };
	for (size_t i = 0; i < io->nc; i++) {
		stp__io_conn *c = &io->c[i];
		if (!c->used || c->fd < 0)
			continue;
		ids[n] = (stp_io_id)i + 1;
		fds[n++] = (struct pollfd){
			.fd = c->fd,
			.events = (short)((c->closed_by_code ? 0 : POLLIN) |
					  (c->wire.len ? POLLOUT : 0))
		};
	}
	int r = poll(fds, (nfds_t)n, timeout_ms);
	if (r > 0 && (fds[0].revents & POLLIN))
		drain_wake(io);
	for (size_t i = 1; r > 0 && i < n; i++) {
		stp__io_conn *c = stp__io_get(io, ids[i]);
		if (!c || c->fd != fds[i].fd)
			continue;
		if (fds[i].revents & POLLOUT)
			real_send(io, c);
		if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
			real_readable(io, ids[i]);
	}
	free(fds);
	free(ids);
	return r != 0;
}

/* A stop ends the run it finds (the current one, or the next when none
 * runs), and only that one: the flag is cleared as the run returns. A
 * stop's byte left in the pipe only wakes a later poll once. */
static int real_run(stp_io *io, int timeout_ms)
{
	int rc = 0;
	while (!atomic_load(&io->real.stop)) {
		int r = real_poll_once(io, timeout_ms);
		if (r < 0) {
			rc = r;
			break;
		}
		if (r == 0)
			break;
	}
	atomic_store(&io->real.stop, 0);
	return rc;
}

const stp__io_ops stp__io_real_ops = {
	.listen = real_listen,
	.write_take = real_write_take,
	.flushed = real_send,
	.closed = real_closed,
	.run = real_run,
	.stop = real_stop,
	.destroy = real_destroy,
};
