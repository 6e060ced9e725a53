/*
 * tset.h - sets of a run's threads, by index (0 .. STP_MAX_THREADS - 1).
 *
 * A fixed bitmap: adding, removing and testing a member cost one word;
 * walking a set costs one word per 64 threads plus one step per member,
 * whatever the threads outside it (blocked, ended) are doing.
 */
#ifndef STEPPER_TSET_H
#define STEPPER_TSET_H

#include "stepper.h"

#include <stdint.h>

#define STP__TSET_WORDS ((STP_MAX_THREADS + 63) / 64)

typedef struct stp__tset {
	uint64_t w[STP__TSET_WORDS];
} stp__tset;

static inline void stp__tset_add(stp__tset *s, int i)
{
	s->w[i >> 6] |= (uint64_t)1 << (i & 63);
}

static inline void stp__tset_del(stp__tset *s, int i)
{
	s->w[i >> 6] &= ~((uint64_t)1 << (i & 63));
}

/* Is i (which may be -1: no thread) in s? */
static inline int stp__tset_has(const stp__tset *s, int i)
{
	return i >= 0 && (int)(s->w[i >> 6] >> (i & 63) & 1);
}

static inline void stp__tset_clear(stp__tset *s)
{
	for (int k = 0; k < STP__TSET_WORDS; k++)
		s->w[k] = 0;
}

/* The set {i}, or the empty set when i is -1. */
static inline stp__tset stp__tset_of(int i)
{
	stp__tset s;
	stp__tset_clear(&s);
	if (i >= 0)
		stp__tset_add(&s, i);
	return s;
}

static inline int stp__tset_empty(const stp__tset *s)
{
	uint64_t any = 0;
	for (int k = 0; k < STP__TSET_WORDS; k++)
		any |= s->w[k];
	return any == 0;
}

static inline int stp__tset_count(const stp__tset *s)
{
	int n = 0;
	for (int k = 0; k < STP__TSET_WORDS; k++)
		n += __builtin_popcountll(s->w[k]);
	return n;
}

/* Over the first nw words only (a run's threads so far: stp__tset_words),
 * for the decider's hot path; the full-width forms below use them. */
static inline int stp__tset_words(int nthreads)
{
	return (nthreads + 63) >> 6;
}

static inline int stp__tset_next_n(const stp__tset *s, int from, int nw)
{
	for (int k = from >> 6; k < nw; k++) {
		uint64_t w = s->w[k];
		if (k == from >> 6)
			w &= ~(uint64_t)0 << (from & 63);
		if (w)
			return k * 64 + __builtin_ctzll(w);
	}
	return -1;
}

static inline int stp__tset_count_n(const stp__tset *s, int nw)
{
	int n = 0;
	for (int k = 0; k < nw; k++)
		n += __builtin_popcountll(s->w[k]);
	return n;
}

/* The k-th member (from 0, ascending) of s over nw words; -1 if none. */
static inline int stp__tset_kth_n(const stp__tset *s, int nw, uint64_t k)
{
	for (int i = 0; i < nw; i++) {
		uint64_t w = s->w[i], c = (uint64_t)__builtin_popcountll(w);
		if (k >= c) {
			k -= c;
			continue;
		}
		while (k--)
			w &= w - 1;
		return i * 64 + __builtin_ctzll(w);
	}
	return -1;
}

/* *out = a & ~b over nw words (the rest of *out untouched). */
static inline void stp__tset_minus_n(stp__tset *out, const stp__tset *a, const stp__tset *b,
				     int nw)
{
	for (int k = 0; k < nw; k++)
		out->w[k] = a->w[k] & ~b->w[k];
}

/* Is s exactly {i}, over nw words? */
static inline int stp__tset_is_only_n(const stp__tset *s, int i, int nw)
{
	for (int k = 0; k < nw; k++)
		if (s->w[k] != (k == i >> 6 ? (uint64_t)1 << (i & 63) : 0))
			return 0;
	return 1;
}

/* The least member >= from, or -1. */
static inline int stp__tset_next(const stp__tset *s, int from)
{
	return stp__tset_next_n(s, from < 0 ? 0 : from, STP__TSET_WORDS);
}

/* The least member, or -1. */
static inline int stp__tset_first(const stp__tset *s)
{
	return stp__tset_next(s, 0);
}

/* a & ~b, a | b, a & b. */
static inline stp__tset stp__tset_minus(stp__tset a, const stp__tset *b)
{
	stp__tset_minus_n(&a, &a, b, STP__TSET_WORDS);
	return a;
}

static inline stp__tset stp__tset_union(stp__tset a, const stp__tset *b)
{
	for (int k = 0; k < STP__TSET_WORDS; k++)
		a.w[k] |= b->w[k];
	return a;
}

static inline stp__tset stp__tset_inter(stp__tset a, const stp__tset *b)
{
	for (int k = 0; k < STP__TSET_WORDS; k++)
		a.w[k] &= b->w[k];
	return a;
}

/* Is s exactly {i}? */
static inline int stp__tset_is_only(const stp__tset *s, int i)
{
	return stp__tset_is_only_n(s, i, STP__TSET_WORDS);
}

#define STP__TSET_EACH_N(i, set, nw)                                            \
	for (int i = stp__tset_next_n((set), 0, (nw)); i >= 0;                  \
	     i = stp__tset_next_n((set), i + 1, (nw)))

/* for each member i of *set, ascending (set may lose members meanwhile,
 * but not gain ones below i) */
#define STP__TSET_EACH(i, set)                                                  \
	for (int i = stp__tset_first(set); i >= 0; i = stp__tset_next((set), i + 1))

#endif
