/*
 * server.c - the fork server: one exec of the program, then one cheap
 * child per schedule (autoproto.h has the protocol).
 *
 * The server is the program before its main, single-threaded, holding no
 * lock: a copy of it made by clone is in the state a fresh exec would be
 * in after the constructors. The copy is made with CLONE_PARENT, so it is
 * the CLI's child: the CLI waits for it, times it out and reads its status
 * exactly as for a run it execs. (A raw clone does not update glibc's
 * cached thread id of the copy's first thread; that thread only watches
 * the run, and glibc >= 2.34 signals itself by gettid, so nothing reads
 * it. ASan and TSan builds, whose runtimes need fork's bookkeeping, say
 * so in HELLO and the CLI execs instead.)
 */
#include "auto_int.h"
#include "autoproto.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define NO_SERVER 1
#else
#define NO_SERVER 0
#endif

static int send_hdr(int fd, uint32_t type, int32_t value)
{
	stp_auto_hdr h = { STP_AUTO_MAGIC, STP_AUTO_VERSION, type, value };
	return send(fd, &h, sizeof h, MSG_NOSIGNAL) == (ssize_t)sizeof h ? 0 : -1;
}

/* The child's environment from a RUN message (pointers into msg), or
 * NULL when the message is malformed. */
static char **parse_run(char *msg, size_t len, const char **log)
{
	stp_auto_hdr h;
	if (len < sizeof h)
		return NULL;
	memcpy(&h, msg, sizeof h);
	if (h.magic != STP_AUTO_MAGIC || h.type != STP_AUTO_RUN || h.value < 0 ||
	    (size_t)h.value > len)
		return NULL;
	char **env = calloc((size_t)h.value + 1, sizeof *env);
	if (!env)
		return NULL;
	char *p = msg + sizeof h, *end = msg + len;
	for (int i = -1; i < h.value; i++) {
		char *z = memchr(p, '\0', (size_t)(end - p));
		if (!z) {
			free(env);
			return NULL;
		}
		if (i < 0)
			*log = p;
		else
			env[i] = p;
		p = z + 1;
	}
	return env;
}

/* In the copy: become a run as an exec'd one would start. */
static void become_run(int fd, const char *log, char **env)
{
	close(fd);
	setpgid(0, 0);
	/* the server was started with default dispositions and nothing
	 * blocked, and has changed neither since the constructors (which an
	 * exec would have run too) */
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	close(in);
	close(out);
	clearenv();
	for (size_t i = 0; env[i]; i++)
		putenv(env[i]);
}

static long copies = -1; /* copies made so far, as the copy sees it */

long stp__auto_copy_index(void)
{
	return copies;
}

int stp__auto_serve(int fd)
{
	if (send_hdr(fd, STP_AUTO_HELLO, NO_SERVER ? -ENOSYS : (int32_t)getpid()) < 0 || NO_SERVER)
		_exit(0);
	char *msg = malloc(STP_AUTO_MAX_MSG);
	if (!msg)
		_exit(70);
	for (;;) {
		ssize_t n = recv(fd, msg, STP_AUTO_MAX_MSG, 0);
		if (n <= 0)
			_exit(n == 0 ? 0 : 70); /* the CLI is gone */
		const char *log = NULL;
		char **env = parse_run(msg, (size_t)n, &log);
		if (!env) {
			send_hdr(fd, STP_AUTO_STARTED, -EPROTO);
			continue;
		}
		copies++;
		long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
		if (pid == 0) {
			become_run(fd, log, env);
			return 0; /* the copy goes on to the controlled main */
		}
		free(env);
		send_hdr(fd, STP_AUTO_STARTED, pid > 0 ? (int32_t)pid : -errno);
	}
}
