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

int pqf__cpu_pick(int *cache, int n, const pqf__cpu_level *need, const char *(*name)(int k),
                  const char *env)
{
    int b = __atomic_load_n(cache, __ATOMIC_RELAXED);
    if (b)
        return b;
    b = 1;
    for (int k = n; k > 1 && b == 1; k--)
        if (pqf__cpu_has(need[k]))
            b = k;
    const char *e = getenv(env);
    for (int k = 1; e && k < b; k++)
        if (strcmp(e, name(k)) == 0)
            b = k;
    __atomic_store_n(cache, b, __ATOMIC_RELAXED);
    return b;
}
