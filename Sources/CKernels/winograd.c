// Winograd's minimal filtering F(2×2, 3×3) for padding-free, stride-1 3×3 convolutions, in the
// training passes and the inference plan (Lavin and Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2015).
// Each 2×2 block of outputs comes from a 4×4 block of input d and the 3×3 kernel g as
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
// summed over the input channels inside the brackets: 16 products of channels per output block
// where a direct convolution does 36, so 2.25 times fewer multiply-adds. Per block element e
// (16 of them), the sum over channels is a product of (blocks × C) with (C × O): dk_tile runs it.
// Bᵀ and Aᵀ hold only 0 and ±1, and G's 1/2 is exact, so the transforms only add: vectors of 8
// channels in clang's generic vector type, the same operations in the same order on every
// instruction set. The weight gradient is the same identity read backwards,
//   dW = Gᵀ [ Σ_blocks (A dY Aᵀ) ⊗ (Bᵀ d B) ] G,
// the sum over blocks (of every sample) a product with the blocks as its long side.
#include "CKernels.h"
#include <string.h>

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));
#define LOAD(p) (*(const v8u *)(p))
#define STORE(p, value) (*(v8u *)(p) = (value))

/// Floats between the transforms of one block element and the next beyond what they hold, so
/// that the 16 streams do not fall on the same cache sets (a power-of-two stride would).
#define PLANE_PAD 16
/// Output blocks per product call: two register tiles of 6 rows with AVX2, one call's worth.
#define ROWS_PER_CALL 12
/// Blocks the weight gradient gathers before it multiplies: their transforms (16 per block, of
/// the input and of the output gradient) stay in the core's cache.
#ifndef GRADIENT_BLOCKS
#define GRADIENT_BLOCKS 64
#endif

/// The product's bias: the bias is added with the output transform.
static const float zero[DK_PANEL];

static long panels(long columns) { return (columns + DK_PANEL - 1) / DK_PANEL; }

int dk_winograd_fits(long height, long width, long channels, long outputs) {
    return height >= 4 && width >= 4 && height % 2 == 0 && width % 2 == 0 && channels % 8 == 0 && outputs % 8 == 0;
}

long dk_winograd_weights_size(long columns, long length) { return 16 * panels(columns) * length * DK_PANEL; }

// U = G g Gᵀ for one 3×3 kernel g (row-major), into u[e] for e = 4·i + j.
static void transform_kernel(const float g[9], float u[16]) {
    float t[4][3];
    for (int j = 0; j < 3; j++) {
        t[0][j] = g[j];
        t[1][j] = (g[j] + g[3 + j] + g[6 + j]) * 0.5f;
        t[2][j] = (g[j] - g[3 + j] + g[6 + j]) * 0.5f;
        t[3][j] = g[6 + j];
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i] = t[i][0];
        u[4 * i + 1] = (t[i][0] + t[i][1] + t[i][2]) * 0.5f;
        u[4 * i + 2] = (t[i][0] - t[i][1] + t[i][2]) * 0.5f;
        u[4 * i + 3] = t[i][2];
    }
}

void dk_winograd_weights(const float *w, long outputs, long channels, int turned, float *u) {
    const long columns = turned ? channels : outputs, length = turned ? outputs : channels;
    const long columnPanels = panels(columns);
    memset(u, 0, sizeof(float) * dk_winograd_weights_size(columns, length));
    for (long o = 0; o < outputs; o++) {
        for (long c = 0; c < channels; c++) {
            const float *kernel = w + (o * channels + c) * 9;
            float g[9], transformed[16];
            for (int t = 0; t < 9; t++) g[t] = turned ? kernel[8 - t] : kernel[t];
            transform_kernel(g, transformed);
            const long column = turned ? c : o, row = turned ? o : c;
            for (int e = 0; e < 16; e++)
                u[((e * columnPanels + column / DK_PANEL) * length + row) * DK_PANEL + column % DK_PANEL] = transformed[e];
        }
    }
}

