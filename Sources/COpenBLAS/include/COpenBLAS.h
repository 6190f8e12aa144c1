// OpenBLAS, loaded when the first product needs it rather than when the process starts.
// Linked at build time, libopenblas starts a thread per core as the process loads, and those
// threads spin for about a tenth of a second whether or not a product is ever asked of them:
// most runs of `digits classify` and `digits serve` never call it (the inference plan has
// kernels of its own). Loading it on first use also lets `digits train` choose OpenBLAS's
// kernels (OPENBLAS_CORETYPE) before it loads, without re-executing itself.
#ifndef DIGITS_COPENBLAS_H
#define DIGITS_COPENBLAS_H

#include <stddef.h>

/// Loads libopenblas.so.0 once (later calls return the first call's result); safe to call from
/// any thread. Returns 0, or -1 with `message` (of `capacity` bytes) saying why: the library
/// or one of its functions was not found.
int digits_openblas_load(char *message, size_t capacity);

/// cblas_sgemm in row-major order with transposes as flags: C = alpha·op(A)·op(B) + beta·C,
/// op(A) m×k, op(B) k×n. Loads the library first if needed; if it cannot be loaded, prints why
/// and ends the process (callers that can report an error call digits_openblas_load first).
void digits_sgemm(int transpose_a, int transpose_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

/// openblas_set_num_threads, after loading.
void digits_openblas_set_threads(int count);

/// openblas_get_corename and openblas_get_config, after loading; NULL when it cannot load.
const char *digits_openblas_core_name(void);
const char *digits_openblas_config(void);

/// Whether the library has been loaded in this process (without loading it).
int digits_openblas_is_loaded(void);

#endif
