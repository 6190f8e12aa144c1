// Runs every kernel of Sources/CKernels on the same made-up inputs and writes what each one
// wrote, so that scripts/check-kernels can compare builds of the kernels for different
// instruction sets (portable C, AVX2, AVX-512) on one machine: the unit tests only reach the
// build for the machine that runs them.
//
//   kernel-check OUT.bin MANIFEST.txt
//
// OUT.bin holds each case's output, one after another; MANIFEST.txt one line per case:
// "name kind count" (kind f: float32, d: float64). Inputs come from a fixed generator, so
// every build sees the same ones.
#include "CKernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long state = 0x9E3779B97F4A7C15ull;

// Uniform in [-1, 1), from xorshift64*.
static float uniform(void) {
    state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
    return (float)((state * 0x2545F4914F6CDD1Dull) >> 40) / (float)(1 << 23) - 1.0f;
}

// Values on a grid of quarters, so that a max-pool window often holds ties.
static float quarter(void) { return roundf(uniform() * 8) / 4; }

static float *floats(long count, float (*draw)(void)) {
    float *p = malloc(sizeof(float) * (count > 0 ? count : 1));
    for (long i = 0; i < count; i++) p[i] = draw ? draw() : 0;
    return p;
}

// A value no kernel writes: where it survives, nothing was written.
static const float untouched = 12345.0f;

static FILE *data, *manifest;

static void emit(const char *name, const void *values, char kind, long count) {
    fwrite(values, kind == 'd' ? 8 : 4, (size_t)count, data);
    fprintf(manifest, "%s %c %ld\n", name, kind, count);
}

static void check_tile(void) {
    static const long offsets[3] = {0, 7, 19};
    static const long columnCounts[] = {1, 7, 8, 9, 16, 17, 24, 32};
    const long lda = 40, ldc = 40;
    for (long rows = 1; rows <= DK_MAX_ROWS; rows++)
        for (unsigned ci = 0; ci < sizeof columnCounts / sizeof *columnCounts; ci++)
            for (long segments = 1; segments <= 3; segments += 2)
                for (long length = 1; length <= 33; length += 16)
                    for (int relu = 0; relu <= 1; relu++) {
                        const long columns = columnCounts[ci], k = segments * length;
                        float *a = floats(rows * lda + 19 + length, uniform), *panel = floats(k * DK_PANEL, uniform);
                        float *bias = floats(DK_PANEL, uniform), *c = floats(rows * ldc, 0);
                        for (long i = 0; i < k; i++)
                            for (long j = columns; j < DK_PANEL; j++) panel[i * DK_PANEL + j] = 0;
                        for (long j = columns; j < DK_PANEL; j++) bias[j] = 0;
                        for (long i = 0; i < rows * ldc; i++) c[i] = untouched;
                        dk_tile(rows, a, lda, offsets, segments, length, panel, bias, c, ldc, columns, relu);
                        char name[96];
                        snprintf(name, sizeof name, "tile/rows=%ld,columns=%ld,segments=%ld,length=%ld,relu=%d",
                                 rows, columns, segments, length, relu);
                        emit(name, c, 'f', rows * ldc);
                        free(a); free(panel); free(bias); free(c);
                    }
}

static void check_weight_gradients(void) {
    static const long channelCounts[] = {1, 3, 8, 16, 24, 32, 40};
    static const long outputCounts[] = {1, 2, 3, 5, 8, 24, 32, 40};
    const long height = 9, width = 9, samples = 2;
    for (unsigned ci = 0; ci < sizeof channelCounts / sizeof *channelCounts; ci++)
        for (unsigned oi = 0; oi < sizeof outputCounts / sizeof *outputCounts; oi++)
            for (long kernel = 3; kernel <= 5; kernel += 2)
                for (long stride = 1; stride <= 2; stride++) {
                    const long channels = channelCounts[ci], outputs = outputCounts[oi];
                    const long outHeight = (height - kernel) / stride + 1, outWidth = (width - kernel) / stride + 1;
                    const long patch = kernel * kernel * channels, count = outputs * patch + outputs;
                    float *x = floats(samples * height * width * channels, uniform);
                    float *dy = floats(samples * outHeight * outWidth * outputs, uniform);
                    float *start = floats(count, uniform), *sums = floats(count, 0);
                    char name[96];
                    memcpy(sums, start, sizeof(float) * count);
                    dk_conv_weight_gradient(x, height, width, channels, stride, dy, outHeight, outWidth, outputs,
                                            kernel, kernel, 0, samples, sums);
                    snprintf(name, sizeof name, "conv_weight_gradient/channels=%ld,outputs=%ld,kernel=%ld,stride=%ld",
                             channels, outputs, kernel, stride);
                    emit(name, sums, 'f', count);
                    long *offsets = malloc(sizeof(long) * patch);
                    for (long ky = 0; ky < kernel; ky++)
                        for (long kx = 0; kx < kernel; kx++)
                            for (long c = 0; c < channels; c++)
                                offsets[(ky * kernel + kx) * channels + c] = (ky * width + kx) * channels + c;
                    memcpy(sums, start, sizeof(float) * count);
                    dk_conv_weight_gradient_by_outputs(x, height, width, channels, stride, dy, outHeight, outWidth, outputs,
                                                       kernel, kernel, offsets, 0, samples, sums);
                    snprintf(name, sizeof name, "conv_weight_gradient_by_outputs/channels=%ld,outputs=%ld,kernel=%ld,stride=%ld",
                             channels, outputs, kernel, stride);
                    emit(name, sums, 'f', count);
                    free(x); free(dy); free(start); free(sums); free(offsets);
                }
}

