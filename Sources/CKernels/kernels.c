// See CKernels.h. Built with the vector instructions of the machine that builds it (see
// Package.swift), like DigitsKit's Swift SIMD loops; the portable loops below serve any other.
#include "CKernels.h"

// The 9 input values under output position (oy, ox) of a single-channel image, zeros over the
// padding.
static inline __attribute__((always_inline))
void patch3x3(const float *image, long height, long width, long padding, long stride, long oy, long ox, float p[9]) {
    const long top = oy * stride - padding, left = ox * stride - padding;
    if (padding == 0) {
        const float *a = image + top * width + left;
        for (int t = 0; t < 9; t++) p[t] = a[(t / 3) * width + t % 3];
        return;
    }
    for (int t = 0; t < 9; t++) {
        const long iy = top + t / 3, ix = left + t % 3;
        p[t] = iy >= 0 && iy < height && ix >= 0 && ix < width ? image[iy * width + ix] : 0;
    }
}

// 16 floats as one vector of clang's vector extension, read and written at any float
// alignment; clang lowers it to the machine's widest vectors (and its square root to one
// instruction, where Swift's SIMD16 takes the root lane by lane).
typedef float dk_float16 __attribute__((ext_vector_type(16), aligned(4)));

void dk_adam(float *w, const float *g, float *m, float *v, long start, long end,
             float beta1, float beta2, float epsilon, float weightDecay, float stepSize, float rootCorrection2) {
    // The same roundings as the scalar formula: no a·b + c fused into one.
#pragma clang fp contract(off)
    const float keep1 = 1 - beta1, keep2 = 1 - beta2;
    long i = start;
    for (; i + 16 <= end; i += 16) {
        const dk_float16 weight = *(const dk_float16 *)(w + i);
        const dk_float16 gradient = *(const dk_float16 *)(g + i) + weightDecay * weight;
        const dk_float16 first = beta1 * *(const dk_float16 *)(m + i) + keep1 * gradient;
        const dk_float16 second = beta2 * *(const dk_float16 *)(v + i) + keep2 * gradient * gradient;
        *(dk_float16 *)(m + i) = first;
        *(dk_float16 *)(v + i) = second;
        *(dk_float16 *)(w + i) = weight - stepSize * first / (__builtin_elementwise_sqrt(second) / rootCorrection2 + epsilon);
    }
    for (; i < end; i++) {
        const float gradient = g[i] + weightDecay * w[i];
        m[i] = beta1 * m[i] + keep1 * gradient;
        v[i] = beta2 * v[i] + keep2 * gradient * gradient;
        w[i] = w[i] - stepSize * m[i] / (__builtin_sqrtf(v[i]) / rootCorrection2 + epsilon);
    }
}

#if defined(__AVX512F__)
#include <immintrin.h>

int dk_vector_width(void) { return 16; }
long dk_block_rows(void) { return 14; }

// Rows r are read as g[r / 3][(r % 3)·lda + i]: five running row pointers and one stride, so
// every broadcast is a memory operand and no row address is spilled.
static inline __attribute__((always_inline))
void tile(const int rows, const float *a, long lda, const long *offsets, long segments, long length,
          const float *panel, const float *bias, float *c, long ldc, long columns, int relu) {
    __m512 low[DK_MAX_ROWS], high[DK_MAX_ROWS];
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) { low[r] = _mm512_setzero_ps(); high[r] = _mm512_setzero_ps(); }
    const float *b = panel;
    for (long s = 0; s < segments; s++) {
        const float *g0 = a + offsets[s], *g1 = g0 + 3 * lda, *g2 = g0 + 6 * lda, *g3 = g0 + 9 * lda, *g4 = g0 + 12 * lda;
        for (long i = 0; i < length; i++) {
            const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma clang loop unroll(full)
            for (int r = 0; r < rows; r++) {
                const float *g = r < 3 ? g0 : r < 6 ? g1 : r < 9 ? g2 : r < 12 ? g3 : g4;
                const __m512 x = _mm512_set1_ps(g[(r % 3) * lda + i]);
                low[r] = _mm512_fmadd_ps(x, b0, low[r]);
                high[r] = _mm512_fmadd_ps(x, b1, high[r]);
            }
            b += DK_PANEL;
        }
    }
    const __m512 bias0 = _mm512_loadu_ps(bias), bias1 = _mm512_loadu_ps(bias + 16), zero = _mm512_setzero_ps();
    const __mmask16 mask0 = columns >= 16 ? 0xFFFF : (__mmask16)((1u << columns) - 1);
    const __mmask16 mask1 = columns >= 32 ? 0xFFFF : columns <= 16 ? 0 : (__mmask16)((1u << (columns - 16)) - 1);
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) {
        __m512 v0 = _mm512_add_ps(low[r], bias0), v1 = _mm512_add_ps(high[r], bias1);
        if (relu) { v0 = _mm512_max_ps(v0, zero); v1 = _mm512_max_ps(v1, zero); }
        _mm512_mask_storeu_ps(c + r * ldc, mask0, v0);
        _mm512_mask_storeu_ps(c + r * ldc + 16, mask1, v1);
    }
}

#define DK_TILE(R) \
    static void tile_##R(const float *a, long lda, const long *offsets, long segments, long length, const float *panel, \
                         const float *bias, float *c, long ldc, long columns, int relu) { \
        tile(R, a, lda, offsets, segments, length, panel, bias, c, ldc, columns, relu); \
    }
DK_TILE(1) DK_TILE(2) DK_TILE(3) DK_TILE(4) DK_TILE(5) DK_TILE(6) DK_TILE(7)
DK_TILE(8) DK_TILE(9) DK_TILE(10) DK_TILE(11) DK_TILE(12) DK_TILE(13) DK_TILE(14)

typedef void (*tile_function)(const float *, long, const long *, long, long, const float *, const float *, float *, long, long, int);
static const tile_function tiles[DK_MAX_ROWS + 1] = {
    0, tile_1, tile_2, tile_3, tile_4, tile_5, tile_6, tile_7, tile_8, tile_9, tile_10, tile_11, tile_12, tile_13, tile_14,
};

void dk_tile(long rows, const float *a, long lda, const long *offsets, long segments, long length,
             const float *panel, const float *bias, float *c, long ldc, long columns, int relu) {
    if (rows < 1 || rows > DK_MAX_ROWS) return;
    tiles[rows](a, lda, offsets, segments, length, panel, bias, c, ldc, columns, relu);
}

