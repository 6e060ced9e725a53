/*
 * fiber.h - stacks switched in user space: several controlled threads of
 * one run on one OS thread (stp_set_fibers, stepper/DESIGN.md "Fibers").
 *
 * A fiber runs fn(arg) on a stack of its own. Control passes only by
 * stp__fiber_switch, from the fiber that runs to another of the same OS
 * thread; nothing here decides who runs next. When fn returns, the fiber
 * switches to the one it was told to (stp__fiber_new's `back`) and never
 * runs again. On x86-64 a switch saves the callee-saved registers and the
 * stack pointer (some tens of nanoseconds); elsewhere it is swapcontext.
 * Under AddressSanitizer and ThreadSanitizer every switch is announced.
 */
#ifndef STEPPER_FIBER_H
#define STEPPER_FIBER_H

#include <stddef.h>

typedef struct stp__fiber stp__fiber;

/* The calling OS thread as a fiber, to switch from and back to. NULL when
 * out of memory. Free with stp__fiber_free on the same thread. */
stp__fiber *stp__fiber_host(void);
/* A fiber that will run fn(arg) on a stack of at least stack bytes (with a
 * guard page below it), then switch to back. NULL when out of memory. */
stp__fiber *stp__fiber_new(size_t stack, void (*fn)(void *), void *arg, stp__fiber *back);
/* Leave from (the fiber that runs) for to; returns when some fiber
 * switches back to from. */
void stp__fiber_switch(stp__fiber *from, stp__fiber *to);
/* Has fn returned? */
int stp__fiber_done(const stp__fiber *f);
/* Free a fiber that is not running (its stack goes back to a cache). */
void stp__fiber_free(stp__fiber *f);

#if defined(__x86_64__) && !(defined(__CET__) && (__CET__ & 2))
/* The switch itself, in assembly (fiber.c): store the stack pointer in
 * *save_sp and continue on sp; a new fiber's first frame returns into
 * stp__fiber_entry. Not for use elsewhere. */
void stp__fiber_swap(void **save_sp, void *sp);
void stp__fiber_entry(void);
#endif

#endif