// V = Bᵀ d B for the 4×4 block at `corner` (rows `rowStep` apart, pixels `channels` apart), 8
// channels from c: v[e·eStride] for e = 4·i + j.
static inline __attribute__((always_inline))
void transform_input(const float *corner, long rowStep, long channels, float *v, long eStride) {
    v8 t[4][4];
    for (int j = 0; j < 4; j++) {
        const v8 d0 = LOAD(corner + j * channels), d1 = LOAD(corner + rowStep + j * channels);
        const v8 d2 = LOAD(corner + 2 * rowStep + j * channels), d3 = LOAD(corner + 3 * rowStep + j * channels);
        t[0][j] = d0 - d2;
        t[1][j] = d1 + d2;
        t[2][j] = d2 - d1;
        t[3][j] = d1 - d3;
    }
    for (int i = 0; i < 4; i++) {
        float *row = v + 4 * i * eStride;
        STORE(row, t[i][0] - t[i][2]);
        STORE(row + eStride, t[i][1] + t[i][2]);
        STORE(row + 2 * eStride, t[i][2] - t[i][1]);
        STORE(row + 3 * eStride, t[i][1] - t[i][3]);
    }
}

long dk_winograd_conv_scratch(long width, long channels, long outputs) {
    const long blocks = (width - 2) / 2;
    return 16 * (blocks * (channels + outputs) + 2 * PLANE_PAD);
}

void dk_winograd_conv3x3_rows(const float *image, long xRow, long width, long channels, long outputs, const float *u,
                              const float *bias, float *out, long yRow, long firstBlockRow, long lastBlockRow,
                              float *scratch) {
    const long blocks = (width - 2) / 2;
    const long columnPanels = panels(outputs), zeroOffset = 0;
    const long vPlane = blocks * channels + PLANE_PAD, mPlane = blocks * outputs + PLANE_PAD;
    float *v = scratch, *m = v + 16 * vPlane;
    for (long by = firstBlockRow; by < lastBlockRow; by++) {
        // v[e][block][c]: a product's rows are a row's blocks.
        for (long b = 0; b < blocks; b++)
            for (long c = 0; c < channels; c += 8)
                transform_input(image + 2 * by * xRow + 2 * b * channels + c, xRow, channels, v + b * channels + c, vPlane);
        for (long e = 0; e < 16; e++) {
            for (long b = 0; b < blocks; b += ROWS_PER_CALL) {
                const long rows = blocks - b < ROWS_PER_CALL ? blocks - b : ROWS_PER_CALL;
                for (long p = 0; p < columnPanels; p++)
                    dk_tile(rows, v + e * vPlane + b * channels, channels, &zeroOffset, 1, channels,
                            u + (e * columnPanels + p) * channels * DK_PANEL, zero, m + e * mPlane + b * outputs + p * DK_PANEL,
                            outputs, outputs - p * DK_PANEL < DK_PANEL ? outputs - p * DK_PANEL : DK_PANEL, 0);
            }
        }
        // Y = Aᵀ M A (+ bias) for each block, 8 outputs at a time.
        for (long b = 0; b < blocks; b++) {
            float *top = out + 2 * by * yRow + 2 * b * outputs, *bottom = top + yRow;
            for (long o = 0; o < outputs; o += 8) {
                v8 r0[4], r1[4];
                for (int j = 0; j < 4; j++) {
                    const float *at = m + j * mPlane + b * outputs + o;
                    const long row = 4 * mPlane;
                    const v8 m0 = LOAD(at), m1 = LOAD(at + row), m2 = LOAD(at + 2 * row), m3 = LOAD(at + 3 * row);
                    r0[j] = m0 + m1 + m2;
                    r1[j] = m1 - m2 - m3;
                }
                const v8 shift = bias ? LOAD(bias + o) : (v8){0};
                STORE(top + o, shift + (r0[0] + r0[1] + r0[2]));
                STORE(top + outputs + o, shift + (r0[1] - r0[2] - r0[3]));
                STORE(bottom + o, shift + (r1[0] + r1[1] + r1[2]));
                STORE(bottom + outputs + o, shift + (r1[1] - r1[2] - r1[3]));
            }
        }
    }
}

