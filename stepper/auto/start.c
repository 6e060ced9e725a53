/*
 * start.c - the program under control: its main as the run's first
 * thread, and the ways the run ends.
 *
 * __libc_start_main is wrapped (constructors have run; the program is
 * single-threaded): with STEPPER_AUTO=1 the process's main thread makes a
 * stepper from the STEPPER_* environment, registers one free thread
 * "main" whose body calls the program's main, and runs it; the main
 * thread itself only watches for stalls, as in any run. (The program's
 * main therefore runs on a thread of the stepper's pool, not the process's
 * first thread: written in the README.)
 *
 * The run ends in one of four ways. exit() or the return from main: the
 * point "exit", then the run is concluded (trace written), and the real
 * exit runs with every other thread parked. A failure the core finds
 * (deadlock, divergence, limit, stall): the abort hook concludes and
 * _exits with the outcome's code, before any blocked thread is let go
 * into a program that could not survive it. A failed assert: the message
 * is recorded, the run concluded, then the real __assert_fail aborts. A
 * crash: the signal handler records it, concludes, and re-raises.
 */
#include "auto_int.h"
#include "env.h"

#include <stepper/trace.h>

#include <assert.h>
#include <sched.h>
#include <malloc.h>
#include <signal.h>
#include <ucontext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Thread_local int stp__auto_inside;

/* The exit codes of a run the stepper ended (the README's table). */
enum {
	CODE_ERROR = 85,     /* the stepper found a misuse (unlock of a free mutex...) */
	CODE_DEADLOCK = 86,  /* deadlock, lost wake-up, stuck join */
	CODE_LIMIT = 87,     /* the run's decision limit */
	CODE_STALL = 88,     /* a thread blocked where the stepper cannot see */
	CODE_DIVERGED = 89,  /* a replay that does not fit the program */
	CODE_UNCONTROL = 90  /* cannot control the program */
};

static stp_stepper *run_s;
static atomic_int live;     /* interposers take points */
static atomic_int exiting;  /* an exit concludes the run: aborts are its own */
static atomic_int reported;
static const char *failure_trace; /* STEPPER_TRACE, written only on a failure */
static int (*program_main)(int, char **, char **);
static int main_argc;
static char **main_argv, **main_envp;

struct stp__thread *stp__auto_self(void)
{
	struct stp__thread *t = stp_self_;
	if (!t || stp__auto_inside || !atomic_load_explicit(&live, memory_order_relaxed))
		return NULL;
	return t;
}

void stp__auto_stuck(void)
{
	for (;;)
		pause();
}

/* The code a failed run exits with. */
static int code_of(stp_stepper *s)
{
	const char *first = stp_error_count(s) ? stp_error(s, 0) : "";
	switch (s->outcome) {
	case STP__OUT_DEADLOCK:
		return CODE_DEADLOCK;
	case STP__OUT_STALL:
		return CODE_STALL;
	case STP__OUT_DIVERGENCE:
		return CODE_DIVERGED;
	default:
		break;
	}
	if (strncmp(first, "limit:", 6) == 0)
		return CODE_LIMIT;
	if (strncmp(first, "cannot control", 14) == 0)
		return CODE_UNCONTROL;
	return CODE_ERROR;
}

/* The order that happened; of a long run, its first HEAD and last TAIL
 * lines (the trace has all of them). */
#define HEAD 40
#define TAIL 200
static void print_order(stp_stepper *s, FILE *out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (!mem)
		return;
	stp_print_order(s, mem);
	fclose(mem);
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	if (lines <= HEAD + TAIL + 1) {
		fputs(text, out);
		free(text);
		return;
	}
	size_t line = 0, i = 0;
	for (; i < len && line < HEAD; i++)
		line += text[i] == '\n';
	fwrite(text, 1, i, out);
	fprintf(out, "... %zu lines left out (the trace has them) ...\n", lines - HEAD - TAIL);
	for (; i < len && line < lines - TAIL; i++)
		line += text[i] == '\n';
	fwrite(text + i, 1, len - i, out);
	free(text);
}

/* Conclude the run (trace written) and, when it failed, print what the
 * stepper found and the order that led there, once. */
static void conclude_as(stp_stepper *s, int in_handler)
{
	stp__auto_inside = 1;
	stp__run_conclude(s);
	if (stp_error_count(s) == 0 || atomic_exchange(&reported, 1))
		return;
	if (failure_trace)
		stp_trace_write(s, failure_trace);
	fflush(stdout);
	fprintf(stderr, "stepper: the run failed (seed %llu, strategy %s, %zu decisions)\n",
		(unsigned long long)s->opt.seed, s->strategy, s->dec.nlog);
	stp__auto_print_errors(s, stderr, !in_handler);
	fprintf(stderr, "stepper: the order that happened:\n");
	print_order(s, stderr);
	const char *trace = failure_trace ? failure_trace : s->opt.trace;
	if (trace)
		fprintf(stderr, "stepper: trace written to %s\n", trace);
	fflush(stderr);
}

