/*
 * clock.h - virtual time: a clock that is real in production and virtual
 * under test, so a test of a 10 s timeout runs in microseconds, the same
 * way every time.
 *
 * Threads that stp_clock_enter a clock are its members. On a member,
 * stp_now_ns, stp_sleep_ns, stp_timer_start and stp_cond_timedwait_ns use
 * the virtual clock; on every other thread they use the real one
 * (CLOCK_MONOTONIC). Time moves only by stp_clock_advance, or, in auto
 * mode, when every member is blocked.
 *
 * A member is "blocked" while it is inside a clock-aware wait (stp_sleep_ns,
 * stp_cond_timedwait_ns, stp_cond_wait, or parked at a step of a stepper
 * run that uses the clock), and "running" otherwise. Whoever wakes a
 * member marks it running before it wakes (the clock for sleepers and
 * timeouts, stp_cond_signal and stp_cond_broadcast for conditions, the
 * turnstile for steps), so an advance that waits for every member to block
 * again never mistakes a thread that is about to run for an idle one.
 * A member blocked anywhere else (a plain mutex, read(), pthread_cond_wait)
 * looks running: if it stays so past the stall limit, the advance returns
 * an error that names it instead of hanging.
 *
 * Thread safety: every function may be called from any thread, except
 * where noted (stp_clock_advance and stp_clock_wait_idle: not from a
 * member).
 */
#ifndef STEPPER_CLOCK_H
#define STEPPER_CLOCK_H

#include <pthread.h>
#include <stdint.h>

#include <stepper/stepper.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stp_clock stp_clock;
typedef struct stp_timer stp_timer;

#define STP_NS_PER_SEC 1000000000ull
#define STP_SECONDS(s) ((uint64_t)(s) * STP_NS_PER_SEC)
#define STP_MILLIS(ms) ((uint64_t)(ms) * 1000000ull)

/* A clock reading start_ns. Its stall limit is STEPPER_STALL_MS (default
 * 2000 ms of real time); a stepper run that uses it applies its own. NULL
 * when out of memory. */
STP_API stp_clock *stp_clock_new(uint64_t start_ns);
/* Free the clock and its timer handles. It must have no members left. */
STP_API void stp_clock_free(stp_clock *c);
STP_API uint64_t stp_clock_now(const stp_clock *c);
/* The stall limit, in real milliseconds. */
STP_API void stp_clock_set_stall_ms(stp_clock *c, unsigned ms);

/* Take every deadline (timer or sleeper) up to now+ns, in order (equal
 * deadlines in the order they were registered). For each, the clock reads
 * exactly that deadline, the timer's callback runs on the calling thread
 * (or the sleeper wakes), and the advance waits until every member is
 * blocked again or has left before it takes the next. Deadlines added
 * during the advance inside the window are taken too. On return the clock
 * reads its old time + ns. Returns the number of timers and sleepers fired,
 * or STP_ESTATE (called from a member), STP_ERANGE (the clock would pass
 * 2^64 ns), STP_ESTALL (a member neither blocked nor left within the stall
 * limit: stp_clock_error names it; the clock stays where it was), or
 * STP_EDEADLOCK (auto mode found a deadlock). Not from a member. */
STP_API int stp_clock_advance(stp_clock *c, uint64_t ns);
/* Wait until every member is blocked (or there are none). 0, STP_ESTALL,
 * STP_ESTATE (from a member). */
STP_API int stp_clock_wait_idle(stp_clock *c);
/* Auto mode: whenever every member is blocked and a deadline exists, the
 * clock jumps to the earliest one (timer callbacks then run on the clock's
 * own thread). When every member is blocked and no deadline exists, that is
 * a deadlock: stp_clock_error lists each member and what it waits on, and
 * every clock-aware wait returns STP_EDEADLOCK. */
STP_API void stp_clock_set_auto(stp_clock *c, int on);
/* The last error's text ("" when none); it lives until the next error or
 * stp_clock_free. */
