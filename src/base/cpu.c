/* Run-time SIMD kernel choice; see cpu.h. */
#include "base/cpu.h"

#include <stdlib.h>
#include <string.h>

bool pqf__cpu_has(pqf__cpu_level level)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    switch (level) {
    case PQF_CPU_BASE:
        return true;
    case PQF_CPU_AVX2:
        return __builtin_cpu_supports("avx2");
    case PQF_CPU_AVX512:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512vl");
    }
    return false;
#else
    return level == PQF_CPU_BASE;
#endif
}

bool pqf__cpu_allows(const pqf__cpu_choice *c, int k)
{
    return k >= 1 && k <= c->n && pqf__cpu_has(c->need[k]);
}

int pqf__cpu_kernel(pqf__cpu_choice *c)
{
    if (c->forced)
        return c->forced;
    int b = __atomic_load_n(&c->best, __ATOMIC_RELAXED);
    if (b)
        return b;
    b = 1;
    for (int k = c->n; k > 1 && b == 1; k--)
        if (pqf__cpu_has(c->need[k]))
            b = k;
    const char *e = getenv(c->env);
    for (int k = 1; e && k < b; k++)
        if (strcmp(e, c->name(k)) == 0)
            b = k;
    __atomic_store_n(&c->best, b, __ATOMIC_RELAXED);
    return b;
}

bool pqf__cpu_force(pqf__cpu_choice *c, int k)
{
    if (k && !pqf__cpu_allows(c, k))
        return false;
    c->forced = k;
    return true;
}
