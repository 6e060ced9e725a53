/*
 * io.c - the I/O interface: the connection registry, buffers and read
 * policies both backends share, and the stp_io_* calls, which do the
 * shared part and hand the rest to the backend's table of operations
 * (io_real.c: sockets and poll(); io_fake.c: the test's multiplexer).
 */
#include "io_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Registry and buffers                                                */
/* ------------------------------------------------------------------ */

stp__io_conn *stp__io_get(stp_io *io, stp_io_id id)
{
	if (!io || id < 1 || (size_t)id > io->nc || !io->c[id - 1].used)
		return NULL;
	return &io->c[id - 1];
}

int stp__io_add_conn(stp_io *io)
{
	stp__io_conn *c = realloc(io->c, (io->nc + 1) * sizeof *c);
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

int stp__io_buf_add(stp__io_buf *b, const void *d, size_t n)
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

void stp__io_buf_take(stp__io_buf *b, size_t n)
{
	if (n == 0)
		return;
	memmove(b->d, b->d + n, b->len - n);
	b->len -= n;
}

void stp__io_buf_free(stp__io_buf *b)
{
	free(b->d);
	*b = (stp__io_buf){ 0 };
}

const stp_io_handlers *stp__io_handlers(stp_io *io, stp__io_conn *c, void **arg)
{
	stp__io_conn *l =
		stp__io_get(io, c->is_listener ? (stp_io_id)(c - io->c) + 1 : c->listener);
	*arg = l ? l->arg : NULL;
	return l ? &l->h : NULL;
}

/* ------------------------------------------------------------------ */
/* Making and freeing                                                  */
/* ------------------------------------------------------------------ */

stp_io *stp__io_new(const stp__io_ops *ops)
{
	stp_io *io = calloc(1, sizeof *io);
	if (!io)
		return NULL;
	io->ops = ops;
	io->real.wake[0] = io->real.wake[1] = -1;
	return io;
}

void stp_io_free(stp_io *io)
{
	if (!io)
		return;
	io->ops->destroy(io);
	for (size_t i = 0; i < io->nc; i++) {
		stp__io_buf_free(&io->c[i].in);
		stp__io_buf_free(&io->c[i].out);
		stp__io_buf_free(&io->c[i].wire);
	}
	free(io->c);
	free(io);
}

/* ------------------------------------------------------------------ */
/* The code under test's calls                                         */
/* ------------------------------------------------------------------ */

int stp_io_listen(stp_io *io, const char *addr, const stp_io_handlers *h, void *arg)
{
	if (!io || !addr || !h)
		return STP_EINVAL;
	int id = stp__io_add_conn(io);
	if (id < 0)
		return id;
	stp__io_conn *c = stp__io_get(io, id);
	c->is_listener = 1;
	c->h = *h;
	c->arg = arg;
	int rc = io->ops->listen(io, c, addr);
	if (rc < 0) {
		c->used = 0;
		return rc;
	}
	return id;
}

int stp_io_port(stp_io *io, stp_io_id listener)
{
	stp__io_conn *c = stp__io_get(io, listener);
	return c && c->is_listener ? c->port : STP_ENOENT;
}

int stp_io_read_policy(stp_io *io, stp_io_id id, stp_read_policy p, size_t n)
{
	stp__io_conn *c = stp__io_get(io, id);
	if (!c || c->is_listener)
		return STP_ENOENT;
	if (n == 0 || n > STP_IO_MAX_BUFFER || p < STP_READ_AT_MOST || p > STP_READ_AT_LEAST)
		return STP_EINVAL;
	c->pol = p;
	c->n = n;
	return 0;
}

int stp_io_write(stp_io *io, stp_io_id id, const void *data, size_t len)
{
	stp__io_conn *c = stp__io_get(io, id);
	if (!c || c->is_listener)
		return STP_ENOENT;
	if (!data && len)
		return STP_EINVAL;
	/* closed by the code, or by the peer and the code was told so (the
	 * real backend has no socket left then) */
	if (c->closed_by_code || c->notified_closed)
		return STP_ECLOSED;
	if (len == 0)
		return 0;
	size_t take = len;
	int rc = io->ops->write_take(io, id, c, &take);
	if (rc < 0)
		return rc;
	if (take > INT32_MAX)
		take = INT32_MAX;
	rc = stp__io_buf_add(&c->out, data, take);
	return rc < 0 ? rc : (int)take;
}

int stp_io_flush(stp_io *io, stp_io_id id)
{
	stp__io_conn *c = stp__io_get(io, id);
	if (!c || c->is_listener)
		return STP_ENOENT;
	int rc = stp__io_buf_add(&c->wire, c->out.d, c->out.len);
	if (rc < 0)
		return rc;
	c->out.len = 0;
	io->ops->flushed(io, c);
	return 0;
}

int stp_io_close(stp_io *io, stp_io_id id)
{
	stp__io_conn *c = stp__io_get(io, id);
	if (!c)
		return STP_ENOENT;
	if (c->closed_by_code)
		return 0;
	if (!c->is_listener)
		stp_io_flush(io, id);
	c = stp__io_get(io, id);
	c->closed_by_code = 1;
	stp__io_buf_free(&c->in);
	io->ops->closed(io, c);
	return 0;
}

int stp_io_run(stp_io *io, int timeout_ms)
{
	if (!io)
		return STP_EINVAL;
	return io->ops->run(io, timeout_ms);
}

void stp_io_stop(stp_io *io)
{
	if (io)
		io->ops->stop(io);
}

/* ------------------------------------------------------------------ */
/* Delivery by read policy                                             */
/* ------------------------------------------------------------------ */

size_t stp__io_deliverable(const stp__io_conn *c)
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

int stp__io_deliver_one(stp_io *io, stp_io_id id)
{
	stp__io_conn *c = stp__io_get(io, id);
	if (!c || c->closed_by_code)
		return 0;
	size_t n = stp__io_deliverable(c);
	if (!n)
		return 0;
	unsigned char *piece = malloc(n);
	if (!piece)
		stp__panic("deliver", ENOMEM);
	memcpy(piece, c->in.d, n);
	stp__io_buf_take(&c->in, n);
	void *arg;
	const stp_io_handlers *h = stp__io_handlers(io, c, &arg);
	if (h && h->on_data)
		h->on_data(io, id, piece, n, arg);
	free(piece);
	return 1;
}

void stp__io_notify_accept(stp_io *io, stp_io_id id)
{
	stp__io_conn *c = stp__io_get(io, id);
	void *arg;
	const stp_io_handlers *h = c ? stp__io_handlers(io, c, &arg) : NULL;
	if (h && h->on_accept)
		h->on_accept(io, id, arg);
}

void stp__io_notify_closed(stp_io *io, stp_io_id id)
{
	stp__io_conn *c = stp__io_get(io, id);
	if (!c || c->notified_closed || c->closed_by_code)
		return;
	c->notified_closed = 1;
	void *arg;
	const stp_io_handlers *h = stp__io_handlers(io, c, &arg);
	if (h && h->on_closed)
		h->on_closed(io, id, arg);
}
