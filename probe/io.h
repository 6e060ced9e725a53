/*
 * io.h - an event-driven I/O interface for network code, with two
 * backends: real nonblocking sockets with poll() for production, and a
 * fake multiplexer for tests that decides exactly which bytes arrive, in
 * which pieces, and shows what the code wrote back.
 *
 * The code under test listens, sets read policies, writes, flushes and
 * closes through stp_io_*; its handlers get events (a new connection,
 * data, a close by the peer, room to write again). Connections and
 * listeners are named by integer ids, so an unknown or stale id is an
 * error (STP_ENOENT), never a wild pointer.
 *
 * Thread safety: one stp_io is used by one thread at a time; handlers
 * run on the thread that runs the io (stp_io_run, stp_fake_run_*).
 */
#ifndef STEPPER_IO_H
#define STEPPER_IO_H

#include <stddef.h>
#include <stdint.h>

#include <stepper/stepper.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stp_io stp_io;
typedef int stp_io_id;

/* Bytes buffered per connection and direction, at most. */
#define STP_IO_MAX_BUFFER (8u << 20)

typedef enum {
	STP_READ_AT_MOST,  /* deliver whatever is there, up to n bytes at once */
	STP_READ_EXACTLY,  /* deliver in pieces of exactly n bytes */
	STP_READ_AT_LEAST  /* deliver once n bytes are there, all of them */
} stp_read_policy;

typedef struct stp_io_handlers {
	void (*on_accept)(stp_io *io, stp_io_id conn, void *arg);
	void (*on_data)(stp_io *io, stp_io_id conn, const void *data, size_t len,
			void *arg);
	/* The peer closed or reset the connection; the id stays valid until
	 * stp_io_close. From this call on, writes return STP_ECLOSED (on both
	 * backends). */
	void (*on_closed)(stp_io *io, stp_io_id conn, void *arg);
	/* After a write accepted fewer bytes than asked: room again. */
	void (*on_writable)(stp_io *io, stp_io_id conn, void *arg);
} stp_io_handlers;

STP_API stp_io *stp_io_real_new(void);
STP_API stp_io *stp_io_fake_new(void);
/* Frees the io, its connections and their buffers. */
STP_API void stp_io_free(stp_io *io);

/* For the code under test. */
/* Listen on "HOST:PORT" (real: 127.0.0.1:0 picks a port; fake: any
 * string). Handlers are copied; arg is kept. Returns the listener's id. */
STP_API int stp_io_listen(stp_io *io, const char *addr, const stp_io_handlers *h,
			  void *arg);
/* The real backend's listening port. */
STP_API int stp_io_port(stp_io *io, stp_io_id listener);
/* How data is delivered on conn (default: at most 4096). STP_EINVAL for
 * n == 0 or n > STP_IO_MAX_BUFFER. */
STP_API int stp_io_read_policy(stp_io *io, stp_io_id conn, stp_read_policy p, size_t n);
/* Queue bytes to send; nothing leaves before stp_io_flush. Returns the
 * bytes accepted (all of them, unless a fault says fewer, even none: the
 * code tries the rest again on on_writable), or STP_ENOENT, STP_ELIMIT,
 * or STP_ECLOSED once the code closed conn or was told (on_closed) that
 * the peer closed or reset it. A write of 0 bytes does nothing. */
STP_API int stp_io_write(stp_io *io, stp_io_id conn, const void *data, size_t len);
STP_API int stp_io_flush(stp_io *io, stp_io_id conn);
/* Flush and close. The id stays known (stp_fake_* can still read what
 * was written) but takes no more writes. */
STP_API int stp_io_close(stp_io *io, stp_io_id conn);

/* The real backend: serve events until stp_io_stop, or until timeout_ms
 * pass with no event (-1: no limit). Returns 0, or STP_ENOMEM; STP_EINVAL
 * on the fake backend (the test runs its work: stp_fake_run_*). */
STP_API int stp_io_run(stp_io *io, int timeout_ms);
/* End the current run of stp_io_run, or the next one when none is
 * running, and only that one: a later stp_io_run serves again. Any thread
 * (a handler too). Does nothing on the fake backend. */
STP_API void stp_io_stop(stp_io *io);

/* ------------------------------------------------------------------ */
/* The fake backend, for tests                                         */
/* ------------------------------------------------------------------ */

/* A peer connects to listener: the connection is pending until accepted.
 * Returns its id. As with real sockets, the peer may send, close or reset
 * while pending, but nothing reaches the code before on_accept. */