STP_API const char *stp_clock_error(const stp_clock *c);
/* The earliest pending deadline: 0 and *ns, or STP_ENOENT when none. */
STP_API int stp_clock_next_deadline(const stp_clock *c, uint64_t *ns);
/* Members now, and how many of them are blocked. */
STP_API int stp_clock_members(const stp_clock *c, int *blocked);

/* The calling thread becomes a member ("thread N" in reports, or name).
 * STP_ESTATE when it is already a member of a clock. */
STP_API int stp_clock_enter(stp_clock *c);
STP_API int stp_clock_enter_named(stp_clock *c, const char *name);
/* The calling thread stops being a member. STP_ESTATE if it is not one. */
STP_API int stp_clock_leave(void);

/* For code under test: virtual on a member, real everywhere else. */
STP_API uint64_t stp_now_ns(void);
/* 0 after ns; STP_EDEADLOCK in a deadlock. */
STP_API int stp_sleep_ns(uint64_t ns);
/* Run cb(arg) once, ns from now. On a member (or inside a timer callback)
 * the timer is virtual; elsewhere a real timer thread runs it. The handle
 * stays valid until stp_timer_free (or, for a virtual timer, until its
 * clock is freed). NULL when out of memory or ns overflows the clock. */
STP_API stp_timer *stp_timer_start(uint64_t ns, void (*cb)(void *), void *arg);
/* 0 when the timer was pending and will not run; STP_ENOENT when it
 * already ran or was cancelled; STP_EINVAL for NULL. */
STP_API int stp_timer_cancel(stp_timer *t);
/* Cancel if pending, and release the handle. */
STP_API void stp_timer_free(stp_timer *t);
/* pthread_cond_timedwait with a relative timeout on the clock. mu is
 * locked by the caller. 0 when signalled (or spuriously woken, as with
 * pthread), STP_ETIMEDOUT at the deadline, STP_EDEADLOCK. */
STP_API int stp_cond_timedwait_ns(pthread_cond_t *cv, pthread_mutex_t *mu,
				  uint64_t ns);
/* A clock-aware wait with no deadline. */
STP_API int stp_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu);
/* Wake the waiters of cv. Clock-aware waiters are marked running first,
 * so the clock waits for them; stp_cond_signal wakes all of them (a
 * broadcast: condition variables allow spurious wake-ups, and so the
 * clock knows exactly who runs). Call with or without mu held. */
STP_API void stp_cond_signal(pthread_cond_t *cv);
STP_API void stp_cond_broadcast(pthread_cond_t *cv);

/* The same four with the caller's file and line, which the stepper's
 * reports name; the macros below pass them. On a controlled thread of a
 * serial stepper run these waits are scheduling points the stepper
 * understands (see stepper.h, "Locks and waits"): a wait blocks the thread
 * until a signal the strategy lets it take, a timed wait times out only
 * when no other thread can go on, and the mutex must be held through
 * stp_mutex_lock. */
STP_API int stp_cond_timedwait_ns_at_(pthread_cond_t *cv, pthread_mutex_t *mu,
				      uint64_t ns, const char *file, int line);
STP_API int stp_cond_wait_at_(pthread_cond_t *cv, pthread_mutex_t *mu,
			      const char *file, int line);
STP_API void stp_cond_signal_at_(pthread_cond_t *cv, const char *file, int line);
STP_API void stp_cond_broadcast_at_(pthread_cond_t *cv, const char *file, int line);
#define stp_cond_timedwait_ns(cv, mu, ns)                                   \
	stp_cond_timedwait_ns_at_((cv), (mu), (ns), __FILE__, __LINE__)
#define stp_cond_wait(cv, mu) stp_cond_wait_at_((cv), (mu), __FILE__, __LINE__)
#define stp_cond_signal(cv) stp_cond_signal_at_((cv), __FILE__, __LINE__)
#define stp_cond_broadcast(cv) stp_cond_broadcast_at_((cv), __FILE__, __LINE__)

#ifdef __cplusplus
}
#endif
#endif