void dk_pool_conv3x3_gradient(const float *x, long height, long width, long padding, long stride,
                              const float *dy, const int32_t *winners, long first, long last,
                              long pooledHeight, long pooledWidth, long pool, long channels, float *sums) {
    const long pooledSize = pooledHeight * pooledWidth * channels;
    for (long block = 0; block < channels; block += 16) {
        __m512 a[9], bias = _mm512_setzero_ps();
#pragma clang loop unroll(full)
        for (int t = 0; t < 9; t++) a[t] = _mm512_setzero_ps();
        for (long n = first; n < last; n++) {
            const float *image = x + n * height * width;
            for (long py = 0; py < pooledHeight; py++) {
                for (long px = 0; px < pooledWidth; px++) {
                    const long cell = n * pooledSize + (py * pooledWidth + px) * channels + block;
                    const __m512 gradient = _mm512_loadu_ps(dy + cell);
                    const __m512i winner = _mm512_loadu_si512((const void *)(winners + cell));
                    for (long position = 0; position < pool * pool; position++) {
                        // Lanes whose maximum was at this position; winners are random, so no
                        // branch on whether any lane won.
                        const __mmask16 won = _mm512_cmpeq_epi32_mask(winner, _mm512_set1_epi32((int)position));
                        const __m512 g = _mm512_maskz_mov_ps(won, gradient);
                        float p[9];
                        patch3x3(image, height, width, padding, stride, py * pool + position / pool, px * pool + position % pool, p);
#pragma clang loop unroll(full)
                        for (int t = 0; t < 9; t++) a[t] = _mm512_fmadd_ps(_mm512_set1_ps(p[t]), g, a[t]);
                        bias = _mm512_add_ps(bias, g);
                    }
                }
            }
        }
#pragma clang loop unroll(full)
        for (int t = 0; t < 9; t++) _mm512_storeu_ps(sums + t * channels + block, a[t]);
        _mm512_storeu_ps(sums + 9 * channels + block, bias);
    }
}

// One tap's weight gradient for OB outputs × CB vectors of 16 channels, added over one sample's
// output positions: sums[o·patch + c] += Σ_(oy,ox) dy[(oy, ox), o] · x[(oy·stride, ox·stride), c],
// x and sums already offset to the tap and the first channel, dy to the first output. The
// sums stay in registers for the whole sample; each dy value is one broadcast for CB FMAs.
static inline __attribute__((always_inline))
void weight_gradient_block(const int OB, const int CB, const float *x, long rowStep, long columnStep,
                           const float *dy, long outHeight, long outWidth, long outputs,
                           __mmask16 mask0, __mmask16 mask1, float *sums, long patch) {
    __m512 acc[8][2];
#pragma clang loop unroll(full)
    for (int o = 0; o < OB; o++) {
        acc[o][0] = _mm512_maskz_loadu_ps(mask0, sums + o * patch);
        if (CB > 1) acc[o][1] = _mm512_maskz_loadu_ps(mask1, sums + o * patch + 16);
    }
    for (long oy = 0; oy < outHeight; oy++) {
        const float *xs = x + oy * rowStep, *g = dy + oy * outWidth * outputs;
        for (long ox = 0; ox < outWidth; ox++, xs += columnStep, g += outputs) {
            const __m512 x0 = _mm512_maskz_loadu_ps(mask0, xs);
            const __m512 x1 = CB > 1 ? _mm512_maskz_loadu_ps(mask1, xs + 16) : x0;
#pragma clang loop unroll(full)
            for (int o = 0; o < OB; o++) {
                const __m512 b = _mm512_set1_ps(g[o]);
                acc[o][0] = _mm512_fmadd_ps(b, x0, acc[o][0]);
                if (CB > 1) acc[o][1] = _mm512_fmadd_ps(b, x1, acc[o][1]);
            }
        }
    }
#pragma clang loop unroll(full)
    for (int o = 0; o < OB; o++) {
        _mm512_mask_storeu_ps(sums + o * patch, mask0, acc[o][0]);
        if (CB > 1) _mm512_mask_storeu_ps(sums + o * patch + 16, mask1, acc[o][1]);
    }
}

#define DK_WEIGHT_GRADIENT(OB, CB) \
    static void weight_gradient_##OB##_##CB(const float *x, long rowStep, long columnStep, const float *dy, long outHeight, \
                                            long outWidth, long outputs, __mmask16 mask0, __mmask16 mask1, float *sums, long patch) { \
        weight_gradient_block(OB, CB, x, rowStep, columnStep, dy, outHeight, outWidth, outputs, mask0, mask1, sums, patch); \
    }
DK_WEIGHT_GRADIENT(8, 2) DK_WEIGHT_GRADIENT(4, 2) DK_WEIGHT_GRADIENT(2, 2) DK_WEIGHT_GRADIENT(1, 2)
DK_WEIGHT_GRADIENT(8, 1) DK_WEIGHT_GRADIENT(4, 1) DK_WEIGHT_GRADIENT(2, 1) DK_WEIGHT_GRADIENT(1, 1)

typedef void (*weight_gradient_function)(const float *, long, long, const float *, long, long, long, __mmask16, __mmask16, float *, long);

static __mmask16 lanes(long count) { return count >= 16 ? 0xFFFF : count <= 0 ? 0 : (__mmask16)((1u << count) - 1); }

// bias[o] += Σ_p dy[p, o] over one sample's `positions` rows of output gradients.
static void add_bias_gradient(const float *gradient, long positions, long outputs, float *bias) {
    for (long o = 0; o < outputs; o += 16) {
        const __mmask16 mask = lanes(outputs - o);
        __m512 sum = _mm512_maskz_loadu_ps(mask, bias + o);
        for (long p = 0; p < positions; p++) sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(mask, gradient + p * outputs + o));
        _mm512_mask_storeu_ps(bias + o, mask, sum);
    }
}

void dk_conv_weight_gradient(const float *x, long height, long width, long channels, long stride,
                             const float *dy, long outHeight, long outWidth, long outputs,
                             long kernelHeight, long kernelWidth, long first, long last, float *sums) {
    static const weight_gradient_function pairs[9] = {0, weight_gradient_1_2, weight_gradient_2_2, 0, weight_gradient_4_2, 0, 0, 0, weight_gradient_8_2};
    static const weight_gradient_function singles[9] = {0, weight_gradient_1_1, weight_gradient_2_1, 0, weight_gradient_4_1, 0, 0, 0, weight_gradient_8_1};
    const long patch = kernelHeight * kernelWidth * channels, positions = outHeight * outWidth;
    for (long n = first; n < last; n++) {
        const float *image = x + n * height * width * channels, *gradient = dy + n * positions * outputs;
        for (long tap = 0; tap < kernelHeight * kernelWidth; tap++) {
            const float *corner = image + ((tap / kernelWidth) * width + tap % kernelWidth) * channels;
            for (long o = 0; o < outputs;) {
                const long block = outputs - o >= 8 ? 8 : outputs - o >= 4 ? 4 : outputs - o >= 2 ? 2 : 1;
                for (long c = 0; c < channels; c += 32) {
                    const weight_gradient_function f = (channels - c > 16 ? pairs : singles)[block];
                    f(corner + c, stride * width * channels, stride * channels, gradient + o, outHeight, outWidth, outputs,
                      lanes(channels - c), lanes(channels - c - 16), sums + o * patch + tap * channels + c, patch);
                }
                o += block;
            }
        }
        add_bias_gradient(gradient, positions, outputs, sums + outputs * patch);
    }
}

