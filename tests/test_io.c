/*
 * test_io.c - the I/O interface: the fake multiplexer's read policies,
 * work queue and faults; the HTTP example under every split of its
 * request; the same server on real sockets answering curl.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/clock.h>
#include <stepper/io.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "examples/http.h"

static const char request[] = "GET / HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";

/* ------------------------------------------------------------------ */
/* Read policies and the work queue                                    */
/* ------------------------------------------------------------------ */

struct rec {
	char got[16][64];
	int n, accepted, closed, writable;
	stp_io_id id; /* the last connection accepted */
	char log[512]; /* every event in order: "accept data:hi closed" */
	int stop_on_accept, stop_on_closed; /* real backend: end the run there */
	int write_in_closed; /* what a write inside on_closed returned */
};

static void rec_log(struct rec *r, const char *what)
{
	size_t n = strlen(r->log);
	snprintf(r->log + n, sizeof r->log - n, "%s%s", n ? " " : "", what);
}

static void rec_accept(stp_io *io, stp_io_id id, void *arg)
{
	struct rec *r = arg;
	r->accepted++;
	r->id = id;
	rec_log(r, "accept");
	if (r->stop_on_accept)
		stp_io_stop(io);
}

static void rec_data(stp_io *io, stp_io_id id, const void *d, size_t len, void *arg)
{
	(void)io;
	(void)id;
	struct rec *r = arg;
	char what[80];
	snprintf(what, sizeof what, "data:%.*s", (int)len, (const char *)d);
	rec_log(r, what);
	if (r->n < 16)
		snprintf(r->got[r->n++], 64, "%.*s", (int)len, (const char *)d);
}

static void rec_closed(stp_io *io, stp_io_id id, void *arg)
{
	struct rec *r = arg;
	r->closed++;
	rec_log(r, "closed");
	r->write_in_closed = stp_io_write(io, id, "x", 1);
	if (r->stop_on_closed)
		stp_io_stop(io);
}

static void rec_writable(stp_io *io, stp_io_id id, void *arg)
{
	(void)io;
	(void)id;
	struct rec *r = arg;
	r->writable++;
	rec_log(r, "writable");
}

static const stp_io_handlers rec_h = { rec_accept, rec_data, rec_closed, rec_writable };

static stp_io *rec_io(struct rec *r, stp_io_id *conn)
{
	memset(r, 0, sizeof *r);
	stp_io *io = stp_io_fake_new();
	int l = stp_io_listen(io, "fake:80", &rec_h, r);
	*conn = stp_fake_connect(io, l);
	stp_fake_accept(io, *conn);
	stp_fake_run_all(io);
	return io;
}

static void test_read_policies(void **state)
{
	(void)state;
	struct rec r;
	stp_io_id c;
	stp_io *io = rec_io(&r, &c);
	assert_int_equal(r.accepted, 1);
	/* exactly 3: one send becomes several deliveries, the tail waits */
	stp_io_read_policy(io, c, STP_READ_EXACTLY, 3);
	stp_fake_send(io, c, "abcdefghij", 10);
	stp_fake_run_all(io);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.got[0], "abc");
	assert_string_equal(r.got[2], "ghi");
	/* at least 4: "j" + "kl" is not enough, + "m" is */
	stp_io_read_policy(io, c, STP_READ_AT_LEAST, 4);
	stp_fake_send(io, c, "kl", 2);
	stp_fake_run_all(io);
	assert_int_equal(r.n, 3);
	stp_fake_send(io, c, "m", 1);
	stp_fake_run_all(io);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.got[3], "jklm");
	/* at most 100: several sends become one delivery */
	stp_io_read_policy(io, c, STP_READ_AT_MOST, 100);
	stp_fake_send(io, c, "x", 1);
	stp_fake_send(io, c, "y", 1);
	stp_fake_run_all(io);
	assert_int_equal(r.n, 5);
	assert_string_equal(r.got[4], "xy");
	stp_io_free(io);
}

