// The inference kernels: a register-tiled product for dense and convolution layers, with the
// bias and ReLU applied as the results leave the registers, and the small passes between
// layers. Swift packs the weights and drives the layers (Sources/DigitsKit/Inference).
#ifndef DIGITS_CKERNELS_H
#define DIGITS_CKERNELS_H

#include <stdint.h>

/// Output columns per packed panel: two 16-float vectors.
#define DK_PANEL 32
/// The most rows one call of dk_tile takes.
#define DK_MAX_ROWS 14

/// For r < rows and j < columns:
///   c[r·ldc + j] = act(bias[j] + Σ_s Σ_{i<length} a[r·lda + offsets[s] + i] · panel[(s·length + i)·32 + j])
/// A dense layer is one segment (offsets = {0}, length = inputs, lda = inputs). A convolution
/// reads its input image in place: rows are output pixels along a row (lda = stride·channels),
/// and each segment is one kernel tap (offset (ky·width + kx)·channels, length channels).
/// `panel` holds the weights of 32 output columns as [segments·length][32], zero past the
/// last column; `bias` holds 32 floats. act is ReLU when `relu` is non-zero. rows ≤ 14.
void dk_tile(long rows, const float *a, long lda, const long *offsets, long segments, long length,
             const float *panel, const float *bias, float *c, long ldc, long columns, int relu);

/// The rows a block of samples should have for dk_tile to run its dense layers fastest: 14
/// with AVX-512 (one tile of 14 rows), 12 with AVX2 (two register tiles of 6 rows; 14 rows
/// would be tiles of 5, 5 and 4, which hold fewer sums), 14 for the portable loops.
long dk_block_rows(void);

/// out[i] = in[i] · scale + shift: pixels to the normalized floats the model reads.
void dk_normalize_bytes(const uint8_t *in, long count, float scale, float shift, float *out);

/// Max-pooling of an [height][width][channels] image over kernel×kernel windows `stride` apart
/// into [pooledHeight][pooledWidth][channels]; windows that do not fit are dropped. With
/// `rectify` non-zero, a maximum below zero becomes 0 (ReLU before the pool: they commute).
void dk_maxpool(const float *in, long width, long channels, long kernel, long stride,
                float *out, long pooledHeight, long pooledWidth, int rectify);

/// The input gradient of a non-overlapping kernel×kernel max-pool over one image: for each
/// window and channel, dy goes to the first input (row-major in the window) equal to the
/// pooled maximum, 0 to the others; a `rectified` window whose maximum is not above 0 passes
/// nothing. Writes every input inside a window; pixels outside every window are left alone.
void dk_maxpool_gradient(const float *in, const float *pooled, const float *dy, float *dx, long width,
                         long channels, long kernel, long pooledHeight, long pooledWidth, int rectified);

/// The weight and bias gradient of a 3×3 single-channel convolution followed by ReLU and a
/// non-overlapping pool×pool max-pool (the training path of a fused first layer), over samples
/// [first, last) of x, images of height×width floats (zero padding `padding`, step `stride`).
/// dy and winners are (samples, pooledHeight·pooledWidth·channels): each pooled value's gradient
/// and the window position (row-major in the window, −1 for none) that won it. Writes
/// sums[t·channels + o] = Σ dY·patch[t] for the 9 taps t and sums[9·channels + o] = Σ dY,
/// overwriting them. channels is a multiple of 16.
void dk_pool_conv3x3_gradient(const float *x, long height, long width, long padding, long stride,
                              const float *dy, const int32_t *winners, long first, long last,
                              long pooledHeight, long pooledWidth, long pool, long channels, float *sums);

/// The weight and bias gradient of a padding-free convolution with step `stride`, over samples
/// [first, last): x is (samples, height, width, channels), dy (samples, outHeight, outWidth,
/// outputs). Adds sums[o·patch + (ky·kernelWidth + kx)·channels + c] += Σ dY[p, o] · x[under p at
/// (ky, kx), c] (patch = kernelHeight·kernelWidth·channels, im2col's order) and
/// sums[outputs·patch + o] += Σ dY[p, o], over every output position p. No im2col matrix.
void dk_conv_weight_gradient(const float *x, long height, long width, long channels, long stride,
                             const float *dy, long outHeight, long outWidth, long outputs,
                             long kernelHeight, long kernelWidth, long first, long last, float *sums);