void dk_channel_sums(const float *a, const float *b, const float *shift, long rows, long channels, long block,
                     double *sum, double *sumOfProducts) {
    for (long c0 = 0; c0 < channels; c0 += 64) {
        __mmask16 mask[4];
        __m512 offset[4];
#pragma clang loop unroll(full)
        for (int v = 0; v < 4; v++) {
            mask[v] = lanes(channels - c0 - 16 * v);
            offset[v] = shift ? _mm512_maskz_loadu_ps(mask[v], shift + c0 + 16 * v) : _mm512_setzero_ps();
        }
        for (long first = 0; first < rows; first += block) {
            const long last = first + block < rows ? first + block : rows;
            __m512 s[4], p[4];
#pragma clang loop unroll(full)
            for (int v = 0; v < 4; v++) { s[v] = _mm512_setzero_ps(); p[v] = _mm512_setzero_ps(); }
            for (long row = first; row < last; row++) {
                const float *x = a + row * channels + c0, *y = b + row * channels + c0;
#pragma clang loop unroll(full)
                for (int v = 0; v < 4; v++) {
                    if (!mask[v]) continue;
                    const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask[v], x + 16 * v), offset[v]);
                    const __m512 e = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask[v], y + 16 * v), offset[v]);
                    s[v] = _mm512_add_ps(s[v], d);
                    p[v] = _mm512_add_ps(p[v], _mm512_mul_ps(d, e));
                }
            }
            for (int v = 0; v < 4; v++) {
                float ss[16], pp[16];
                _mm512_storeu_ps(ss, s[v]);
                _mm512_storeu_ps(pp, p[v]);
                for (long i = 0; i < 16 && c0 + 16 * v + i < channels; i++) {
                    sum[c0 + 16 * v + i] += ss[i];
                    sumOfProducts[c0 + 16 * v + i] += pp[i];
                }
            }
        }
    }
}

// KB weights of each of up to 32 outputs (two vectors), summed over samples [first, last):
// for each position, the output gradient's two vectors are loaded once and each of the KB
// input values under the position broadcast into two FMAs.
static inline __attribute__((always_inline))
void output_gradient_block(const int KB, const float *x, long sampleSize, long rowStep, long columnStep, const long *offsets,
                           const float *dy, long outHeight, long outWidth, long outputs, long first, long last,
                           __mmask16 mask0, __mmask16 mask1, float *sums, long patch) {
    __m512 acc[12][2];
#pragma clang loop unroll(full)
    for (int k = 0; k < KB; k++) { acc[k][0] = _mm512_setzero_ps(); acc[k][1] = _mm512_setzero_ps(); }
    for (long n = first; n < last; n++) {
        const float *image = x + n * sampleSize, *g = dy + n * outHeight * outWidth * outputs;
        for (long oy = 0; oy < outHeight; oy++) {
            const float *corner = image + oy * rowStep;
            for (long ox = 0; ox < outWidth; ox++, corner += columnStep, g += outputs) {
                const __m512 g0 = _mm512_maskz_loadu_ps(mask0, g), g1 = _mm512_maskz_loadu_ps(mask1, g + 16);
#pragma clang loop unroll(full)
                for (int k = 0; k < KB; k++) {
                    const __m512 b = _mm512_set1_ps(corner[offsets[k]]);
                    acc[k][0] = _mm512_fmadd_ps(b, g0, acc[k][0]);
                    acc[k][1] = _mm512_fmadd_ps(b, g1, acc[k][1]);
                }
            }
        }
    }
    float lanesOut[32];
#pragma clang loop unroll(full)
    for (int k = 0; k < KB; k++) {
        _mm512_storeu_ps(lanesOut, acc[k][0]);
        _mm512_storeu_ps(lanesOut + 16, acc[k][1]);
        for (long o = 0; o < 32 && (o < 16 ? (mask0 >> o) & 1 : (mask1 >> (o - 16)) & 1); o++) sums[o * patch + k] += lanesOut[o];
    }
}

#define DK_OUTPUT_GRADIENT(KB) \
    static void output_gradient_##KB(const float *x, long sampleSize, long rowStep, long columnStep, const long *offsets, \
                                     const float *dy, long outHeight, long outWidth, long outputs, long first, long last, \
                                     __mmask16 mask0, __mmask16 mask1, float *sums, long patch) { \
        output_gradient_block(KB, x, sampleSize, rowStep, columnStep, offsets, dy, outHeight, outWidth, outputs, first, last, \
                              mask0, mask1, sums, patch); \
    }
DK_OUTPUT_GRADIENT(12) DK_OUTPUT_GRADIENT(4) DK_OUTPUT_GRADIENT(1)

void dk_conv_weight_gradient_by_outputs(const float *x, long height, long width, long channels, long stride,
                                        const float *dy, long outHeight, long outWidth, long outputs,
                                        long kernelHeight, long kernelWidth, const long *offsets, long first, long last, float *sums) {
    const long patch = kernelHeight * kernelWidth * channels;
    for (long o = 0; o < outputs; o += 32) {
        const __mmask16 mask0 = lanes(outputs - o), mask1 = lanes(outputs - o - 16);
        for (long k = 0; k < patch;) {
            const long left = patch - k;
            if (left >= 12) {
                output_gradient_12(x, height * width * channels, stride * width * channels, stride * channels, offsets + k, dy + o,
                                   outHeight, outWidth, outputs, first, last, mask0, mask1, sums + o * patch + k, patch);
                k += 12;
            } else if (left >= 4) {
                output_gradient_4(x, height * width * channels, stride * width * channels, stride * channels, offsets + k, dy + o,
                                  outHeight, outWidth, outputs, first, last, mask0, mask1, sums + o * patch + k, patch);
                k += 4;
            } else {
                output_gradient_1(x, height * width * channels, stride * width * channels, stride * channels, offsets + k, dy + o,
                                  outHeight, outWidth, outputs, first, last, mask0, mask1, sums + o * patch + k, patch);
                k += 1;
            }
        }
    }
    const long positions = outHeight * outWidth;
    for (long n = first; n < last; n++) add_bias_gradient(dy + n * positions * outputs, positions, outputs, sums + outputs * patch);
}

