/*
 * test_barrier.c - barriers in process and across processes: meeting,
 * timeouts that say who is missing, nodes that die, latecomers, bad
 * lines, nodes in other languages, and the multinode runner.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/barrier.h>

#include "../barrier/barrier_int.h"
#include "helpers.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *bdir(void)
{
	const char *b = getenv("B");
	return b && *b ? b : "build";
}

/* ------------------------------------------------------------------ */
/* In process                                                          */
/* ------------------------------------------------------------------ */

struct party {
	stp_barrier *b;
	uint64_t gens[3];
	int rc;
};

static void *meet_three_times(void *p)
{
	struct party *x = p;
	for (int i = 0; i < 3; i++) {
		stp_barrier_result r;
		x->rc |= stp_barrier_wait(x->b, "round", 10000, &r);
		x->gens[i] = r.generation;
	}
	return NULL;
}

static void test_in_process_barrier_reuses_labels_by_generation(void **state)
{
	(void)state;
	stp_barrier *b = stp_barrier_new(3);
	struct party p[3];
	pthread_t t[3];
	for (int i = 0; i < 3; i++) {
		p[i] = (struct party){ .b = b };
		pthread_create(&t[i], NULL, meet_three_times, &p[i]);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(p[i].rc, 0);
		for (int g = 0; g < 3; g++)
			assert_int_equal(p[i].gens[g], g + 1);
	}
	stp_barrier_free(b);
}

static void *wait_once(void *p)
{
	struct party *x = p;
	stp_barrier_result r;
	x->rc = stp_barrier_wait(x->b, "start", 200, &r);
	x->gens[0] = r.arrived;
	x->gens[1] = r.expected;
	return NULL;
}

