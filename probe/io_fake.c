/*
 * io_fake.c - the fake backend: a multiplexer the test drives. The peer's
 * side (connect, send, close, faults) queues work; stp_fake_run_* runs it
 * on the test's thread, so the test decides every order and every split.
 */
#include "io_int.h"

#include <stepper/clock.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

stp_io *stp_io_fake_new(void)
{
	return stp__io_new(&stp__io_fake_ops);
}

static void fake_destroy(stp_io *io)
{
	free(io->fake.q);
}

static void queue(stp_io *io, int kind, stp_io_id id)
{
	if (io->fake.qlen == io->fake.qcap) {
		size_t cap = io->fake.qcap ? 2 * io->fake.qcap : 64;
		stp__io_work *q = malloc(cap * sizeof *q);
		if (!q)
			stp__panic("queue", ENOMEM);
		for (size_t i = 0; i < io->fake.qlen; i++)
			q[i] = io->fake.q[(io->fake.qhead + i) % io->fake.qcap];
		free(io->fake.q);
		io->fake.q = q;
		io->fake.qcap = cap;
		io->fake.qhead = 0;
	}
	io->fake.q[(io->fake.qhead + io->fake.qlen++) % io->fake.qcap] =
		(stp__io_work){ kind, id };
}

static int chance(stp_io *io)
{
	return io->fake.percent && stp__rng_below(&io->fake.rng, 100) < io->fake.percent;
}

/* ------------------------------------------------------------------ */
/* The code's side                                                     */
/* ------------------------------------------------------------------ */

static int fake_listen(stp_io *io, stp__io_conn *c, const char *addr)
{
	(void)io;
	(void)c;
	(void)addr; /* any name will do */
	return 0;
}

/* An armed STP_FAULT_SHORT_WRITE applies to this write, whatever its
 * length, and is used up by it; a seeded one halves a write of 2 bytes or
 * more. */
static int fake_write_take(stp_io *io, stp_io_id id, stp__io_conn *c, size_t *take)
{
	size_t limit = *take;
	if (c->short_armed) {
		c->short_armed = 0;
		limit = c->short_write;
	} else if (chance(io) && *take > 1) {
		limit = *take / 2;
	}
	if (limit < *take) {
		*take = limit;
		queue(io, STP__W_WRITABLE, id);
	}
	return 0;
}

static void fake_nothing(stp_io *io, stp__io_conn *c)
{
	(void)io;
	(void)c; /* the peer reads c->wire with stp_fake_recv */
}

static int fake_run(stp_io *io, int timeout_ms)
{
	(void)io;
	(void)timeout_ms;
	return STP_EINVAL; /* the test runs the work: stp_fake_run_* */
}

static void fake_stop(stp_io *io)
{
	(void)io;
}

const stp__io_ops stp__io_fake_ops = {
	.listen = fake_listen,
	.write_take = fake_write_take,
	.flushed = fake_nothing,
	.closed = fake_nothing,
	.run = fake_run,
	.stop = fake_stop,
	.destroy = fake_destroy,
};

/* ------------------------------------------------------------------ */
/* The peer's side                                                     */
/* ------------------------------------------------------------------ */

static int is_fake(const stp_io *io)
{
	return io && io->ops == &stp__io_fake_ops;
}

static int fake_conn(stp_io *io, stp_io_id id, stp__io_conn **out)
{
	if (!is_fake(io))
		return STP_EINVAL;
	stp__io_conn *c = stp__io_get(io, id);
	if (!c || c->is_listener)
		return STP_ENOENT;
	*out = c;
	return 0;
}

int stp_fake_connect(stp_io *io, stp_io_id listener)
{
	if (!is_fake(io))
		return STP_EINVAL;
	stp__io_conn *l = stp__io_get(io, listener);
	if (!l || !l->is_listener)
		return STP_ENOENT;
	if (l->closed_by_code)
		return STP_ECLOSED;
	int id = stp__io_add_conn(io);
	if (id < 0)
		return id;
	stp__io_conn *c = stp__io_get(io, id);
	c->listener = listener;
	c->pending = 1;
	return id;
}