STP_API int stp_fake_connect(stp_io *io, stp_io_id listener);
/* Accept a pending connection: on_accept is queued, then what the peer
 * did while pending (its data, then its close; after a reset only the
 * close: a reset loses the data). */
STP_API int stp_fake_accept(stp_io *io, stp_io_id conn);
/* The peer sends bytes: delivered by the read policy as queued work (one
 * send can become several deliveries, several sends one). STP_ECLOSED
 * when the code closed the connection; STP_ELIMIT past the buffer. */
STP_API int stp_fake_send(stp_io *io, stp_io_id conn, const void *data, size_t len);
/* The peer reads (and consumes) what the code wrote and flushed. Returns
 * the bytes copied into buf. */
STP_API int stp_fake_recv(stp_io *io, stp_io_id conn, void *buf, size_t cap);
/* Bytes written and flushed, not yet read by the peer. */
STP_API size_t stp_fake_pending_output(stp_io *io, stp_io_id conn);
/* 1 when the code closed the connection, 0 if not, or an error. */
STP_API int stp_fake_closed(stp_io *io, stp_io_id conn);
/* The peer closes its side: on_closed comes after the data already sent
 * (data a delay holds, too: the close waits for the clock with it).
 * STP_ECLOSED when the peer closed already. */
STP_API int stp_fake_peer_close(stp_io *io, stp_io_id conn);
/* Run one queued work item: 1 when one ran, 0 when none was queued. */
STP_API int stp_fake_run_one(stp_io *io);
/* Run queued work, including work it queues, until none is left (at most
 * a million items: STP_ELIMIT beyond, a loop). Returns the items run. */
STP_API int stp_fake_run_all(stp_io *io);

typedef enum {
	STP_FAULT_RESET,       /* the peer resets the connection now */
	STP_FAULT_SHORT_WRITE, /* the next write accepts at most arg bytes */
	STP_FAULT_WOULD_BLOCK, /* the next delivery would block once */
	STP_FAULT_DELAY        /* deliveries wait arg ms on the clock (see below) */
} stp_fault;

/* Inject a fault on conn.
 * STP_FAULT_RESET: the peer resets; what was sent and not delivered is
 * lost, and on_closed is queued.
 * STP_FAULT_SHORT_WRITE: the next stp_io_write on conn of 1 byte or more
 * (whatever its length) accepts at most arg bytes, 0 meaning none; when
 * that is fewer than asked, on_writable is queued. That write uses the
 * fault up, even when it asked for arg bytes or fewer.
 * STP_FAULT_WOULD_BLOCK: the next delivery is put back in the queue once.
 * STP_FAULT_DELAY: the io needs a clock (stp_fake_set_clock), else
 * STP_ESTATE; each later send is held until the clock passes arg ms after
 * it, and a peer close waits with it. */
STP_API int stp_fake_fault(stp_io *io, stp_io_id conn, stp_fault f, size_t arg);
/* From a seed: each write of 2 bytes or more accepts half (rounded down),
 * and each delivery would block, with a probability of percent (0..100). */
STP_API int stp_fake_faults_from_seed(stp_io *io, uint64_t seed, unsigned percent);
struct stp_clock;
STP_API void stp_fake_set_clock(stp_io *io, struct stp_clock *c);

/* ------------------------------------------------------------------ */
/* Scenarios: send this input, expect exactly this output               */
/* ------------------------------------------------------------------ */

typedef struct stp_mock {
	/* Start the code on io; return its listener's id (< 0: an error). */
	int (*setup)(stp_io *io, void *arg);
	void (*teardown)(stp_io *io, void *arg); /* may be NULL */
	void *arg;
	const void *input;
	size_t input_len;
	const void *expect;
	size_t expect_len;
	int expect_close; /* the code must have closed the connection */
} stp_mock;

/* One run: a fresh fake io, setup, connect, accept, the input sent in
 * pieces cut at cuts[0..ncuts) (ascending offsets), all work run after
 * each piece; then the output must equal expect. 0, or STP_EMISMATCH with
 * err saying which split and what came. */
STP_API int stp_mock_run(const stp_mock *m, const size_t *cuts, size_t ncuts,
			 char *err, size_t errsize);
/* Every 2-piece split (each byte boundary), then the whole input. */
STP_API int stp_mock_all_2_splits(const stp_mock *m, char *err, size_t errsize);
/* runs random multi-piece splits from seed (the project's PRNG). */
STP_API int stp_mock_random_splits(const stp_mock *m, uint64_t seed, unsigned runs,
				   char *err, size_t errsize);

#ifdef __cplusplus
}
#endif
#endif
