/*
 * server.c - the barrier controller: one thread and one poll() loop over
 * a wake-up pipe, the listening socket and the clients. Nothing in the
 * loop blocks: sockets are nonblocking, a client's answers go through a
 * bounded buffer flushed on POLLOUT, and the poll timeout is the nearest
 * deadline (a barrier's timeout, a connection's HELLO deadline, a paused
 * listener's retry). Every limit is in barrier/PROTOCOL.md.
 */
#include "barrier_int.h"
#include "base.h"
#include "handoff.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_NODES 512
#define PENDING_EXTRA 64   /* connections without HELLO, beyond the node count */
#define OUT_MAX 4096       /* answer bytes queued for one client */
#define ANSWER_MAX 1024    /* one controller line, LF included */
#define IDLE_LABELS 1024   /* idle labels whose generation is kept */
#define LABEL_BUCKETS 4096 /* a power of two above MAX_NODES + IDLE_LABELS */
#define SNDBUF 16384       /* the kernel's send buffer per client */
#define ACCEPT_BATCH 16    /* accepts per round, so clients are read between */
#define RETRY_MS 1000      /* a paused listener's retry */

typedef struct label {
	struct label *hnext;       /* in its bucket */
	struct label *prev, *next; /* in the active or the idle list */
	int active;                /* someone waits at it */
	unsigned waiting;
	uint64_t generation; /* completed generations */
	uint64_t first_ns;   /* first arrival of the current one */
	char name[STP_BARRIER_MAX_NAME + 1];
} label;

typedef struct lablist {
	label *head, *tail;
	size_t n;
} lablist;

typedef struct client {
	int fd; /* -1: a free slot */
	int hello;
	int dead;        /* close it when this round's work is done */
	const char *why; /* for the log, when it is closed */
	uint64_t since_ns;
	label *waiting;
	char name[STP_BARRIER_MAX_NAME + 1];
	char in[STP_BARRIER_MAX_LINE + 2]; /* a line's content, CR, LF */
	size_t inlen;
	char out[OUT_MAX];
	size_t outlen;
} client;

struct stp_bserver {
	int lfd, spare, wake[2];
	pthread_t tid;
	atomic_int stop;
	_Atomic uint64_t hello_ms;
	unsigned nodes, registered;
	uint64_t timeout_ms;
	uint64_t retry_ns; /* the listener is paused until then (0: not) */
	char token[STP_BARRIER_MAX_NAME + 1];
	char addr[32];
	client *clients;
	size_t nclients, pending_max;
	struct pollfd *fds;
	client **who;
	label *buckets[LABEL_BUCKETS];
	lablist active, idle;
	char left[STP_BARRIER_MAX_NAME + 1]; /* the first node that left */
	pthread_mutex_t mu; /* guards log, last_event, counts */
	FILE *log;
	char last_event[ANSWER_MAX];
	stp__bserver_counts counts;
};

static void lock(pthread_mutex_t *mu)
{
	int rc = pthread_mutex_lock(mu);
	if (rc)
		stp__panic("pthread_mutex_lock", rc);
}

static void unlock(pthread_mutex_t *mu)
{
	int rc = pthread_mutex_unlock(mu);
	if (rc)
		stp__panic("pthread_mutex_unlock", rc);
}

static void say(stp_bserver *s, const char *fmt, ...) STP_PRINTF(2, 3);
static void say(stp_bserver *s, const char *fmt, ...)
{
	lock(&s->mu);
	if (s->log) {
		va_list ap;
		va_start(ap, fmt);
		fputs("controller: ", s->log);
		vfprintf(s->log, fmt, ap);
		fputc('\n', s->log);
		fflush(s->log);
		va_end(ap);
	}
	unlock(&s->mu);
}

/* Counted before the client can see the effect, so a test that waits
 * for the effect reads the count. */
static void bump(stp_bserver *s, uint64_t *count)
{
	lock(&s->mu);
	++*count;
	unlock(&s->mu);
}

