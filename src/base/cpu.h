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

/* The kernel to use, once per process (cached in *cache, 0 until then): the
 * highest k in 1..n with need[k] on this CPU, or a lesser one whose name(k)
 * the environment variable `env` holds (tests and A/B runs). */
int pqf__cpu_pick(int *cache, int n, const pqf__cpu_level *need, const char *(*name)(int k),
                  const char *env);

#endif
