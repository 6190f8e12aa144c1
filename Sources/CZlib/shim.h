// zlib for Swift: inflateInit2/deflateInit2 are C macros (they pass ZLIB_VERSION and the
// struct size), which Swift cannot import, so these inline functions wrap them.
#ifndef DIGITS_CZLIB_SHIM_H
#define DIGITS_CZLIB_SHIM_H

#include <zlib.h>

/// windowBits 15 + 32: accept a zlib or gzip header, detected automatically.
/// windowBits 15 + 16: gzip only. Negative: raw deflate.
static inline int digits_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

static inline int digits_deflateInit2(z_streamp stream, int level, int windowBits) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}

#endif