static void test_run_one_item_at_a_time(void **state)
{
	(void)state;
	struct rec r;
	stp_io_id c;
	stp_io *io = rec_io(&r, &c);
	stp_io_read_policy(io, c, STP_READ_EXACTLY, 2);
	stp_fake_send(io, c, "aabbcc", 6);
	assert_int_equal(stp_fake_run_one(io), 1);
	assert_int_equal(r.n, 1); /* and it queued the next delivery */
	assert_int_equal(stp_fake_run_one(io), 1);
	assert_int_equal(stp_fake_run_one(io), 1);
	assert_int_equal(r.n, 3);
	assert_int_equal(stp_fake_run_one(io), 0);
	stp_fake_peer_close(io, c);
	assert_int_equal(stp_fake_run_all(io), 1);
	assert_int_equal(r.closed, 1);
	stp_io_free(io);
}

/* ------------------------------------------------------------------ */
/* The HTTP example on the fake backend                                */
/* ------------------------------------------------------------------ */

static struct http_server server;

static int http_setup(stp_io *io, void *arg)
{
	(void)arg;
	memset(&server, 0, sizeof server);
	return http_listen(io, "fake:80", &server);
}

static void http_teardown(stp_io *io, void *arg)
{
	(void)io;
	(void)arg;
	assert_int_equal(server.live, 0); /* every connection's state freed */
}

static stp_mock http_mock(const char *in, const char *out)
{
	return (stp_mock){ .setup = http_setup, .teardown = http_teardown,
			   .input = in, .input_len = strlen(in), .expect = out,
			   .expect_len = strlen(out), .expect_close = 1 };
}

static void test_valid_request_gets_200_byte_for_byte(void **state)
{
	(void)state;
	char err[1024];
	stp_mock m = http_mock(request, HTTP_OK);
	if (stp_mock_run(&m, NULL, 0, err, sizeof err) != 0)
		fail_msg("%s", err);
}

