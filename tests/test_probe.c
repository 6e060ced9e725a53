/*
 * test_probe.c - probes and the event filter: every expectation's pass
 * and fail paths with their exact texts, shared deadlines, virtual time,
 * many senders, and probes inside stepper runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stepper/clock.h>
#include <stepper/probe.h>
#include <stepper/stepper.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* With a clock and no members, deadlines pass at once: failure texts
 * then have exact times. */
static stp_clock *clk;

static int setup(void **state)
{
	(void)state;
	clk = stp_clock_new(0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	stp_clock_free(clk);
	return 0;
}

static void test_expect_msg_passes_and_fails_with_what_came(void **state)
{
	(void)state;
	stp_probe *p = stp_probe_new("node1", clk);
	stp_probe_send(p, "ack 7", 5);
	assert_int_equal(stp_probe_expect_msg(p, "ack 7", 3000), 0);
	assert_string_equal(stp_probe_last_error(p), "");
	stp_probe_sendf(p, "nack %d", 7);
	assert_int_equal(stp_probe_expect_msg(p, "ack 7", 3000), STP_EMISMATCH);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'node1': expected \"ack 7\" within 3000 ms, got "
			    "\"nack 7\" after 0 ms");
	assert_int_equal(stp_probe_expect_msg(p, "ack 7", 3000), STP_ETIMEDOUT);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'node1': expected \"ack 7\" within 3000 ms, got nothing");
	assert_int_equal(stp_clock_now(clk), STP_MILLIS(3000)); /* virtual wait */
	stp_probe_free(p);
}

/* A sender that waits 12 virtual ms before sending. */
struct late {
	stp_probe *p;
	uint64_t ms;
	const char *text;
	event entered;
};

static void *late_sender(void *arg)
{
	struct late *l = arg;
	stp_clock_enter(clk);
	event_set(&l->entered);
	stp_sleep_ns(STP_MILLIS(l->ms));
	stp_probe_send(l->p, l->text, strlen(l->text));
	stp_clock_leave();
	return NULL;
}

static void test_failure_says_when_the_message_came(void **state)
{
	(void)state;
	stp_clock *c = stp_clock_new(0);
	stp_probe *p = stp_probe_new("node1", c);
	stp_clock *saved = clk;
	clk = c;
	struct late l = { .p = p, .ms = 12, .text = "nack 7" };
	event_init(&l.entered);
	pthread_t t;
	pthread_create(&t, NULL, late_sender, &l);
	event_wait(&l.entered);
	assert_int_equal(stp_probe_expect_msg(p, "ack 7", 3000), STP_EMISMATCH);
	pthread_join(t, NULL);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'node1': expected \"ack 7\" within 3000 ms, got "
			    "\"nack 7\" after 12 ms");
	clk = saved;
	stp_probe_free(p);
	stp_clock_free(c);
}

static int is_even_number(const void *data, size_t len, void *arg)
{
	(void)arg;
	return len > 0 && (((const char *)data)[len - 1] - '0') % 2 == 0;
}

static int returns_garbage(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	(void)arg;
	return 7;
}

static void test_expect_match_and_no_msg(void **state)
{
	(void)state;
	stp_probe *p = stp_probe_new("p", clk);
	stp_probe_send(p, "n4", 2);
	assert_int_equal(stp_probe_expect_match(p, is_even_number, NULL, "an even number", 100), 0);
	stp_probe_send(p, "n5", 2);
	assert_int_equal(stp_probe_expect_match(p, is_even_number, NULL, "an even number", 100),
			 STP_EMISMATCH);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'p': expected a message matching an even number within "
			    "100 ms, got \"n5\" after 0 ms");
	assert_int_equal(stp_probe_expect_match(p, is_even_number, NULL, "an even number", 100),
			 STP_ETIMEDOUT);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'p': expected a message matching an even number within "
			    "100 ms, got nothing");
	stp_probe_send(p, "n6", 2);
	assert_int_equal(stp_probe_expect_match(p, returns_garbage, NULL, "anything", 100),
			 STP_EINVAL);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'p': the predicate for anything returned 7 for \"n6\" "
			    "(expected 0 or 1)");
	assert_int_equal(stp_probe_expect_no_msg(p, 500), 0);
	stp_probe_send(p, "x", 1);
	assert_int_equal(stp_probe_expect_no_msg(p, 500), STP_EMISMATCH);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'p': expected no message for 500 ms, got \"x\" after 0 ms");
	stp_probe_free(p);
}