static void check_pool_conv_gradient(void) {
    const long height = 8, width = 8, pool = 2, samples = 3;
    for (long channels = 16; channels <= 32; channels += 16)
        for (long padding = 0; padding <= 1; padding++) {
            const long convolved = height + 2 * padding - 2, pooled = convolved / pool;
            const long cells = samples * pooled * pooled * channels;
            float *x = floats(samples * height * width, uniform), *dy = floats(cells, uniform);
            float *sums = floats(10 * channels, 0);
            int32_t *winners = malloc(sizeof(int32_t) * cells);
            for (long i = 0; i < cells; i++) winners[i] = (int32_t)((uniform() + 1) * 2.5f) - 1;  // −1…3
            dk_pool_conv3x3_gradient(x, height, width, padding, 1, dy, winners, 0, samples, pooled, pooled, pool, channels, sums);
            char name[96];
            snprintf(name, sizeof name, "pool_conv3x3_gradient/channels=%ld,padding=%ld", channels, padding);
            emit(name, sums, 'f', 10 * channels);
            free(x); free(dy); free(sums); free(winners);
        }
}

static void check_channel_sums(void) {
    static const long channelCounts[] = {1, 8, 24, 33, 64, 70};
    const long rows = 37, block = 16;
    for (unsigned ci = 0; ci < sizeof channelCounts / sizeof *channelCounts; ci++)
        for (int shifted = 0; shifted <= 1; shifted++) {
            const long channels = channelCounts[ci];
            float *a = floats(rows * channels, uniform), *b = floats(rows * channels, uniform), *shift = floats(channels, uniform);
            double *sums = calloc((size_t)(2 * channels), sizeof(double));
            dk_channel_sums(a, b, shifted ? shift : NULL, rows, channels, block, sums, sums + channels);
            char name[96];
            snprintf(name, sizeof name, "channel_sums/channels=%ld,shift=%d", channels, shifted);
            emit(name, sums, 'd', 2 * channels);
            free(a); free(b); free(shift); free(sums);
        }
}

static void check_pooling(void) {
    static const long channelCounts[] = {1, 8, 24, 33};
    const long height = 8, width = 8;
    for (unsigned ci = 0; ci < sizeof channelCounts / sizeof *channelCounts; ci++)
        for (long kernel = 2; kernel <= 3; kernel++)
            for (int rectify = 0; rectify <= 1; rectify++) {
                const long channels = channelCounts[ci], pooled = (height - kernel) / kernel + 1;
                float *in = floats(height * width * channels, quarter), *out = floats(pooled * pooled * channels, 0);
                dk_maxpool(in, width, channels, kernel, kernel, out, pooled, pooled, rectify);
                char name[96];
                snprintf(name, sizeof name, "maxpool/channels=%ld,kernel=%ld,rectify=%d", channels, kernel, rectify);
                emit(name, out, 'f', pooled * pooled * channels);
                float *dy = floats(pooled * pooled * channels, uniform), *dx = floats(height * width * channels, 0);
                for (long i = 0; i < height * width * channels; i++) dx[i] = untouched;
                dk_maxpool_gradient(in, out, dy, dx, width, channels, kernel, pooled, pooled, rectify);
                snprintf(name, sizeof name, "maxpool_gradient/channels=%ld,kernel=%ld,rectified=%d", channels, kernel, rectify);
                emit(name, dx, 'f', height * width * channels);
                free(in); free(out); free(dy); free(dx);
            }
}

static void check_elementwise(void) {
    for (long count = 1; count <= 41; count += 20) {
        uint8_t *bytes = malloc((size_t)count);
        for (long i = 0; i < count; i++) bytes[i] = (uint8_t)((uniform() + 1) * 127.9f);
        float *out = floats(count, 0);
        dk_normalize_bytes(bytes, count, 1.0f / 255 / 0.3081f, -0.1307f / 0.3081f, out);
        char name[96];
        snprintf(name, sizeof name, "normalize_bytes/count=%ld", count);
        emit(name, out, 'f', count);
        float *w = floats(count, uniform), *g = floats(count, uniform), *m = floats(count, uniform), *v = floats(count, uniform);
        for (long i = 0; i < count; i++) v[i] = fabsf(v[i]);
        dk_adam(w, g, m, v, 0, count, 0.9f, 0.999f, 1e-8f, 1e-4f, 1e-3f, 0.7f);
        snprintf(name, sizeof name, "adam/count=%ld", count);
        emit(name, w, 'f', count);
        free(bytes); free(out); free(w); free(g); free(m); free(v);
    }
}

