/*
 * autoproto.h - the messages between `stepper run --auto` (the CLI) and
 * the fork server in libstepper-auto.so (stepper/auto/server.c).
 *
 * The CLI starts the program once with STEPPER_AUTO=1 and
 * STEPPER_AUTO_FD=<fd>, one end of a SOCK_SEQPACKET socketpair. Before
 * main, the preload sends HELLO and serves: for each RUN it makes a child
 * of the CLI (clone with CLONE_PARENT: the CLI waits for it and kills its
 * group as it does for any run), which takes RUN's environment, points
 * fds 1 and 2 at RUN's log and runs the program's main under control; the
 * server answers STARTED with the child's pid (or -errno). EOF on the
 * socket ends the server.
 */
#ifndef STEPPER_AUTOPROTO_H
#define STEPPER_AUTOPROTO_H

#include <stdint.h>

#define STP_AUTO_MAGIC 0x41505453u /* "STPA" */
#define STP_AUTO_VERSION 1u
/* The largest RUN message: the log path and the environment. */
#define STP_AUTO_MAX_MSG (256u * 1024u)

enum { STP_AUTO_HELLO = 1, STP_AUTO_RUN = 2, STP_AUTO_STARTED = 3 };

typedef struct stp_auto_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t type;
	int32_t value; /* HELLO: the server's pid; STARTED: the child's pid, or -errno */
} stp_auto_hdr;

/* RUN: the header, then the log path and each KEY=VALUE of the child's
 * environment, each ending in '\0'; value counts the environment's
 * entries. */

#endif
