// OpenBLAS's CBLAS interface (cblas_sgemm and friends) plus its openblas_* queries,
// which tell which CPU kernels ("core") the library picked at load time.
#ifndef DIGITS_CBLAS_SHIM_H
#define DIGITS_CBLAS_SHIM_H

#include <cblas.h>

#endif