void dk_winograd_conv3x3(const float *x, long height, long width, long channels, long outputs, const float *u,
                         const float *bias, float *y, long first, long last, float *scratch) {
    const long outHeight = height - 2, outWidth = width - 2;
    for (long n = first; n < last; n++)
        dk_winograd_conv3x3_rows(x + n * height * width * channels, width * channels, width, channels, outputs, u, bias,
                                 y + n * outHeight * outWidth * outputs, outWidth * outputs, 0, outHeight / 2, scratch);
}

// The weight gradient

long dk_winograd_gradient_scratch(long channels, long outputs) {
    return 16 * (GRADIENT_BLOCKS * (channels + outputs) + 2 * PLANE_PAD) + 16 * outputs * channels;
}

// u[r][c..] += Σ_k p[k·pStride + r] · v[k·vStride + c..] for OB rows and 8·CB channels: OB·CB
// sums held in registers while the blocks go by.
static inline __attribute__((always_inline))
void accumulate(const int OB, const int CB, const float *p, long pStride, const float *v, long vStride, long count,
                float *u, long ldu) {
    v8 sums[6][2];
    for (int r = 0; r < OB; r++)
        for (int h = 0; h < CB; h++) sums[r][h] = (v8){0};
    for (long k = 0; k < count; k++) {
        v8 b[2];
        for (int h = 0; h < CB; h++) b[h] = LOAD(v + k * vStride + 8 * h);
        for (int r = 0; r < OB; r++) {
            const float g = p[k * pStride + r];
            for (int h = 0; h < CB; h++) sums[r][h] += g * b[h];
        }
    }
    for (int r = 0; r < OB; r++)
        for (int h = 0; h < CB; h++) STORE(u + r * ldu + 8 * h, LOAD(u + r * ldu + 8 * h) + sums[r][h]);
}

#define ACCUMULATE_SHAPE(OB, CB) \
    static void accumulate_##OB##_##CB(const float *p, long pStride, const float *v, long vStride, long count, float *u, long ldu) { \
        accumulate(OB, CB, p, pStride, v, vStride, count, u, ldu); \
    }
ACCUMULATE_SHAPE(1, 1) ACCUMULATE_SHAPE(2, 1) ACCUMULATE_SHAPE(3, 1) ACCUMULATE_SHAPE(4, 1) ACCUMULATE_SHAPE(5, 1)
ACCUMULATE_SHAPE(6, 1) ACCUMULATE_SHAPE(1, 2) ACCUMULATE_SHAPE(2, 2) ACCUMULATE_SHAPE(3, 2) ACCUMULATE_SHAPE(4, 2)
ACCUMULATE_SHAPE(5, 2) ACCUMULATE_SHAPE(6, 2)
typedef void (*accumulate_function)(const float *, long, const float *, long, long, float *, long);
static const accumulate_function accumulators[2][7] = {
    {0, accumulate_1_1, accumulate_2_1, accumulate_3_1, accumulate_4_1, accumulate_5_1, accumulate_6_1},
    {0, accumulate_1_2, accumulate_2_2, accumulate_3_2, accumulate_4_2, accumulate_5_2, accumulate_6_2},
};

// U[e] (O × C) += P[e]ᵀ V[e] over the `count` blocks gathered, in blocks of up to 6 outputs ×
// 16 channels.
static void accumulate_blocks(const float *p, const float *v, long count, long channels, long outputs, float *u) {
    const long rowBlocks = (outputs + 5) / 6;
    const long pPlane = GRADIENT_BLOCKS * outputs + PLANE_PAD, vPlane = GRADIENT_BLOCKS * channels + PLANE_PAD;
    for (long e = 0; e < 16; e++) {
        for (long block = 0, row = 0; block < rowBlocks; block++) {
            const long rows = (outputs - row) / (rowBlocks - block);
            for (long c = 0; c < channels; c += 16) {
                const int halves = channels - c >= 16 ? 2 : 1;
                accumulators[halves - 1][rows](p + e * pPlane + row, outputs, v + e * vPlane + c,
                                               channels, count, u + (e * outputs + row) * channels + c, channels);
            }
            row += rows;
        }
    }
}

