/*
 * server.c - the barrier controller: one thread, poll() over a listening
 * socket, the clients and a wake-up pipe, with the poll timeout set to the
 * nearest barrier deadline. See barrier/PROTOCOL.md.
 */
#include "barrier.h"
#include "stepper_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connections at once: the expected nodes plus room for strays. */
#define MAX_CLIENTS 1024

typedef struct client {
	int fd;
	int hello;
	char name[STP_BARRIER_MAX_NAME + 1];
	char in[STP_BARRIER_MAX_LINE + 1];
	size_t inlen;
	int waiting; /* index of the label it waits at, or -1 */
} client;

typedef struct label {
	char name[STP_BARRIER_MAX_NAME + 1];
	uint64_t generation; /* completed generations */
	uint64_t first_ns;   /* first arrival of the current one */
	unsigned waiting;
} label;

struct stp_bserver {
	int lfd;
	int wake[2];
	pthread_t tid;
	unsigned nodes;
	uint64_t timeout_ms;
	char token[STP_BARRIER_MAX_NAME + 1];
	char addr[32];
	client *clients; /* MAX_CLIENTS slots */
	label *labels;
	size_t nlabels, caplabels;
	unsigned registered;
	char left[STP_BARRIER_MAX_NAME + 1]; /* the first node that left */
	pthread_mutex_t mu;                  /* guards log and last_event */
	FILE *log;
	char last_event[STP_BARRIER_MAX_LINE * 4];
};

static void say(stp_bserver *s, const char *fmt, ...) STP_PRINTF(2, 3);
static void say(stp_bserver *s, const char *fmt, ...)
{
	pthread_mutex_lock(&s->mu);
	if (s->log) {
		va_list ap;
		va_start(ap, fmt);
		fputs("controller: ", s->log);
		vfprintf(s->log, fmt, ap);
		fputc('\n', s->log);
		fflush(s->log);
		va_end(ap);
	}
	pthread_mutex_unlock(&s->mu);
}

static void send_line(stp_bserver *s, client *c, const char *fmt, ...)
	STP_PRINTF(3, 4);
static void send_line(stp_bserver *s, client *c, const char *fmt, ...)
{
	char line[STP_BARRIER_MAX_LINE * 4];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;
	if (strncmp(line, "TIMEOUT ", 8) == 0 || strncmp(line, "FAIL ", 5) == 0) {
		pthread_mutex_lock(&s->mu);
		snprintf(s->last_event, sizeof s->last_event, "%s", line);
		pthread_mutex_unlock(&s->mu);
	}
	line[n++] = '\n';
	/* best effort: a peer that is gone is noticed by its EOF */
	if (send(c->fd, line, (size_t)n, MSG_NOSIGNAL) < 0)
		return;
}

static void drop(stp_bserver *s, client *c);

static int refuse(stp_bserver *s, client *c, const char *reason)
{
	say(s, "%s%s: ERR %s; connection closed", c->hello ? "" : "a connection",
	    c->hello ? c->name : "", reason);
	send_line(s, c, "ERR %s", reason);
	drop(s, c);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Labels                                                              */
/* ------------------------------------------------------------------ */

static int label_index(stp_bserver *s, const char *name)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (strcmp(s->labels[i].name, name) == 0)
			return (int)i;
	if (s->nlabels == s->caplabels) {
		size_t cap = s->caplabels ? 2 * s->caplabels : 16;
		label *l = realloc(s->labels, cap * sizeof *l);
		if (!l)
			return -1;
		s->labels = l;
		s->caplabels = cap;
	}
	label *l = &s->labels[s->nlabels];
	memset(l, 0, sizeof *l);
	snprintf(l->name, sizeof l->name, "%s", name);
	return (int)s->nlabels++;
}