static void test_other_path_gets_404(void **state)
{
	(void)state;
	char err[1024];
	stp_mock m = http_mock("GET /other HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_NOT_FOUND);
	if (stp_mock_run(&m, NULL, 0, err, sizeof err) != 0)
		fail_msg("%s", err);
	m = http_mock("GET / HTTP/1.0\r\n\r\n", HTTP_NOT_FOUND);
	if (stp_mock_run(&m, NULL, 0, err, sizeof err) != 0)
		fail_msg("%s", err);
}

static void test_every_2_piece_split_gets_the_same_response(void **state)
{
	(void)state;
	char err[1024];
	stp_mock m = http_mock(request, HTTP_OK);
	if (stp_mock_all_2_splits(&m, err, sizeof err) != 0)
		fail_msg("%s", err);
}

static void test_200_random_splits_get_the_same_response(void **state)
{
	(void)state;
	char err[1024];
	stp_mock m = http_mock(request, HTTP_OK);
	if (stp_mock_random_splits(&m, 7, 200, err, sizeof err) != 0)
		fail_msg("%s", err);
}

/* A server that only looks at "\n" breaks on exactly one split: the
 * failure must name it. */
static void naive_data(stp_io *io, stp_io_id id, const void *d, size_t len, void *arg)
{
	(void)arg;
	if (len >= 2 && memcmp(d, "\r\n", 2) == 0) { /* a blank line at a delivery's start */
		stp_io_write(io, id, "early", 5);
		stp_io_close(io, id);
		return;
	}
	if (memmem(d, len, "\r\n\r\n", 4)) {
		stp_io_write(io, id, "ok", 2);
		stp_io_close(io, id);
	}
}

static int naive_setup(stp_io *io, void *arg)
{
	static const stp_io_handlers h = { NULL, naive_data, NULL, NULL };
	return stp_io_listen(io, "fake:80", &h, arg);
}

static void test_a_failing_split_is_named(void **state)
{
	(void)state;
	char err[1024];
	stp_mock m = { .setup = naive_setup, .input = "ab\r\n\r\n", .input_len = 6,
		       .expect = "ok", .expect_len = 2, .expect_close = 1 };
	assert_int_equal(stp_mock_all_2_splits(&m, err, sizeof err), STP_EMISMATCH);
	assert_string_equal(err, "split at 2 (between \"b\" and \"\\r\"): expected \"ok\", "
				 "got \"early\"");
}

static void test_peer_closing_mid_request_leaks_nothing(void **state)
{
	(void)state;
	stp_io *io = stp_io_fake_new();
	memset(&server, 0, sizeof server);
	int l = http_listen(io, "fake:80", &server);
	for (int i = 0; i < 10; i++) {
		int c = stp_fake_connect(io, l);
		stp_fake_accept(io, c);
		stp_fake_send(io, c, "GET / HT", 8);
		stp_fake_peer_close(io, c);
	}
	stp_fake_run_all(io);
	assert_int_equal(server.live, 0);
	stp_io_free(io); /* ASan: no leak */
}

/* ------------------------------------------------------------------ */
/* Faults                                                              */
/* ------------------------------------------------------------------ */

static void test_faults_short_writes_would_block_and_reset(void **state)
{
	(void)state;
	stp_io *io = stp_io_fake_new();
	memset(&server, 0, sizeof server);
	int l = http_listen(io, "fake:80", &server);
	int c = stp_fake_connect(io, l);
	stp_fake_accept(io, c);
	stp_fake_run_all(io);
	stp_fake_fault(io, c, STP_FAULT_SHORT_WRITE, 10);
	stp_fake_fault(io, c, STP_FAULT_WOULD_BLOCK, 0);
	stp_fake_send(io, c, request, strlen(request));
	assert_int_equal(stp_fake_run_one(io), 1); /* would block: nothing yet */
	assert_int_equal(stp_fake_pending_output(io, c), 0);
	stp_fake_run_all(io);
	char out[512] = "";
	int n = stp_fake_recv(io, c, out, sizeof out - 1);
	out[n] = '\0';
	assert_string_equal(out, HTTP_OK); /* the rest went out on on_writable */
	assert_int_equal(stp_fake_closed(io, c), 1);

	c = stp_fake_connect(io, l);
	stp_fake_accept(io, c);
	stp_fake_send(io, c, "GET / HTTP/1.1\r\n", 16);
	stp_fake_run_all(io);
	assert_int_equal(server.live, 1);
	stp_fake_fault(io, c, STP_FAULT_RESET, 0);
	stp_fake_run_all(io);
	assert_int_equal(server.live, 0);
	stp_io_free(io);
}

static void test_seeded_faults_keep_the_response_right(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 100; seed++) {
		stp_io *io = stp_io_fake_new();
		stp_fake_faults_from_seed(io, seed, 40);
		memset(&server, 0, sizeof server);
		int l = http_listen(io, "fake:80", &server);
		int c = stp_fake_connect(io, l);
		stp_fake_accept(io, c);
		for (size_t i = 0; i < strlen(request); i += 5) {
			size_t n = strlen(request) - i < 5 ? strlen(request) - i : 5;
			stp_fake_send(io, c, request + i, n);
		}
		stp_fake_run_all(io);
		char out[512] = "";
		int n = stp_fake_recv(io, c, out, sizeof out - 1);
		out[n] = '\0';
		if (strcmp(out, HTTP_OK) != 0)
			fail_msg("seed %llu: got \"%s\"", (unsigned long long)seed, out);
		stp_io_free(io);
	}
}

static void test_delayed_delivery_waits_for_the_clock(void **state)
{
	(void)state;
	stp_clock *clk = stp_clock_new(0);
	struct rec r;
	stp_io_id c;
	stp_io *io = rec_io(&r, &c);
	stp_fake_set_clock(io, clk);
	assert_int_equal(stp_fake_fault(io, c, STP_FAULT_DELAY, 100), 0);
	stp_fake_send(io, c, "late", 4);
	stp_fake_run_all(io);
	assert_int_equal(r.n, 0);
	stp_clock_advance(clk, STP_MILLIS(99));
	stp_fake_run_all(io);
	assert_int_equal(r.n, 0);
	stp_clock_advance(clk, STP_MILLIS(1));
	stp_fake_run_all(io);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.got[0], "late");
	stp_io_free(io);
	stp_clock_free(clk);
}

/* The real backend cannot tell the code anything about a connection
 * before accept() returns it: the fake must not either. */
