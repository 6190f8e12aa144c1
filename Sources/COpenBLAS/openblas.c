// See COpenBLAS.h. The CBLAS enums are plain ints in the C ABI: row-major 101, no transpose
// 111, transpose 112 (cblas.h); Debian's libopenblas.so.0 takes 32-bit int sizes (the 64-bit
// interface is a different library, libopenblas64.so.0).
#include "COpenBLAS.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*sgemm_function)(int order, int transpose_a, int transpose_b, int m, int n, int k, float alpha,
                               const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*set_threads_function)(int count);
typedef char *(*name_function)(void);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static volatile int loaded = 0;
static char failure[300];
static sgemm_function sgemm;
static set_threads_function set_threads;
static name_function core_name, config;

static void load(void) {
    void *library = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *why = dlerror();
        snprintf(failure, sizeof failure, "%s", why ? why : "libopenblas.so.0: not found");
        return;
    }
    sgemm = (sgemm_function)dlsym(library, "cblas_sgemm");
    set_threads = (set_threads_function)dlsym(library, "openblas_set_num_threads");
    core_name = (name_function)dlsym(library, "openblas_get_corename");
    config = (name_function)dlsym(library, "openblas_get_config");
    if (!sgemm || !set_threads || !core_name || !config) {
        snprintf(failure, sizeof failure, "libopenblas.so.0 lacks cblas_sgemm or the openblas_* queries");
        return;
    }
    __atomic_store_n(&loaded, 1, __ATOMIC_RELEASE);
}

int digits_openblas_load(char *message, size_t capacity) {
    pthread_once(&once, load);
    if (__atomic_load_n(&loaded, __ATOMIC_ACQUIRE)) return 0;
    if (message && capacity > 0) snprintf(message, capacity, "%s", failure);
    return -1;
}

int digits_openblas_is_loaded(void) { return __atomic_load_n(&loaded, __ATOMIC_ACQUIRE); }

static void require(void) {
    char message[300];
    if (digits_openblas_load(message, sizeof message) == 0) return;
    fprintf(stderr, "digits: error: OpenBLAS could not be loaded (%s)\nhint: install it with scripts/install-deps (Debian: libopenblas0)\n", message);
    exit(1);
}

void digits_sgemm(int transpose_a, int transpose_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    if (!__atomic_load_n(&loaded, __ATOMIC_ACQUIRE)) require();
    sgemm(101, transpose_a ? 112 : 111, transpose_b ? 112 : 111, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void digits_openblas_set_threads(int count) {
    require();
    set_threads(count);
}

const char *digits_openblas_core_name(void) { return digits_openblas_load(NULL, 0) == 0 ? core_name() : NULL; }
const char *digits_openblas_config(void) { return digits_openblas_load(NULL, 0) == 0 ? config() : NULL; }
