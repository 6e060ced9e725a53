/*
 * io.c - the I/O interface: the connection registry, buffers and read
 * policies shared by both backends; the fake backend's work queue and
 * faults; the real backend's poll() loop.
 */
#include "io.h"
#include "stepper_int.h"

#include <stepper/clock.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct buf {
	unsigned char *d;
	size_t len, cap;
} buf;

typedef struct conn {
	int used, is_listener, listener;
	stp_io_handlers h; /* listeners */
	void *arg;
	int pending, accepted;
	stp_read_policy pol;
	size_t n;
	buf in, out, wire;
	int closed_by_code, closed_by_peer, notified_closed;
	int fd, port;
	size_t short_write;
	int would_block;
	uint64_t delay_ms, hold_until;
} conn;

enum work_kind { W_ACCEPT, W_DELIVER, W_CLOSED, W_WRITABLE };

typedef struct work {
	int kind;
	stp_io_id id;
} work;

struct stp_io {
	int fake;
	conn *c;
	size_t nc;
	work *q;
	size_t qhead, qlen, qcap;
	stp__rng rng;
	unsigned percent;
	struct stp_clock *clock;
	int wake[2];
	atomic_int stop;
};

/* ------------------------------------------------------------------ */
/* Registry and buffers                                                */
/* ------------------------------------------------------------------ */

static conn *get(stp_io *io, stp_io_id id)
{
	if (!io || id < 1 || (size_t)id > io->nc || !io->c[id - 1].used)
		return NULL;
	return &io->c[id - 1];
}

static int add_conn(stp_io *io)
{
	conn *c = realloc(io->c, (io->nc + 1) * sizeof *c);
	if (!c)
		return STP_ENOMEM;
	io->c = c;
	memset(&io->c[io->nc], 0, sizeof *io->c);
	io->c[io->nc].used = 1;
	io->c[io->nc].fd = -1;
	io->c[io->nc].pol = STP_READ_AT_MOST;
	io->c[io->nc].n = 4096;
	return (int)++io->nc;
}

static int buf_add(buf *b, const void *d, size_t n)
{
	if (n == 0)
		return 0;
	if (b->len + n > STP_IO_MAX_BUFFER)
		return STP_ELIMIT;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		unsigned char *p = realloc(b->d, cap);
		if (!p)
			return STP_ENOMEM;
		b->d = p;
		b->cap = cap;
	}
	memcpy(b->d + b->len, d, n);
	b->len += n;
	return 0;
}

static void buf_take(buf *b, size_t n)
{
	if (n == 0)
		return;
	memmove(b->d, b->d + n, b->len - n);
	b->len -= n;
}

static void buf_free(buf *b)
{
	free(b->d);
	*b = (buf){ 0 };
}

static void queue(stp_io *io, int kind, stp_io_id id)
{
	if (io->qlen == io->qcap) {
		size_t cap = io->qcap ? 2 * io->qcap : 64;
		work *q = malloc(cap * sizeof *q);
		if (!q)
			stp__panic("queue", ENOMEM);
		for (size_t i = 0; i < io->qlen; i++)
			q[i] = io->q[(io->qhead + i) % io->qcap];
		free(io->q);
		io->q = q;
		io->qcap = cap;
		io->qhead = 0;
	}
	io->q[(io->qhead + io->qlen++) % io->qcap] = (work){ kind, id };
}

static const stp_io_handlers *handlers(stp_io *io, conn *c, void **arg)
{
	conn *l = get(io, c->is_listener ? (stp_io_id)(c - io->c) + 1 : c->listener);
	*arg = l ? l->arg : NULL;
	return l ? &l->h : NULL;
}

/* ------------------------------------------------------------------ */
/* Making and freeing                                                  */
/* ------------------------------------------------------------------ */

