/*
 * error.h - what every part of stepper shares: the STP_E* error codes,
 * their names and texts, and the export and printf-format macros.
 *
 * Included by every public header; depends on nothing.
 */
#ifndef STEPPER_ERROR_H
#define STEPPER_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define STP_API __attribute__((visibility("default")))
#define STP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define STP_API
#define STP_PRINTF(f, a)
#endif

/* ------------------------------------------------------------------ */
/* Error codes                                                         */
/* ------------------------------------------------------------------ */

#define STP_ERRNO_MAP(X)                                                    \
	X(EINVAL, -1, "invalid argument")                                       \
	X(ENOMEM, -2, "out of memory")                                          \
	X(ESTATE, -3, "call not allowed in this state")                         \
	X(EDUP, -4, "duplicate name")                                           \
	X(ELIMIT, -5, "limit exceeded")                                         \
	X(ETHREAD, -6, "could not start a thread")                              \
	X(EDIVERGE, -7, "thread reached a step other than the declared one")    \
	X(ESTALL, -8, "schedule stalled")                                       \
	X(EFAIL, -9, "failure reported by a controlled thread")                 \
	X(EEARLY, -10, "thread ended with declared steps left")                 \
	X(EIO, -11, "input/output error")                                       \
	X(EPARSE, -12, "malformed input")                                       \
	X(EMISMATCH, -13, "threads or orders differ from the trace")            \
	X(ERANGE, -14, "value out of range")                                    \
	X(ETIMEDOUT, -15, "timed out")                                          \
	X(ENOENT, -16, "no such entry")                                         \
	X(EDEADLOCK, -17, "every thread is blocked with nothing to wake it")    \
	X(ECLOSED, -18, "closed")                                               \
	X(EAGAIN, -19, "try again")                                             \
	X(EBUSY, -20, "held by another thread")                                 \
	X(EPERM, -21, "not held by the calling thread")

enum {
#define STP__ENUM(name, code, text) STP_##name = (code),
	STP_ERRNO_MAP(STP__ENUM)
#undef STP__ENUM
};

/* The text for an STP_E* code ("invalid argument"); "unknown error" for
 * anything else, "ok" for 0. The string is static. Any thread. */
STP_API const char *stp_strerror(int code);
/* The symbolic name of an STP_E* code ("STP_EINVAL"). Static. Any thread. */
STP_API const char *stp_errname(int code);

#ifdef __cplusplus
}
#endif

#endif