static void test_in_process_timeout_says_arrived_of_expected(void **state)
{
	(void)state;
	/* a wall-clock bound: the timeout is the behaviour under test */
	stp_barrier *b = stp_barrier_new(3);
	struct party p[2] = { { .b = b }, { .b = b } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, wait_once, &p[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	int timeouts = 0;
	for (int i = 0; i < 2; i++) {
		timeouts += p[i].rc == STP_ETIMEDOUT;
		assert_int_equal(p[i].gens[1], 3);
		assert_true(p[i].gens[0] >= 1 && p[i].gens[0] <= 2);
	}
	assert_int_equal(timeouts, 2);
	assert_int_equal(stp_barrier_wait(b, "bad label!", 1, NULL), STP_EINVAL);
	assert_null(stp_barrier_new(0));
	stp_barrier_free(b);
}

/* ------------------------------------------------------------------ */
/* Nodes as threads                                                    */
/* ------------------------------------------------------------------ */

struct tnode {
	stp_bserver *s;
	char name[32];
	const char *labels[128];
	int nlabels;
	int rcs[128];
	uint64_t gens[128];
	char detail[256];
};

static void *run_tnode(void *p)
{
	struct tnode *n = p;
	char err[256];
	stp_node *node = stp_node_connect(stp_bserver_addr(n->s), n->name,
					  stp_bserver_token(n->s), err, sizeof err);
	if (!node) {
		snprintf(n->detail, sizeof n->detail, "%s", err);
		n->rcs[0] = -999;
		return NULL;
	}
	for (int i = 0; i < n->nlabels; i++)
		n->rcs[i] = stp_node_barrier(node, n->labels[i], &n->gens[i], n->detail,
					     sizeof n->detail);
	stp_node_free(node);
	return NULL;
}

static void run_nodes(stp_bserver *s, struct tnode *nodes, int n)
{
	pthread_t *t = calloc((size_t)n, sizeof *t);
	for (int i = 0; i < n; i++) {
		nodes[i].s = s;
		pthread_create(&t[i], NULL, run_tnode, &nodes[i]);
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
}

static void test_three_nodes_meet(void **state)
{
	(void)state;
	stp_bserver *s = stp_bserver_new(3, "tok", 10000, NULL, 0);
	assert_non_null(s);
	assert_int_equal(strncmp(stp_bserver_addr(s), "127.0.0.1:", 10), 0);
	struct tnode n[3] = { { 0 } };
	for (int i = 0; i < 3; i++) {
		snprintf(n[i].name, sizeof n[i].name, "n%d", i);
		n[i].labels[0] = "start";
		n[i].labels[1] = "end";
		n[i].nlabels = 2;
	}
	run_nodes(s, n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(n[i].rcs[0], 0);
		assert_int_equal(n[i].rcs[1], 0);
		assert_int_equal(n[i].gens[0], 1);
	}
	stp_bserver_free(s);
}

static void test_50_nodes_100_labels(void **state)
{
	(void)state;
	static struct tnode n[50];
	static char names[100][16];
	stp_bserver *s = stp_bserver_new(50, NULL, 30000, NULL, 0);
	for (int l = 0; l < 100; l++)
		snprintf(names[l], sizeof names[l], "label-%d", l);
	for (int i = 0; i < 50; i++) {
		memset(&n[i], 0, sizeof n[i]);
		snprintf(n[i].name, sizeof n[i].name, "node%d", i);
		for (int l = 0; l < 100; l++)
			n[i].labels[l] = names[l];
		n[i].nlabels = 100;
	}
	run_nodes(s, n, 50);
	for (int i = 0; i < 50; i++)
		for (int l = 0; l < 100; l++)
			if (n[i].rcs[l] != 0 || n[i].gens[l] != 1)
				fail_msg("node%d label %d: %d %s", i, l, n[i].rcs[l], n[i].detail);
	stp_bserver_free(s);
}

static void test_timeout_tells_everyone_who_is_missing(void **state)
{
	(void)state;
	/* a wall-clock bound: the controller's timeout is under test */
	stp_bserver *s = stp_bserver_new(3, "tok", 1000, NULL, 0);
	char err[256];
	/* n2 says hello but never arrives */
	stp_node *late = stp_node_connect(stp_bserver_addr(s), "n2", "tok", err, sizeof err);
	struct tnode n[2] = { { 0 } };
	for (int i = 0; i < 2; i++) {
		snprintf(n[i].name, sizeof n[i].name, "n%d", i);
		n[i].labels[0] = "ready";
		n[i].nlabels = 1;
	}
	run_nodes(s, n, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(n[i].rcs[0], STP_ETIMEDOUT);
		assert_string_equal(n[i].detail, "2/3 missing=n2");
	}
	char ev[512];
	assert_string_equal(stp_bserver_last_event(s, ev, sizeof ev),
			    "TIMEOUT ready 2/3 missing=n2");
	stp_node_free(late);
	stp_bserver_free(s);
}

static void test_latecomer_starts_the_next_generation(void **state)
{
	(void)state;
	stp_bserver *s = stp_bserver_new(2, "tok", 10000, NULL, 0);
	struct tnode n[2] = { { 0 } };
	for (int i = 0; i < 2; i++) {
		snprintf(n[i].name, sizeof n[i].name, "n%d", i);
		for (int k = 0; k < 5; k++)
			n[i].labels[k] = "again";
		n[i].nlabels = 5;
	}
	run_nodes(s, n, 2);
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < 5; k++) {
			assert_int_equal(n[i].rcs[k], 0);
			/* never an OK meant for an earlier generation */
			assert_int_equal(n[i].gens[k], k + 1);
		}
	stp_bserver_free(s);
}

static void test_two_controllers_do_not_interfere(void **state)
{
	(void)state;
	stp_bserver *a = stp_bserver_new(2, "alpha", 10000, NULL, 0);
	stp_bserver *b = stp_bserver_new(2, "beta", 10000, NULL, 0);
	assert_string_not_equal(stp_bserver_addr(a), stp_bserver_addr(b));
	struct tnode na[2] = { { 0 } }, nb[2] = { { 0 } };
	for (int i = 0; i < 2; i++) {
		snprintf(na[i].name, sizeof na[i].name, "x%d", i);
		snprintf(nb[i].name, sizeof nb[i].name, "x%d", i);
		na[i].labels[0] = nb[i].labels[0] = "same-label";
		na[i].nlabels = nb[i].nlabels = 1;
	}
	run_nodes(a, na, 2);
	run_nodes(b, nb, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(na[i].rcs[0], 0);
		assert_int_equal(nb[i].rcs[0], 0);
	}
	/* a's token at b's address */
	char err[256];
	stp_node *wrong = stp_node_connect(stp_bserver_addr(b), "x9", "alpha", err, sizeof err);
	char detail[256];
	assert_int_equal(stp_node_barrier(wrong, "l", NULL, detail, sizeof detail), STP_EPARSE);
	assert_string_equal(detail, "wrong token");
	stp_node_free(wrong);
	stp_bserver_free(a);
	stp_bserver_free(b);
}

/* ------------------------------------------------------------------ */
/* A node that dies                                                    */
/* ------------------------------------------------------------------ */

static void test_killed_node_fails_the_others_at_once(void **state)
{
	(void)state;
	/* the barrier timeout is a minute: a FAIL must come long before */
	stp_bserver *s = stp_bserver_new(3, "tok", 60000, NULL, 0);
	char prog[256];
	snprintf(prog, sizeof prog, "%s/tests/progs/node", bdir());
	int out[2];
	assert_int_equal(pipe(out), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	char *argv[] = { prog, (char *)stp_bserver_addr(s), "victim", "tok", "meet", NULL };
	pid_t pid;
	assert_int_equal(posix_spawn(&pid, prog, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	/* wait until the victim says it is arriving (its own output) */
	char buf[128];
	FILE *f = fdopen(out[0], "r");
	assert_non_null(fgets(buf, sizeof buf, f));
	assert_string_equal(buf, "arriving at meet\n");

	struct tnode n[1] = { { 0 } };
	snprintf(n[0].name, sizeof n[0].name, "survivor");
	n[0].labels[0] = "meet";
	n[0].labels[1] = "later";
	n[0].nlabels = 2;
	pthread_t t;
	n[0].s = s;
	pthread_create(&t, NULL, run_tnode, &n[0]);
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	pthread_join(t, NULL);
	fclose(f);
	assert_int_equal(n[0].rcs[0], STP_ECLOSED);
	/* later barriers fail at once too: the run cannot complete any more */
	assert_int_equal(n[0].rcs[1], STP_ECLOSED);
	assert_string_equal(n[0].detail, "left=victim");
	stp_bserver_free(s);
}

/* ------------------------------------------------------------------ */
/* Bad lines                                                           */
/* ------------------------------------------------------------------ */

struct pair_half {
	stp_node *n;
	const char *label;
	int rc;
};

static void *pair_half(void *p)
{
	struct pair_half *h = p;
	h->rc = stp_node_barrier(h->n, h->label, NULL, NULL, 0);
	return NULL;
}

/* a and b (both on this test's controller of 2) meet at label. */
static int meet_pair(stp_node *a, stp_node *b, const char *label)
{
	struct pair_half h = { a, label, -1 };
	pthread_t t;
	pthread_create(&t, NULL, pair_half, &h);
	int rc = stp_node_barrier(b, label, NULL, NULL, 0);
	pthread_join(t, NULL);
	return rc != 0 ? rc : h.rc;
}

/* A plain TCP connection to the controller, in blocking mode; rcvbuf
 * (0: the default) sets a small receive buffer before connecting. */
static int raw_connect_addr(const char *addr, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(strchr(addr, ':') + 1)) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

static int raw_connect(stp_bserver *s, int rcvbuf)
{
	return raw_connect_addr(stp_bserver_addr(s), rcvbuf);
}

/* Read until the controller closes; return whether it did (EOF, or a
 * reset when it closed with our unread input still queued). */
static int read_to_close(int fd, char *answer, size_t size)
{
	size_t len = 0;
	ssize_t got;
	answer[0] = '\0';
	while ((got = recv(fd, answer + len, size - 1 - len, 0)) > 0) {
		len += (size_t)got;
		answer[len] = '\0';
	}
	return got == 0 || (got < 0 && errno == ECONNRESET);
}

/* Send len raw bytes; return the controller's answer ("" if none) and
 * whether it then closed the connection. */
static void raw_exchange_n(stp_bserver *s, const char *text, size_t n, char *answer,
			   size_t size, int *closed)
{
	int fd = raw_connect(s, 0);
	assert_int_equal(send(fd, text, n, MSG_NOSIGNAL), (ssize_t)n);
	shutdown(fd, SHUT_WR); /* an accepted line cannot leave us waiting */
	*closed = read_to_close(fd, answer, size);
	close(fd);
}

static void raw_exchange(stp_bserver *s, const char *text, char *answer, size_t size,
			 int *closed)
{
	raw_exchange_n(s, text, strlen(text), answer, size, closed);
}

static void test_bad_lines_get_err_and_the_rest_are_served(void **state)
{
	(void)state;
	char longline[400];
	memset(longline, 'x', sizeof longline - 2);
	longline[sizeof longline - 2] = '\n';
	longline[sizeof longline - 1] = '\0';
	struct {
		const char *text, *want;
	} cases[] = {
		{ "HELLO a\n", "ERR malformed HELLO: expected HELLO <name> <token>" },
		{ "HELLO a tok extra\n", "ERR malformed HELLO" },
		{ "HELLO a/b tok\n", "ERR malformed HELLO" },
		{ "HELLO a wrong\n", "ERR wrong token\n" },
		{ "HELLO a tok\nHELLO a tok\n", "ERR second HELLO on this connection\n" },
		{ "BARRIER x\n", "ERR HELLO first\n" },
		{ "HELLO a tok\nBARRIER bad/label\n", "ERR malformed BARRIER" },
		{ "JUMP now\n", "ERR unknown command: expected HELLO or BARRIER\n" },
		{ "HELLO a tok\x01\n", "ERR a line must be printable ASCII" },
		{ longline, "ERR line longer than 256 bytes\n" },
	};
	/* each on a controller of its own: a node that joined and was then
	 * closed for a bad line has left, and that fails later barriers */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		stp_bserver *s = stp_bserver_new(2, "tok", 10000, NULL, 0);
		char answer[512];
		int closed;
		raw_exchange(s, cases[i].text, answer, sizeof answer, &closed);
		if (!strstr(answer, cases[i].want))
			fail_msg("case %zu: answer \"%s\", wanted \"%s\"", i, answer,
				 cases[i].want);
		assert_true(closed);
		stp_bserver_free(s);
	}

	/* the controller keeps serving the others: a and b meet, strangers
	 * are turned away, and a and b meet again */
	stp_bserver *s = stp_bserver_new(2, "tok", 10000, NULL, 0);
	char err[256], answer[512];
	int closed;
	stp_node *na = stp_node_connect(stp_bserver_addr(s), "a", "tok", err, sizeof err);
	stp_node *nb = stp_node_connect(stp_bserver_addr(s), "b", "tok", err, sizeof err);
	assert_int_equal(meet_pair(na, nb, "first"), 0);
	raw_exchange(s, "HELLO c tok\n", answer, sizeof answer, &closed);
	assert_string_equal(answer, "ERR more nodes than expected\n");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (!strstr(cases[i].text, "HELLO a tok"))
			raw_exchange(s, cases[i].text, answer, sizeof answer, &closed);
	assert_int_equal(meet_pair(na, nb, "second"), 0);
	stp_node_free(na);
	stp_node_free(nb);
	stp_bserver_free(s);
}

/* ------------------------------------------------------------------ */
/* Lines: NUL bytes and the exact length limit                         */
/* ------------------------------------------------------------------ */

static void test_nul_inside_a_line_is_refused(void **state)
{
	(void)state;
	static const char text[] = "HELLO a tok\0junk\n";
	stp_bserver *s = stp_bserver_new(2, "tok", 10000, NULL, 0);
	char answer[512];
	int closed;
	raw_exchange_n(s, text, sizeof text - 1, answer, sizeof answer, &closed);
	assert_string_equal(answer, "ERR a line must be printable ASCII: byte 0x00 at "
				    "column 12\n");
	assert_true(closed);
	stp_bserver_free(s);
}

static void test_line_limit_is_256_bytes_before_lf_or_crlf(void **state)
{
	(void)state;
	struct {
		size_t content;
		const char *end, *want;
	} cases[] = {
		{ 256, "\n", "ERR unknown command: expected HELLO or BARRIER\n" },
		{ 256, "\r\n", "ERR unknown command: expected HELLO or BARRIER\n" },
		{ 257, "\n", "ERR line longer than 256 bytes\n" },
		{ 257, "\r\n", "ERR line longer than 256 bytes\n" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char line[300] = "JUMP ";
		memset(line + 5, 'x', cases[i].content - 5);
		strcpy(line + cases[i].content, cases[i].end);
		stp_bserver *s = stp_bserver_new(2, "tok", 10000, NULL, 0);
		char answer[512];
		int closed;
		raw_exchange(s, line, answer, sizeof answer, &closed);
		if (strcmp(answer, cases[i].want) != 0)
			fail_msg("%zu bytes + %s: answer \"%s\", wanted \"%s\"", cases[i].content,
				 cases[i].end[0] == '\r' ? "CRLF" : "LF", answer, cases[i].want);
		assert_true(closed);
		stp_bserver_free(s);
	}
}

static void test_a_long_missing_list_is_cut_to_fit_the_line(void **state)
{
	(void)state;
	enum { N = 20 };
	/* a wall-clock bound: a 1 ms barrier timeout is the behaviour under test */
	stp_bserver *s = stp_bserver_new(N, "tok", 1, NULL, 0);
	stp_node *n[N];
	char err[256], name[80], detail[2048], line[512];
	int lp[2];
	assert_int_equal(pipe2(lp, O_CLOEXEC), 0);
	FILE *w = fdopen(lp[1], "w"), *r = fdopen(lp[0], "r");
	stp_bserver_set_log(s, w);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "node-%02d-%.*s", i, 55, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		n[i] = stp_node_connect(stp_bserver_addr(s), name, "tok", err, sizeof err);
		assert_non_null(n[i]);
	}
	/* every node joined before the first arrives */
	while (fgets(line, sizeof line, r) && !strstr(line, "joined (20/20)"))
		;
	stp_bserver_set_log(s, NULL);
	fclose(w);
	fclose(r);
	assert_int_equal(stp_node_barrier(n[0], "x", NULL, detail, sizeof detail), STP_ETIMEDOUT);
	char ev[2048];
	stp_bserver_last_event(s, ev, sizeof ev);
	assert_true(strlen(ev) < 1024);
	assert_int_equal(strncmp(ev, "TIMEOUT x 1/20 missing=node-01-", 31), 0);
	assert_string_equal(ev + strlen(ev) - 4, ",...");
	assert_string_equal(strstr(ev, "missing=") + 8, detail + strlen("1/20 missing="));
	for (int i = 0; i < N; i++)
		stp_node_free(n[i]);
	stp_bserver_free(s);
}

/* ------------------------------------------------------------------ */
/* Labels: a hash table, and state freed once a label is idle          */
/* ------------------------------------------------------------------ */

static void test_20000_labels_keep_the_controller_small(void **state)
{
	(void)state;
	stp_bserver *s = stp_bserver_new(1, "tok", 10000, NULL, 0);
	char err[256], label[32], detail[256];
	stp_node *n = stp_node_connect(stp_bserver_addr(s), "solo", "tok", err, sizeof err);
	assert_non_null(n);
	for (int i = 0; i < 20000; i++) {
		uint64_t g = 0;
		snprintf(label, sizeof label, "label-%d", i);
		int rc = stp_node_barrier(n, label, &g, detail, sizeof detail);
		if (rc != 0 || g != 1)
			fail_msg("%s: %d (%s), generation %llu", label, rc, detail,
				 (unsigned long long)g);
	}
	stp__bserver_counts c;
	stp__bserver_counts_get(s, &c);
	if (c.labels > 1024)
		fail_msg("the controller holds %zu labels after 20000 distinct ones", c.labels);
	/* a label used again soon keeps its generations */
	uint64_t g = 0;
	assert_int_equal(stp_node_barrier(n, "label-19999", &g, NULL, 0), 0);
	assert_int_equal(g, 2);
	stp_node_free(n);
	stp_bserver_free(s);
}

/* ------------------------------------------------------------------ */
/* A client that never reads                                           */
/* ------------------------------------------------------------------ */

/* Sends "BARRIER x" lines without ever reading, until the controller
 * closes the connection; started is set after threshold bytes (or at
 * the end, if the controller closed earlier). */
struct flood {
	int fd;
	size_t threshold, sent;
	int err;
	event started;
};

static void *flood(void *p)
{
	struct flood *f = p;
	char chunk[10 * 1024];
	for (size_t i = 0; i < sizeof chunk; i += 10)
		memcpy(chunk + i, "BARRIER x\n", 10);
	int told = 0;
	for (;;) {
		ssize_t n = send(f->fd, chunk, sizeof chunk, MSG_NOSIGNAL);
		if (n < 0) {
			f->err = errno;
			break;
		}
		f->sent += (size_t)n;
		if (!told && f->sent >= f->threshold) {
			event_set(&f->started);
			told = 1;
		}
	}
	if (!told)
		event_set(&f->started);
	return NULL;
}

static void flood_start(struct flood *f, pthread_t *t, int fd)
{
	*f = (struct flood){ .fd = fd, .threshold = 8u << 20 };
	event_init(&f->started);
	pthread_create(t, NULL, flood, f);
	event_wait(&f->started);
}

static void flood_end(struct flood *f, pthread_t t)
{
	pthread_join(t, NULL);
	event_destroy(&f->started);
	close(f->fd);
	if (f->err != ECONNRESET && f->err != EPIPE)
		fail_msg("the flood ended with %s after %zu bytes", strerror(f->err), f->sent);
}

static void test_a_node_that_never_reads_is_dropped_and_the_rest_are_served(void **state)
{
	(void)state;
	stp_bserver *s = stp_bserver_new(3, "tok", 60000, NULL, 0);
	char err[256], detail[256];
	stp_node *a = stp_node_connect(stp_bserver_addr(s), "a", "tok", err, sizeof err);
	stp_node *l = stp_node_connect(stp_bserver_addr(s), "l", "tok", err, sizeof err);
	/* l leaves, so every BARRIER is answered at once: a flood of answers */
	stp_node_free(l);
	assert_int_equal(stp_node_barrier(a, "before", NULL, detail, sizeof detail),
			 STP_ECLOSED);
	assert_string_equal(detail, "left=l");
	int fd = raw_connect(s, 4096);
	assert_int_equal(send(fd, "HELLO f tok\n", 12, MSG_NOSIGNAL), 12);
	struct flood f;
	pthread_t t;
	flood_start(&f, &t, fd);
	/* a is answered while f floods */
	assert_int_equal(stp_node_barrier(a, "during", NULL, detail, sizeof detail),
			 STP_ECLOSED);
	assert_string_equal(detail, "left=l");
	flood_end(&f, t);
	stp__bserver_counts c;
	stp__bserver_counts_get(s, &c);
	assert_int_equal(c.slow, 1);
	stp_node_free(a);
	stp_bserver_free(s);
}

static void test_the_controller_stops_while_a_node_floods(void **state)
{
	(void)state;
	/* one node: each of its BARRIERs completes at once */
	stp_bserver *s = stp_bserver_new(1, "tok", 60000, NULL, 0);
	int fd = raw_connect(s, 4096);
	assert_int_equal(send(fd, "HELLO f tok\n", 12, MSG_NOSIGNAL), 12);
	struct flood f;
	pthread_t t;
	flood_start(&f, &t, fd);
	char answer[512];
	int closed;
	raw_exchange(s, "BARRIER x\n", answer, sizeof answer, &closed);
	assert_string_equal(answer, "ERR HELLO first\n");
	/* stopping returns while f may still be flooding; f's sends then fail */
	stp_bserver_free(s);
	flood_end(&f, t);
}

/* Start `stepper barrier-server` with these options; *o receives its
 * stdout (read up to the address), addr the address. */
static pid_t start_barrier_server(char *const *opts, FILE **o, char addr[64])
{
	char prog[256], line[256];
	snprintf(prog, sizeof prog, "%s/bin/stepper", bdir());
	int out[2];
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[16] = { prog, "barrier-server" };
	for (int k = 0; opts[k] && k < 13; k++)
		argv[k + 2] = opts[k];
	pid_t pid;
	assert_int_equal(posix_spawn(&pid, prog, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	*o = fdopen(out[0], "r");
	addr[0] = '\0';
	while (!addr[0] && fgets(line, sizeof line, *o))
		sscanf(line, "STEPPER_BARRIER_ADDR=%63s", addr);
	assert_true(addr[0]);
	return pid;
}

static void test_barrier_server_stops_on_sigterm_while_a_client_floods(void **state)
{
	(void)state;
	char addr[64];
	FILE *o;
	char *opts[] = { "-n", "1", "--token", "tok", NULL };
	pid_t pid = start_barrier_server(opts, &o, addr);
	int fd = raw_connect_addr(addr, 4096);
	assert_int_equal(send(fd, "HELLO f tok\n", 12, MSG_NOSIGNAL), 12);
	struct flood f;
	pthread_t t;
	flood_start(&f, &t, fd);
	kill(pid, SIGTERM);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	flood_end(&f, t);
	fclose(o);
}

/* stepper barrier-server --hello-timeout: a connection that never says
 * HELLO is answered and closed after that long (the test waits for the
 * close itself; the 0.2 s is the behaviour under test). */
static void test_barrier_server_hello_timeout_option(void **state)
{
	(void)state;
	char addr[64];
	FILE *o;
	char *opts[] = { "-n", "1", "--hello-timeout", "0.2", NULL };
	pid_t pid = start_barrier_server(opts, &o, addr);
	int fd = raw_connect_addr(addr, 4096);
	char answer[512] = "";
	assert_true(read_to_close(fd, answer, sizeof answer));
	assert_string_equal(answer, "ERR no HELLO within 200 ms\n");
	close(fd);
	kill(pid, SIGTERM);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	fclose(o);
}

/* ------------------------------------------------------------------ */
/* The open-file limit                                                 */
/* ------------------------------------------------------------------ */

static int highest_open_fd(void)
{
	int top = 2;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (atoi(e->d_name) > top)
			top = atoi(e->d_name);
	if (d)
		closedir(d);
	return top;
}

static void test_open_file_limit_does_not_spin_the_controller(void **state)
{
	(void)state;
	stp_bserver *s = stp_bserver_new(2, "tok", 10000, NULL, 0);
	struct rlimit old, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)highest_open_fd() + 9;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* fill the table, then free one descriptor for our socket: the
	 * controller's accept() meets the limit */
	enum { FILL_MAX = 4096 };
	int *fill = calloc(FILL_MAX, sizeof *fill), nfill = 0;
	while (nfill < FILL_MAX && (fill[nfill] = dup(0)) >= 0)
		nfill++;
	if (nfill == 0 || nfill == FILL_MAX)
		fail_msg("filled %d descriptors under a limit of %llu", nfill,
			 (unsigned long long)low.rlim_cur);
	close(fill[--nfill]);
	stp__bserver_counts c0, c1;
	stp__bserver_counts_get(s, &c0);
	int fd = raw_connect(s, 0);
	/* a wall-clock bound: the controller of old never answered, and
	 * the test must fail rather than hang */
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int ready = poll(&p, 1, 10000);
	char answer[512] = "";
	int closed = ready == 1 && read_to_close(fd, answer, sizeof answer);
	stp__bserver_counts_get(s, &c1);
	close(fd);
	while (nfill > 0)
		close(fill[--nfill]);
	free(fill);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_true(closed);
	assert_string_equal(answer, "ERR too many open files on the controller\n");
	assert_int_equal(c1.fd_full, 1);
	if (c1.loops - c0.loops > 20)
		fail_msg("the loop ran %llu rounds for one refused connection",
			 (unsigned long long)(c1.loops - c0.loops));
	/* later clients are served */
	char err[256];
	stp_node *a = stp_node_connect(stp_bserver_addr(s), "a", "tok", err, sizeof err);
	stp_node *b = stp_node_connect(stp_bserver_addr(s), "b", "tok", err, sizeof err);
	assert_int_equal(meet_pair(a, b, "after"), 0);
	stp_node_free(a);
	stp_node_free(b);
	stp_bserver_free(s);
}

/* ------------------------------------------------------------------ */
/* Connections that never say HELLO                                    */
/* ------------------------------------------------------------------ */

static void test_silent_connections_do_not_lock_nodes_out(void **state)
{
	(void)state;
	enum { SILENT = 1100 };
	stp_bserver *s = stp_bserver_new(2, "tok", 10000, NULL, 0);
	int *fds = calloc(SILENT, sizeof *fds);
	for (int i = 0; i < SILENT; i++)
		fds[i] = raw_connect(s, 0);
	char err[256];
	stp_node *a = stp_node_connect(stp_bserver_addr(s), "a", "tok", err, sizeof err);
	stp_node *b = stp_node_connect(stp_bserver_addr(s), "b", "tok", err, sizeof err);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(meet_pair(a, b, "in"), 0);
	stp__bserver_counts c;
	stp__bserver_counts_get(s, &c);
	assert_true(c.evicted > 0);
	assert_true(c.clients <= 2 + 2 + 64);
	for (int i = 0; i < SILENT; i++)
		close(fds[i]);
	free(fds);
	stp_node_free(a);
	stp_node_free(b);
	stp_bserver_free(s);
}

static void test_a_connection_without_hello_is_closed_at_the_deadline(void **state)
{
	(void)state;
	stp_bserver *s = stp_bserver_new(2, "tok", 10000, NULL, 0);
	stp_bserver_set_hello_timeout(s, 100);
	char err[256], answer[512];
	stp_node *a = stp_node_connect(stp_bserver_addr(s), "a", "tok", err, sizeof err);
	int fd = raw_connect(s, 0);
	/* waits for the close itself */
	assert_true(read_to_close(fd, answer, sizeof answer));
	assert_string_equal(answer, "ERR no HELLO within 100 ms\n");
	close(fd);
	/* a, which said HELLO in time, stays past the deadline */
	stp_node *b = stp_node_connect(stp_bserver_addr(s), "b", "tok", err, sizeof err);
	assert_int_equal(meet_pair(a, b, "still-here"), 0);
	stp_node_free(a);
	stp_node_free(b);
	stp_bserver_free(s);
}

/* ------------------------------------------------------------------ */
/* Close-on-exec                                                       */
/* ------------------------------------------------------------------ */

/* Marks in open[] (size max) the descriptors open now. */
static void open_fds(char *open, int max)
{
	memset(open, 0, (size_t)max);
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) < max && atoi(e->d_name) != dirfd(d))
			open[atoi(e->d_name)] = 1;
	closedir(d);
}

static void test_every_descriptor_is_close_on_exec(void **state)
{
	(void)state;
	enum { MAX = 4096 };
	static char before[MAX], now[MAX];
	open_fds(before, MAX); /* what this process inherited is not ours */
	stp_bserver *s = stp_bserver_new(1, "tok", 10000, NULL, 0);
	char err[256];
	stp_node *n = stp_node_connect(stp_bserver_addr(s), "solo", "tok", err, sizeof err);
	/* once answered, the controller holds the accepted connection */
	assert_int_equal(stp_node_barrier(n, "x", NULL, NULL, 0), 0);
	open_fds(now, MAX);
	int checked = 0;
	for (int fd = 0; fd < MAX; fd++) {
		if (!now[fd] || before[fd])
			continue;
		checked++;
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC)) {
			char path[64], target[256] = "";
			snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
			ssize_t len = readlink(path, target, sizeof target - 1);
			target[len > 0 ? len : 0] = '\0';
			fail_msg("fd %d (%s) is not close-on-exec", fd, target);
		}
	}
	/* listener, spare, wake-up pipe, accepted socket, the node's socket */
	assert_true(checked >= 6);
	stp_node_free(n);
	stp_bserver_free(s);
}

/* ------------------------------------------------------------------ */
/* A timeout of UINT64_MAX                                             */
/* ------------------------------------------------------------------ */

static void test_deadlines_saturate(void **state)
{
	(void)state;
	assert_int_equal(stp__deadline_ns(1000, 2), 2001000);
	assert_true(stp__deadline_ns(5, UINT64_MAX) == UINT64_MAX);
	assert_true(stp__deadline_ns(UINT64_MAX - 10, 1) == UINT64_MAX);
	assert_true(stp__deadline_ns(1, UINT64_MAX / 1000000u + 1) == UINT64_MAX);
}

struct waiter {
	stp_bserver *s;
	stp_barrier *b;
	int rc;
};

static void *node_a_waits(void *p)
{
	struct waiter *w = p;
	char err[256];
	stp_node *n = stp_node_connect(stp_bserver_addr(w->s), "a", "tok", err, sizeof err);
	w->rc = stp_node_barrier(n, "x", NULL, NULL, 0);
	stp_node_free(n);
	return NULL;
}

static void test_uint64_max_barrier_timeout_never_expires(void **state)
{
	(void)state;
	stp_bserver *s = stp_bserver_new(2, "tok", UINT64_MAX, NULL, 0);
	assert_non_null(s);
	int lp[2];
	assert_int_equal(pipe2(lp, O_CLOEXEC), 0);
	FILE *w = fdopen(lp[1], "w"), *r = fdopen(lp[0], "r");
	stp_bserver_set_log(s, w);
	struct waiter wa = { .s = s, .rc = -999 };
	pthread_t t;
	pthread_create(&t, NULL, node_a_waits, &wa);
	/* b arrives only after the controller saw a arrive */
	char line[512];
	while (fgets(line, sizeof line, r) && !strstr(line, "a arrived at 'x'"))
		;
	stp_bserver_set_log(s, NULL);
	char err[256], detail[256] = "";
	stp_node *b = stp_node_connect(stp_bserver_addr(s), "b", "tok", err, sizeof err);
	assert_int_equal(stp_node_barrier(b, "x", NULL, detail, sizeof detail), 0);
	pthread_join(t, NULL);
	assert_int_equal(wa.rc, 0);
	stp_node_free(b);
	stp_bserver_free(s);
	fclose(w);
	fclose(r);
}

static void *party_waits(void *p)
{
	struct waiter *w = p;
	w->rc = stp_barrier_wait(w->b, "x", UINT64_MAX, NULL);
	return NULL;
}

static void test_in_process_uint64_max_timeout_never_expires(void **state)
{
	(void)state;
	stp_barrier *b = stp_barrier_new(2);
	struct waiter wa = { .b = b, .rc = -999 };
	pthread_t t;
	pthread_create(&t, NULL, party_waits, &wa);
	int rc = stp_barrier_wait(b, "x", UINT64_MAX, NULL);
	pthread_join(t, NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(wa.rc, 0);
	stp_barrier_free(b);
}

/* ------------------------------------------------------------------ */
/* Nodes in other languages, and the multinode runner                  */
/* ------------------------------------------------------------------ */

static char *read_all(FILE *f)
{
	char *buf = calloc(1, 1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	return buf;
}

static void test_python_and_shell_nodes_join(void **state)
{
	(void)state;
	stp_bserver *s = stp_bserver_new(3, "tok", 20000, NULL, 0);
	const char *addr = stp_bserver_addr(s);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "python3 tests/node.py %s py tok ready done", addr);
	FILE *py = popen(cmd, "r");
	snprintf(cmd, sizeof cmd,
		 "bash -c 'exec 3<>/dev/tcp/127.0.0.1/%s; printf \"HELLO sh tok\\n"
		 "BARRIER ready\\n\" >&3; read -r a <&3; printf \"BARRIER done\\n\" >&3; "
		 "read -r b <&3; echo \"$a\"; echo \"$b\"'",
		 strchr(addr, ':') + 1);
	FILE *sh = popen(cmd, "r");
	char err[256];
	stp_node *c = stp_node_connect(addr, "c", "tok", err, sizeof err);
	uint64_t g = 0;
	assert_int_equal(stp_node_barrier(c, "ready", &g, NULL, 0), 0);
	assert_int_equal(stp_node_barrier(c, "done", &g, NULL, 0), 0);
	char *po = read_all(py), *so = read_all(sh);
	assert_int_equal(pclose(py), 0);
	pclose(sh);
	assert_string_equal(po, "OK ready 1\nOK done 1\n");
	assert_string_equal(so, "OK ready 1\nOK done 1\n");
	free(po);
	free(so);
	stp_node_free(c);
	stp_bserver_free(s);
}

static void test_multinode_runs_the_gossip(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%s/bin/stepper multinode -n 3 -- %s/examples/gossip 2>&1",
		 bdir(), bdir());
	FILE *f = popen(cmd, "r");
	char *out = read_all(f);
	int st = pclose(f);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("multinode failed:\n%s", out);
	assert_non_null(strstr(out, "[node0] received 0 rumours: ok"));
	assert_non_null(strstr(out, "[node1] received 1 rumour: ok"));
	assert_non_null(strstr(out, "[node2] received 1 rumour: ok"));
	assert_non_null(strstr(out, "result: passed, all 3 nodes exited 0"));
	free(out);
}

static void test_multinode_stops_the_rest_when_a_node_fails(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof cmd,
		 "%s/bin/stepper multinode -n 3 -- sh -c 'if [ \"$STEPPER_NODE_INDEX\" = 1 ]; "
		 "then echo giving up; exit 3; fi; exec %s/tests/progs/hang' 2>&1",
		 bdir(), bdir());
	FILE *f = popen(cmd, "r");
	char *out = read_all(f);
	int st = pclose(f);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	assert_non_null(strstr(out, "[node1] giving up"));
	assert_non_null(strstr(out, "  node0: killed by SIGKILL (stopped after another node failed)"));
	assert_non_null(strstr(out, "  node1: exit status 3"));
	assert_non_null(strstr(out, "result: failed, node1 failed first"));
	free(out);
	/* and a usage error */
	snprintf(cmd, sizeof cmd, "%s/bin/stepper multinode -n 0 -- true 2>&1", bdir());
	f = popen(cmd, "r");
	out = read_all(f);
	st = pclose(f);
	assert_int_equal(WEXITSTATUS(st), 2);
	assert_non_null(strstr(out, "-n: expected 1 to 256 nodes, got '0'"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_process_barrier_reuses_labels_by_generation),
		cmocka_unit_test(test_in_process_timeout_says_arrived_of_expected),
		cmocka_unit_test(test_three_nodes_meet),
		cmocka_unit_test(test_50_nodes_100_labels),
		cmocka_unit_test(test_timeout_tells_everyone_who_is_missing),
		cmocka_unit_test(test_latecomer_starts_the_next_generation),
		cmocka_unit_test(test_two_controllers_do_not_interfere),
		cmocka_unit_test(test_killed_node_fails_the_others_at_once),
		cmocka_unit_test(test_bad_lines_get_err_and_the_rest_are_served),
		cmocka_unit_test(test_nul_inside_a_line_is_refused),
		cmocka_unit_test(test_line_limit_is_256_bytes_before_lf_or_crlf),
		cmocka_unit_test(test_a_long_missing_list_is_cut_to_fit_the_line),
		cmocka_unit_test(test_20000_labels_keep_the_controller_small),
		cmocka_unit_test(test_a_node_that_never_reads_is_dropped_and_the_rest_are_served),
		cmocka_unit_test(test_the_controller_stops_while_a_node_floods),
		cmocka_unit_test(test_barrier_server_stops_on_sigterm_while_a_client_floods),
		cmocka_unit_test(test_barrier_server_hello_timeout_option),
		cmocka_unit_test(test_open_file_limit_does_not_spin_the_controller),
		cmocka_unit_test(test_silent_connections_do_not_lock_nodes_out),
		cmocka_unit_test(test_a_connection_without_hello_is_closed_at_the_deadline),
		cmocka_unit_test(test_every_descriptor_is_close_on_exec),
		cmocka_unit_test(test_deadlines_saturate),
		cmocka_unit_test(test_uint64_max_barrier_timeout_never_expires),
		cmocka_unit_test(test_in_process_uint64_max_timeout_never_expires),
		cmocka_unit_test(test_python_and_shell_nodes_join),
		cmocka_unit_test(test_multinode_runs_the_gossip),
		cmocka_unit_test(test_multinode_stops_the_rest_when_a_node_fails),
	};
	if (getenv("TEST_FILTER")) /* e.g. TEST_FILTER='*flood*' */
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests_name("barrier", tests, NULL, NULL);
}
