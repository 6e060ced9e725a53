/*
 * probe.h - test probes and the event filter.
 *
 * A probe is a named, thread-safe endpoint: code under test (or the test)
 * sends it messages, and the test thread states what it expects to
 * receive, and by when. Every expectation returns 0 or an STP_E* code,
 * and on failure the probe keeps a text that shows what was expected,
 * what came, and when:
 *
 *   probe 'node1': expected "ack 7" within 3000 ms, got "nack 7" after 12 ms
 *
 * A probe given a clock measures its deadlines in virtual time: while it
 * waits, whenever every member of the clock is blocked, it advances the
 * clock to the next deadline (its own or the clock's), so waiting for 60
 * virtual seconds costs no real time.
 *
 * The event filter intercepts stp_log() events by level and pattern for
 * the span of an action, mutes them, and checks their exact count.
 *
 * Thread safety: sends and stp_log from any thread; expectations, within
 * brackets and filters from the test thread.
 */
#ifndef STEPPER_PROBE_H
#define STEPPER_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include <stepper/stepper.h>

#ifdef __cplusplus
extern "C" {
#endif

struct stp_clock;
typedef struct stp_probe stp_probe;

/* The largest message a probe accepts, in bytes. */
#define STP_PROBE_MAX_MSG (1u << 20)
/* The most within() brackets open at once on one probe. */
#define STP_PROBE_MAX_WITHIN 16

/* A probe named name (copied, 1..128 bytes). clock NULL: real time. NULL
 * when out of memory or the name is bad. */
STP_API stp_probe *stp_probe_new(const char *name, struct stp_clock *clock);
/* In strict mode, messages that arrived but were never expected are
 * reported (on stderr, one line each) when the probe is freed. */
STP_API void stp_probe_set_strict(stp_probe *p, int on);
/* Free the probe and its messages. Returns the number of messages never
 * expected (reported in strict mode); 0 for NULL. */
STP_API int stp_probe_free(stp_probe *p);

/* Send a copy of len bytes (1..STP_PROBE_MAX_MSG). STP_EINVAL (NULL, zero
 * length), STP_ELIMIT (too long), STP_ENOMEM. Any thread. */
STP_API int stp_probe_send(stp_probe *p, const void *data, size_t len);
/* Send formatted text (without its NUL). */
STP_API int stp_probe_sendf(stp_probe *p, const char *fmt, ...) STP_PRINTF(2, 3);

/* A predicate on a message: return 1 for a match, 0 for none; anything
 * else is an error (STP_EINVAL, the failure text says what it returned). */
typedef int (*stp_probe_pred)(const void *data, size_t len, void *arg);

/* The next message is the text (or the bytes), within ms. */
STP_API int stp_probe_expect_msg(stp_probe *p, const char *text, uint64_t ms);
STP_API int stp_probe_expect_bytes(stp_probe *p, const void *data, size_t len,
				   uint64_t ms);
/* The next message satisfies pred; what describes it in failure texts. */
STP_API int stp_probe_expect_match(stp_probe *p, stp_probe_pred pred, void *arg,
				   const char *what, uint64_t ms);
/* No message arrives for ms. Inside a within bracket the whole silence
 * must fit in what is left of the innermost bracket: asking for more
 * fails at once, with no waiting, as Akka's expectNoMessage does
 * (STP_EINVAL; the failure text names both durations). */
STP_API int stp_probe_expect_no_msg(stp_probe *p, uint64_t ms);
/* n messages (1 or more) arrive, all within one deadline of ms. They are
 * consumed; copies are not kept. */
STP_API int stp_probe_receive_n(stp_probe *p, size_t n, uint64_t ms);
/* Skip messages that do not satisfy pred until one does, within ms. */
STP_API int stp_probe_fish(stp_probe *p, stp_probe_pred pred, void *arg,
			   const char *what, uint64_t ms);
/* Open a within(min, max) bracket: expectations inside share its remaining
 * time (one that asks for more waits only for what is left, and its
 * failure text says so; stp_probe_expect_no_msg refuses instead);
 * stp_probe_within_end checks that at least min ms passed. Brackets nest
 * (at most STP_PROBE_MAX_WITHIN). STP_ELIMIT, STP_EINVAL (min > max),
 * STP_ESTATE (end without an open bracket). */
STP_API int stp_probe_within(stp_probe *p, uint64_t min_ms, uint64_t max_ms);
STP_API int stp_probe_within_end(stp_probe *p);

/* The text of the last failed expectation ("" when none). A call refused
 * for a bad argument on a valid probe (STP_EINVAL, STP_ELIMIT) sets it
 * too, saying why; every expectation and stp_probe_within replace it.
 * Lives until the next such call or stp_probe_free. */
STP_API const char *stp_probe_last_error(const stp_probe *p);
/* Messages received and not yet taken by an expectation. */
STP_API size_t stp_probe_pending(const stp_probe *p);

/* cmocka-friendly checks: fail the test with the probe's failure text. */
#ifdef fail_msg
#define STP__PROBE_CHECK(p, call)                                            \
	do {                                                                 \
		if ((call) != 0)                                             \
			fail_msg("%s", stp_probe_last_error(p));             \
	} while (0)
#define assert_probe_msg(p, text, ms) STP__PROBE_CHECK(p, stp_probe_expect_msg(p, text, ms))
#define assert_probe_no_msg(p, ms) STP__PROBE_CHECK(p, stp_probe_expect_no_msg(p, ms))
#define assert_probe_match(p, pred, arg, what, ms)                           \
	STP__PROBE_CHECK(p, stp_probe_expect_match(p, pred, arg, what, ms))
#define assert_probe_receive_n(p, n, ms) STP__PROBE_CHECK(p, stp_probe_receive_n(p, n, ms))
#define assert_probe_fish(p, pred, arg, what, ms)                            \
	STP__PROBE_CHECK(p, stp_probe_fish(p, pred, arg, what, ms))
#endif

/* ------------------------------------------------------------------ */
/* Logging and the event filter                                        */
/* ------------------------------------------------------------------ */

typedef enum {
	STP_LOG_DEBUG,
	STP_LOG_INFO,
	STP_LOG_WARN,
	STP_LOG_ERROR
} stp_log_level;

/* Where events that no filter mutes go: the default sink prints
 * "[warn] message" to stderr. */
typedef void (*stp_log_sink)(stp_log_level level, const char *msg, void *arg);
/* Install a sink (NULL: the default). Any thread. */
STP_API void stp_log_set_sink(stp_log_sink sink, void *arg);
/* Log an event. Any thread. */
STP_API void stp_log(stp_log_level level, const char *fmt, ...) STP_PRINTF(2, 3);

typedef struct stp_log_filter stp_log_filter;

/* The pattern is a POSIX extended regular expression, not a substring. */
#define STP_FILTER_REGEX 1u

/* Begin intercepting events of level whose text contains pattern (or
 * matches it, with STP_FILTER_REGEX), expecting exactly count of them.
 * Filters nest; an event goes to the innermost open filter that accepts
 * it, and is muted. NULL on error, with errbuf (may be NULL) saying why:
 * an invalid regex gives regerror's text. */
STP_API stp_log_filter *stp_filter_begin(stp_log_level level, const char *pattern,
					 unsigned flags, size_t count, char *errbuf,
					 size_t errsize);
/* End the filter: 0 when exactly count events matched, or STP_EMISMATCH
 * with stp_filter_error saying "expected 2 warnings matching "retry", got
 * 3" and listing them. STP_ESTATE when it was ended already, or when a
 * filter begun after it is still open (end the inner one first). */
STP_API int stp_filter_end(stp_log_filter *f);
STP_API const char *stp_filter_error(const stp_log_filter *f);
STP_API size_t stp_filter_count(const stp_log_filter *f);
/* Free an ended filter (an open one is ended first). */
STP_API void stp_filter_free(stp_log_filter *f);

#ifdef __cplusplus
}
#endif
#endif