void dk_normalize_bytes(const uint8_t *in, long count, float scale, float shift, float *out) {
    const __m512 s = _mm512_set1_ps(scale), t = _mm512_set1_ps(shift);
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        const __m512 x = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(in + i))));
        _mm512_storeu_ps(out + i, _mm512_fmadd_ps(x, s, t));
    }
    for (; i < count; i++) out[i] = (float)in[i] * scale + shift;
}

void dk_maxpool(const float *in, long width, long channels, long kernel, long stride,
                float *out, long pooledHeight, long pooledWidth, int rectify) {
    const __m512 zero = _mm512_setzero_ps();
    for (long py = 0; py < pooledHeight; py++) {
        for (long px = 0; px < pooledWidth; px++) {
            const float *corner = in + ((py * stride) * width + px * stride) * channels;
            float *cell = out + (py * pooledWidth + px) * channels;
            for (long c = 0; c < channels; c += 16) {
                const __mmask16 mask = lanes(channels - c);
                __m512 best = _mm512_maskz_loadu_ps(mask, corner + c);
                for (long ky = 0; ky < kernel; ky++)
                    for (long kx = 0; kx < kernel; kx++)
                        best = _mm512_max_ps(best, _mm512_maskz_loadu_ps(mask, corner + (ky * width + kx) * channels + c));
                if (rectify) best = _mm512_max_ps(zero, best);  // a NaN stays NaN (max_ps returns its second operand)
                _mm512_mask_storeu_ps(cell + c, mask, best);
            }
        }
    }
}

void dk_maxpool_gradient(const float *in, const float *pooled, const float *dy, float *dx, long width,
                         long channels, long kernel, long pooledHeight, long pooledWidth, int rectified) {
    const __m512 zero = _mm512_setzero_ps();
    for (long py = 0; py < pooledHeight; py++) {
        for (long px = 0; px < pooledWidth; px++) {
            const long corner = ((py * kernel) * width + px * kernel) * channels;
            const long cell = (py * pooledWidth + px) * channels;
            for (long c = 0; c < channels; c += 16) {
                const __mmask16 mask = lanes(channels - c);
                const __m512 best = _mm512_maskz_loadu_ps(mask, pooled + cell + c);
                const __m512 g = _mm512_maskz_loadu_ps(mask, dy + cell + c);
                // Lanes still looking for their window's first maximum.
                __mmask16 open = rectified ? _mm512_mask_cmp_ps_mask(mask, best, zero, _CMP_GT_OQ)
                                           : _mm512_mask_cmp_ps_mask(mask, best, best, _CMP_EQ_OQ);
                for (long ky = 0; ky < kernel; ky++)
                    for (long kx = 0; kx < kernel; kx++) {
                        const long at = corner + (ky * width + kx) * channels + c;
                        const __mmask16 wins = _mm512_mask_cmp_ps_mask(open, _mm512_maskz_loadu_ps(mask, in + at), best, _CMP_EQ_OQ);
                        _mm512_mask_storeu_ps(dx + at, mask, _mm512_maskz_mov_ps(wins, g));
                        open &= (__mmask16)~wins;
                    }
            }
        }
    }
}

#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

// AVX2 with FMA (Haswell and later, AMD Zen): the same products as the AVX-512 kernels above,
// with 8-float vectors and 16 registers instead of 16-float vectors and 32. Each output's sum
// is taken in the same order, one fused multiply-add after another, so the results are the
// AVX-512 kernels' bits.

int dk_vector_width(void) { return 8; }
long dk_block_rows(void) { return 12; }

// Lanes [0, count) of a vector of 8, as the mask vector maskload and maskstore take.
static inline __m256i lanes8(long count) {
    const int n = count >= 8 ? 8 : count <= 0 ? 0 : (int)count;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Up to 6 rows × 16 columns (one half of a panel): 12 accumulators, the half's two vectors of
// weights and one broadcast fill 15 of the 16 registers. Rows r are read as
// g[r / 3][(r % 3)·lda + i], so two row pointers and one stride address all six.
static inline __attribute__((always_inline))
void tile_half(const int rows, const float *a, long lda, const long *offsets, long segments, long length,
               const float *panel, const float *bias, float *c, long ldc, long columns, int relu) {
    __m256 low[6], high[6];
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) { low[r] = _mm256_setzero_ps(); high[r] = _mm256_setzero_ps(); }
    const float *b = panel;
    for (long s = 0; s < segments; s++) {
        const float *g0 = a + offsets[s], *g1 = g0 + 3 * lda;
        for (long i = 0; i < length; i++) {
            const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma clang loop unroll(full)
            for (int r = 0; r < rows; r++) {
                const __m256 x = _mm256_broadcast_ss((r < 3 ? g0 : g1) + (r % 3) * lda + i);
                low[r] = _mm256_fmadd_ps(x, b0, low[r]);
                high[r] = _mm256_fmadd_ps(x, b1, high[r]);
            }
            b += DK_PANEL;
        }
    }
    const __m256 bias0 = _mm256_loadu_ps(bias), bias1 = _mm256_loadu_ps(bias + 8), zero = _mm256_setzero_ps();
    const __m256i mask0 = lanes8(columns), mask1 = lanes8(columns - 8);
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) {
        __m256 v0 = _mm256_add_ps(low[r], bias0), v1 = _mm256_add_ps(high[r], bias1);
        if (relu) { v0 = _mm256_max_ps(v0, zero); v1 = _mm256_max_ps(v1, zero); }
        if (columns >= 16) {
            _mm256_storeu_ps(c + r * ldc, v0);
            _mm256_storeu_ps(c + r * ldc + 8, v1);
        } else {
            _mm256_maskstore_ps(c + r * ldc, mask0, v0);
            _mm256_maskstore_ps(c + r * ldc + 8, mask1, v1);
        }
    }
}