/* Everyone waiting at label i gets the same line; the label resets. */
static void release(stp_bserver *s, int i, const char *fmt, ...) STP_PRINTF(3, 4);
static void release(stp_bserver *s, int i, const char *fmt, ...)
{
	char line[STP_BARRIER_MAX_LINE * 3];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	for (int k = 0; k < MAX_CLIENTS; k++) {
		client *c = &s->clients[k];
		if (c->fd >= 0 && c->waiting == i) {
			c->waiting = -1;
			send_line(s, c, "%s", line);
		}
	}
	s->labels[i].waiting = 0;
	s->labels[i].first_ns = 0;
}

/* The registered nodes not waiting at label i, and "?" for each node
 * that never connected. */
static void missing(stp_bserver *s, int i, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int k = 0; k < MAX_CLIENTS && len + 2 < size; k++) {
		client *c = &s->clients[k];
		if (c->fd >= 0 && c->hello && c->waiting != i)
			len += (size_t)snprintf(buf + len, size - len, "%s%s",
						len ? "," : "", c->name);
	}
	for (unsigned u = s->registered; u < s->nodes && len + 3 < size; u++)
		len += (size_t)snprintf(buf + len, size - len, "%s?", len ? "," : "");
}

static void check_timeouts(stp_bserver *s, uint64_t now)
{
	if (!s->timeout_ms)
		return;
	for (size_t i = 0; i < s->nlabels; i++) {
		label *l = &s->labels[i];
		if (!l->waiting || now < l->first_ns + s->timeout_ms * 1000000u)
			continue;
		char miss[STP_BARRIER_MAX_LINE * 2];
		missing(s, (int)i, miss, sizeof miss);
		say(s, "'%s' timed out after %llu ms: %u/%u arrived, missing %s", l->name,
		    (unsigned long long)s->timeout_ms, l->waiting, s->nodes, miss);
		release(s, (int)i, "TIMEOUT %s %u/%u missing=%s", l->name, l->waiting,
			s->nodes, miss);
	}
}

/* The earliest barrier deadline, as a poll timeout in ms (-1: none). */
static int poll_timeout(stp_bserver *s, uint64_t now)
{
	if (!s->timeout_ms)
		return -1;
	uint64_t best = UINT64_MAX;
	for (size_t i = 0; i < s->nlabels; i++)
		if (s->labels[i].waiting) {
			uint64_t d = s->labels[i].first_ns + s->timeout_ms * 1000000u;
			if (d < best)
				best = d;
		}
	if (best == UINT64_MAX)
		return -1;
	return best <= now ? 0 : (int)((best - now + 999999u) / 1000000u);
}

/* ------------------------------------------------------------------ */
/* Clients                                                             */
/* ------------------------------------------------------------------ */

static void node_left(stp_bserver *s, const char *name)
{
	if (!s->left[0])
		snprintf(s->left, sizeof s->left, "%s", name);
	say(s, "%s left (disconnected)", name);
	for (size_t i = 0; i < s->nlabels; i++)
		if (s->labels[i].waiting)
			release(s, (int)i, "FAIL %s left=%s", s->labels[i].name, name);
}

static void drop(stp_bserver *s, client *c)
{
	int was = c->hello;
	char name[sizeof c->name];
	snprintf(name, sizeof name, "%s", c->name);
	if (c->waiting >= 0)
		s->labels[c->waiting].waiting--;
	close(c->fd);
	c->fd = -1;
	c->hello = 0;
	c->waiting = -1;
	if (was) {
		s->registered--;
		node_left(s, name);
	}
}

