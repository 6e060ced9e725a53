/*
 * io_int.h - what io.c (the registry, buffers, read policies and the
 * dispatch of stp_io_* calls) shares with its two backends, io_real.c
 * and io_fake.c. Internal: not installed.
 *
 * A backend is one table of operations (stp__io_ops). The shared code
 * does what both backends do the same way (ids, buffers, policies, the
 * closed states) and calls the table for what differs.
 */
#ifndef STEPPER_IO_INT_H
#define STEPPER_IO_INT_H

#include "io.h"
#include "prng.h"
#include "handoff.h" /* stp__panic */

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct stp__io_buf {
	unsigned char *d;
	size_t len, cap;
} stp__io_buf;

typedef struct stp__io_conn {
	int used, is_listener;
	stp_io_id listener;   /* connections: the listener they came from */
	stp_io_handlers h;    /* listeners */
	void *arg;            /* listeners */
	stp_read_policy pol;
	size_t n;
	stp__io_buf in;       /* received, not yet delivered */
	stp__io_buf out;      /* written, not yet flushed */
	stp__io_buf wire;     /* flushed: the peer reads it (fake), or send() does (real) */
	int closed_by_code;   /* stp_io_close was called */
	int closed_by_peer;   /* the peer closed or reset (the code may not know yet) */
	int notified_closed;  /* the code was told: on_closed is running or ran;
			       * writes fail from then on, on both backends */
	/* real backend */
	int fd, port;
	/* fake backend */
	int pending;          /* connected, not yet accepted: nothing reaches the code */
	int close_waits;      /* the peer closed behind data a delay holds */
	int short_armed;      /* STP_FAULT_SHORT_WRITE: the next write ... */
	size_t short_write;   /* ... accepts at most this many bytes */
	int would_block;
	uint64_t delay_ms, hold_until;
} stp__io_conn;

/* What differs between the backends. Every member is set. */
typedef struct stp__io_ops {
	/* Set up a listener for addr; c is registered already. */
	int (*listen)(stp_io *io, stp__io_conn *c, const char *addr);
	/* A write of *take bytes (1 or more) to a connection open on both
	 * sides: 0 with *take lowered to what it accepts now (it may queue
	 * on_writable for the rest), or STP_ECLOSED. */
	int (*write_take)(stp_io *io, stp_io_id id, stp__io_conn *c, size_t *take);
	/* Bytes were moved to c->wire. */
	void (*flushed)(stp_io *io, stp__io_conn *c);
	/* The code closed c (after its flush). */
	void (*closed)(stp_io *io, stp__io_conn *c);
	int (*run)(stp_io *io, int timeout_ms);
	void (*stop)(stp_io *io);
	/* Free what the backend holds (the registry is freed by io.c). */
	void (*destroy)(stp_io *io);
} stp__io_ops;

enum stp__io_work_kind { STP__W_ACCEPT, STP__W_DELIVER, STP__W_CLOSED, STP__W_WRITABLE };

typedef struct stp__io_work {
	int kind;
	stp_io_id id;
} stp__io_work;

struct stp_io {
	const stp__io_ops *ops;
	stp__io_conn *c;
	size_t nc;
	struct {
		stp__io_work *q;
		size_t qhead, qlen, qcap;
		stp__rng rng;
		unsigned percent;
		struct stp_clock *clock;
	} fake;
	struct {
		int wake[2];
		atomic_int stop;
	} real;
};

extern const stp__io_ops stp__io_real_ops;
extern const stp__io_ops stp__io_fake_ops;

/* io.c: a new io on a backend (NULL: out of memory). */
stp_io *stp__io_new(const stp__io_ops *ops);
/* The connection or listener id, or NULL when unknown. */
stp__io_conn *stp__io_get(stp_io *io, stp_io_id id);
/* Register a new connection: its id, or STP_ENOMEM. Pointers into the
 * registry are invalid after it. */
int stp__io_add_conn(stp_io *io);
/* Append n bytes: 0, STP_ELIMIT past STP_IO_MAX_BUFFER, STP_ENOMEM. */
int stp__io_buf_add(stp__io_buf *b, const void *d, size_t n);
/* Drop the first n bytes. */
void stp__io_buf_take(stp__io_buf *b, size_t n);
void stp__io_buf_free(stp__io_buf *b);
/* How many bytes the read policy delivers now (0: none yet). */
size_t stp__io_deliverable(const stp__io_conn *c);
/* Deliver one piece to on_data. Returns 1 if it delivered. */
int stp__io_deliver_one(stp_io *io, stp_io_id id);
/* Run on_accept for id. */
void stp__io_notify_accept(stp_io *io, stp_io_id id);
/* Tell the code the peer is gone (once; never after the code closed). */
void stp__io_notify_closed(stp_io *io, stp_io_id id);
/* The handlers and arg of the listener c belongs to (NULL: none). */
const stp_io_handlers *stp__io_handlers(stp_io *io, stp__io_conn *c, void **arg);

#endif