static void test_receive_n_shares_one_deadline(void **state)
{
	(void)state;
	stp_probe *p = stp_probe_new("batch", clk);
	uint64_t t0 = stp_clock_now(clk);
	stp_probe_send(p, "a", 1);
	stp_probe_send(p, "b", 1);
	assert_int_equal(stp_probe_receive_n(p, 3, 1000), STP_ETIMEDOUT);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'batch': expected 3 messages within 1000 ms, got 2: "
			    "\"a\", \"b\"");
	/* one deadline for all three, not 1000 ms each */
	assert_int_equal(stp_clock_now(clk) - t0, STP_MILLIS(1000));
	for (int i = 0; i < 3; i++)
		stp_probe_sendf(p, "m%d", i);
	assert_int_equal(stp_probe_receive_n(p, 3, 1000), 0);
	stp_probe_free(p);
}

static void test_fish_skips_until_a_match(void **state)
{
	(void)state;
	stp_probe *p = stp_probe_new("fish", clk);
	stp_probe_send(p, "n1", 2);
	stp_probe_send(p, "n3", 2);
	stp_probe_send(p, "n8", 2);
	stp_probe_send(p, "n9", 2);
	assert_int_equal(stp_probe_fish(p, is_even_number, NULL, "an even number", 100), 0);
	assert_int_equal(stp_probe_pending(p), 1); /* n9 is still there */
	assert_int_equal(stp_probe_fish(p, is_even_number, NULL, "an even number", 100),
			 STP_ETIMEDOUT);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'fish': fished for a message matching an even number "
			    "within 100 ms: none came; skipped 1: \"n9\"");
	stp_probe_free(p);
}

static void test_within_brackets_nest_and_share_their_time(void **state)
{
	(void)state;
	stp_probe *p = stp_probe_new("w", clk);
	uint64_t t0 = stp_clock_now(clk);
	assert_int_equal(stp_probe_within(p, 0, 500), 0);
	assert_int_equal(stp_probe_within(p, 100, 300), 0);
	/* asks for 3000 ms, gets what is left of the inner bracket: 300 */
	assert_int_equal(stp_probe_expect_msg(p, "late", 3000), STP_ETIMEDOUT);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'w': expected \"late\" within 300 ms (what was left of "
			    "a within bracket), got nothing");
	assert_int_equal(stp_clock_now(clk) - t0, STP_MILLIS(300));
	assert_int_equal(stp_probe_within_end(p), 0);      /* 300 >= 100 */
	assert_int_equal(stp_probe_expect_no_msg(p, 200), 0); /* all that is left */
	assert_int_equal(stp_clock_now(clk) - t0, STP_MILLIS(500));
	assert_int_equal(stp_probe_within_end(p), 0);
	/* a bracket left too soon */
	assert_int_equal(stp_probe_within(p, 100, 200), 0);
	assert_int_equal(stp_probe_within_end(p), STP_EMISMATCH);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'w': within(100, 200 ms): done after 0 ms, sooner than "
			    "100 ms");
	assert_int_equal(stp_probe_within_end(p), STP_ESTATE);
	assert_int_equal(stp_probe_within(p, 5, 1), STP_EINVAL);
	stp_probe_free(p);
}

/* A silence longer than what is left of the bracket cannot be checked
 * inside it: the call fails at once, as Akka's does, instead of checking
 * less and passing. */
