/*
 * crash.c - a test whose thread crashes with SIGSEGV after its second
 * step. Its trace never gets past the plan; the plan still replays.
 */
#include <stepper/stepper.h>

#include <signal.h>
#include <stdio.h>

static void crasher(void *p)
{
	(void)p;
	STEP("one");
	STEP("two");
	fflush(stdout);
	/* A deterministic stand-in for a wild pointer. The default action,
	 * so that a sanitizer's handler does not turn it into an exit. */
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
	STEP("three");
}

static void other(void *p)
{
	(void)p;
	STEP("x");
	STEP("y");
}

int main(void)
{
	static const char *const oc[] = { "one", "two", "three", NULL };
	static const char *const oo[] = { "x", "y", NULL };
	stp_stepper *s = stp_new(NULL);
	stp_thread(s, "crasher", oc, crasher, NULL);
	stp_thread(s, "other", oo, other, NULL);
	stp_interleave(s);
	stp_print_order(s, stdout);
	int n = stp_run(s);
	stp_free(s);
	return n != 0;
}
