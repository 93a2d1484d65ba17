#include "NumberTextKernels.h"
#include "Internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int writes, scans;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* AE_NUMBER_KERNELS=off runs the scalar Swift code everywhere (LayerKernels reads it too), as on an ARM gateway or an x86 CPU
 * without AVX-512: CI runs the suite both ways. Read once, at the first question. */
static void initialize(void) {
    const char *setting = getenv("AE_NUMBER_KERNELS");
    if (setting != NULL && strcmp(setting, "off") == 0) return;
#if defined(__x86_64__)
    __builtin_cpu_init();
    writes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512cd");
    scans = writes && __builtin_cpu_supports("avx512vbmi2");
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
