#include "NumberKernels.h"
#include "Internal.h"

#include <pthread.h>

static int writes, scans, math;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void initialize(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    writes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512cd");
    scans = writes && __builtin_cpu_supports("avx512vbmi2");
    math = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    if (writes) nk_build_format_layouts();
#endif
}

int nk_write_available(void) {
    pthread_once(&once, initialize);
    return writes;
}

int nk_scan_available(void) {
    pthread_once(&once, initialize);
    return scans;
}

int nk_activation_available(void) {
    pthread_once(&once, initialize);
    return math;
}