static void test_data_and_close_wait_for_accept(void **state)
{
	(void)state;
	struct rec r = { 0 };
	stp_io *io = stp_io_fake_new();
	int l = stp_io_listen(io, "fake:80", &rec_h, &r);
	int c = stp_fake_connect(io, l);
	assert_int_equal(stp_fake_send(io, c, "hi", 2), 0);
	assert_int_equal(stp_fake_peer_close(io, c), 0);
	assert_int_equal(stp_fake_run_all(io), 0); /* nothing for the code yet */
	assert_string_equal(r.log, "");
	assert_int_equal(stp_fake_accept(io, c), 0);
	stp_fake_run_all(io);
	assert_string_equal(r.log, "accept data:hi closed");

	/* a reset before accept: the data is lost, the close is not */
	memset(&r, 0, sizeof r);
	c = stp_fake_connect(io, l);
	stp_fake_send(io, c, "lost", 4);
	assert_int_equal(stp_fake_fault(io, c, STP_FAULT_RESET, 0), 0);
	assert_int_equal(stp_fake_run_all(io), 0);
	assert_string_equal(r.log, "");
	stp_fake_accept(io, c);
	stp_fake_run_all(io);
	assert_string_equal(r.log, "accept closed");
	stp_io_free(io);
}

/* A peer close behind a delivery the clock holds: the close waits for the
 * clock too, with no busy work meanwhile. */
static void test_a_close_behind_a_delayed_delivery_waits_for_the_clock(void **state)
{
	(void)state;
	stp_clock *clk = stp_clock_new(0);
	struct rec r;
	stp_io_id c;
	stp_io *io = rec_io(&r, &c);
	stp_fake_set_clock(io, clk);
	assert_int_equal(stp_fake_fault(io, c, STP_FAULT_DELAY, 100), 0);
	stp_fake_send(io, c, "late", 4);
	stp_fake_peer_close(io, c);
	int ran = stp_fake_run_all(io);
	assert_true(ran >= 0 && ran <= 2);
	assert_string_equal(r.log, "accept");
	stp_clock_advance(clk, STP_MILLIS(99));
	ran = stp_fake_run_all(io);
	assert_true(ran >= 0 && ran <= 2);
	assert_string_equal(r.log, "accept");
	stp_clock_advance(clk, STP_MILLIS(1));
	ran = stp_fake_run_all(io);
	assert_true(ran >= 1 && ran <= 3);
	assert_string_equal(r.log, "accept data:late closed");
	stp_io_free(io);
	stp_clock_free(clk);
}

static void test_a_short_write_fault_applies_to_exactly_the_next_write(void **state)
{
	(void)state;
	struct rec r;
	stp_io_id c;
	stp_io *io = rec_io(&r, &c);
	/* the next write is a 1-byte one: it takes the fault (1 <= 3) */
	assert_int_equal(stp_fake_fault(io, c, STP_FAULT_SHORT_WRITE, 3), 0);
	assert_int_equal(stp_io_write(io, c, "a", 1), 1);
	assert_int_equal(stp_io_write(io, c, "bcdefghij", 9), 9); /* not armed now */
	/* a write of nothing does not count as the next write */
	assert_int_equal(stp_fake_fault(io, c, STP_FAULT_SHORT_WRITE, 4), 0);
	assert_int_equal(stp_io_write(io, c, "", 0), 0);
	assert_int_equal(stp_io_write(io, c, "klmnopqrst", 10), 4);
	assert_int_equal(stp_io_write(io, c, "opqrst", 6), 6);
	stp_fake_run_all(io);
	assert_int_equal(r.writable, 1); /* for the one short write */
	/* 0: the write accepts nothing, and on_writable follows */
	assert_int_equal(stp_fake_fault(io, c, STP_FAULT_SHORT_WRITE, 0), 0);
	assert_int_equal(stp_io_write(io, c, "u", 1), 0);
	stp_fake_run_all(io);
	assert_int_equal(r.writable, 2);
	assert_int_equal(stp_io_write(io, c, "u", 1), 1);
	stp_io_flush(io, c);
	char out[64] = "";
	assert_int_equal(stp_fake_recv(io, c, out, sizeof out - 1), 21);
	assert_string_equal(out, "abcdefghijklmnopqrstu");
	stp_io_free(io);
}

static void reply_data(stp_io *io, stp_io_id id, const void *d, size_t len, void *arg)
{
	rec_data(io, id, d, len, arg);
	stp_io_write(io, id, "reply", 5);
}

/* A write left short while the peer's close was already queued: the code
 * hears of the close, and no on_writable follows it. */