// One or two rows × the whole panel (32 columns, four vectors each): a single row (a dense
// layer at batch 1) then keeps four sums in flight instead of two.
static inline __attribute__((always_inline))
void tile_whole(const int rows, const float *a, long lda, const long *offsets, long segments, long length,
                const float *panel, const float *bias, float *c, long ldc, long columns, int relu) {
    __m256 acc[2][4];
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++)
#pragma clang loop unroll(full)
        for (int v = 0; v < 4; v++) acc[r][v] = _mm256_setzero_ps();
    const float *b = panel;
    for (long s = 0; s < segments; s++) {
        const float *g = a + offsets[s];
        for (long i = 0; i < length; i++) {
            __m256 w[4];
#pragma clang loop unroll(full)
            for (int v = 0; v < 4; v++) w[v] = _mm256_loadu_ps(b + 8 * v);
#pragma clang loop unroll(full)
            for (int r = 0; r < rows; r++) {
                const __m256 x = _mm256_broadcast_ss(g + r * lda + i);
#pragma clang loop unroll(full)
                for (int v = 0; v < 4; v++) acc[r][v] = _mm256_fmadd_ps(x, w[v], acc[r][v]);
            }
            b += DK_PANEL;
        }
    }
    const __m256 zero = _mm256_setzero_ps();
#pragma clang loop unroll(full)
    for (int v = 0; v < 4; v++) {
        const __m256 shift = _mm256_loadu_ps(bias + 8 * v);
        const __m256i mask = lanes8(columns - 8 * v);
#pragma clang loop unroll(full)
        for (int r = 0; r < rows; r++) {
            __m256 value = _mm256_add_ps(acc[r][v], shift);
            if (relu) value = _mm256_max_ps(value, zero);
            _mm256_maskstore_ps(c + r * ldc + 8 * v, mask, value);
        }
    }
}

// One function per shape (half or whole) and row count, so that each unrolls fully.
#define DK_TILE_SHAPE(SHAPE, R) \
    static void tile_##SHAPE##_##R(const float *a, long lda, const long *offsets, long segments, long length, const float *panel, \
                                   const float *bias, float *c, long ldc, long columns, int relu) { \
        tile_##SHAPE(R, a, lda, offsets, segments, length, panel, bias, c, ldc, columns, relu); \
    }
DK_TILE_SHAPE(half, 1) DK_TILE_SHAPE(half, 2) DK_TILE_SHAPE(half, 3) DK_TILE_SHAPE(half, 4) DK_TILE_SHAPE(half, 5)
DK_TILE_SHAPE(half, 6) DK_TILE_SHAPE(whole, 1) DK_TILE_SHAPE(whole, 2)

typedef void (*tile_function)(const float *, long, const long *, long, long, const float *, const float *, float *, long, long, int);
static const tile_function halves[7] = {0, tile_half_1, tile_half_2, tile_half_3, tile_half_4, tile_half_5, tile_half_6};
static const tile_function wholes[3] = {0, tile_whole_1, tile_whole_2};

void dk_tile(long rows, const float *a, long lda, const long *offsets, long segments, long length,
             const float *panel, const float *bias, float *c, long ldc, long columns, int relu) {
    if (rows < 1 || rows > DK_MAX_ROWS) return;
    if (rows <= 2) {
        wholes[rows](a, lda, offsets, segments, length, panel, bias, c, ldc, columns, relu);
        return;
    }
    // Blocks of rows as even as they come (14 rows: 5, 5, 4): a block of 2 rows would hold
    // too few sums to cover the FMA's latency.
    const long blocks = (rows + 5) / 6;
    for (long half = 0; half < 2 && 16 * half < columns; half++) {
        for (long block = 0, first = 0; block < blocks; block++) {
            const long count = (rows - first) / (blocks - block);
            halves[count](a + first * lda, lda, offsets, segments, length, panel + 16 * half, bias + 16 * half,
                          c + first * ldc + 16 * half, ldc, columns - 16 * half, relu);
            first += count;
        }
    }
}

void dk_pool_conv3x3_gradient(const float *x, long height, long width, long padding, long stride,
                              const float *dy, const int32_t *winners, long first, long last,
                              long pooledHeight, long pooledWidth, long pool, long channels, float *sums) {
    const long pooledSize = pooledHeight * pooledWidth * channels;
    for (long block = 0; block < channels; block += 8) {
        __m256 a[9], bias = _mm256_setzero_ps();
#pragma clang loop unroll(full)
        for (int t = 0; t < 9; t++) a[t] = _mm256_setzero_ps();
        for (long n = first; n < last; n++) {
            const float *image = x + n * height * width;
            for (long py = 0; py < pooledHeight; py++) {
                for (long px = 0; px < pooledWidth; px++) {
                    const long cell = n * pooledSize + (py * pooledWidth + px) * channels + block;
                    const __m256 gradient = _mm256_loadu_ps(dy + cell);
                    const __m256i winner = _mm256_loadu_si256((const __m256i *)(winners + cell));
                    for (long position = 0; position < pool * pool; position++) {
                        // Lanes whose maximum was at this position (a +0 gradient elsewhere).
                        const __m256i won = _mm256_cmpeq_epi32(winner, _mm256_set1_epi32((int)position));
                        const __m256 g = _mm256_and_ps(_mm256_castsi256_ps(won), gradient);
                        float p[9];
                        patch3x3(image, height, width, padding, stride, py * pool + position / pool, px * pool + position % pool, p);
#pragma clang loop unroll(full)
                        for (int t = 0; t < 9; t++) a[t] = _mm256_fmadd_ps(_mm256_set1_ps(p[t]), g, a[t]);
                        bias = _mm256_add_ps(bias, g);
                    }
                }
            }
        }
#pragma clang loop unroll(full)
        for (int t = 0; t < 9; t++) _mm256_storeu_ps(sums + t * channels + block, a[t]);
        _mm256_storeu_ps(sums + 9 * channels + block, bias);
    }
}

// One tap's weight gradient for OB outputs × CB vectors of 8 channels, added over one sample's
// output positions (as weight_gradient_block above): 5 outputs × 16 channels are 10 sums in
// registers, a few more than the 8 that cover the FMA's latency at two a cycle. (On the
// cnn's shapes, one core of a Zen 3: 48–66 GFLOP/s with 4 outputs, 59–68 with 5, 54–65 with 6.)
static inline __attribute__((always_inline))
void weight_gradient_block8(const int OB, const int CB, const float *x, long rowStep, long columnStep,
                            const float *dy, long outHeight, long outWidth, long outputs,
                            __m256i mask0, __m256i mask1, float *sums, long patch) {
    __m256 acc[5][2];
#pragma clang loop unroll(full)
    for (int o = 0; o < OB; o++) {
        acc[o][0] = _mm256_maskload_ps(sums + o * patch, mask0);
        if (CB > 1) acc[o][1] = _mm256_maskload_ps(sums + o * patch + 8, mask1);
    }
    for (long oy = 0; oy < outHeight; oy++) {
        const float *xs = x + oy * rowStep, *g = dy + oy * outWidth * outputs;
        for (long ox = 0; ox < outWidth; ox++, xs += columnStep, g += outputs) {
            const __m256 x0 = _mm256_maskload_ps(xs, mask0);
            const __m256 x1 = CB > 1 ? _mm256_maskload_ps(xs + 8, mask1) : x0;
#pragma clang loop unroll(full)
            for (int o = 0; o < OB; o++) {
                const __m256 b = _mm256_broadcast_ss(g + o);
                acc[o][0] = _mm256_fmadd_ps(b, x0, acc[o][0]);
                if (CB > 1) acc[o][1] = _mm256_fmadd_ps(b, x1, acc[o][1]);
            }
        }
    }
#pragma clang loop unroll(full)
    for (int o = 0; o < OB; o++) {
        _mm256_maskstore_ps(sums + o * patch, mask0, acc[o][0]);
        if (CB > 1) _mm256_maskstore_ps(sums + o * patch + 8, mask1, acc[o][1]);
    }
}