static void set_last_event(stp_bserver *s, const char *line)
{
	lock(&s->mu);
	snprintf(s->last_event, sizeof s->last_event, "%s", line);
	unlock(&s->mu);
}

/* ------------------------------------------------------------------ */
/* Output: bounded, never blocking                                     */
/* ------------------------------------------------------------------ */

static void kill_client(client *c, const char *why)
{
	if (!c->dead) {
		c->dead = 1;
		c->why = why;
	}
}

/* Write what the kernel takes now; the rest waits for POLLOUT. */
static void flush(client *c)
{
	while (c->outlen) {
		ssize_t n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				kill_client(c, "disconnected");
			return;
		}
		c->outlen -= (size_t)n;
		memmove(c->out, c->out + n, c->outlen);
	}
}

static void send_line(stp_bserver *s, client *c, const char *fmt, ...) STP_PRINTF(3, 4);
static void send_line(stp_bserver *s, client *c, const char *fmt, ...)
{
	char line[ANSWER_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (c->dead || n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	if (c->outlen + (size_t)n > sizeof c->out) {
		/* it does not read its answers: as if it had left */
		bump(s, &s->counts.slow);
		kill_client(c, "closed: it does not read its answers");
		return;
	}
	memcpy(c->out + c->outlen, line, (size_t)n);
	c->outlen += (size_t)n;
	flush(c);
}

/* Answer ERR and close; returns -1. */
static int refuse(stp_bserver *s, client *c, const char *fmt, ...) STP_PRINTF(3, 4);
static int refuse(stp_bserver *s, client *c, const char *fmt, ...)
{
	char reason[ANSWER_MAX - 8];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	say(s, "%s: ERR %s; connection closed", c->hello ? c->name : "a connection", reason);
	send_line(s, c, "ERR %s", reason);
	kill_client(c, "closed after an ERR");
	return -1;
}

/* ------------------------------------------------------------------ */
/* Labels: a hash table; idle ones kept in LRU order, up to a bound    */
/* ------------------------------------------------------------------ */

static size_t bucket(const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h & (LABEL_BUCKETS - 1);
}

static void list_remove(lablist *li, label *l)
{
	*(l->prev ? &l->prev->next : &li->head) = l->next;
	*(l->next ? &l->next->prev : &li->tail) = l->prev;
	l->prev = l->next = NULL;
	li->n--;
}

static void list_append(lablist *li, label *l)
{
	l->prev = li->tail;
	l->next = NULL;
	*(li->tail ? &li->tail->next : &li->head) = l;
	li->tail = l;
	li->n++;
}

static void label_destroy(stp_bserver *s, label *l)
{
	label **pp = &s->buckets[bucket(l->name)];
	while (*pp != l)
		pp = &(*pp)->hnext;
	*pp = l->hnext;
	free(l);
}

/* Nobody waits at l any more: it joins the idle labels, and the one idle
 * for longest goes when there are too many. */
static void label_rest(stp_bserver *s, label *l)
{
	l->waiting = 0;
	l->first_ns = 0;
	if (!l->active)
		return;
	l->active = 0;
	list_remove(&s->active, l);
	list_append(&s->idle, l);
	if (s->idle.n > IDLE_LABELS) {
		label *old = s->idle.head;
		list_remove(&s->idle, old);
		label_destroy(s, old);
	}
}

/* The label name, made active; NULL when out of memory. */
static label *label_get(stp_bserver *s, const char *name)
{
	size_t b = bucket(name);
	label *l = s->buckets[b];
	while (l && strcmp(l->name, name) != 0)
		l = l->hnext;
	if (!l) {
		if (!(l = calloc(1, sizeof *l)))
			return NULL;
		snprintf(l->name, sizeof l->name, "%s", name);
		l->hnext = s->buckets[b];
		s->buckets[b] = l;
	} else if (!l->active) {
		list_remove(&s->idle, l);
	}
	if (!l->active) {
		l->active = 1;
		list_append(&s->active, l);
	}
	return l;
}

/* Everyone waiting at l gets the same line; l rests. */
static void release(stp_bserver *s, label *l, const char *fmt, ...) STP_PRINTF(3, 4);
static void release(stp_bserver *s, label *l, const char *fmt, ...)
{
	char line[ANSWER_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (strncmp(line, "OK ", 3) != 0)
		set_last_event(s, line);
	for (size_t k = 0; k < s->nclients; k++) {
		client *c = &s->clients[k];
		if (c->fd >= 0 && c->waiting == l) {
			c->waiting = NULL;
			send_line(s, c, "%s", line);
		}
	}
	label_rest(s, l);
}

/* The joined nodes not waiting at l, and "?" for each node that never
 * joined; cut with "..." where the line would grow too long. */
static void missing(stp_bserver *s, const label *l, char *buf, size_t size)
{
	size_t len = 0, left = s->nodes - s->registered;
	int cut = 0;
	buf[0] = '\0';
	for (size_t k = 0; k <= s->nclients && !cut; k++) {
		const client *c = k < s->nclients ? &s->clients[k] : NULL;
		const char *name = c ? c->name : "?";
		if (c && (c->fd < 0 || !c->hello || c->waiting == l))
			continue;
		for (size_t r = c ? 1 : left; r > 0 && !cut; r--) {
			size_t need = strlen(name) + (len ? 1 : 0);
			if (len + need + sizeof ",..." > size) {
				cut = 1;
				break;
			}
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : "", name);
		}
	}
	if (cut)
		snprintf(buf + len, size - len, "%s...", len ? "," : "");
}

static uint64_t label_deadline(const stp_bserver *s, const label *l)
{
	if (!s->timeout_ms || !l->waiting)
		return UINT64_MAX;
	return stp__deadline_ns(l->first_ns, s->timeout_ms);
}

static void check_timeouts(stp_bserver *s, uint64_t now)
{
	for (label *l = s->active.head, *next; l; l = next) {
		next = l->next;
		uint64_t dl = label_deadline(s, l);
		if (dl == UINT64_MAX || now < dl)
			continue;
		char miss[ANSWER_MAX - 128];
		missing(s, l, miss, sizeof miss);
		say(s, "'%s' timed out after %llu ms: %u/%u arrived, missing %s", l->name,
		    (unsigned long long)s->timeout_ms, l->waiting, s->nodes, miss);
		release(s, l, "TIMEOUT %s %u/%u missing=%s", l->name, l->waiting, s->nodes, miss);
	}
}

/* ------------------------------------------------------------------ */
/* Lines from a client                                                 */
/* ------------------------------------------------------------------ */

static int hello(stp_bserver *s, client *c, char **f, int nf)
{
	if (c->hello)
		return refuse(s, c, "second HELLO on this connection");
	if (nf != 2 || !stp_barrier_valid_name(f[0]) || !stp_barrier_valid_name(f[1]))
		return refuse(s, c, "malformed HELLO: expected HELLO <name> <token>, the name of "
				    "1-64 characters [A-Za-z0-9._-]");
	if (strcmp(f[1], s->token) != 0)
		return refuse(s, c, "wrong token");
	if (s->registered >= s->nodes)
		return refuse(s, c, "more nodes than expected");
	for (size_t k = 0; k < s->nclients; k++)
		if (s->clients[k].fd >= 0 && s->clients[k].hello &&
		    strcmp(s->clients[k].name, f[0]) == 0)
			return refuse(s, c, "a node of that name is connected already");
	snprintf(c->name, sizeof c->name, "%s", f[0]);
	c->hello = 1;
	s->registered++;
	say(s, "%s joined (%u/%u)", c->name, s->registered, s->nodes);
	return 0;
}

static int barrier(stp_bserver *s, client *c, char **f, int nf)
{
	if (!c->hello)
		return refuse(s, c, "HELLO first");
	if (nf != 1 || !stp_barrier_valid_name(f[0]))
		return refuse(s, c, "malformed BARRIER: expected BARRIER <label>, the label of "
				    "1-64 characters [A-Za-z0-9._-]");
	if (c->waiting)
		return refuse(s, c, "BARRIER while already waiting");
	if (s->left[0]) {
		char line[ANSWER_MAX];
		snprintf(line, sizeof line, "FAIL %s left=%s", f[0], s->left);
		set_last_event(s, line);
		send_line(s, c, "%s", line);
		return 0;
	}
	label *l = label_get(s, f[0]);
	if (!l)
		return refuse(s, c, "out of memory");
	c->waiting = l;
	if (l->waiting++ == 0)
		l->first_ns = stp__mono_ns();
	say(s, "%s arrived at '%s' (%u/%u)", c->name, l->name, l->waiting, s->nodes);
	if (l->waiting == s->nodes) {
		l->generation++;
		say(s, "'%s' generation %llu complete", l->name, (unsigned long long)l->generation);
		release(s, l, "OK %s %llu", l->name, (unsigned long long)l->generation);
	}
	return 0;
}

/* One line of n bytes (CR LF gone; line[n] may be overwritten). */
static int line_in(stp_bserver *s, client *c, char *line, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
			return refuse(s, c, "a line must be printable ASCII: byte 0x%02x at column %zu",
				      (unsigned)(unsigned char)line[i], i + 1);
	line[n] = '\0';
	/* fields split at single spaces: an empty one makes a bad name */
	char *f[4];
	int nf = 0;
	for (char *p = line; p && nf < 4; nf++) {
		f[nf] = p;
		if ((p = strchr(p, ' ')))
			*p++ = '\0';
	}
	if (strcmp(f[0], "HELLO") == 0)
		return hello(s, c, f + 1, nf - 1);
	if (strcmp(f[0], "BARRIER") == 0)
		return barrier(s, c, f + 1, nf - 1);
	return refuse(s, c, "unknown command: expected HELLO or BARRIER");
}

static void readable(stp_bserver *s, client *c)
{
	ssize_t got = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, 0);
	if (got < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (got <= 0) {
		kill_client(c, "disconnected");
		return;
	}
	c->inlen += (size_t)got;
	size_t start = 0;
	char *nl;
	while (!c->dead && (nl = memchr(c->in + start, '\n', c->inlen - start))) {
		size_t n = (size_t)(nl - (c->in + start));
		if (n && c->in[start + n - 1] == '\r')
			n--;
		if (n > STP_BARRIER_MAX_LINE) {
			refuse(s, c, "line longer than %d bytes", STP_BARRIER_MAX_LINE);
			return;
		}
		line_in(s, c, c->in + start, n);
		start = (size_t)(nl - c->in) + 1;
	}
	if (c->dead)
		return;
	c->inlen -= start;
	memmove(c->in, c->in + start, c->inlen);
	if (c->inlen == sizeof c->in) /* no LF within content + CR LF */
		refuse(s, c, "line longer than %d bytes", STP_BARRIER_MAX_LINE);
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

static void node_left(stp_bserver *s, const char *name, const char *why)
{
	if (!s->left[0])
		snprintf(s->left, sizeof s->left, "%s", name);
	say(s, "%s left (%s)", name, why);
	for (label *l = s->active.head, *next; l; l = next) {
		next = l->next;
		release(s, l, "FAIL %s left=%s", l->name, name);
	}
}

static void close_client(stp_bserver *s, client *c)
{
	flush(c); /* best effort: an ERR usually fits */
	close(c->fd);
	c->fd = -1;
	c->dead = 0;
	if (c->waiting && --c->waiting->waiting == 0)
		label_rest(s, c->waiting);
	c->waiting = NULL;
	s->retry_ns = 0; /* a descriptor is free: listen again */
	if (c->hello) {
		c->hello = 0;
		s->registered--;
		node_left(s, c->name, c->why);
	}
}

/* Close the clients marked dead; closing a node can fail others. */
static void reap(stp_bserver *s)
{
	for (int again = 1; again;) {
		again = 0;
		for (size_t k = 0; k < s->nclients; k++)
			if (s->clients[k].fd >= 0 && s->clients[k].dead) {
				close_client(s, &s->clients[k]);
				again = 1;
			}
	}
}

static uint64_t hello_deadline(const stp_bserver *s, const client *c)
{
	uint64_t ms = atomic_load(&s->hello_ms);
	if (c->fd < 0 || c->hello || c->dead || ms == 0 || ms == UINT64_MAX)
		return UINT64_MAX;
	return stp__deadline_ns(c->since_ns, ms);
}

static void check_hellos(stp_bserver *s, uint64_t now)
{
	for (size_t k = 0; k < s->nclients; k++) {
		client *c = &s->clients[k];
		uint64_t dl = hello_deadline(s, c);
		if (dl != UINT64_MAX && now >= dl) {
			bump(s, &s->counts.evicted);
			refuse(s, c, "no HELLO within %llu ms",
			       (unsigned long long)atomic_load(&s->hello_ms));
		}
	}
}

/* A new connection takes a slot; at the cap for connections without
 * HELLO, the oldest of them makes room. */
static void admit(stp_bserver *s, int fd, uint64_t now)
{
	int size = SNDBUF;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	client *oldest = NULL, *free_slot = NULL;
	size_t pending = 0;
	for (size_t k = 0; k < s->nclients; k++) {
		client *c = &s->clients[k];
		if (c->fd < 0 && !free_slot)
			free_slot = c;
		if (c->fd >= 0 && !c->hello) {
			pending++;
			if (!oldest || c->since_ns < oldest->since_ns)
				oldest = c;
		}
	}
	if (pending >= s->pending_max && oldest) {
		bump(s, &s->counts.evicted);
		refuse(s, oldest, "too many connections without HELLO: the oldest is closed");
		reap(s);
		if (!free_slot)
			free_slot = oldest;
	}
	if (!free_slot) { /* cannot happen: joined + pending_max slots */
		static const char msg[] = "ERR too many connections\n";
		(void)!send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL);
		close(fd);
		return;
	}
	*free_slot = (client){ .fd = fd, .since_ns = now };
}

/* accept() met the open-file limit. Give back the spare descriptor, take
 * the connection only to say why and close it, then take the spare back:
 * the listener does not stay readable, so the loop does not spin. With
 * no spare, stop listening until a client leaves or RETRY_MS pass. */
static void at_file_limit(stp_bserver *s, uint64_t now)
{
	int fd = -1;
	if (s->spare >= 0) {
		close(s->spare);
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			static const char msg[] = "ERR too many open files on the controller\n";
			bump(s, &s->counts.fd_full);
			say(s, "a connection refused: too many open files");
			(void)!send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL);
			close(fd);
		}
		s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0 || s->spare < 0)
		s->retry_ns = stp__deadline_ns(now, RETRY_MS);
}

