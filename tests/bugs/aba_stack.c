/*
 * aba_stack.c - a lock-free (Treiber) stack whose pop races a push: the
 * ABA problem. Nodes come from a fixed pool and are reused. [popper]
 * reads the top (A) and A's next (B), and is preempted before its
 * compare-and-swap; [recycler] pops A, pops B and pushes A back. The top
 * is A again, so [popper]'s CAS succeeds and installs B, which [recycler]
 * owns: B is now both on the stack and in use.
 *
 * Needs 1 preemption ([popper] at its CAS), depth 2 (well, three
 * operations of [recycler] between two steps of [popper], but one switch
 * each way). The fix: a version tag beside the top's index, bumped by
 * every successful CAS, so that a top that came back is not the same top.
 */
#include "zoo.h"

#include <stdatomic.h>
#include <stdint.h>

#define NODES 3 /* A, B, C */

struct stack {
	/* The top: the tag in the high 32 bits, the node's index + 1 in the
	 * low 32 (0: empty). */
	_Atomic uint64_t top;
	atomic_int next[NODES]; /* index, -1: none */
	int fixed;
};

static int top_node(uint64_t top)
{
	return (int)(top & 0xffffffffu) - 1;
}

/* The new top word: node i (-1: empty), the tag bumped in the fix only. */
static uint64_t top_word(const struct stack *st, uint64_t old, int i)
{
	uint64_t tag = (old >> 32) + (st->fixed ? 1 : 0);
	return tag << 32 | (uint64_t)(uint32_t)(i + 1);
}

/* Pop a node's index, or -1 when the stack is empty. */
static int pop(struct stack *st)
{
	for (;;) {
		STEP("pop: read top");
		uint64_t top = atomic_load(&st->top);
		int i = top_node(top);
		if (i < 0)
			return -1;
		STEP("pop: read next");
		int next = atomic_load(&st->next[i]);
		STEP("pop: cas");
		if (atomic_compare_exchange_strong(&st->top, &top, top_word(st, top, next)))
			return i;
	}
}

static void push(struct stack *st, int i)
{
	for (;;) {
		STEP("push: read top");
		uint64_t top = atomic_load(&st->top);
		atomic_store(&st->next[i], top_node(top));
		STEP("push: cas");
		if (atomic_compare_exchange_strong(&st->top, &top, top_word(st, top, i)))
			return;
	}
}

struct user {
	struct stack *st;
	atomic_int owns; /* the node it holds at the end, -1: none */
};

static void popper(void *arg)
{
	struct user *u = arg;
	atomic_store(&u->owns, pop(u->st));
}

/* Takes two nodes, gives the first one back. */
static void recycler(void *arg)
{
	struct user *u = arg;
	int a = pop(u->st);
	int b = pop(u->st);
	if (a >= 0)
		push(u->st, a);
	atomic_store(&u->owns, b);
}

/* Every node is either on the stack or held by one thread, once. */
static void check_nodes(stp_stepper *s, struct stack *st, const struct user *u, int nu)
{
	int seen[NODES] = { 0 }, len = 0;
	for (int i = top_node(atomic_load(&st->top)); i >= 0 && len <= NODES;
	     i = atomic_load(&st->next[i]), len++)
		seen[i]++;
	for (int k = 0; k < nu; k++)
		if (atomic_load(&u[k].owns) >= 0)
			seen[atomic_load(&u[k].owns)]++;
	for (int i = 0; i < NODES; i++)
		if (seen[i] != 1) {
			stp_add_error(s, "aba: node %c is on the stack or held %d times, "
					 "expected once (popper holds %d, recycler %d)",
				      'A' + i, seen[i], atomic_load(&u[0].owns),
				      atomic_load(&u[1].owns));
			return;
		}
}

int bug_aba_stack(stp_stepper *s, void *fixed)
{
	struct stack st = { .top = 1, .fixed = *(const int *)fixed }; /* A -> B -> C */
	atomic_init(&st.next[0], 1);
	atomic_init(&st.next[1], 2);
	atomic_init(&st.next[2], -1);
	struct user u[2] = { { &st, -1 }, { &st, -1 } };
	ZOO_THREAD(s, "recycler", recycler, &u[1]);
	ZOO_THREAD(s, "popper", popper, &u[0]); /* last: it goes first (zoo.h) */
	if (zoo_run(s) != 0)
		return 1;
	check_nodes(s, &st, u, 2);
	return 0;
}