#define DK_WEIGHT_GRADIENT8(OB, CB) \
    static void weight_gradient8_##OB##_##CB(const float *x, long rowStep, long columnStep, const float *dy, long outHeight, \
                                             long outWidth, long outputs, __m256i mask0, __m256i mask1, float *sums, long patch) { \
        weight_gradient_block8(OB, CB, x, rowStep, columnStep, dy, outHeight, outWidth, outputs, mask0, mask1, sums, patch); \
    }
DK_WEIGHT_GRADIENT8(5, 2) DK_WEIGHT_GRADIENT8(4, 2) DK_WEIGHT_GRADIENT8(2, 2) DK_WEIGHT_GRADIENT8(1, 2)
DK_WEIGHT_GRADIENT8(5, 1) DK_WEIGHT_GRADIENT8(4, 1) DK_WEIGHT_GRADIENT8(2, 1) DK_WEIGHT_GRADIENT8(1, 1)

typedef void (*weight_gradient_function)(const float *, long, long, const float *, long, long, long, __m256i, __m256i, float *, long);

// bias[o] += Σ_p dy[p, o] over one sample's `positions` rows of output gradients.
static void add_bias_gradient(const float *gradient, long positions, long outputs, float *bias) {
    for (long o = 0; o < outputs; o += 8) {
        const __m256i mask = lanes8(outputs - o);
        __m256 sum = _mm256_maskload_ps(bias + o, mask);
        for (long p = 0; p < positions; p++) sum = _mm256_add_ps(sum, _mm256_maskload_ps(gradient + p * outputs + o, mask));
        _mm256_maskstore_ps(bias + o, mask, sum);
    }
}

void dk_conv_weight_gradient(const float *x, long height, long width, long channels, long stride,
                             const float *dy, long outHeight, long outWidth, long outputs,
                             long kernelHeight, long kernelWidth, long first, long last, float *sums) {
    static const weight_gradient_function pairs[6] = {0, weight_gradient8_1_2, weight_gradient8_2_2, 0, weight_gradient8_4_2, weight_gradient8_5_2};
    static const weight_gradient_function singles[6] = {0, weight_gradient8_1_1, weight_gradient8_2_1, 0, weight_gradient8_4_1, weight_gradient8_5_1};
    const long patch = kernelHeight * kernelWidth * channels, positions = outHeight * outWidth;
    for (long n = first; n < last; n++) {
        const float *image = x + n * height * width * channels, *gradient = dy + n * positions * outputs;
        for (long tap = 0; tap < kernelHeight * kernelWidth; tap++) {
            const float *corner = image + ((tap / kernelWidth) * width + tap % kernelWidth) * channels;
            for (long o = 0; o < outputs;) {
                const long block = outputs - o >= 5 ? 5 : outputs - o >= 4 ? 4 : outputs - o >= 2 ? 2 : 1;
                for (long c = 0; c < channels; c += 16) {
                    const weight_gradient_function f = (channels - c > 8 ? pairs : singles)[block];
                    f(corner + c, stride * width * channels, stride * channels, gradient + o, outHeight, outWidth, outputs,
                      lanes8(channels - c), lanes8(channels - c - 8), sums + o * patch + tap * channels + c, patch);
                }
                o += block;
            }
        }
        add_bias_gradient(gradient, positions, outputs, sums + outputs * patch);
    }
}

void dk_channel_sums(const float *a, const float *b, const float *shift, long rows, long channels, long block,
                     double *sum, double *sumOfProducts) {
    for (long c0 = 0; c0 < channels; c0 += 32) {
        __m256i mask[4];
        __m256 offset[4];
#pragma clang loop unroll(full)
        for (int v = 0; v < 4; v++) {
            mask[v] = lanes8(channels - c0 - 8 * v);
            offset[v] = shift ? _mm256_maskload_ps(shift + c0 + 8 * v, mask[v]) : _mm256_setzero_ps();
        }
        const long vectors = (channels - c0 + 7) / 8;
        for (long first = 0; first < rows; first += block) {
            const long last = first + block < rows ? first + block : rows;
            __m256 s[4], p[4];
#pragma clang loop unroll(full)
            for (int v = 0; v < 4; v++) { s[v] = _mm256_setzero_ps(); p[v] = _mm256_setzero_ps(); }
            for (long row = first; row < last; row++) {
                const float *x = a + row * channels + c0, *y = b + row * channels + c0;
#pragma clang loop unroll(full)
                for (int v = 0; v < 4; v++) {
                    if (v >= vectors) continue;
                    const __m256 d = _mm256_sub_ps(_mm256_maskload_ps(x + 8 * v, mask[v]), offset[v]);
                    const __m256 e = _mm256_sub_ps(_mm256_maskload_ps(y + 8 * v, mask[v]), offset[v]);
                    s[v] = _mm256_add_ps(s[v], d);
                    p[v] = _mm256_add_ps(p[v], _mm256_mul_ps(d, e));
                }
            }
            for (int v = 0; v < 4 && v < vectors; v++) {
                float ss[8], pp[8];
                _mm256_storeu_ps(ss, s[v]);
                _mm256_storeu_ps(pp, p[v]);
                for (long i = 0; i < 8 && c0 + 8 * v + i < channels; i++) {
                    sum[c0 + 8 * v + i] += ss[i];
                    sumOfProducts[c0 + 8 * v + i] += pp[i];
                }
            }
        }
    }
}