static int hello(stp_bserver *s, client *c, char *args)
{
	char *name = strtok(args, " "), *token = strtok(NULL, " "), *extra = strtok(NULL, " ");
	if (c->hello)
		return refuse(s, c, "second HELLO on this connection");
	if (!name || !token || extra || !stp_barrier_valid_name(name))
		return refuse(s, c, "malformed HELLO: expected HELLO <name> <token>, the "
				    "name of 1-64 characters [A-Za-z0-9._-]");
	if (strcmp(token, s->token) != 0)
		return refuse(s, c, "wrong token");
	if (s->registered >= s->nodes)
		return refuse(s, c, "more nodes than expected");
	for (int k = 0; k < MAX_CLIENTS; k++)
		if (s->clients[k].fd >= 0 && s->clients[k].hello &&
		    strcmp(s->clients[k].name, name) == 0)
			return refuse(s, c, "a node of that name is connected already");
	snprintf(c->name, sizeof c->name, "%s", name);
	c->hello = 1;
	s->registered++;
	say(s, "%s joined (%u/%u)", name, s->registered, s->nodes);
	return 0;
}

static int barrier(stp_bserver *s, client *c, char *args)
{
	char *name = strtok(args, " "), *extra = strtok(NULL, " ");
	if (!c->hello)
		return refuse(s, c, "HELLO first");
	if (!name || extra || !stp_barrier_valid_name(name))
		return refuse(s, c, "malformed BARRIER: expected BARRIER <label>, the "
				    "label of 1-64 characters [A-Za-z0-9._-]");
	if (c->waiting >= 0)
		return refuse(s, c, "BARRIER while already waiting");
	if (s->left[0]) {
		send_line(s, c, "FAIL %s left=%s", name, s->left);
		return 0;
	}
	int i = label_index(s, name);
	if (i < 0)
		return refuse(s, c, "out of memory");
	label *l = &s->labels[i];
	c->waiting = i;
	if (l->waiting++ == 0)
		l->first_ns = stp__mono_ns();
	say(s, "%s arrived at '%s' (%u/%u)", c->name, name, l->waiting, s->nodes);
	if (l->waiting == s->nodes) {
		l->generation++;
		say(s, "'%s' generation %llu complete", name,
		    (unsigned long long)l->generation);
		release(s, i, "OK %s %llu", name, (unsigned long long)l->generation);
	}
	return 0;
}