static void conclude(stp_stepper *s)
{
	conclude_as(s, 0);
}

/* The core is aborting the run (stp__abort): end the process now. */
static void on_abort(stp_stepper *s)
{
	if (atomic_exchange(&exiting, 1))
		return; /* an exit already ends the process */
	/* (exiting also keeps the watcher, which stops watching once the run
	 * is concluded, from ending the process while this reports) */
	atomic_store(&live, 0);
	conclude(s);
	_exit(code_of(s));
}

/* Threads still there when the program exits end with it, as without
 * the stepper: a note, not a failure. */
static void note_left_running(stp_stepper *s, const struct stp__thread *self)
{
	int said = 0;
	for (int i = 0; i < s->nthreads; i++) {
		struct stp__thread *t = s->threads[i];
		if (t == self || atomic_load(&t->ended))
			continue;
		const char *at = atomic_load(&t->at);
		fprintf(stderr, "%s [%s] %s%s", said++ ? "," : "stepper: at exit, left running:",
			t->name, atomic_load(&t->state) == STP__T_PARKED ? "at " : "since ",
			at ? at : "its start");
	}
	if (said)
		fputc('\n', stderr);
}

void stp__auto_exit(struct stp__thread *t, int status)
{
	stp_stepper *s = t->s;
	stp__auto_inside = 1;
	if (stp__exit_point(t) < 0)
		stp__auto_stuck();
	atomic_store(&exiting, 1);
	atomic_store(&live, 0);
	if (status != 0)
		stp__error(s, STP__OUT_FAIL, "exit: the program exited with status %d ([%s] at %s)",
			   status, t->name, t->site[0] ? t->site : "the end of main");
	size_t own = status != 0;
	conclude(s);
	note_left_running(s, t);
	int code = stp_error_count(s) > own ? code_of(s) : status;
	REAL(exit)(code);
}

/* The body of the run's thread "main". A pthread_exit in main ends this
 * thread as any made thread's ends (interpose.c): its cleanup handlers and
 * destructors first, then the end; the others go on. */
static void main_body(void *arg)
{
	(void)arg;
	struct stp__thread *t = stp_self_;
	stp__auto_end_after_destructors(t);
	stp__auto_inside = 0;
	int status = program_main(main_argc, main_argv, main_envp);
	stp__auto_exit(t, status); /* the return from main is exit */
}

/* ------------------------------------------------------------------ */
/* Assertions and crashes                                              */
/* ------------------------------------------------------------------ */

__attribute__((visibility("default"))) void __assert_fail(const char *assertion, const char *file, unsigned line,
		   const char *function)
{
	stp_stepper *s = run_s;
	struct stp__thread *t = stp_self_;
	if (s && atomic_load(&live) && t) {
		stp__auto_inside = 1;
		atomic_store(&live, 0);
		stp__error(s, STP__OUT_FAIL, "assertion failed: [%s] %s at %s:%u (in %s)",
			   t->name, assertion, file, line, function);
		atomic_store(&exiting, 1);
		conclude(s);
	}
	REAL(assert_fail)(assertion, file, line, function);
}

/* The program counter of a signal's context, where the platform says. */
static const void *pc_of(const void *uc)
{
#if defined(__x86_64__)
	return (const void *)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (const void *)((const ucontext_t *)uc)->uc_mcontext.pc;
#else
	(void)uc;
	return NULL;
#endif
}

/* Not async-signal-safe past the first line: the process is dying, and
 * the report and the trace are worth the risk (a crash inside malloc may
 * hang here: the CLI's timeout ends that). */