static void accept_some(stp_bserver *s, uint64_t now)
{
	if (s->spare < 0)
		s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			admit(s, fd, now);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE)
			at_file_limit(s, now);
		else if (errno == ENOBUFS || errno == ENOMEM)
			s->retry_ns = stp__deadline_ns(now, RETRY_MS);
		return; /* EAGAIN, or a connection that went away */
	}
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

/* The nearest deadline as a poll timeout in ms (-1: none). */
static int poll_timeout(stp_bserver *s, uint64_t now)
{
	uint64_t best = s->retry_ns ? s->retry_ns : UINT64_MAX;
	for (const label *l = s->active.head; l; l = l->next) {
		uint64_t dl = label_deadline(s, l);
		best = dl < best ? dl : best;
	}
	for (size_t k = 0; k < s->nclients; k++) {
		uint64_t dl = hello_deadline(s, &s->clients[k]);
		best = dl < best ? dl : best;
	}
	if (best == UINT64_MAX)
		return -1;
	if (best <= now)
		return 0;
	uint64_t ms = (best - now) / 1000000u + 1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static nfds_t poll_set(stp_bserver *s, uint64_t now)
{
	nfds_t n = 0;
	s->fds[n++] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
	if (s->retry_ns && now >= s->retry_ns)
		s->retry_ns = 0;
	/* a paused listener is not polled: it would stay readable */
	s->fds[n++] = (struct pollfd){ .fd = s->retry_ns ? -1 : s->lfd, .events = POLLIN };
	for (size_t k = 0; k < s->nclients; k++) {
		client *c = &s->clients[k];
		if (c->fd < 0)
			continue;
		s->who[n] = c;
		s->fds[n++] = (struct pollfd){ .fd = c->fd,
					       .events = (short)(POLLIN | (c->outlen ? POLLOUT : 0)) };
	}
	lock(&s->mu);
	s->counts.clients = (size_t)n - 2;
	s->counts.labels = s->active.n + s->idle.n;
	s->counts.loops++;
	unlock(&s->mu);
	return n;
}

static void handle_clients(stp_bserver *s, nfds_t n)
{
	for (nfds_t i = 2; i < n; i++) {
		client *c = s->who[i];
		short ev = s->fds[i].revents;
		if (!ev || c->fd != s->fds[i].fd || c->dead)
			continue;
		if (ev & POLLOUT)
			flush(c);
		if (ev & (POLLIN | POLLHUP | POLLERR))
			readable(s, c);
	}
	reap(s);
}

static void *serve(void *p)
{
	stp_bserver *s = p;
	while (!atomic_load(&s->stop)) {
		uint64_t now = stp__mono_ns();
		int timeout = poll_timeout(s, now);
		nfds_t n = poll_set(s, now);
		if (poll(s->fds, n, timeout) < 0) {
			if (errno != EINTR) /* e.g. ENOMEM: wait for a stop, then retry */
				(void)poll(s->fds, 1, RETRY_MS);
			continue;
		}
		if (s->fds[0].revents) {
			char buf[64];
			while (read(s->wake[0], buf, sizeof buf) > 0)
				;
			continue; /* a stop, or a new HELLO deadline */
		}
		handle_clients(s, n);
		now = stp__mono_ns();
		if (s->fds[1].revents)
			accept_some(s, now);
		check_hellos(s, now);
		check_timeouts(s, now);
		reap(s);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Making and freeing                                                  */
/* ------------------------------------------------------------------ */

static void random_token(char *out, size_t size)
{
	unsigned char raw[12];
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		uint64_t t = stp__mono_ns() ^ (uint64_t)getpid();
		memcpy(raw, &t, sizeof t);
		memset(raw + 8, 0x5a, 4);
	}
	for (size_t i = 0; i < sizeof raw && 2 * i + 2 < size; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

static void destroy(stp_bserver *s)
{
	for (size_t k = 0; s->clients && k < s->nclients; k++)
		if (s->clients[k].fd >= 0)
			close(s->clients[k].fd);
	for (size_t b = 0; b < LABEL_BUCKETS; b++)
		for (label *l = s->buckets[b], *next; l; l = next) {
			next = l->hnext;
			free(l);
		}
	int fds[] = { s->lfd, s->spare, s->wake[0], s->wake[1] };
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	pthread_mutex_destroy(&s->mu);
	free(s->clients);
	free(s->fds);
	free(s->who);
	free(s);
}

/* Socket, spare, wake-up pipe; 0 or an errno. */
static int open_fds(stp_bserver *s)
{
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(s->lfd, SOMAXCONN) != 0 || getsockname(s->lfd, (struct sockaddr *)&a, &al) != 0 ||
	    pipe2(s->wake, O_CLOEXEC) != 0 ||
	    fcntl(s->wake[0], F_SETFL, O_NONBLOCK) != 0)
		return errno;
	snprintf(s->addr, sizeof s->addr, "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
	s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC); /* -1 is survivable */
	return 0;
}

static stp_bserver *alloc_server(unsigned nodes)
{
	stp_bserver *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->lfd = s->spare = s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->mu, NULL);
	s->nodes = nodes;
	s->pending_max = (size_t)nodes + PENDING_EXTRA;
	s->nclients = (size_t)nodes + s->pending_max;
	s->clients = calloc(s->nclients, sizeof *s->clients);
	s->fds = calloc(s->nclients + 2, sizeof *s->fds);
	s->who = calloc(s->nclients + 2, sizeof *s->who);
	if (!s->clients || !s->fds || !s->who) {
		destroy(s);
		return NULL;
	}
	for (size_t k = 0; k < s->nclients; k++)
		s->clients[k].fd = -1;
	atomic_init(&s->stop, 0);
	atomic_init(&s->hello_ms, STP_BSERVER_HELLO_TIMEOUT_MS);
	return s;
}

stp_bserver *stp_bserver_new(unsigned nodes, const char *token,
			     uint64_t barrier_timeout_ms, char *err, size_t errsize)
{
	char dummy[8];
	if (!err || !errsize)
		err = dummy, errsize = sizeof dummy;
	err[0] = '\0';
	if (nodes == 0 || nodes > MAX_NODES || (token && !stp_barrier_valid_name(token))) {
		snprintf(err, errsize, "expected 1 to %d nodes and a token of 1-64 characters "
				       "[A-Za-z0-9._-]", MAX_NODES);
		return NULL;
	}
	stp_bserver *s = alloc_server(nodes);
	if (!s) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	s->timeout_ms = barrier_timeout_ms == UINT64_MAX ? 0 : barrier_timeout_ms;
	if (token)
		snprintf(s->token, sizeof s->token, "%s", token);
	else
		random_token(s->token, sizeof s->token);
	int e = open_fds(s);
	if (e) {
		snprintf(err, errsize, "cannot listen on 127.0.0.1: %s", strerror(e));
		destroy(s);
		return NULL;
	}
	if (pthread_create(&s->tid, NULL, serve, s) != 0) {
		snprintf(err, errsize, "cannot start the controller's thread");
		destroy(s);
		return NULL;
	}
	return s;
}

const char *stp_bserver_addr(const stp_bserver *s)
{
	return s ? s->addr : "";
}

const char *stp_bserver_token(const stp_bserver *s)
{
	return s ? s->token : "";
}

static void wake(stp_bserver *s)
{
	while (write(s->wake[1], "x", 1) != 1)
		if (errno != EINTR)
			stp__panic("write(wake)", errno);
}

void stp_bserver_set_hello_timeout(stp_bserver *s, uint64_t ms)
{
	if (!s)
		return;
	atomic_store(&s->hello_ms, ms);
	wake(s);
}

void stp_bserver_set_log(stp_bserver *s, FILE *out)
{
	if (!s)
		return;
	lock(&s->mu);
	s->log = out;
	unlock(&s->mu);
}

const char *stp_bserver_last_event(stp_bserver *s, char *buf, size_t size)
{
	if (!s || !buf || !size)
		return "";
	lock(&s->mu);
	snprintf(buf, size, "%s", s->last_event);
	unlock(&s->mu);
	return buf;
}

void stp__bserver_counts_get(stp_bserver *s, stp__bserver_counts *out)
{
	lock(&s->mu);
	*out = s->counts;
	unlock(&s->mu);
}

void stp_bserver_free(stp_bserver *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, 1);
	wake(s);
	int rc = pthread_join(s->tid, NULL);
	if (rc)
		stp__panic("pthread_join", rc);
	destroy(s);
}