static void test_no_msg_beyond_a_within_bracket_fails_at_once(void **state)
{
	(void)state;
	stp_probe *p = stp_probe_new("w", clk);
	uint64_t t0 = stp_clock_now(clk);
	assert_int_equal(stp_probe_within(p, 0, 50), 0);
	assert_int_equal(stp_probe_expect_no_msg(p, 200), STP_EINVAL);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'w': expected no message for 200 ms, but only 50 ms are "
			    "left of the within bracket: a silence is checked inside it or "
			    "not at all (ask for 50 ms or less, or end the bracket first)");
	assert_int_equal(stp_clock_now(clk), t0); /* no time passed */
	/* within the bracket: checked, and the bracket holds */
	assert_int_equal(stp_probe_expect_no_msg(p, 20), 0);
	assert_string_equal(stp_probe_last_error(p), "");
	assert_int_equal(stp_probe_expect_no_msg(p, 30), 0);
	assert_int_equal(stp_clock_now(clk) - t0, STP_MILLIS(50));
	assert_int_equal(stp_probe_within_end(p), 0);
	/* nested: the innermost bracket's time is what is left */
	assert_int_equal(stp_probe_within(p, 0, 1000), 0);
	assert_int_equal(stp_probe_within(p, 0, 10), 0);
	assert_int_equal(stp_probe_expect_no_msg(p, 11), STP_EINVAL);
	assert_int_equal(stp_probe_within_end(p), 0);
	assert_int_equal(stp_probe_within_end(p), 0);
	stp_probe_free(p);
}

/* A message inside the window is seen: the whole window is checked. */
static void test_no_msg_inside_a_bracket_sees_a_late_message(void **state)
{
	(void)state;
	stp_clock *c = stp_clock_new(0);
	stp_probe *p = stp_probe_new("w", c);
	stp_clock *saved = clk;
	clk = c;
	assert_int_equal(stp_probe_within(p, 0, 300), 0);
	struct late l = { .p = p, .ms = 100, .text = "x" };
	event_init(&l.entered);
	pthread_t t;
	pthread_create(&t, NULL, late_sender, &l);
	event_wait(&l.entered);
	assert_int_equal(stp_probe_expect_no_msg(p, 200), STP_EMISMATCH);
	pthread_join(t, NULL);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'w': expected no message for 200 ms, got \"x\" after 100 ms");
	assert_int_equal(stp_probe_within_end(p), 0);
	clk = saved;
	stp_probe_free(p);
	stp_clock_free(c);
}

/* Refused calls say why, and never leave an older failure's text. */
static void test_a_refused_call_replaces_the_old_failure_text(void **state)
{
	(void)state;
	stp_probe *p = stp_probe_new("r", clk);
	assert_int_equal(stp_probe_expect_msg(p, "x", 10), STP_ETIMEDOUT);
	assert_int_equal(stp_probe_receive_n(p, 0, 10), STP_EINVAL);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'r': receive_n of 0 messages (expected 1 or more)");
	assert_int_equal(stp_probe_expect_msg(p, NULL, 10), STP_EINVAL);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'r': expect_msg without a text (expected a string)");
	assert_int_equal(stp_probe_expect_bytes(p, NULL, 3, 10), STP_EINVAL);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'r': expect_bytes of 3 bytes at NULL (expected data)");
	assert_int_equal(stp_probe_expect_match(p, NULL, NULL, "x", 10), STP_EINVAL);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'r': expect_match without a predicate");
	assert_int_equal(stp_probe_fish(p, NULL, NULL, "x", 10), STP_EINVAL);
	assert_string_equal(stp_probe_last_error(p), "probe 'r': fish without a predicate");
	assert_int_equal(stp_probe_within(p, 5, 1), STP_EINVAL);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'r': within(5, 1 ms): min is above max");
	for (int i = 0; i < STP_PROBE_MAX_WITHIN; i++)
		assert_int_equal(stp_probe_within(p, 0, 10), 0);
	assert_int_equal(stp_probe_within(p, 0, 10), STP_ELIMIT);
	assert_string_equal(stp_probe_last_error(p),
			    "probe 'r': within(0, 10 ms): 16 brackets are open already (the "
			    "most at once)");
	/* a passing call clears it */
	stp_probe_send(p, "y", 1);
	assert_int_equal(stp_probe_receive_n(p, 1, 10), 0);
	assert_string_equal(stp_probe_last_error(p), "");
	stp_probe_free(p);
}