// KB weights of each of up to 16 outputs (two vectors), summed over samples [first, last), as
// output_gradient_block above: 6 × 2 sums, two vectors of output gradients and a broadcast.
static inline __attribute__((always_inline))
void output_gradient_block8(const int KB, const float *x, long sampleSize, long rowStep, long columnStep, const long *offsets,
                            const float *dy, long outHeight, long outWidth, long outputs, long first, long last,
                            __m256i mask0, __m256i mask1, long count, float *sums, long patch) {
    __m256 acc[6][2];
#pragma clang loop unroll(full)
    for (int k = 0; k < KB; k++) { acc[k][0] = _mm256_setzero_ps(); acc[k][1] = _mm256_setzero_ps(); }
    for (long n = first; n < last; n++) {
        const float *image = x + n * sampleSize, *g = dy + n * outHeight * outWidth * outputs;
        for (long oy = 0; oy < outHeight; oy++) {
            const float *corner = image + oy * rowStep;
            for (long ox = 0; ox < outWidth; ox++, corner += columnStep, g += outputs) {
                const __m256 g0 = _mm256_maskload_ps(g, mask0), g1 = _mm256_maskload_ps(g + 8, mask1);
#pragma clang loop unroll(full)
                for (int k = 0; k < KB; k++) {
                    const __m256 b = _mm256_broadcast_ss(corner + offsets[k]);
                    acc[k][0] = _mm256_fmadd_ps(b, g0, acc[k][0]);
                    acc[k][1] = _mm256_fmadd_ps(b, g1, acc[k][1]);
                }
            }
        }
    }
    float lanesOut[16];
#pragma clang loop unroll(full)
    for (int k = 0; k < KB; k++) {
        _mm256_storeu_ps(lanesOut, acc[k][0]);
        _mm256_storeu_ps(lanesOut + 8, acc[k][1]);
        for (long o = 0; o < count && o < 16; o++) sums[o * patch + k] += lanesOut[o];
    }
}

#define DK_OUTPUT_GRADIENT8(KB) \
    static void output_gradient8_##KB(const float *x, long sampleSize, long rowStep, long columnStep, const long *offsets, \
                                      const float *dy, long outHeight, long outWidth, long outputs, long first, long last, \
                                      __m256i mask0, __m256i mask1, long count, float *sums, long patch) { \
        output_gradient_block8(KB, x, sampleSize, rowStep, columnStep, offsets, dy, outHeight, outWidth, outputs, first, last, \
                               mask0, mask1, count, sums, patch); \
    }
DK_OUTPUT_GRADIENT8(6) DK_OUTPUT_GRADIENT8(3) DK_OUTPUT_GRADIENT8(1)

void dk_conv_weight_gradient_by_outputs(const float *x, long height, long width, long channels, long stride,
                                        const float *dy, long outHeight, long outWidth, long outputs,
                                        long kernelHeight, long kernelWidth, const long *offsets, long first, long last, float *sums) {
    const long patch = kernelHeight * kernelWidth * channels;
    const long sampleSize = height * width * channels, rowStep = stride * width * channels, columnStep = stride * channels;
    for (long o = 0; o < outputs; o += 16) {
        const __m256i mask0 = lanes8(outputs - o), mask1 = lanes8(outputs - o - 8);
        for (long k = 0; k < patch;) {
            const long left = patch - k;
            float *target = sums + o * patch + k;
            if (left >= 6) {
                output_gradient8_6(x, sampleSize, rowStep, columnStep, offsets + k, dy + o, outHeight, outWidth, outputs, first, last,
                                   mask0, mask1, outputs - o, target, patch);
                k += 6;
            } else if (left >= 3) {
                output_gradient8_3(x, sampleSize, rowStep, columnStep, offsets + k, dy + o, outHeight, outWidth, outputs, first, last,
                                   mask0, mask1, outputs - o, target, patch);
                k += 3;
            } else {
                output_gradient8_1(x, sampleSize, rowStep, columnStep, offsets + k, dy + o, outHeight, outWidth, outputs, first, last,
                                   mask0, mask1, outputs - o, target, patch);
                k += 1;
            }
        }
    }
    const long positions = outHeight * outWidth;
    for (long n = first; n < last; n++) add_bias_gradient(dy + n * positions * outputs, positions, outputs, sums + outputs * patch);
}

void dk_normalize_bytes(const uint8_t *in, long count, float scale, float shift, float *out) {
    const __m256 s = _mm256_set1_ps(scale), t = _mm256_set1_ps(shift);
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m256 x = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(in + i))));
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(x, s, t));
    }
    for (; i < count; i++) out[i] = (float)in[i] * scale + shift;
}

void dk_maxpool(const float *in, long width, long channels, long kernel, long stride,
                float *out, long pooledHeight, long pooledWidth, int rectify) {
    const __m256 zero = _mm256_setzero_ps();
    for (long py = 0; py < pooledHeight; py++) {
        for (long px = 0; px < pooledWidth; px++) {
            const float *corner = in + ((py * stride) * width + px * stride) * channels;
            float *cell = out + (py * pooledWidth + px) * channels;
            for (long c = 0; c < channels; c += 8) {
                const __m256i mask = lanes8(channels - c);
                __m256 best = _mm256_maskload_ps(corner + c, mask);
                for (long ky = 0; ky < kernel; ky++)
                    for (long kx = 0; kx < kernel; kx++)
                        best = _mm256_max_ps(best, _mm256_maskload_ps(corner + (ky * width + kx) * channels + c, mask));
                if (rectify) best = _mm256_max_ps(zero, best);  // a NaN stays NaN (max_ps returns its second operand)
                _mm256_maskstore_ps(cell + c, mask, best);
            }
        }
    }
}

void dk_maxpool_gradient(const float *in, const float *pooled, const float *dy, float *dx, long width,
                         long channels, long kernel, long pooledHeight, long pooledWidth, int rectified) {
    const __m256 zero = _mm256_setzero_ps();
    for (long py = 0; py < pooledHeight; py++) {
        for (long px = 0; px < pooledWidth; px++) {
            const long corner = ((py * kernel) * width + px * kernel) * channels;
            const long cell = (py * pooledWidth + px) * channels;
            for (long c = 0; c < channels; c += 8) {
                const __m256i mask = lanes8(channels - c);
                const __m256 best = _mm256_maskload_ps(pooled + cell + c, mask);
                const __m256 g = _mm256_maskload_ps(dy + cell + c, mask);
                // Lanes still looking for their window's first maximum.
                __m256 open = _mm256_and_ps(_mm256_castsi256_ps(mask), rectified ? _mm256_cmp_ps(best, zero, _CMP_GT_OQ)
                                                                                 : _mm256_cmp_ps(best, best, _CMP_EQ_OQ));
                for (long ky = 0; ky < kernel; ky++)
                    for (long kx = 0; kx < kernel; kx++) {
                        const long at = corner + (ky * width + kx) * channels + c;
                        const __m256 wins = _mm256_and_ps(open, _mm256_cmp_ps(_mm256_maskload_ps(in + at, mask), best, _CMP_EQ_OQ));
                        _mm256_maskstore_ps(dx + at, mask, _mm256_and_ps(wins, g));
                        open = _mm256_andnot_ps(wins, open);
                    }
            }
        }
    }
}