static void test_no_on_writable_after_on_closed(void **state)
{
	(void)state;
	static const stp_io_handlers h = { rec_accept, reply_data, rec_closed, rec_writable };
	struct rec r = { 0 };
	stp_io *io = stp_io_fake_new();
	int l = stp_io_listen(io, "fake:80", &h, &r);
	int c = stp_fake_connect(io, l);
	stp_fake_accept(io, c);
	stp_fake_send(io, c, "hi", 2);
	stp_fake_peer_close(io, c);
	stp_fake_fault(io, c, STP_FAULT_SHORT_WRITE, 2);
	stp_fake_run_all(io);
	assert_string_equal(r.log, "accept data:hi closed");
	stp_io_free(io);
}

/* ------------------------------------------------------------------ */
/* Bad input                                                           */
/* ------------------------------------------------------------------ */

static void test_bad_input_gets_clear_errors(void **state)
{
	(void)state;
	struct rec r;
	stp_io_id c;
	stp_io *io = rec_io(&r, &c);
	assert_int_equal(stp_fake_send(io, 999, "x", 1), STP_ENOENT);
	assert_int_equal(stp_io_write(io, -3, "x", 1), STP_ENOENT);
	assert_int_equal(stp_fake_accept(io, c), STP_ESTATE); /* accepted already */
	assert_int_equal(stp_io_read_policy(io, c, STP_READ_EXACTLY, 0), STP_EINVAL);
	char *big = calloc(16u << 20, 1);
	assert_int_equal(stp_fake_send(io, c, big, 16u << 20), STP_ELIMIT);
	free(big);
	/* nothing lost: what is sent next still arrives */
	stp_fake_send(io, c, "after", 5);
	stp_fake_run_all(io);
	assert_string_equal(r.got[r.n - 1], "after");
	stp_io_close(io, c);
	assert_int_equal(stp_fake_send(io, c, "x", 1), STP_ECLOSED);
	assert_int_equal(stp_io_write(io, c, "x", 1), STP_ECLOSED);
	assert_int_equal(stp_fake_run_one(NULL), STP_EINVAL);
	stp_io_free(io);
}

/* ------------------------------------------------------------------ */
/* The same server on real sockets, and curl                           */
/* ------------------------------------------------------------------ */

/* stp_io_run returns after this long with no event. Only a bound, so that
 * a broken backend fails a test instead of hanging it: every run below
 * ends at the event it waits for, through stp_io_stop in a handler. */
#define RUN_BOUND_MS 10000

/* A blocking client on loopback: the kernel completes the handshake and
 * takes what it sends before the server accepts. */
static int client_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* Close with SO_LINGER 0: the peer gets a reset, not a FIN. */
static void client_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
	close(fd);
}

/* The peer sends "hi" and closes (or resets after the accept); returns
 * what a write after the run returns. */
static int peer_goes_away(int real, int reset, struct rec *r)
{
	memset(r, 0, sizeof *r);
	stp_io *io = real ? stp_io_real_new() : stp_io_fake_new();
	int l = stp_io_listen(io, real ? "127.0.0.1:0" : "fake:80", &rec_h, r);
	assert_true(l > 0);
	if (!real) {
		int c = stp_fake_connect(io, l);
		stp_fake_accept(io, c);
		if (reset) {
			stp_fake_run_all(io);
			stp_fake_fault(io, c, STP_FAULT_RESET, 0);
		} else {
			stp_fake_send(io, c, "hi", 2);
			stp_fake_peer_close(io, c);
		}
		stp_fake_run_all(io);
	} else {
		int fd = client_connect(stp_io_port(io, l));
		if (reset) {
			r->stop_on_accept = 1;
			assert_int_equal(stp_io_run(io, RUN_BOUND_MS), 0);
			r->stop_on_accept = 0;
			client_reset(fd);
		} else {
			assert_int_equal(send(fd, "hi", 2, MSG_NOSIGNAL), 2);
			close(fd);
		}
		r->stop_on_closed = 1;
		assert_int_equal(stp_io_run(io, RUN_BOUND_MS), 0);
	}
	int after = stp_io_write(io, r->id, "y", 1);
	stp_io_free(io);
	return after;
}

/* Once the code is told the peer is gone (in on_closed and after it),
 * writes fail with STP_ECLOSED on both backends. */