static int line_in(stp_bserver *s, client *c, char *line)
{
	size_t n = strlen(line);
	if (n && line[n - 1] == '\r')
		line[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
			return refuse(s, c, "a line must be printable ASCII");
	if (strncmp(line, "HELLO ", 6) == 0)
		return hello(s, c, line + 6);
	if (strncmp(line, "BARRIER ", 8) == 0)
		return barrier(s, c, line + 8);
	return refuse(s, c, "unknown command: expected HELLO or BARRIER");
}

static void readable(stp_bserver *s, client *c)
{
	ssize_t got = recv(c->fd, c->in + c->inlen, sizeof c->in - 1 - c->inlen, 0);
	if (got <= 0) {
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		drop(s, c); /* a registered node is reported as left */
		return;
	}
	c->inlen += (size_t)got;
	c->in[c->inlen] = '\0';
	char *start = c->in, *nl;
	while (c->fd >= 0 && (nl = memchr(start, '\n', c->inlen - (size_t)(start - c->in)))) {
		*nl = '\0';
		line_in(s, c, start);
		start = nl + 1;
	}
	if (c->fd < 0)
		return;
	c->inlen -= (size_t)(start - c->in);
	memmove(c->in, start, c->inlen);
	if (c->inlen >= sizeof c->in - 1)
		refuse(s, c, "line longer than 256 bytes");
}

static void *serve(void *p)
{
	stp_bserver *s = p;
	struct pollfd *fds = calloc(MAX_CLIENTS + 2, sizeof *fds);
	int *who = calloc(MAX_CLIENTS + 2, sizeof *who);
	if (!fds || !who) {
		free(fds);
		free(who);
		return NULL;
	}
	for (;;) {
		int n = 0;
		fds[n++] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
		for (int k = 0; k < MAX_CLIENTS; k++)
			if (s->clients[k].fd >= 0) {
				who[n] = k;
				fds[n++] = (struct pollfd){ .fd = s->clients[k].fd,
							    .events = POLLIN };
			}
		int r = poll(fds, (nfds_t)n, poll_timeout(s, stp__mono_ns()));
		if (r < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break; /* stp_bserver_free */
		if (fds[1].revents & POLLIN) {
			int fd = accept(s->lfd, NULL, NULL);
			int k = 0;
			while (k < MAX_CLIENTS && s->clients[k].fd >= 0)
				k++;
			if (fd >= 0 && k == MAX_CLIENTS) {
				send(fd, "ERR too many connections\n", 25, MSG_NOSIGNAL);
				close(fd);
			} else if (fd >= 0) {
				s->clients[k] = (client){ .fd = fd, .waiting = -1 };
			}
		}
		for (int i = 2; i < n; i++)
			if (fds[i].revents && s->clients[who[i]].fd == fds[i].fd)
				readable(s, &s->clients[who[i]]);
		check_timeouts(s, stp__mono_ns());
	}
	free(fds);
	free(who);
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

stp_bserver *stp_bserver_new(unsigned nodes, const char *token,
			     uint64_t barrier_timeout_ms, char *err, size_t errsize)
{
	if (err && errsize)
		err[0] = '\0';
	if (nodes == 0 || nodes > MAX_CLIENTS / 2 || (token && !stp_barrier_valid_name(token))) {
		if (err && errsize)
			snprintf(err, errsize, "expected 1 to %d nodes and a token of 1-64 "
					       "characters [A-Za-z0-9._-]",
				 MAX_CLIENTS / 2);
		return NULL;
	}
	stp_bserver *s = calloc(1, sizeof *s);
	if (!s || !(s->clients = calloc(MAX_CLIENTS, sizeof *s->clients))) {
		free(s);
		if (err && errsize)
			snprintf(err, errsize, "out of memory");
		return NULL;
	}
	for (int k = 0; k < MAX_CLIENTS; k++)
		s->clients[k].fd = -1;
	s->nodes = nodes;
	s->timeout_ms = barrier_timeout_ms;
	pthread_mutex_init(&s->mu, NULL);
	if (token)
		snprintf(s->token, sizeof s->token, "%s", token);
	else
		random_token(s->token, sizeof s->token);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(s->lfd, 128) != 0 || getsockname(s->lfd, (struct sockaddr *)&a, &al) != 0 ||
	    pipe2(s->wake, O_CLOEXEC) != 0) {
		if (err && errsize)
			snprintf(err, errsize, "cannot listen on 127.0.0.1: %s", strerror(errno));
		if (s->lfd >= 0)
			close(s->lfd);
		free(s->clients);
		free(s);
		return NULL;
	}
	snprintf(s->addr, sizeof s->addr, "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
	if (pthread_create(&s->tid, NULL, serve, s) != 0) {
		if (err && errsize)
			snprintf(err, errsize, "cannot start the controller's thread");
		close(s->lfd);
		close(s->wake[0]);
		close(s->wake[1]);
		free(s->clients);
		free(s);
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

void stp_bserver_set_log(stp_bserver *s, FILE *out)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->log = out;
	pthread_mutex_unlock(&s->mu);
}

const char *stp_bserver_last_event(stp_bserver *s, char *buf, size_t size)
{
	if (!s || !buf || !size)
		return "";
	pthread_mutex_lock(&s->mu);
	snprintf(buf, size, "%s", s->last_event);
	pthread_mutex_unlock(&s->mu);
	return buf;
}

void stp_bserver_free(stp_bserver *s)
{
	if (!s)
		return;
	if (write(s->wake[1], "x", 1) != 1)
		stp__panic("write(wake)", errno);
	pthread_join(s->tid, NULL);
	for (int k = 0; k < MAX_CLIENTS; k++)
		if (s->clients[k].fd >= 0)
			close(s->clients[k].fd);
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	pthread_mutex_destroy(&s->mu);
	free(s->clients);
	free(s->labels);
	free(s);
}
