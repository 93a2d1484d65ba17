#include "LayerKernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int math;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* AE_NUMBER_KERNELS=off runs the scalar Swift code, as on an ARM gateway or an x86 CPU without
 * AVX2 (CI runs the suite both ways); NumberTextKernels reads the same setting. */
static void initialize(void) {
    const char *setting = getenv("AE_NUMBER_KERNELS");
    if (setting != NULL && strcmp(setting, "off") == 0) return;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) math = 2;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) math = 1;
#endif
}

int nk_activation_level(void) {
    pthread_once(&once, initialize);
    return math;
}

int nk_activation_available(void) { return nk_activation_level() > 0; }