void dk_winograd_weight_gradient(const float *x, long height, long width, long channels, const float *dy, long outputs,
                                 long first, long last, float *sums, float *scratch) {
    const long outHeight = height - 2, outWidth = width - 2;
    const long pPlane = GRADIENT_BLOCKS * outputs + PLANE_PAD, vPlane = GRADIENT_BLOCKS * channels + PLANE_PAD;
    float *v = scratch, *p = v + 16 * vPlane, *u = p + 16 * pPlane;
    memset(u, 0, sizeof(float) * 16 * outputs * channels);
    float *biasSums = sums + outputs * 9 * channels;
    long k = 0;  // blocks gathered
    for (long n = first; n < last; n++) {
        const float *image = x + n * height * width * channels, *gradient = dy + n * outHeight * outWidth * outputs;
        for (long by = 0; by < outHeight / 2; by++) {
            for (long bx = 0; bx < outWidth / 2; bx++) {
                for (long c = 0; c < channels; c += 8)
                    transform_input(image + (2 * by * width + 2 * bx) * channels + c, width * channels, channels,
                                    v + k * channels + c, vPlane);
                // A dY Aᵀ for the 2×2 block of output gradients, 8 outputs at a time; db takes
                // the block's four values.
                const float *g = gradient + (2 * by * outWidth + 2 * bx) * outputs;
                for (long o = 0; o < outputs; o += 8) {
                    const v8 g00 = LOAD(g + o), g01 = LOAD(g + outputs + o);
                    const v8 g10 = LOAD(g + outWidth * outputs + o), g11 = LOAD(g + (outWidth + 1) * outputs + o);
                    STORE(biasSums + o, LOAD(biasSums + o) + ((g00 + g01) + (g10 + g11)));
                    const v8 a[4][2] = {{g00, g01}, {g00 + g10, g01 + g11}, {g00 - g10, g01 - g11}, {-g10, -g11}};
                    for (int i = 0; i < 4; i++) {
                        float *row = p + 4 * i * pPlane + k * outputs + o;
                        const long eStride = pPlane;
                        STORE(row, a[i][0]);
                        STORE(row + eStride, a[i][0] + a[i][1]);
                        STORE(row + 2 * eStride, a[i][0] - a[i][1]);
                        STORE(row + 3 * eStride, -a[i][1]);
                    }
                }
                if (++k == GRADIENT_BLOCKS) {
                    accumulate_blocks(p, v, k, channels, outputs, u);
                    k = 0;
                }
            }
        }
    }
    if (k > 0) accumulate_blocks(p, v, k, channels, outputs, u);
    // dW = Gᵀ U G, added into im2col's order: sums[o·9C + (ky·3 + kx)·C + c].
    for (long o = 0; o < outputs; o++) {
        for (long c = 0; c < channels; c += 8) {
            v8 t[3][4];
            for (int j = 0; j < 4; j++) {
                const float *at = u + (j * outputs + o) * channels + c;
                const long row = 4 * outputs * channels;
                const v8 u0 = LOAD(at), u1 = LOAD(at + row), u2 = LOAD(at + 2 * row), u3 = LOAD(at + 3 * row);
                t[0][j] = u0 + (u1 + u2) * 0.5f;
                t[1][j] = (u1 - u2) * 0.5f;
                t[2][j] = (u1 + u2) * 0.5f + u3;
            }
            for (int i = 0; i < 3; i++) {
                const v8 w[3] = {t[i][0] + (t[i][1] + t[i][2]) * 0.5f, (t[i][1] - t[i][2]) * 0.5f,
                                 (t[i][1] + t[i][2]) * 0.5f + t[i][3]};
                for (int j = 0; j < 3; j++) {
                    float *at = sums + o * 9 * channels + (3 * i + j) * channels + c;
                    STORE(at, LOAD(at) + w[j]);
                }
            }
        }
    }
}
