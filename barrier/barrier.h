/*
 * barrier.h - rendezvous at named points, for threads of one process and
 * for processes (nodes) of a distributed test.
 *
 * In process: stp_barrier. Across processes: a controller (stp_bserver,
 * or `stepper barrier-server`) on 127.0.0.1 and nodes that connect to it
 * (stp_node) and speak the line protocol of barrier/PROTOCOL.md, which a
 * node in any language can speak.
 *
 * Labels and node names: 1..64 bytes of [A-Za-z0-9._-].
 *
 * Thread safety: an stp_barrier may be used by any number of threads. An
 * stp_node by one thread at a time. The stp_bserver functions from any
 * thread.
 */
#ifndef STEPPER_BARRIER_H
#define STEPPER_BARRIER_H

#include <stddef.h>
#include <stdint.h>

#include <stepper/stepper.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STP_BARRIER_MAX_NAME 64
#define STP_BARRIER_MAX_LINE 256

/* Is s a valid label or node name? */
STP_API int stp_barrier_valid_name(const char *s);

/* ------------------------------------------------------------------ */
/* In process                                                          */
/* ------------------------------------------------------------------ */

typedef struct stp_barrier stp_barrier;

typedef struct stp_barrier_result {
	uint64_t generation; /* of the label, counting from 1 */
	unsigned arrived;    /* on a timeout: who had arrived (self included) */
	unsigned expected;
} stp_barrier_result;

/* A barrier for parties threads. NULL for 0 parties or out of memory. */
STP_API stp_barrier *stp_barrier_new(unsigned parties);
STP_API void stp_barrier_free(stp_barrier *b);
/* Wait at label until parties threads have arrived there, or timeout_ms
 * (real time) passes (UINT64_MAX: no timeout). Each completion starts the label's next generation;
 * a thread arriving after one completed waits for the next. Returns 0, or
 * STP_ETIMEDOUT (the caller leaves the barrier; r says arrived/expected),
 * STP_EINVAL. r may be NULL. */
STP_API int stp_barrier_wait(stp_barrier *b, const char *label,
			     uint64_t timeout_ms, stp_barrier_result *r);

/* ------------------------------------------------------------------ */
/* The controller                                                      */
/* ------------------------------------------------------------------ */

typedef struct stp_bserver stp_bserver;

/* A controller for nodes nodes (1..512), with the given token (1..64
 * bytes of the name set; NULL: a random one) and a barrier timeout in
 * real ms, counted from a label's first arrival. 0 and UINT64_MAX mean
 * no timeout; a deadline past the clock's range never comes. It binds
 * 127.0.0.1 on a port the kernel picks and serves on its own thread
 * until freed; its limits (line length, HELLO deadline, connections,
 * labels) are in barrier/PROTOCOL.md. NULL on error, with err (may be
 * NULL) saying why. */
STP_API stp_bserver *stp_bserver_new(unsigned nodes, const char *token,
				     uint64_t barrier_timeout_ms, char *err,
				     size_t errsize);
/* How long a connection may stay without saying HELLO before the
 * controller closes it, in real ms (default 10000; 0 or UINT64_MAX: no
 * limit). Applies to connections already open too. */
#define STP_BSERVER_HELLO_TIMEOUT_MS 10000
STP_API void stp_bserver_set_hello_timeout(stp_bserver *s, uint64_t ms);
/* "127.0.0.1:PORT" and the token; static for the server's life. */
STP_API const char *stp_bserver_addr(const stp_bserver *s);
STP_API const char *stp_bserver_token(const stp_bserver *s);
/* Log what happens (one line per event) to out, NULL for nothing. The
 * controller's thread writes to out: a stream that blocks (a pipe nobody
 * reads) stalls the controller, so give it one that does not. */
STP_API void stp_bserver_set_log(stp_bserver *s, FILE *out);
/* The last TIMEOUT or FAIL the controller sent, as a line ("" if none). */
STP_API const char *stp_bserver_last_event(stp_bserver *s, char *buf, size_t size);
STP_API void stp_bserver_free(stp_bserver *s);

/* ------------------------------------------------------------------ */
/* A node                                                              */
/* ------------------------------------------------------------------ */

typedef struct stp_node stp_node;

/* Connect to a controller at "127.0.0.1:PORT" and say HELLO. NULL on
 * error, with err (may be NULL) saying why. */
STP_API stp_node *stp_node_connect(const char *addr, const char *name,
				   const char *token, char *err, size_t errsize);
/* Connect as `stepper multinode` says: STEPPER_BARRIER_ADDR,
 * STEPPER_BARRIER_TOKEN and STEPPER_NODE_INDEX (name "node<INDEX>"). */
STP_API stp_node *stp_node_from_env(char *err, size_t errsize);
/* Wait at label. 0 on OK (generation, may be NULL, receives it);
 * STP_ETIMEDOUT (detail: "2/3 missing=node2"), STP_ECLOSED (a node left:
 * detail "left=node1"), STP_EPARSE (ERR from the controller: detail its
 * reason), STP_EIO (the connection broke), STP_EINVAL (a bad label).
 * detail may be NULL. */
STP_API int stp_node_barrier(stp_node *n, const char *label, uint64_t *generation,
			     char *detail, size_t detail_size);
STP_API void stp_node_free(stp_node *n);

#ifdef __cplusplus
}
#endif
#endif