static void on_crash(int sig, siginfo_t *info, void *uc)
{
	(void)info;
	stp_stepper *s = run_s;
	struct stp__thread *t = stp_self_;
	if (s && atomic_exchange(&live, 0)) {
		stp__auto_inside = 1;
		atomic_store(&exiting, 1);
		char where[sizeof t->site] = "";
		const void *pc = pc_of(uc);
		if (t && pc && sig != SIGABRT) {
			stp__auto_site(t, pc + 1); /* a site takes a return address */
			snprintf(where, sizeof where, "%s", t->site);
		}
		stp__error(s, STP__OUT_FAIL, "crash: [%s] was killed by SIG%s (%s)%s%s",
			   t ? t->name : "a thread out of control", sigabbrev_np(sig),
			   strsignal(sig), where[0] ? " at " : "", where);
		conclude(s);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_crashes(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_crash;
	sa.sa_flags = SA_NODEFER | SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

/* A fork() of the program: the child has one thread of the run and runs
 * uncontrolled (README); its calls go to the real functions. */
static void forked(void)
{
	atomic_store(&live, 0);
	atomic_store(&exiting, 1);
}

/* What every run of the program sets up the same way, done once (a fork
 * server does it before its copies are made): crash handlers; one malloc
 * arena (one thread runs at a time: an arena per thread only costs each
 * new thread its mapping); the CPU count the hand-off reads. */
static void prepare(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	catch_crashes();
	stp__auto_threads_prepare();
	pthread_atfork(NULL, NULL, forked);
	mallopt(M_ARENA_MAX, 1);
	stp__ncpu();
}

/* One thread of the run goes at a time: the run loses nothing on one
 * CPU, and its hand-offs get cheaper there (no cross-core wake-ups; no
 * waiter spins, as on a one-CPU machine). Runs side by side (stepper run
 * -j) spread over the allowed CPUs: a fork server's copies by their
 * number, exec'd runs by pid. Threads made later inherit it. */
static void pin_to_one_cpu(void)
{
	cpu_set_t allowed, one;
	if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < 2)
		return;
	long index = stp__auto_copy_index();
	int k = (int)((index >= 0 ? index : (long)getpid()) % CPU_COUNT(&allowed)), cpu = 0;
	for (; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed) && k-- == 0)
			break;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof one, &one) == 0)
		stp__ncpu_set(1);
}

/* ------------------------------------------------------------------ */
/* The start                                                           */
/* ------------------------------------------------------------------ */

static int controlled_main(int argc, char **argv, char **envp)
{
	stp__auto_inside = 1; /* this thread only watches */
	main_argc = argc;
	main_argv = argv;
	main_envp = envp;
	stp_options o;
	stp_options_init(&o);
	o.mode = STP_SERIAL;
	/* A plain run writes its trace only when it fails (at the end: the
	 * core's writer would write one at the start as well, and time every
	 * point); replays and shrinking's candidates keep the core's way. */
	if (o.trace && !o.replay && !getenv("STEPPER_SHRINK_CANDIDATE")) {
		failure_trace = o.trace;
		o.trace = NULL;
	}
	unsetenv("STEPPER_AUTO"); /* programs it execs are not controlled */
	pin_to_one_cpu();
	stp_stepper *s = stp_new(&o);
	if (!s || stp_thread(s, "main", NULL, main_body, NULL) != 0) {
		fprintf(stderr, "stepper: cannot start the run: out of memory\n");
		return CODE_UNCONTROL;
	}
	s->dynamic = 1;
	s->model_only = 1;
	s->vtime = 1;
	stp__release_options(&s->release, &s->escape_ms);
	s->hooks.aborting = on_abort;
	run_s = s;
	prepare();
	atomic_store(&live, 1);
	stp_run(s); /* every thread ended: main called pthread_exit */
	if (atomic_load(&exiting))
		stp__auto_stuck(); /* a thread is in exit(): it ends the process */
	atomic_store(&live, 0);
	conclude(s);
	REAL(exit)(stp_error_count(s) ? code_of(s) : 0);
}

/* With STEPPER_AUTO_FD, a fork server first: each copy it makes for a
 * run goes on here. */
static int serving_main(int argc, char **argv, char **envp)
{
	const char *fd = getenv("STEPPER_AUTO_FD");
	if (fd && *fd) {
		char *end;
		long v = strtol(fd, &end, 10);
		if (*end || v < 3 || v > 65535) {
			fprintf(stderr, "stepper: STEPPER_AUTO_FD='%.32s' is not a descriptor\n", fd);
			return CODE_UNCONTROL;
		}
		prepare();
		stp__auto_serve((int)v);
		envp = environ; /* the run's own */
	}
	return controlled_main(argc, argv, envp);
}

__attribute__((visibility("default"))) int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv,
		      void (*init)(void), void (*fini)(void), void (*rtld_fini)(void),
		      void *stack_end)
{
	const char *on = getenv("STEPPER_AUTO");
	if (!on || strcmp(on, "1") != 0)
		return REAL(start_main)(main, argc, argv, init, fini, rtld_fini, stack_end);
	program_main = main;
	return REAL(start_main)(serving_main, argc, argv, init, fini, rtld_fini, stack_end);
}