// Winograd's forward, turned (input gradient) and weight gradient passes: channel and output
// counts in one or more vectors of 8, past one panel of 32, blocks in one row and several.
static void check_winograd(void) {
    static const long shapes[][4] = {{8, 8, 6, 6}, {16, 24, 8, 10}, {24, 32, 12, 12}, {40, 72, 6, 8}, {32, 32, 26, 26}};
    const long samples = 3;
    for (unsigned si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const long channels = shapes[si][0], outputs = shapes[si][1], height = shapes[si][2], width = shapes[si][3];
        const long outHeight = height - 2, outWidth = width - 2;
        float *x = floats(samples * height * width * channels, uniform), *w = floats(outputs * channels * 9, uniform);
        float *bias = floats(outputs, uniform), *y = floats(samples * outHeight * outWidth * outputs, 0);
        float *dy = floats(samples * outHeight * outWidth * outputs, uniform);
        const long forwardSize = dk_winograd_weights_size(outputs, channels), turnedSize = dk_winograd_weights_size(channels, outputs);
        float *u = floats(forwardSize > turnedSize ? forwardSize : turnedSize, 0);
        const long convScratch = dk_winograd_conv_scratch(width, channels, outputs);
        const long turnedScratch = dk_winograd_conv_scratch(width, outputs, channels);
        const long gradientScratch = dk_winograd_gradient_scratch(channels, outputs);
        long scratchSize = convScratch > turnedScratch ? convScratch : turnedScratch;
        if (gradientScratch > scratchSize) scratchSize = gradientScratch;
        float *scratch = floats(scratchSize, 0);
        char name[96];
        dk_winograd_weights(w, outputs, channels, 0, u);
        dk_winograd_conv3x3(x, height, width, channels, outputs, u, bias, y, 0, samples, scratch);
        snprintf(name, sizeof name, "winograd_conv3x3/channels=%ld,outputs=%ld,height=%ld,width=%ld", channels, outputs, height, width);
        emit(name, y, 'f', samples * outHeight * outWidth * outputs);
        // The inference plan's call: a window two columns narrower than the image, read in
        // place, from the second row of blocks on, into rows as wide as the whole output's.
        if (width >= 6 && outHeight >= 4) {
            float *part = floats(outHeight * outWidth * outputs, 0);
            for (long i = 0; i < outHeight * outWidth * outputs; i++) part[i] = untouched;
            dk_winograd_conv3x3_rows(x, width * channels, width - 2, channels, outputs, u, bias, part, outWidth * outputs,
                                     1, outHeight / 2, scratch);
            snprintf(name, sizeof name, "winograd_rows/channels=%ld,outputs=%ld,height=%ld,width=%ld", channels, outputs,
                     height, width);
            emit(name, part, 'f', outHeight * outWidth * outputs);
            free(part);
        }
        // The turned kernel over images of `outputs` channels (as the padded output gradient is).
        float *back = floats(samples * outHeight * outWidth * channels, 0);
        float *gradientImage = floats(samples * height * width * outputs, uniform);
        dk_winograd_weights(w, outputs, channels, 1, u);
        dk_winograd_conv3x3(gradientImage, height, width, outputs, channels, u, NULL, back, 0, samples, scratch);
        snprintf(name, sizeof name, "winograd_turned/channels=%ld,outputs=%ld,height=%ld,width=%ld", channels, outputs, height, width);
        emit(name, back, 'f', samples * outHeight * outWidth * channels);
        const long count = outputs * 9 * channels + outputs;
        float *sums = floats(count, uniform);
        dk_winograd_weight_gradient(x, height, width, channels, dy, outputs, 0, samples, sums, scratch);
        snprintf(name, sizeof name, "winograd_weight_gradient/channels=%ld,outputs=%ld,height=%ld,width=%ld",
                 channels, outputs, height, width);
        emit(name, sums, 'f', count);
        free(x); free(w); free(bias); free(y); free(dy); free(u); free(scratch); free(back); free(gradientImage); free(sums);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: kernel-check OUT.bin MANIFEST.txt\n");
        return 2;
    }
    data = fopen(argv[1], "wb");
    manifest = fopen(argv[2], "w");
    if (!data || !manifest) {
        fprintf(stderr, "kernel-check: cannot write %s or %s\n", argv[1], argv[2]);
        return 1;
    }
    fprintf(manifest, "vector_width %d\n", dk_vector_width());
    check_tile();
    check_weight_gradients();
    check_pool_conv_gradient();
    check_channel_sums();
    check_pooling();
    check_elementwise();
    check_winograd();
    return fclose(data) == 0 && fclose(manifest) == 0 ? 0 : 1;
}
