/*
 * http.h - the first-line HTTP server, written against <stepper/io.h> so
 * the same code runs on real sockets and on the fake multiplexer.
 *
 * It reads request lines ("\r\n"-terminated) in deliveries of at most 128
 * bytes, up to a blank line. If the first line is exactly
 * "GET / HTTP/1.1" it answers 200 with a chunked "Hi there! :)", anything
 * else gets 404; then it closes. Writes may be accepted in part: the rest
 * goes out on on_writable.
 */
#ifndef STEPPER_EXAMPLE_HTTP_H
#define STEPPER_EXAMPLE_HTTP_H

#include <stepper/io.h>

#include <stdlib.h>
#include <string.h>

#define HTTP_OK                                                              \
	"HTTP/1.1 200 OK\r\n"                                                \
	"Content-Type: text/plain\r\n"                                       \
	"Connection: close\r\n"                                              \
	"Transfer-Encoding: chunked\r\n"                                     \
	"\r\n"                                                               \
	"c\r\nHi there! :)\r\n"                                              \
	"0\r\n\r\n"
#define HTTP_NOT_FOUND                                                       \
	"HTTP/1.1 404 Not Found\r\n"                                         \
	"Connection: close\r\n"                                              \
	"Content-Length: 0\r\n"                                              \
	"\r\n"
#define HTTP_MAX_LINE 1024

struct http_conn {
	struct http_conn *next;
	stp_io_id id;
	char line[HTTP_MAX_LINE + 2];
	size_t len;
	int lines;     /* complete lines so far */
	int first_ok;  /* the first line was "GET / HTTP/1.1" */
	const char *reply;
	size_t sent;   /* bytes of reply accepted */
};

struct http_server {
	struct http_conn *conns;
	int live; /* connections with state: 0 after every close */
};

static struct http_conn *http_find(struct http_server *s, stp_io_id id, int unlink)
{
	for (struct http_conn **p = &s->conns; *p; p = &(*p)->next)
		if ((*p)->id == id) {
			struct http_conn *c = *p;
			if (unlink)
				*p = c->next;
			return c;
		}
	return NULL;
}

static void http_forget(struct http_server *s, stp_io *io, stp_io_id id)
{
	struct http_conn *c = http_find(s, id, 1);
	if (c) {
		free(c);
		s->live--;
	}
	stp_io_close(io, id);
}

static void http_send_rest(struct http_server *s, stp_io *io, struct http_conn *c)
{
	size_t total = strlen(c->reply);
	while (c->sent < total) {
		int n = stp_io_write(io, c->id, c->reply + c->sent, total - c->sent);
		if (n <= 0)
			break; /* an error, or no room: on_writable says when */
		c->sent += (size_t)n;
	}
	stp_io_flush(io, c->id);
	if (c->sent == total)
		http_forget(s, io, c->id);
}

static void http_on_accept(stp_io *io, stp_io_id id, void *arg)
{
	struct http_server *s = arg;
	struct http_conn *c = calloc(1, sizeof *c);
	if (!c) {
		stp_io_close(io, id);
		return;
	}
	c->id = id;
	c->next = s->conns;
	s->conns = c;
	s->live++;
	stp_io_read_policy(io, id, STP_READ_AT_MOST, 128);
}

static void http_on_data(stp_io *io, stp_io_id id, const void *data, size_t len, void *arg)
{
	struct http_server *s = arg;
	struct http_conn *c = http_find(s, id, 0);
	const char *d = data;
	for (size_t i = 0; c && !c->reply && i < len; i++) {
		if (c->len >= HTTP_MAX_LINE) { /* a line too long: not a request we serve */
			c->reply = HTTP_NOT_FOUND;
			break;
		}
		c->line[c->len++] = d[i];
		if (c->len < 2 || c->line[c->len - 2] != '\r' || c->line[c->len - 1] != '\n')
			continue;
		c->line[c->len - 2] = '\0';
		if (c->lines++ == 0)
			c->first_ok = strcmp(c->line, "GET / HTTP/1.1") == 0;
		else if (c->len == 2) /* the blank line: the request is complete */
			c->reply = c->first_ok ? HTTP_OK : HTTP_NOT_FOUND;
		c->len = 0;
	}
	if (c && c->reply)
		http_send_rest(s, io, c);
}

static void http_on_writable(stp_io *io, stp_io_id id, void *arg)
{
	struct http_server *s = arg;
	struct http_conn *c = http_find(s, id, 0);
	if (c && c->reply)
		http_send_rest(s, io, c);
}

static void http_on_closed(stp_io *io, stp_io_id id, void *arg)
{
	http_forget(arg, io, id); /* mid-request: drop what we had */
}

static int http_listen(stp_io *io, const char *addr, struct http_server *s)
{
	static const stp_io_handlers h = { http_on_accept, http_on_data, http_on_closed,
					   http_on_writable };
	return stp_io_listen(io, addr, &h, s);
}

#endif