static void test_a_60s_silence_costs_no_real_time(void **state)
{
	(void)state;
	stp_probe *p = stp_probe_new("quiet", clk);
	uint64_t t0 = stp_clock_now(clk);
	assert_int_equal(stp_probe_expect_no_msg(p, 60000), 0);
	assert_int_equal(stp_clock_now(clk) - t0, STP_SECONDS(60));
	stp_probe_free(p);
}

/* ------------------------------------------------------------------ */
/* Many senders                                                        */
/* ------------------------------------------------------------------ */

#define SENDERS 8
#define PER_SENDER 12500

struct sender {
	stp_probe *p;
	int id;
};

static void *send_many(void *arg)
{
	struct sender *s = arg;
	for (int i = 0; i < PER_SENDER; i++) {
		uint32_t v[2] = { (uint32_t)s->id, (uint32_t)i };
		stp_probe_send(s->p, v, sizeof v);
	}
	return NULL;
}

static int record_seen(const void *data, size_t len, void *arg)
{
	unsigned char *seen = arg;
	if (len != 8)
		return 0;
	uint32_t v[2];
	memcpy(v, data, 8);
	if (v[0] >= SENDERS || v[1] >= PER_SENDER)
		return 0;
	seen[v[0] * PER_SENDER + v[1]]++;
	return 1;
}

