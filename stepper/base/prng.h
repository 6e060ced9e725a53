/*
 * prng.h - the project's own PRNG, so a seed means the same schedule on
 * every machine and every libc.
 *
 * The seed is expanded by splitmix64 into the 256-bit state of
 * xoshiro256** (Blackman and Vigna, 2018). A bounded draw uses Lemire's
 * multiply-shift with rejection, so it is exactly uniform. Changing any of
 * this changes what every seed means; tests/golden/seeds.txt pins it.
 */
#ifndef STEPPER_PRNG_H
#define STEPPER_PRNG_H

#include <stdint.h>

typedef struct stp__rng {
	uint64_t s[4];
} stp__rng;

void stp__rng_seed(stp__rng *r, uint64_t seed);
uint64_t stp__rng_next(stp__rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t stp__rng_below(stp__rng *r, uint64_t n);

#endif