#else

int dk_vector_width(void) { return 1; }
long dk_block_rows(void) { return DK_MAX_ROWS; }

void dk_pool_conv3x3_gradient(const float *x, long height, long width, long padding, long stride,
                              const float *dy, const int32_t *winners, long first, long last,
                              long pooledHeight, long pooledWidth, long pool, long channels, float *sums) {
    const long pooledSize = pooledHeight * pooledWidth * channels;
    for (long i = 0; i < 10 * channels; i++) sums[i] = 0;
    for (long n = first; n < last; n++) {
        const float *image = x + n * height * width;
        for (long py = 0; py < pooledHeight; py++)
            for (long px = 0; px < pooledWidth; px++)
                for (long o = 0; o < channels; o++) {
                    const long cell = n * pooledSize + (py * pooledWidth + px) * channels + o;
                    const long position = winners[cell];
                    if (position < 0) continue;
                    float p[9];
                    patch3x3(image, height, width, padding, stride, py * pool + position / pool, px * pool + position % pool, p);
                    for (int t = 0; t < 9; t++) sums[t * channels + o] += p[t] * dy[cell];
                    sums[9 * channels + o] += dy[cell];
                }
    }
}

void dk_conv_weight_gradient(const float *x, long height, long width, long channels, long stride,
                             const float *dy, long outHeight, long outWidth, long outputs,
                             long kernelHeight, long kernelWidth, long first, long last, float *sums) {
    const long patch = kernelHeight * kernelWidth * channels, positions = outHeight * outWidth;
    for (long n = first; n < last; n++) {
        const float *image = x + n * height * width * channels, *gradient = dy + n * positions * outputs;
        for (long oy = 0; oy < outHeight; oy++)
            for (long ox = 0; ox < outWidth; ox++) {
                const float *g = gradient + (oy * outWidth + ox) * outputs;
                for (long o = 0; o < outputs; o++) {
                    for (long ky = 0; ky < kernelHeight; ky++)
                        for (long kx = 0; kx < kernelWidth; kx++) {
                            const float *v = image + ((oy * stride + ky) * width + ox * stride + kx) * channels;
                            float *s = sums + o * patch + (ky * kernelWidth + kx) * channels;
                            for (long c = 0; c < channels; c++) s[c] += g[o] * v[c];
                        }
                    sums[outputs * patch + o] += g[o];
                }
            }
    }
}

void dk_tile(long rows, const float *a, long lda, const long *offsets, long segments, long length,
             const float *panel, const float *bias, float *c, long ldc, long columns, int relu) {
    for (long r = 0; r < rows; r++) {
        float sums[DK_PANEL];
        for (long j = 0; j < DK_PANEL; j++) sums[j] = 0;
        const float *b = panel;
        for (long s = 0; s < segments; s++) {
            const float *x = a + r * lda + offsets[s];
            for (long i = 0; i < length; i++, b += DK_PANEL)
                for (long j = 0; j < DK_PANEL; j++) sums[j] += x[i] * b[j];
        }
        for (long j = 0; j < columns; j++) {
            const float v = sums[j] + bias[j];
            c[r * ldc + j] = relu && v < 0 ? 0 : v;
        }
    }
}

void dk_channel_sums(const float *a, const float *b, const float *shift, long rows, long channels, long block,
                     double *sum, double *sumOfProducts) {
    for (long c = 0; c < channels; c++) {
        const float offset = shift ? shift[c] : 0;
        for (long first = 0; first < rows; first += block) {
            const long last = first + block < rows ? first + block : rows;
            float s = 0, p = 0;
            for (long row = first; row < last; row++) {
                const float d = a[row * channels + c] - offset, e = b[row * channels + c] - offset;
                s += d;
                p += d * e;
            }
            sum[c] += s;
            sumOfProducts[c] += p;
        }
    }
}

void dk_conv_weight_gradient_by_outputs(const float *x, long height, long width, long channels, long stride,
                                        const float *dy, long outHeight, long outWidth, long outputs,
                                        long kernelHeight, long kernelWidth, const long *offsets, long first, long last, float *sums) {
    (void)offsets;
    dk_conv_weight_gradient(x, height, width, channels, stride, dy, outHeight, outWidth, outputs, kernelHeight, kernelWidth,
                            first, last, sums);
}

void dk_normalize_bytes(const uint8_t *in, long count, float scale, float shift, float *out) {
    for (long i = 0; i < count; i++) out[i] = (float)in[i] * scale + shift;
}

void dk_maxpool(const float *in, long width, long channels, long kernel, long stride,
                float *out, long pooledHeight, long pooledWidth, int rectify) {
    for (long py = 0; py < pooledHeight; py++)
        for (long px = 0; px < pooledWidth; px++)
            for (long c = 0; c < channels; c++) {
                const float *corner = in + ((py * stride) * width + px * stride) * channels + c;
                float best = corner[0];
                for (long ky = 0; ky < kernel; ky++)
                    for (long kx = 0; kx < kernel; kx++) {
                        const float v = corner[(ky * width + kx) * channels];
                        if (v > best) best = v;
                    }
                if (rectify && best < 0) best = 0;
                out[(py * pooledWidth + px) * channels + c] = best;
            }
}

void dk_maxpool_gradient(const float *in, const float *pooled, const float *dy, float *dx, long width,
                         long channels, long kernel, long pooledHeight, long pooledWidth, int rectified) {
    for (long py = 0; py < pooledHeight; py++)
        for (long px = 0; px < pooledWidth; px++)
            for (long c = 0; c < channels; c++) {
                const long corner = ((py * kernel) * width + px * kernel) * channels + c;
                const long cell = (py * pooledWidth + px) * channels + c;
                const float best = pooled[cell];
                int open = rectified ? best > 0 : best == best;
                for (long ky = 0; ky < kernel; ky++)
                    for (long kx = 0; kx < kernel; kx++) {
                        const long at = corner + (ky * width + kx) * channels;
                        const int wins = open && in[at] == best;
                        dx[at] = wins ? dy[cell] : 0;
                        if (wins) open = 0;
                    }
            }
}

#endif