static void test_100000_messages_from_8_threads_none_lost_or_doubled(void **state)
{
	(void)state;
	stp_probe *p = stp_probe_new("many", NULL);
	pthread_t t[SENDERS];
	struct sender s[SENDERS];
	for (int i = 0; i < SENDERS; i++) {
		s[i] = (struct sender){ p, i };
		pthread_create(&t[i], NULL, send_many, &s[i]);
	}
	unsigned char *seen = calloc(SENDERS * PER_SENDER, 1);
	for (int i = 0; i < SENDERS * PER_SENDER; i++)
		assert_int_equal(stp_probe_expect_match(p, record_seen, seen, "a sent pair",
							60000),
				 0);
	for (int i = 0; i < SENDERS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < SENDERS * PER_SENDER; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(stp_probe_expect_no_msg(p, 0), 0);
	free(seen);
	stp_probe_free(p);
}

/* ------------------------------------------------------------------ */
/* Probes in stepper runs                                              */
/* ------------------------------------------------------------------ */

struct stepping {
	stp_probe *p;
	const char *name;
	const char *const *order;
};

static void send_at_each_step(void *arg)
{
	struct stepping *s = arg;
	for (int k = 0; s->order[k]; k++) {
		STEP(s->order[k]);
		stp_probe_sendf(s->p, "%s:%s", s->name, s->order[k]);
	}
}

static void test_messages_arrive_in_schedule_order(void **state)
{
	(void)state;
	static const char *const oa[] = { "a1", "a2", "a3", NULL };
	static const char *const ob[] = { "b1", "b2", NULL };
	for (uint64_t seed = 1; seed <= 50; seed++) {
		stp_probe *p = stp_probe_new("steps", NULL);
		stp_options o;
		stp_options_init(&o);
		o.seed = seed;
		stp_stepper *s = stp_new(&o);
		struct stepping x = { p, "x", oa }, y = { p, "y", ob };
		stp_thread(s, "x", oa, send_at_each_step, &x);
		stp_thread(s, "y", ob, send_at_each_step, &y);
		assert_int_equal(stp_run(s), 0);
		size_t n;
		const int *sched = stp_schedule(s, &n);
		for (size_t k = 0; k < n; k++) {
			char want[32];
			snprintf(want, sizeof want, "%s:%s", sched[k] ? "y" : "x",
				 stp_entry_step(s, k));
			if (stp_probe_expect_msg(p, want, 1000) != 0)
				fail_msg("seed %llu: %s", (unsigned long long)seed,
					 stp_probe_last_error(p));
		}
		assert_int_equal(stp_probe_free(p), 0);
		stp_free(s);
	}
}

static void test_strict_mode_reports_messages_never_expected(void **state)
{
	(void)state;
	stp_probe *p = stp_probe_new("strict", NULL);
	stp_probe_set_strict(p, 1);
	stp_probe_send(p, "left over", 9);
	stp_probe_send(p, "\x01\x02", 2);
	assert_int_equal(stp_probe_free(p), 2);
}

static void test_bad_input(void **state)
{
	(void)state;
	assert_null(stp_probe_new(NULL, NULL));
	assert_null(stp_probe_new("", NULL));
	stp_probe *p = stp_probe_new("bad", clk);
	assert_int_equal(stp_probe_send(NULL, "x", 1), STP_EINVAL);
	assert_int_equal(stp_probe_send(p, "x", 0), STP_EINVAL);
	char *big = calloc(16u << 20, 1);
	assert_int_equal(stp_probe_send(p, big, 16u << 20), STP_ELIMIT);
	free(big);
	assert_int_equal(stp_probe_expect_msg(NULL, "x", 1), STP_EINVAL);
	assert_int_equal(stp_probe_expect_msg(p, NULL, 1), STP_EINVAL);
	assert_int_equal(stp_probe_expect_match(p, NULL, NULL, "x", 1), STP_EINVAL);
	assert_int_equal(stp_probe_receive_n(p, 0, 1), STP_EINVAL);
	for (int i = 0; i < STP_PROBE_MAX_WITHIN; i++)
		assert_int_equal(stp_probe_within(p, 0, 10), 0);
	assert_int_equal(stp_probe_within(p, 0, 10), STP_ELIMIT);
	assert_int_equal(stp_probe_free(NULL), 0);
	stp_probe_free(p);
}

/* ------------------------------------------------------------------ */
/* The event filter                                                    */
/* ------------------------------------------------------------------ */

static char sunk[4096];

static void capture_sink(stp_log_level level, const char *msg, void *arg)
{
	(void)arg;
	size_t n = strlen(sunk);
	snprintf(sunk + n, sizeof sunk - n, "%d:%s\n", (int)level, msg);
}

static void test_filter_counts_and_mutes(void **state)
{
	(void)state;
	sunk[0] = '\0';
	stp_log_set_sink(capture_sink, NULL);
	stp_log_filter *f = stp_filter_begin(STP_LOG_WARN, "retry", 0, 2, NULL, 0);
	assert_non_null(f);
	stp_log(STP_LOG_WARN, "retrying connect (%d)", 1);
	stp_log(STP_LOG_WARN, "retrying connect (%d)", 2);
	stp_log(STP_LOG_INFO, "retrying is just info");   /* other level: passes */
	stp_log(STP_LOG_WARN, "disk almost full");        /* other text: passes */
	assert_int_equal(stp_filter_end(f), 0);
	assert_string_equal(sunk, "1:retrying is just info\n2:disk almost full\n");
	stp_filter_free(f);

	f = stp_filter_begin(STP_LOG_WARN, "retry", 0, 2, NULL, 0);
	for (int i = 1; i <= 3; i++)
		stp_log(STP_LOG_WARN, "retrying connect (%d)", i);
	assert_int_equal(stp_filter_end(f), STP_EMISMATCH);
	assert_string_equal(stp_filter_error(f),
			    "expected 2 warnings matching \"retry\", got 3:\n"
			    "  [warn] retrying connect (1)\n"
			    "  [warn] retrying connect (2)\n"
			    "  [warn] retrying connect (3)");
	stp_filter_free(f);

	f = stp_filter_begin(STP_LOG_ERROR, "^disk [0-9]+ failed$", STP_FILTER_REGEX, 1,
			     NULL, 0);
	assert_int_equal(stp_filter_end(f), STP_EMISMATCH);
	assert_string_equal(stp_filter_error(f),
			    "expected 1 error matching \"^disk [0-9]+ failed$\", got 0");
	stp_filter_free(f);
	stp_log_set_sink(NULL, NULL);
}

static void test_filters_nest_innermost_first(void **state)
{
	(void)state;
	stp_log_filter *outer = stp_filter_begin(STP_LOG_WARN, "retry", 0, 1, NULL, 0);
	stp_log_filter *inner = stp_filter_begin(STP_LOG_WARN, "retry 2", 0, 1, NULL, 0);
	stp_log(STP_LOG_WARN, "retry 1");
	stp_log(STP_LOG_WARN, "retry 2");
	/* out of order: the inner one is still open */
	assert_int_equal(stp_filter_end(outer), STP_ESTATE);
	assert_non_null(strstr(stp_filter_error(outer), "ended out of order"));
	assert_int_equal(stp_filter_end(inner), 0);
	assert_int_equal(stp_filter_end(outer), 0);
	assert_int_equal(stp_filter_end(outer), STP_ESTATE); /* twice */
	assert_non_null(strstr(stp_filter_error(outer), "was already ended"));
	stp_filter_free(inner);
	stp_filter_free(outer);
}

static void test_invalid_regex_shows_regerror(void **state)
{
	(void)state;
	char err[256];
	assert_null(stp_filter_begin(STP_LOG_WARN, "retry(", STP_FILTER_REGEX, 1, err,
				     sizeof err));
	assert_non_null(strstr(err, "invalid regular expression \"retry(\": "));
	assert_true(strlen(err) > strlen("invalid regular expression \"retry(\": "));
	assert_null(stp_filter_begin(STP_LOG_WARN, NULL, 0, 1, err, sizeof err));
	assert_int_equal(stp_filter_end(NULL), STP_EINVAL);
}

static void *log_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		stp_log(STP_LOG_WARN, "flaky %d", i);
	return NULL;
}