static void test_writes_after_the_peer_went_away_fail_on_both_backends(void **state)
{
	(void)state;
	static const char *const want[] = { "accept data:hi closed", "accept closed" };
	for (int reset = 0; reset <= 1; reset++)
		for (int real = 0; real <= 1; real++) {
			struct rec r;
			int after = peer_goes_away(real, reset, &r);
			if (strcmp(r.log, want[reset]) != 0 || r.write_in_closed != STP_ECLOSED ||
			    after != STP_ECLOSED)
				fail_msg("%s backend, peer %s: events \"%s\" (expected \"%s\"); a "
					 "write in on_closed returned %d, after it %d (expected "
					 "%d, STP_ECLOSED)",
					 real ? "real" : "fake", reset ? "reset" : "closed", r.log,
					 want[reset], r.write_in_closed, after, STP_ECLOSED);
		}
}

/* stp_io_stop ends one run (the current one, or the next when none is
 * running); a later run serves again. */
static void test_stop_ends_only_the_current_run(void **state)
{
	(void)state;
	struct rec r = { 0 };
	stp_io *io = stp_io_real_new();
	int l = stp_io_listen(io, "127.0.0.1:0", &rec_h, &r);
	stp_io_stop(io);
	assert_int_equal(stp_io_run(io, RUN_BOUND_MS), 0); /* at once */
	assert_string_equal(r.log, "");
	int fd = client_connect(stp_io_port(io, l));
	assert_int_equal(send(fd, "hi", 2, MSG_NOSIGNAL), 2);
	close(fd);
	r.stop_on_closed = 1;
	assert_int_equal(stp_io_run(io, RUN_BOUND_MS), 0);
	assert_string_equal(r.log, "accept data:hi closed");
	/* the stop's wake-up is used up: a run with nothing to do times out */
	assert_int_equal(stp_io_run(io, 0), 0);
	assert_string_equal(r.log, "accept data:hi closed");
	stp_io_free(io);
}

static void *serve_real(void *arg)
{
	stp_io_run(arg, -1);
	return NULL;
}

static char *run(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char *buf = calloc(1, 4096);
	size_t n = fread(buf, 1, 4095, f);
	buf[n] = '\0';
	pclose(f);
	return buf;
}

static void test_real_backend_serves_curl(void **state)
{
	(void)state;
	stp_io *io = stp_io_real_new();
	struct http_server s = { 0 };
	int l = http_listen(io, "127.0.0.1:0", &s);
	assert_true(l > 0);
	int port = stp_io_port(io, l);
	assert_true(port > 0);
	pthread_t t;
	pthread_create(&t, NULL, serve_real, io);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "curl -s --max-time 10 http://127.0.0.1:%d/", port);
	char *body = run(cmd);
	snprintf(cmd, sizeof cmd,
		 "curl -s --max-time 10 -o /dev/null -w '%%{http_code}' http://127.0.0.1:%d/nope",
		 port);
	char *status = run(cmd);
	stp_io_stop(io);
	pthread_join(t, NULL);
	assert_string_equal(body, "Hi there! :)");
	assert_string_equal(status, "404");
	free(body);
	free(status);
	stp_io_free(io);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_policies),
		cmocka_unit_test(test_run_one_item_at_a_time),
		cmocka_unit_test(test_valid_request_gets_200_byte_for_byte),
		cmocka_unit_test(test_other_path_gets_404),
		cmocka_unit_test(test_every_2_piece_split_gets_the_same_response),
		cmocka_unit_test(test_200_random_splits_get_the_same_response),
		cmocka_unit_test(test_a_failing_split_is_named),
		cmocka_unit_test(test_peer_closing_mid_request_leaks_nothing),
		cmocka_unit_test(test_faults_short_writes_would_block_and_reset),
		cmocka_unit_test(test_seeded_faults_keep_the_response_right),
		cmocka_unit_test(test_delayed_delivery_waits_for_the_clock),
		cmocka_unit_test(test_bad_input_gets_clear_errors),
		cmocka_unit_test(test_data_and_close_wait_for_accept),
		cmocka_unit_test(test_a_close_behind_a_delayed_delivery_waits_for_the_clock),
		cmocka_unit_test(test_a_short_write_fault_applies_to_exactly_the_next_write),
		cmocka_unit_test(test_no_on_writable_after_on_closed),
		cmocka_unit_test(test_writes_after_the_peer_went_away_fail_on_both_backends),
		cmocka_unit_test(test_stop_ends_only_the_current_run),
		cmocka_unit_test(test_real_backend_serves_curl),
	};
	return cmocka_run_group_tests_name("io", tests, NULL, NULL);
}