static int held(stp_io *io, stp__io_conn *c)
{
	return c->hold_until && io->fake.clock && stp_clock_now(io->fake.clock) < c->hold_until;
}

/* The peer's close reaches the code after the data it sent first: behind
 * the deliveries queued, or, when a delay holds data, once the clock
 * releases it (release_held), never by re-queuing itself. */
static void queue_close(stp_io *io, stp__io_conn *c, stp_io_id id)
{
	if (c->hold_until)
		c->close_waits = 1;
	else
		queue(io, STP__W_CLOSED, id);
}

int stp_fake_accept(stp_io *io, stp_io_id id)
{
	stp__io_conn *c;
	int rc = fake_conn(io, id, &c);
	if (rc < 0)
		return rc;
	if (!c->pending)
		return STP_ESTATE;
	c->pending = 0;
	queue(io, STP__W_ACCEPT, id);
	/* what the peer did meanwhile, in its order, after on_accept */
	if (c->in.len && !c->hold_until)
		queue(io, STP__W_DELIVER, id);
	if (c->closed_by_peer)
		queue_close(io, c, id);
	return 0;
}


int stp_fake_send(stp_io *io, stp_io_id id, const void *data, size_t len)
{
	stp__io_conn *c;
	int rc = fake_conn(io, id, &c);
	if (rc < 0)
		return rc;
	if (!data || len == 0)
		return STP_EINVAL;
	if (c->closed_by_code || c->closed_by_peer)
		return STP_ECLOSED;
	if ((rc = stp__io_buf_add(&c->in, data, len)) < 0)
		return rc;
	if (c->delay_ms && io->fake.clock)
		c->hold_until = stp_clock_now(io->fake.clock) + c->delay_ms * 1000000u;
	if (!c->pending && !held(io, c))
		queue(io, STP__W_DELIVER, id);
	return 0;
}

int stp_fake_recv(stp_io *io, stp_io_id id, void *out, size_t cap)
{
	stp__io_conn *c;
	int rc = fake_conn(io, id, &c);
	if (rc < 0)
		return rc;
	size_t n = c->wire.len < cap ? c->wire.len : cap;
	if (n > INT32_MAX)
		n = INT32_MAX;
	if (n == 0)
		return 0;
	memcpy(out, c->wire.d, n);
	stp__io_buf_take(&c->wire, n);
	return (int)n;
}

size_t stp_fake_pending_output(stp_io *io, stp_io_id id)
{
	stp__io_conn *c;
	return fake_conn(io, id, &c) < 0 ? 0 : c->wire.len;
}

int stp_fake_closed(stp_io *io, stp_io_id id)
{
	stp__io_conn *c;
	int rc = fake_conn(io, id, &c);
	return rc < 0 ? rc : c->closed_by_code;
}