/// BatchNorm's statistics over rows of `channels` floats: adds, per channel c,
///   sum[c] += Σ_rows (a[row, c] − shift[c])  and  sumOfProducts[c] += Σ_rows (a[row, c] − shift[c])·(b[row, c] − shift[c])
/// (no shift when it is null), each run of `block` rows summed in Float and then added in Double.
void dk_channel_sums(const float *a, const float *b, const float *shift, long rows, long channels, long block,
                     double *sum, double *sumOfProducts);

/// The same sums as dk_conv_weight_gradient, for layers with few input channels (a first layer
/// on one-channel images): vectorized over up to 32 outputs instead of over channels, with
/// offsets[k] the offset of patch element k = (ky·kernelWidth + kx)·channels + c from the
/// window's corner, (ky·width + kx)·channels + c.
void dk_conv_weight_gradient_by_outputs(const float *x, long height, long width, long channels, long stride,
                                        const float *dy, long outHeight, long outWidth, long outputs,
                                        long kernelHeight, long kernelWidth, const long *offsets, long first, long last, float *sums);

/// One Adam step over elements [start, end) of a parameter: with g' = g + weightDecay·w,
///   m = β1·m + (1 − β1)·g',  v = β2·v + (1 − β2)·g'·g',  w −= stepSize·m / (√v / rootCorrection2 + ε)
/// evaluated in exactly this order without fused multiply-adds, 16 lanes at a time and then one
/// by one, so the bits do not depend on how a tensor is split between threads.
void dk_adam(float *w, const float *g, float *m, float *v, long start, long end,
             float beta1, float beta2, float epsilon, float weightDecay, float stepSize, float rootCorrection2);

/// Floats per vector of the kernels as compiled: 16 for AVX-512, 8 for AVX2 with FMA, 1 for the
/// portable loops.
int dk_vector_width(void);

// Winograd's F(2×2, 3×3) for padding-free, stride-1 3×3 convolutions in training and inference
// (winograd.c): 2.25 times fewer multiply-adds than the direct convolution.

/// Whether a padding-free 3×3 convolution of height×width×channels images into `outputs`
/// channels can take the Winograd path: an even output size, whole vectors of 8 channels.
int dk_winograd_fits(long height, long width, long channels, long outputs);

/// Floats dk_winograd_weights writes for a product of `length` rows into `columns` columns.
long dk_winograd_weights_size(long columns, long length);

/// G g Gᵀ for each 3×3 kernel of w (PyTorch's (outputs, channels, 3, 3)), packed as dk_tile
/// reads it: u[((e·⌈columns/32⌉ + column/32)·length + row)·32 + column % 32] for the 16 block
/// elements e. For the forward pass columns are the outputs and rows the channels; `turned`
/// packs the kernel turned 180° with the two swapped, for the input gradient.
void dk_winograd_weights(const float *w, long outputs, long channels, int turned, float *u);

/// Floats of scratch one dk_winograd_conv3x3 call needs for images `width` wide.
long dk_winograd_conv_scratch(long width, long channels, long outputs);

/// y = bias + x ⊛ w for samples [first, last): x is (samples, height, width, channels), y
/// (samples, height − 2, width − 2, outputs), u from dk_winograd_weights (not turned, or turned
/// with the roles of channels and outputs swapped); a null bias adds nothing.
void dk_winograd_conv3x3(const float *x, long height, long width, long channels, long outputs, const float *u,
                         const float *bias, float *y, long first, long last, float *scratch);

/// Rows of 2×2 output blocks [firstBlockRow, lastBlockRow) of one image, for inference: output
/// rows 2·firstBlockRow ..< 2·lastBlockRow of y = bias + x ⊛ w over input columns [0, width),
/// with `xRow` floats between the input's rows and `yRow` between the output's (an image wider
/// than the part a pool reads is read in place). dk_winograd_conv3x3 is this for whole images;
/// its scratch serves.
void dk_winograd_conv3x3_rows(const float *x, long xRow, long width, long channels, long outputs, const float *u,
                              const float *bias, float *y, long yRow, long firstBlockRow, long lastBlockRow,
                              float *scratch);

/// Floats of scratch one dk_winograd_weight_gradient call needs (its blocks are gathered 64 at
/// a time, whatever the image's size).
long dk_winograd_gradient_scratch(long channels, long outputs);

/// The weight and bias gradient over samples [first, last), with dk_conv_weight_gradient's
/// contract (3×3, stride 1): adds sums[o·9·channels + (ky·3 + kx)·channels + c] and
/// sums[outputs·9·channels + o].
void dk_winograd_weight_gradient(const float *x, long height, long width, long channels, const float *dy, long outputs,
                                 long first, long last, float *sums, float *scratch);

#endif