static stp_io *io_new(int fake)
{
	stp_io *io = calloc(1, sizeof *io);
	if (!io)
		return NULL;
	io->fake = fake;
	io->wake[0] = io->wake[1] = -1;
	if (!fake && pipe2(io->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(io);
		return NULL;
	}
	return io;
}

stp_io *stp_io_real_new(void)
{
	return io_new(0);
}

stp_io *stp_io_fake_new(void)
{
	return io_new(1);
}

void stp_io_free(stp_io *io)
{
	if (!io)
		return;
	for (size_t i = 0; i < io->nc; i++) {
		conn *c = &io->c[i];
		if (c->fd >= 0)
			close(c->fd);
		buf_free(&c->in);
		buf_free(&c->out);
		buf_free(&c->wire);
	}
	if (io->wake[0] >= 0) {
		close(io->wake[0]);
		close(io->wake[1]);
	}
	free(io->c);
	free(io->q);
	free(io);
}

/* ------------------------------------------------------------------ */
/* The code under test's calls                                         */
/* ------------------------------------------------------------------ */

static int real_listen(stp_io *io, conn *c, const char *addr);

int stp_io_listen(stp_io *io, const char *addr, const stp_io_handlers *h, void *arg)
{
	if (!io || !addr || !h)
		return STP_EINVAL;
	int id = add_conn(io);
	if (id < 0)
		return id;
	conn *c = get(io, id);
	c->is_listener = 1;
	c->h = *h;
	c->arg = arg;
	if (!io->fake) {
		int rc = real_listen(io, c, addr);
		if (rc < 0) {
			c->used = 0;
			return rc;
		}
	}
	return id;
}

int stp_io_port(stp_io *io, stp_io_id listener)
{
	conn *c = get(io, listener);
	return c && c->is_listener ? c->port : STP_ENOENT;
}

int stp_io_read_policy(stp_io *io, stp_io_id id, stp_read_policy p, size_t n)
{
	conn *c = get(io, id);
	if (!c || c->is_listener)
		return STP_ENOENT;
	if (n == 0 || n > STP_IO_MAX_BUFFER || p < STP_READ_AT_MOST || p > STP_READ_AT_LEAST)
		return STP_EINVAL;
	c->pol = p;
	c->n = n;
	return 0;
}

static int chance(stp_io *io)
{
	return io->percent && stp__rng_below(&io->rng, 100) < io->percent;
}

int stp_io_write(stp_io *io, stp_io_id id, const void *data, size_t len)
{
	conn *c = get(io, id);
	if (!c || c->is_listener)
		return STP_ENOENT;
	if (!data && len)
		return STP_EINVAL;
	if (c->closed_by_code || (!io->fake && c->fd < 0))
		return STP_ECLOSED;
	size_t take = len;
	if (io->fake && (c->short_write || chance(io)) && len > 1) {
		size_t limit = c->short_write ? c->short_write : len / 2;
		c->short_write = 0;
		if (limit < take) {
			take = limit;
			queue(io, W_WRITABLE, id);
		}
	}
	if (take > INT32_MAX)
		take = INT32_MAX;
	int rc = buf_add(&c->out, data, take);
	return rc < 0 ? rc : (int)take;
}

static void real_send(stp_io *io, conn *c);

int stp_io_flush(stp_io *io, stp_io_id id)
{
	conn *c = get(io, id);
	if (!c || c->is_listener)
		return STP_ENOENT;
	int rc = buf_add(&c->wire, c->out.d, c->out.len);
	if (rc < 0)
		return rc;
	c->out.len = 0;
	if (!io->fake)
		real_send(io, c);
	return 0;
}

int stp_io_close(stp_io *io, stp_io_id id)
{
	conn *c = get(io, id);
	if (!c)
		return STP_ENOENT;
	if (c->closed_by_code)
		return 0;
	if (!c->is_listener)
		stp_io_flush(io, id);
	c = get(io, id);
	c->closed_by_code = 1;
	buf_free(&c->in);
	if (!io->fake && c->fd >= 0 && (c->is_listener || c->wire.len == 0)) {
		close(c->fd);
		c->fd = -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Delivery by read policy                                             */
/* ------------------------------------------------------------------ */

/* How many bytes the policy delivers now (0: none yet). */
static size_t deliverable(const conn *c)
{
	switch (c->pol) {
	case STP_READ_AT_MOST:
		return c->in.len < c->n ? c->in.len : c->n;
	case STP_READ_EXACTLY:
		return c->in.len >= c->n ? c->n : 0;
	default:
		return c->in.len >= c->n ? c->in.len : 0;
	}
}

/* Deliver one piece to the code. Returns 1 if it delivered. */
static int deliver_one(stp_io *io, stp_io_id id)
{
	conn *c = get(io, id);
	if (!c || c->closed_by_code)
		return 0;
	size_t n = deliverable(c);
	if (!n)
		return 0;
	unsigned char *piece = malloc(n);
	if (!piece)
		stp__panic("deliver", ENOMEM);
	memcpy(piece, c->in.d, n);
	buf_take(&c->in, n);
	void *arg;
	const stp_io_handlers *h = handlers(io, c, &arg);
	if (h && h->on_data)
		h->on_data(io, id, piece, n, arg);
	free(piece);
	return 1;
}

static void notify_closed(stp_io *io, stp_io_id id)
{
	conn *c = get(io, id);
	if (!c || c->notified_closed || c->closed_by_code)
		return;
	c->notified_closed = 1;
	void *arg;
	const stp_io_handlers *h = handlers(io, c, &arg);
	if (h && h->on_closed)
		h->on_closed(io, id, arg);
}

/* ------------------------------------------------------------------ */
/* The fake backend                                                    */
/* ------------------------------------------------------------------ */

static int fake_conn(stp_io *io, stp_io_id id, conn **out)
{
	if (!io || !io->fake)
		return STP_EINVAL;
	conn *c = get(io, id);
	if (!c || c->is_listener)
		return STP_ENOENT;
	*out = c;
	return 0;
}

int stp_fake_connect(stp_io *io, stp_io_id listener)
{
	if (!io || !io->fake)
		return STP_EINVAL;
	conn *l = get(io, listener);
	if (!l || !l->is_listener)
		return STP_ENOENT;
	if (l->closed_by_code)
		return STP_ECLOSED;
	int id = add_conn(io);
	if (id < 0)
		return id;
	conn *c = get(io, id);
	c->listener = listener;
	c->pending = 1;
	return id;
}

int stp_fake_accept(stp_io *io, stp_io_id id)
{
	conn *c;
	int rc = fake_conn(io, id, &c);
	if (rc < 0)
		return rc;
	if (!c->pending)
		return STP_ESTATE;
	c->pending = 0;
	c->accepted = 1;
	queue(io, W_ACCEPT, id);
	return 0;
}

static int held(stp_io *io, conn *c)
{
	return c->hold_until && io->clock && stp_clock_now(io->clock) < c->hold_until;
}

int stp_fake_send(stp_io *io, stp_io_id id, const void *data, size_t len)
{
	conn *c;
	int rc = fake_conn(io, id, &c);
	if (rc < 0)
		return rc;
	if (!data || len == 0)
		return STP_EINVAL;
	if (c->closed_by_code || c->closed_by_peer)
		return STP_ECLOSED;
	if ((rc = buf_add(&c->in, data, len)) < 0)
		return rc;
	if (c->delay_ms && io->clock)
		c->hold_until = stp_clock_now(io->clock) + c->delay_ms * 1000000u;
	if (!held(io, c))
		queue(io, W_DELIVER, id);
	return 0;
}

int stp_fake_recv(stp_io *io, stp_io_id id, void *out, size_t cap)
{
	conn *c;
	int rc = fake_conn(io, id, &c);
	if (rc < 0)
		return rc;
	size_t n = c->wire.len < cap ? c->wire.len : cap;
	if (n > INT32_MAX)
		n = INT32_MAX;
	if (n == 0)
		return 0;
	memcpy(out, c->wire.d, n);
	buf_take(&c->wire, n);
	return (int)n;
}

size_t stp_fake_pending_output(stp_io *io, stp_io_id id)
{
	conn *c;
	return fake_conn(io, id, &c) < 0 ? 0 : c->wire.len;
}

int stp_fake_closed(stp_io *io, stp_io_id id)
{
	conn *c;
	int rc = fake_conn(io, id, &c);
	return rc < 0 ? rc : c->closed_by_code;
}

int stp_fake_peer_close(stp_io *io, stp_io_id id)
{
	conn *c;
	int rc = fake_conn(io, id, &c);
	if (rc < 0)
		return rc;
	if (c->closed_by_peer)
		return STP_ECLOSED;
	c->closed_by_peer = 1;
	queue(io, W_CLOSED, id);
	return 0;
}

int stp_fake_run_one(stp_io *io)
{
	if (!io || !io->fake)
		return STP_EINVAL;
	/* held deliveries whose time has come */
	for (size_t i = 0; i < io->nc; i++)
		if (io->c[i].hold_until && !held(io, &io->c[i])) {
			io->c[i].hold_until = 0;
			queue(io, W_DELIVER, (stp_io_id)i + 1);
		}
	if (io->qlen == 0)
		return 0;
	work w = io->q[io->qhead];
	io->qhead = (io->qhead + 1) % io->qcap;
	io->qlen--;
	conn *c = get(io, w.id);
	void *arg;
	const stp_io_handlers *h = c ? handlers(io, c, &arg) : NULL;
	switch (w.kind) {
	case W_ACCEPT:
		if (h && h->on_accept)
			h->on_accept(io, w.id, arg);
		break;
	case W_WRITABLE:
		if (h && h->on_writable && c && !c->closed_by_code)
			h->on_writable(io, w.id, arg);
		break;
	case W_DELIVER:
		if (!c || c->closed_by_code || held(io, c))
			break;
		if (c->would_block || chance(io)) {
			c->would_block = 0;
			queue(io, W_DELIVER, w.id); /* try again later */
			break;
		}
		if (deliver_one(io, w.id) && (c = get(io, w.id)) && deliverable(c))
			queue(io, W_DELIVER, w.id);
		break;
	case W_CLOSED:
		/* after the data the peer sent before closing */
		if (c && deliverable(c) && !c->closed_by_code) {
			queue(io, W_CLOSED, w.id);
			queue(io, W_DELIVER, w.id);
			break;
		}
		notify_closed(io, w.id);
		break;
	}
	return 1;
}

int stp_fake_run_all(stp_io *io)
{
	if (!io || !io->fake)
		return STP_EINVAL;
	int n = 0, r;
	while ((r = stp_fake_run_one(io)) == 1)
		if (++n >= 1000000)
			return STP_ELIMIT;
	return r < 0 ? r : n;
}

int stp_fake_fault(stp_io *io, stp_io_id id, stp_fault f, size_t arg)
{
	conn *c;
	int rc = fake_conn(io, id, &c);
	if (rc < 0)
		return rc;
	switch (f) {
	case STP_FAULT_RESET:
		c->closed_by_peer = 1;
		buf_free(&c->in); /* a reset loses what was not read */
		queue(io, W_CLOSED, id);
		return 0;
	case STP_FAULT_SHORT_WRITE:
		if (arg == 0)
			return STP_EINVAL;
		c->short_write = arg;
		return 0;
	case STP_FAULT_WOULD_BLOCK:
		c->would_block = 1;
		return 0;
	case STP_FAULT_DELAY:
		if (!io->clock)
			return STP_ESTATE;
		c->delay_ms = arg;
		return 0;
	}
	return STP_EINVAL;
}

int stp_fake_faults_from_seed(stp_io *io, uint64_t seed, unsigned percent)
{
	if (!io || !io->fake || percent > 100)
		return STP_EINVAL;
	stp__rng_seed(&io->rng, seed);
	io->percent = percent;
	return 0;
}

void stp_fake_set_clock(stp_io *io, struct stp_clock *c)
{
	if (io)
		io->clock = c;
}

/* ------------------------------------------------------------------ */
/* The real backend                                                    */
/* ------------------------------------------------------------------ */

static int real_listen(stp_io *io, conn *c, const char *addr)
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

static void real_send(stp_io *io, conn *c)
{
	(void)io;
	while (c->fd >= 0 && c->wire.len) {
		ssize_t n = send(c->fd, c->wire.d, c->wire.len, MSG_NOSIGNAL);
		if (n > 0) {
			buf_take(&c->wire, (size_t)n);
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

void stp_io_stop(stp_io *io)
{
	if (!io || io->fake)
		return;
	atomic_store(&io->stop, 1);
	if (write(io->wake[1], "x", 1) < 0 && errno != EAGAIN)
		stp__panic("write(wake)", errno);
}

static void real_readable(stp_io *io, stp_io_id id)
{
	conn *c = get(io, id);
	if (c->is_listener) {
		int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int nid = add_conn(io);
		if (nid < 0) {
			close(fd);
			return;
		}
		conn *n = get(io, nid);
		n->fd = fd;
		n->listener = id;
		n->accepted = 1;
		void *arg;
		const stp_io_handlers *h = handlers(io, n, &arg);
		if (h && h->on_accept)
			h->on_accept(io, nid, arg);
		return;
	}
	unsigned char tmp[65536];
	ssize_t got = recv(c->fd, tmp, sizeof tmp, 0);
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got > 0 && buf_add(&c->in, tmp, (size_t)got) == 0) {
		while (deliver_one(io, id))
			;
		return;
	}
	c->closed_by_peer = 1;
	while (deliver_one(io, id))
		;
	notify_closed(io, id);
	c = get(io, id);
	if (c->fd >= 0 && !c->closed_by_code) {
		close(c->fd); /* the code closes the id when it likes */
		c->fd = -1;
	}
}

int stp_io_run(stp_io *io, int timeout_ms)
{
	if (!io || io->fake)
		return STP_EINVAL;
	while (!atomic_load(&io->stop)) {
		size_t cap = io->nc + 1, n = 0;
		struct pollfd *fds = calloc(cap, sizeof *fds);
		stp_io_id *ids = calloc(cap, sizeof *ids);
		if (!fds || !ids) {
			free(fds);
			free(ids);
			return STP_ENOMEM;
		}
		fds[n++] = (struct pollfd){ .fd = io->wake[0], .events = POLLIN };
		for (size_t i = 0; i < io->nc; i++) {
			conn *c = &io->c[i];
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
		for (size_t i = 1; r > 0 && i < n; i++) {
			conn *c = get(io, ids[i]);
			if (!c || c->fd != fds[i].fd)
				continue;
			if (fds[i].revents & POLLOUT)
				real_send(io, c);
			if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
				real_readable(io, ids[i]);
		}
		free(fds);
		free(ids);
		if (r == 0)
			break;
	}
	return 0;
}