int stp_fake_peer_close(stp_io *io, stp_io_id id)
{
	stp__io_conn *c;
	int rc = fake_conn(io, id, &c);
	if (rc < 0)
		return rc;
	if (c->closed_by_peer)
		return STP_ECLOSED;
	c->closed_by_peer = 1;
	if (!c->pending)
		queue_close(io, c, id);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Running the work                                                    */
/* ------------------------------------------------------------------ */

/* Queue the deliveries whose hold the clock has passed, and the peer's
 * close that waited for them. */
static void release_held(stp_io *io)
{
	for (size_t i = 0; i < io->nc; i++) {
		stp__io_conn *c = &io->c[i];
		if (!c->hold_until || c->pending || held(io, c))
			continue;
		c->hold_until = 0;
		queue(io, STP__W_DELIVER, (stp_io_id)i + 1);
		if (c->close_waits) {
			c->close_waits = 0;
			queue(io, STP__W_CLOSED, (stp_io_id)i + 1);
		}
	}
}

static void run_deliver(stp_io *io, stp_io_id id)
{
	stp__io_conn *c = stp__io_get(io, id);
	if (!c || c->closed_by_code || held(io, c))
		return;
	if (c->would_block || chance(io)) {
		c->would_block = 0;
		queue(io, STP__W_DELIVER, id); /* try again later */
		return;
	}
	if (stp__io_deliver_one(io, id) && (c = stp__io_get(io, id)) &&
	    stp__io_deliverable(c))
		queue(io, STP__W_DELIVER, id);
}

static void run_closed(stp_io *io, stp_io_id id)
{
	stp__io_conn *c = stp__io_get(io, id);
	if (c && c->hold_until && !c->closed_by_code) {
		c->close_waits = 1; /* release_held queues the close again */
		return;
	}
	/* after the data the peer sent before closing: a delivery that would
	 * block was queued again behind this close */
	if (c && stp__io_deliverable(c) && !c->closed_by_code) {
		queue(io, STP__W_CLOSED, id);
		queue(io, STP__W_DELIVER, id);
		return;
	}
	stp__io_notify_closed(io, id);
}

int stp_fake_run_one(stp_io *io)
{
	if (!is_fake(io))
		return STP_EINVAL;
	release_held(io);
	if (io->fake.qlen == 0)
		return 0;
	stp__io_work w = io->fake.q[io->fake.qhead];
	io->fake.qhead = (io->fake.qhead + 1) % io->fake.qcap;
	io->fake.qlen--;
	stp__io_conn *c = stp__io_get(io, w.id);
	void *arg;
	const stp_io_handlers *h = c ? stp__io_handlers(io, c, &arg) : NULL;
	switch (w.kind) {
	case STP__W_ACCEPT:
		stp__io_notify_accept(io, w.id);
		break;
	case STP__W_WRITABLE:
		if (h && h->on_writable && !c->closed_by_code && !c->notified_closed)
			h->on_writable(io, w.id, arg);
		break;
	case STP__W_DELIVER:
		run_deliver(io, w.id);
		break;
	case STP__W_CLOSED:
		run_closed(io, w.id);
		break;
	}
	return 1;
}

int stp_fake_run_all(stp_io *io)
{
	if (!is_fake(io))
		return STP_EINVAL;
	int n = 0, r;
	while ((r = stp_fake_run_one(io)) == 1)
		if (++n >= 1000000)
			return STP_ELIMIT;
	return r < 0 ? r : n;
}

/* ------------------------------------------------------------------ */
/* Faults                                                              */
/* ------------------------------------------------------------------ */

int stp_fake_fault(stp_io *io, stp_io_id id, stp_fault f, size_t arg)
{
	stp__io_conn *c;
	int rc = fake_conn(io, id, &c);
	if (rc < 0)
		return rc;
	switch (f) {
	case STP_FAULT_RESET:
		c->closed_by_peer = 1;
		stp__io_buf_free(&c->in); /* a reset loses what was not read */
		c->hold_until = 0;
		c->close_waits = 0;
		if (!c->pending)
			queue(io, STP__W_CLOSED, id);
		return 0;
	case STP_FAULT_SHORT_WRITE:
		c->short_armed = 1;
		c->short_write = arg;
		return 0;
	case STP_FAULT_WOULD_BLOCK:
		c->would_block = 1;
		return 0;
	case STP_FAULT_DELAY:
		if (!io->fake.clock)
			return STP_ESTATE;
		c->delay_ms = arg;
		return 0;
	}
	return STP_EINVAL;
}

int stp_fake_faults_from_seed(stp_io *io, uint64_t seed, unsigned percent)
{
	if (!is_fake(io) || percent > 100)
		return STP_EINVAL;
	stp__rng_seed(&io->fake.rng, seed);
	io->fake.percent = percent;
	return 0;
}

void stp_fake_set_clock(stp_io *io, struct stp_clock *c)
{
	if (is_fake(io))
		io->fake.clock = c;
}