static void test_filter_is_thread_safe(void **state)
{
	(void)state;
	stp_log_filter *f = stp_filter_begin(STP_LOG_WARN, "flaky", 0, 8000, NULL, 0);
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, log_many, NULL);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(stp_filter_end(f), 0);
	assert_int_equal(stp_filter_count(f), 8000);
	stp_filter_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expect_msg_passes_and_fails_with_what_came),
		cmocka_unit_test(test_failure_says_when_the_message_came),
		cmocka_unit_test(test_expect_match_and_no_msg),
		cmocka_unit_test(test_receive_n_shares_one_deadline),
		cmocka_unit_test(test_fish_skips_until_a_match),
		cmocka_unit_test(test_within_brackets_nest_and_share_their_time),
		cmocka_unit_test(test_no_msg_beyond_a_within_bracket_fails_at_once),
		cmocka_unit_test(test_no_msg_inside_a_bracket_sees_a_late_message),
		cmocka_unit_test(test_a_refused_call_replaces_the_old_failure_text),
		cmocka_unit_test(test_a_60s_silence_costs_no_real_time),
		cmocka_unit_test(test_100000_messages_from_8_threads_none_lost_or_doubled),
		cmocka_unit_test(test_messages_arrive_in_schedule_order),
		cmocka_unit_test(test_strict_mode_reports_messages_never_expected),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_filter_counts_and_mutes),
		cmocka_unit_test(test_filters_nest_innermost_first),
		cmocka_unit_test(test_invalid_regex_shows_regerror),
		cmocka_unit_test(test_filter_is_thread_safe),
	};
	return cmocka_run_group_tests_name("probe", tests, setup, teardown);
}
