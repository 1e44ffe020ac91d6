/*
 * fuzz.h: what the libFuzzer targets share: the entry points' prototypes,
 * a check that aborts with a message (a broken promise is a crash the
 * fuzzer keeps, like a sanitizer report) and a small deterministic
 * generator for split points, seeded from the input so a crash replays.
 */
#ifndef CP_FUZZ_H
#define CP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	 LLVMFuzzerInitialize(int *, char ***);

#define FUZZ_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s: ",		\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

/* FNV-1a of the input, then xorshift64 */
static inline uint64_t
fuzz_seed(const uint8_t *p, size_t len)
{
	uint64_t	 h = 1469598103934665603ULL;
	size_t		 i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h ? h : 1;
}

static inline uint64_t
fuzz_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* a piece size: mostly tiny (every split point matters), sometimes big */
static inline size_t
fuzz_piece(uint64_t *s, size_t left)
{
	uint64_t	 r = fuzz_next(s);
	size_t		 n;

	switch (r & 3) {
	case 0:	n = 1; break;
	case 1:	n = 1 + (r >> 8) % 8; break;
	case 2:	n = 1 + (r >> 8) % 64; break;
	default: n = 1 + (r >> 8) % 4096; break;
	}
	return n < left ? n : left;
}

#endif
