/*
 * fiber.c - user-space stacks and the switch between them (fiber.h).
 */
#include "fiber.h"
#include "handoff.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define FIBER_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define FIBER_TSAN 1
#endif

/* (a build for shadow stacks, -fcf-protection, takes swapcontext, which
 * keeps them) */
#if defined(__x86_64__) && !(defined(__CET__) && (__CET__ & 2))
#define FIBER_ASM 1
#else
#include <ucontext.h>
#endif

struct stp__fiber {
#if FIBER_ASM
	void *sp; /* saved stack pointer while it does not run */
#else
	ucontext_t uc;
	int started;
#endif
	void *map;           /* the mapping: guard page, then the stack */
	size_t map_size;
	const void *lo;      /* lowest address of the usable stack */
	size_t size;         /* its size */
	void (*fn)(void *);
	void *arg;
	stp__fiber *back;    /* where it goes when fn returns */
	int done;
#if FIBER_TSAN
	void *tsan;
#endif
};

/* ------------------------------------------------------------------ */
/* Stacks, reused: a mapping costs two system calls and page faults     */
/* ------------------------------------------------------------------ */

#define STACK_CACHE 256

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	void *map;
	size_t size;
} cache[STACK_CACHE];
static int ncache;

static size_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (size_t)p : 4096;
}

static void *stack_get(size_t size)
{
	stp__lock(&cache_mu);
	for (int i = ncache - 1; i >= 0; i--)
		if (cache[i].size == size) {
			void *m = cache[i].map;
			cache[i] = cache[--ncache];
			stp__unlock(&cache_mu);
			return m;
		}
	stp__unlock(&cache_mu);
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	if (mprotect(m, page_size(), PROT_NONE) != 0) { /* the guard */
		munmap(m, size);
		return NULL;
	}
	return m;
}

static void stack_put(void *map, size_t size)
{
#if FIBER_ASAN
	/* the frames a fiber left on it are not the next fiber's */
	__asan_unpoison_memory_region((char *)map + page_size(), size - page_size());
#endif
	stp__lock(&cache_mu);
	if (ncache < STACK_CACHE) {
		cache[ncache].map = map;
		cache[ncache].size = size;
		ncache++;
		map = NULL;
	}
	stp__unlock(&cache_mu);
	if (map)
		munmap(map, size);
}

/* ------------------------------------------------------------------ */
/* The switch                                                          */
/* ------------------------------------------------------------------ */

static void fiber_main(stp__fiber *f);

#if FIBER_ASM
/* void stp__fiber_swap(void **save_sp, void *sp): push the callee-saved
 * registers and the SSE and x87 control words, store the stack pointer,
 * load the other, pop its. A new fiber's stack holds a frame whose return
 * address is fiber_entry, with r12 = the fiber and r13 = fiber_main. */
__asm__(".text\n"
	".globl stp__fiber_swap\n"
	".hidden stp__fiber_swap\n"
	".type stp__fiber_swap,@function\n"
	"stp__fiber_swap:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size stp__fiber_swap, .-stp__fiber_swap\n"
	".globl stp__fiber_entry\n"
	".hidden stp__fiber_entry\n"
	".type stp__fiber_entry,@function\n"
	"stp__fiber_entry:\n"
	"	movq %r12, %rdi\n"
	"	andq $-16, %rsp\n"
	"	callq *%r13\n"
	"	ud2\n"
	".size stp__fiber_entry, .-stp__fiber_entry\n");

static void prepare(stp__fiber *f)
{
	uintptr_t top = ((uintptr_t)f->lo + f->size) & ~(uintptr_t)15;
	uint64_t *sp = (uint64_t *)top;
	*--sp = 0;                           /* (alignment) */
	*--sp = (uint64_t)(uintptr_t)stp__fiber_entry; /* the return address */
	*--sp = 0;                           /* rbp */
	*--sp = 0;                           /* rbx */
	*--sp = (uint64_t)(uintptr_t)f;      /* r12 */
	*--sp = (uint64_t)(uintptr_t)fiber_main; /* r13 */
	*--sp = 0;                           /* r14 */
	*--sp = 0;                           /* r15 */
	*--sp = 0x037F00001F80ull;           /* x87 control word, MXCSR: the defaults */
	f->sp = sp;
}

static void swap(stp__fiber *from, stp__fiber *to)
{
	stp__fiber_swap(&from->sp, to->sp);
}
#else
static _Thread_local stp__fiber *starting;

static void uc_main(void)
{
	fiber_main(starting);
}

static int prepare_uc(stp__fiber *f)
{
	if (getcontext(&f->uc) != 0)
		return -1;
	f->uc.uc_stack.ss_sp = (void *)f->lo;
	f->uc.uc_stack.ss_size = f->size;
	f->uc.uc_link = NULL;
	makecontext(&f->uc, uc_main, 0);
	return 0;
}

static void swap(stp__fiber *from, stp__fiber *to)
{
	if (!to->started) {
		to->started = 1;
		starting = to;
	}
	swapcontext(&from->uc, &to->uc);
}
#endif

void stp__fiber_switch(stp__fiber *from, stp__fiber *to)
{
#if FIBER_ASAN
	void *fake = NULL;
	__sanitizer_start_switch_fiber(from->done ? NULL : &fake, to->lo, to->size);
#endif
#if FIBER_TSAN
	__tsan_switch_to_fiber(to->tsan, 0);
#endif
	int e = errno; /* each fiber keeps its own */
	swap(from, to);
	errno = e;
#if FIBER_ASAN
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}

static void fiber_main(stp__fiber *f)
{
#if FIBER_ASAN
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
	errno = 0; /* as a new thread's: not the errno of the fiber before */
	f->fn(f->arg);
	f->done = 1;
	stp__fiber_switch(f, f->back);
	stp__panic("a fiber that ended was switched to", 0);
}

/* ------------------------------------------------------------------ */
/* Making and freeing                                                  */
/* ------------------------------------------------------------------ */

stp__fiber *stp__fiber_host(void)
{
	stp__fiber *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	pthread_attr_t a;
	void *lo = NULL;
	size_t size = 0;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstack(&a, &lo, &size);
		pthread_attr_destroy(&a);
	}
	f->lo = lo;
	f->size = size;
#if FIBER_TSAN
	f->tsan = __tsan_get_current_fiber();
#endif
	return f;
}

stp__fiber *stp__fiber_new(size_t stack, void (*fn)(void *), void *arg, stp__fiber *back)
{
	size_t page = page_size();
	size_t size = (stack + page - 1) / page * page + page;
	stp__fiber *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->map = stack_get(size);
	if (!f->map) {
		free(f);
		return NULL;
	}
	f->map_size = size;
	f->lo = (char *)f->map + page;
	f->size = size - page;
	f->fn = fn;
	f->arg = arg;
	f->back = back;
#if FIBER_ASM
	prepare(f);
#else
	if (prepare_uc(f) != 0) {
		stack_put(f->map, f->map_size);
		free(f);
		return NULL;
	}
#endif
#if FIBER_TSAN
	f->tsan = __tsan_create_fiber(0);
#endif
	return f;
}

int stp__fiber_done(const stp__fiber *f)
{
	return f->done;
}

void stp__fiber_free(stp__fiber *f)
{
	if (!f)
		return;
	if (f->map) {
#if FIBER_TSAN
		__tsan_destroy_fiber(f->tsan);
#endif
		stack_put(f->map, f->map_size);
	}
	free(f);
}
