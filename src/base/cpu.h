/* Run-time choice of a SIMD kernel, shared by md5mb.c and blake3.c. A module
 * numbers its kernels 1..n in increasing order of preference (0 is "auto")
 * and gives the CPU level each one needs; the build has no -m flags, so the
 * kernels are `target` functions and this picks among them at run time. */
#ifndef PQF_BASE_CPU_H
#define PQF_BASE_CPU_H

#include <stdbool.h>

typedef enum {
    PQF_CPU_BASE,   /* any CPU: the portable code */
    PQF_CPU_AVX2,   /* x86-64 with AVX2 */
    PQF_CPU_AVX512, /* x86-64 with AVX2, AVX-512F and AVX-512VL */
} pqf__cpu_level;

/* Whether this CPU has `level` (only PQF_CPU_BASE off x86-64 or without GCC/Clang). */
bool pqf__cpu_has(pqf__cpu_level level);

/* A module's kernels 1..n (increasing preference; 0 is "auto") and how one
 * is chosen: the highest whose need[k] this CPU has, picked once; or a lesser
 * one whose name(k) the environment variable `env` holds (tests and A/B
 * runs); or the one pqf__cpu_force set. */
typedef struct pqf__cpu_choice {
    int n;
    const pqf__cpu_level *need; /* need[1..n] */
    const char *(*name)(int k);
    const char *env;
    int forced; /* 0, or the kernel forced */
    int best;   /* 0 until picked */
} pqf__cpu_choice;

/* Kernel k is one of c's and this CPU can run it. */
bool pqf__cpu_allows(const pqf__cpu_choice *c, int k);
/* The kernel to use. */
int pqf__cpu_kernel(pqf__cpu_choice *c);
/* Use kernel k from now on (0: the choice above again); false, and nothing
 * changes, when the CPU cannot run it. */
bool pqf__cpu_force(pqf__cpu_choice *c, int k);

#endif
