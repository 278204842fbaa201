// The package's compiled TensorFlow CPU ops (see native.py): Winograd F(m x m, 3x3) transforms and
// products, for output tiles m = 4 (input tiles 6x6) and m = 6 (8x8), n = m + 2 below; and the
// style cost's Gram matrices, with the same matrix product.
//
// The same arithmetic as the pure-TensorFlow path in winograd.py, with fewer passes over memory:
// TensorFlow runs the transforms as pad, space_to_batch, slices, concatenations and a dense
// n^2 x n^2 matmul, five passes over tensors larger than the layer's input, and the products as a
// batched matmul of a transformed kernel it must first write out (4 or 7.1 times the kernel).
//
// NstWinogradInput:  x (N, H, W, C), attr tile = m -> v (n*n, N * ceil(H/m) * ceil(W/m), C)
//   v[n*a+b, tile, c] = (B^T d B)[a, b], d the n x n window of channel c starting one pixel above
//   and left of the tile's m x m block (zeros outside the image: 'same' padding).
// NstWinogradOutput: m (n*n, P, C), bias (C) or (0), attrs height, width, tile = m, relu
//   -> y (N, height, width, C): the m x m block of a tile is A^T M A (+ bias, then max(0, .) with
//   relu), cropped at the image's edge. The layer's bias and ReLU in the same pass over memory.
// NstWinogradProducts: v (n*n, P, K), kernel (3, 3, K, N), kron (n*n, 9) -> m (n*n, P, N)
//   m[e] = v[e] @ U[e], U[e] = sum_t kron[e, t] kernel[t]: the products in the Winograd domain, the
//   kernel's transform (kron = kron(G, G)) made inside the op, in the order the product reads it
//   (for few rows P, panel by panel in cache, never in memory).
//   The input gradient's products take kron(G, G) of the kernel rotated by 180 degrees and attr
//   swap_channels = true: kernel is then (3, 3, N, K), read as if its channel axes were swapped.
// NstWinogradConv: x (N, H, W, K), kernel (3, 3, K, C), kron (n*n, 9), bias (C) or (0), attrs tile = m,
//   swap_channels, relu -> y (N, H, W, C)
//   the three above in one op, bands of tiles at a time, for layers with small kernels.
// NstGram: a (P, C) -> g (C, C) = a^T a, C a multiple of 32: the Gram matrix of unrolled activations.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/util/work_sharder.h"

namespace {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;
using tensorflow::TensorShape;


constexpr int kChunk = 64;  // channels transformed together: a tile of kChunk channels stays in L1

// F(4x4, 3x3): input tile 6, output tile 4 (interpolation points 0, 1, -1, 2, -2, infinity).
struct F4 {
  static constexpr int kOut = 4, kIn = 6;

  // t[6][n] = B^T d for one column of six rows; rows are arrays of n channel values.
  static inline void input_rows(const float* const* d, float* const* t, int n) {
#pragma GCC ivdep
    for (int c = 0; c < n; ++c) {
      const float d0 = d[0][c], d1 = d[1][c], d2 = d[2][c], d3 = d[3][c], d4 = d[4][c], d5 = d[5][c];
      t[0][c] = 4.f * d0 - 5.f * d2 + d4;
      t[1][c] = -4.f * d1 - 4.f * d2 + d3 + d4;
      t[2][c] = 4.f * d1 - 4.f * d2 - d3 + d4;
      t[3][c] = -2.f * d1 - d2 + 2.f * d3 + d4;
      t[4][c] = 2.f * d1 - d2 - 2.f * d3 + d4;
      t[5][c] = 4.f * d1 - 5.f * d3 + d5;
    }
  }

  // y[4][n] = A^T m for six rows of n channel values.
  static inline void output_rows(const float* const* m, float* const* y, int n) {
#pragma GCC ivdep
    for (int c = 0; c < n; ++c) {
      const float m0 = m[0][c], m1 = m[1][c], m2 = m[2][c], m3 = m[3][c], m4 = m[4][c], m5 = m[5][c];
      y[0][c] = m0 + m1 + m2 + m3 + m4;
      y[1][c] = m1 - m2 + 2.f * m3 - 2.f * m4;
      y[2][c] = m1 + m2 + 4.f * m3 + 4.f * m4;
      y[3][c] = m1 - m2 + 8.f * m3 - 8.f * m4 + m5;
    }
  }
};

// F(6x6, 3x3): input tile 8, output tile 6 (points 0, 1, -1, 2, -2, 1/2, -1/2, infinity).
struct F6 {
  static constexpr int kOut = 6, kIn = 8;

  static inline void input_rows(const float* const* d, float* const* t, int n) {
#pragma GCC ivdep
    for (int c = 0; c < n; ++c) {
      const float d0 = d[0][c], d1 = d[1][c], d2 = d[2][c], d3 = d[3][c], d4 = d[4][c], d5 = d[5][c],
                  d6 = d[6][c], d7 = d[7][c];
      t[0][c] = d0 - 5.25f * d2 + 5.25f * d4 - d6;
      t[1][c] = d1 + d2 - 4.25f * d3 - 4.25f * d4 + d5 + d6;
      t[2][c] = -d1 + d2 + 4.25f * d3 - 4.25f * d4 - d5 + d6;
      t[3][c] = 0.5f * d1 + 0.25f * d2 - 2.5f * d3 - 1.25f * d4 + 2.f * d5 + d6;
      t[4][c] = -0.5f * d1 + 0.25f * d2 + 2.5f * d3 - 1.25f * d4 - 2.f * d5 + d6;
      t[5][c] = 2.f * d1 + 4.f * d2 - 2.5f * d3 - 5.f * d4 + 0.5f * d5 + d6;
      t[6][c] = -2.f * d1 + 4.f * d2 + 2.5f * d3 - 5.f * d4 - 0.5f * d5 + d6;
      t[7][c] = -d1 + 5.25f * d3 - 5.25f * d5 + d7;
    }
  }

  static inline void output_rows(const float* const* m, float* const* y, int n) {
#pragma GCC ivdep
    for (int c = 0; c < n; ++c) {
      const float m0 = m[0][c], m1 = m[1][c], m2 = m[2][c], m3 = m[3][c], m4 = m[4][c], m5 = m[5][c],
                  m6 = m[6][c], m7 = m[7][c];
      y[0][c] = m0 + m1 + m2 + m3 + m4 + m5 + m6;
      y[1][c] = m1 - m2 + 2.f * m3 - 2.f * m4 + 0.5f * m5 - 0.5f * m6;
      y[2][c] = m1 + m2 + 4.f * m3 + 4.f * m4 + 0.25f * m5 + 0.25f * m6;
      y[3][c] = m1 - m2 + 8.f * m3 - 8.f * m4 + 0.125f * m5 - 0.125f * m6;
      y[4][c] = m1 + m2 + 16.f * m3 + 16.f * m4 + 0.0625f * m5 + 0.0625f * m6;
      y[5][c] = m1 - m2 + 32.f * m3 - 32.f * m4 + 0.03125f * m5 - 0.03125f * m6 + m7;
    }
  }
};

inline int64_t tiles_along(int64_t side, int out) { return (side + out - 1) / out; }

// Every op refuses an empty or negative size with an error instead of running: an empty tensor
// would divide by zero tiles, rows or channels further on (SIGFPE), and a negative size attr would
// make a TensorShape abort the process.
absl::Status all_positive(const Tensor& t, const char* name) {
  for (int i = 0; i < t.dims(); ++i) {
    if (t.dim_size(i) <= 0) {
      return tensorflow::errors::InvalidArgument(name, " must have no empty dimension, got shape ",
                                                 t.shape().DebugString());
    }
  }
  return absl::OkStatus();
}

// The "tile" attr of both ops: the output tile side, 4 or 6.
absl::Status read_tile(OpKernelConstruction* ctx, int* tile) {
  TF_RETURN_IF_ERROR(ctx->GetAttr("tile", tile));
  if (*tile != 4 && *tile != 6) {
    return tensorflow::errors::InvalidArgument("tile must be 4 or 6, got ", *tile);
  }
  return absl::OkStatus();
}

// One tile through the input transform: v[(a * kIn + b) * stride + c] = (B^T d B)[a, b] for every
// channel c, d the tile of image img at tile row ti and column tj of x (N, h, w, ch).
template <class T>
void input_tile(const float* x, int64_t h, int64_t w, int64_t ch, int64_t img, int64_t ti, int64_t tj,
                float* v, int64_t stride) {
  constexpr int kOut = T::kOut, kIn = T::kIn;
  alignas(64) float zeros[kChunk] = {0};
  alignas(64) float t[kIn][kIn][kChunk];  // B^T d: transformed rows, then columns
  for (int64_t c0 = 0; c0 < ch; c0 += kChunk) {
    const int cn = static_cast<int>(std::min<int64_t>(kChunk, ch - c0));
    for (int col = 0; col < kIn; ++col) {  // rows transform, one input column at a time
      const int64_t x_col = tj * kOut - 1 + col;
      const float* d[kIn];
      float* out[kIn];
      for (int r = 0; r < kIn; ++r) {
        const int64_t x_row = ti * kOut - 1 + r;
        const bool inside = x_row >= 0 && x_row < h && x_col >= 0 && x_col < w;
        d[r] = inside ? x + ((img * h + x_row) * w + x_col) * ch + c0 : zeros;
        out[r] = t[r][col];
      }
      T::input_rows(d, out, cn);
    }
    for (int a = 0; a < kIn; ++a) {  // then columns: row a of B^T d, times B
      const float* d[kIn];
      float* out[kIn];
      for (int b = 0; b < kIn; ++b) {
        d[b] = t[a][b];
        out[b] = v + (a * kIn + b) * stride + c0;
      }
      T::input_rows(d, out, cn);
    }
  }
}

// One tile through the output transform: the m x m block A^T M A of y (N, h, w, ch) at tile row ti
// and column tj, cropped at the image's edge, from M[a, b][c] = m[(a * kIn + b) * stride + c]; plus
// bias[c] unless bias is null, then max(0, .) if relu.
template <class T>
void output_tile(const float* m, int64_t stride, int64_t ch, float* y, int64_t h, int64_t w, int64_t img,
                 int64_t ti, int64_t tj, const float* bias, bool relu) {
  constexpr int kOut = T::kOut, kIn = T::kIn;
  alignas(64) float t[kOut][kIn][kChunk];  // A^T M
  alignas(64) float block[kOut][kOut][kChunk];
  for (int64_t c0 = 0; c0 < ch; c0 += kChunk) {
    const int cn = static_cast<int>(std::min<int64_t>(kChunk, ch - c0));
    for (int b = 0; b < kIn; ++b) {
      const float* rows[kIn];
      float* out[kOut];
      for (int a = 0; a < kIn; ++a) rows[a] = m + (a * kIn + b) * stride + c0;
      for (int a = 0; a < kOut; ++a) out[a] = t[a][b];
      T::output_rows(rows, out, cn);
    }
    for (int a = 0; a < kOut; ++a) {
      const float* rows[kIn];
      float* out[kOut];
      for (int b = 0; b < kIn; ++b) rows[b] = t[a][b];
      for (int b = 0; b < kOut; ++b) out[b] = block[a][b];
      T::output_rows(rows, out, cn);
    }
    for (int a = 0; a < kOut && ti * kOut + a < h; ++a) {
      for (int b = 0; b < kOut && tj * kOut + b < w; ++b) {
        float* out = y + ((img * h + ti * kOut + a) * w + tj * kOut + b) * ch + c0;
        if (bias == nullptr && !relu) {
          std::memcpy(out, block[a][b], cn * sizeof(float));
          continue;
        }
        const float* add = bias ? bias + c0 : nullptr;
        for (int c = 0; c < cn; ++c) {
          const float v = block[a][b][c] + (add ? add[c] : 0.f);
          out[c] = relu ? std::max(v, 0.f) : v;
        }
      }
    }
  }
}

template <class T>
void input_transform(OpKernelContext* ctx, const Tensor& x) {
  constexpr int kOut = T::kOut, kIn = T::kIn;
  const int64_t n = x.dim_size(0), h = x.dim_size(1), w = x.dim_size(2), ch = x.dim_size(3);
  const int64_t th = tiles_along(h, kOut), tw = tiles_along(w, kOut), tiles = n * th * tw;
  Tensor* v = nullptr;
  OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({kIn * kIn, tiles, ch}), &v));
  const float* src = x.flat<float>().data();
  float* dst = v->flat<float>().data();
  auto work = [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      input_tile<T>(src, h, w, ch, p / (th * tw), (p / tw) % th, p % tw, dst + p * ch, tiles * ch);
    }
  };
  const auto& pool = *ctx->device()->tensorflow_cpu_worker_threads();
  tensorflow::Shard(pool.num_threads, pool.workers, tiles, 3 * kIn * kIn * ch, work);
}

// bias: (C) or (0) for none
inline const float* bias_or_null(const Tensor& bias) { return bias.NumElements() ? bias.flat<float>().data() : nullptr; }

template <class T>
void output_transform(OpKernelContext* ctx, const Tensor& m, const Tensor& bias, bool relu, int64_t h, int64_t w) {
  constexpr int kOut = T::kOut, kIn = T::kIn;
  OP_REQUIRES(ctx, m.dims() == 3 && m.dim_size(0) == kIn * kIn,
              tensorflow::errors::InvalidArgument("m must be (", kIn * kIn, ", tiles, C)"));
  const int64_t tiles = m.dim_size(1), ch = m.dim_size(2);
  const int64_t th = tiles_along(h, kOut), tw = tiles_along(w, kOut);
  OP_REQUIRES(ctx, th * tw > 0 && tiles % (th * tw) == 0,
              tensorflow::errors::InvalidArgument("tiles do not match height and width"));
  const int64_t n = tiles / (th * tw);
  OP_REQUIRES(ctx, bias.dims() == 1 && (bias.dim_size(0) == 0 || bias.dim_size(0) == ch),
              tensorflow::errors::InvalidArgument("bias must be (", ch, ") or (0)"));
  const float* add = bias_or_null(bias);
  Tensor* y = nullptr;
  OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({n, h, w, ch}), &y));
  const float* src = m.flat<float>().data();
  float* dst = y->flat<float>().data();
  auto work = [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      output_tile<T>(src + p * ch, tiles * ch, ch, dst, h, w, p / (th * tw), (p / tw) % th, p % tw, add, relu);
    }
  };
  const auto& pool = *ctx->device()->tensorflow_cpu_worker_threads();
  tensorflow::Shard(pool.num_threads, pool.workers, tiles, 3 * kIn * kIn * ch, work);
}

class WinogradInputOp : public OpKernel {
 public:
  explicit WinogradInputOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, read_tile(ctx, &tile_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    OP_REQUIRES(ctx, x.dims() == 4, tensorflow::errors::InvalidArgument("x must be (N, H, W, C)"));
    OP_REQUIRES_OK(ctx, all_positive(x, "x"));
    if (tile_ == 6) {
      input_transform<F6>(ctx, x);
    } else {
      input_transform<F4>(ctx, x);
    }
  }

 private:
  int tile_ = 4;
};

class WinogradOutputOp : public OpKernel {
 public:
  explicit WinogradOutputOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, read_tile(ctx, &tile_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("height", &height_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("width", &width_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("relu", &relu_));
    OP_REQUIRES(ctx, height_ > 0 && width_ > 0,
                tensorflow::errors::InvalidArgument("height and width must be positive, got ", height_, " and ",
                                                    width_));
  }

  void Compute(OpKernelContext* ctx) override {
    OP_REQUIRES_OK(ctx, all_positive(ctx->input(0), "m"));
    if (tile_ == 6) {
      output_transform<F6>(ctx, ctx->input(0), ctx->input(1), relu_, height_, width_);
    } else {
      output_transform<F4>(ctx, ctx->input(0), ctx->input(1), relu_, height_, width_);
    }
  }

 private:
  int height_ = 0, width_ = 0, tile_ = 4;
  bool relu_ = false;
};


// ---- The products: a small packed matrix product of our own ----------------------------------
// TensorFlow's batched matmul runs these shapes (36 or 64 products of a few hundred rows) at a
// fraction of the CPU's rate, and it needs the transformed kernels in memory: 4 (or 7.1) times each
// kernel, written and read again in every step. Here each product is cut into panels of kNR
// output channels; a panel of U (K x kNR) is made from the kernel in cache and multiplied with
// the rows of v by a register-blocked kernel (kMR rows x kNR columns of accumulators).
#if defined(__AVX512F__)
constexpr int kVL = 16;  // floats per vector register
#else
constexpr int kVL = 8;   // AVX2; GCC splits wider-than-native vectors on older CPUs
#endif
typedef float vfloat __attribute__((vector_size(kVL * sizeof(float))));
constexpr int kNR = 2 * kVL, kMR = 6;
constexpr int64_t kRowChunk = 42 * kMR;  // rows of v per work unit: stays in L2 while panels pass

inline vfloat load(const float* p) {
  vfloat v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, vfloat v) { std::memcpy(p, &v, sizeof v); }
// s in every lane (s - 0 is s exactly, so the compiler drops the subtraction; s + 0 it may not)
inline vfloat splat(float s) { return s - vfloat{}; }

// c[R x kNR] = a[R x k] @ panel[k x kNR]; a and c row-major with strides lda, ldc.
template <int R>
inline void micro_kernel(const float* a, int64_t lda, const float* panel, int64_t k, float* c,
                         int64_t ldc) {
  vfloat acc0[R], acc1[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = vfloat{};
  for (int64_t i = 0; i < k; ++i) {
    const vfloat b0 = load(panel + i * kNR), b1 = load(panel + i * kNR + kVL);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const vfloat x = splat(a[r * lda + i]);
      acc0[r] += x * b0;
      acc1[r] += x * b1;
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    store(c + r * ldc, acc0[r]);
    store(c + r * ldc + kVL, acc1[r]);
  }
}

// The nonzero coefficients of one row of kron (most rows of kron(G, G) have zeros).
struct Taps {
  int count = 0, index[9];
  float weight[9];
  explicit Taps(const float* row) {
    for (int t = 0; t < 9; ++t) {
      if (row[t] != 0.f) index[count] = t, weight[count++] = row[t];
    }
  }
};

// The taps of positions 0 .. positions - 1 of kron (positions x 9).
std::vector<Taps> taps_of(const float* kr, int64_t positions) {
  std::vector<Taps> taps;
  for (int64_t e = 0; e < positions; ++e) taps.emplace_back(kr + e * 9);
  return taps;
}

// Copies rows i0 .. i0 + count of the kernel's 9 taps W[t] (each a (K, N) matrix), output
// channels j0 .. j0 + kNR (zeros past n), to rows + (t * stride + i) * kNR: kNR contiguous floats per
// row and tap. With `swapped`, g is (3, 3, N, K) and W[t] its tap t transposed: the input
// gradient's kernel, read in place rather than transposed in memory first.
void gather_taps(const float* g, bool swapped, int64_t k, int64_t n, int64_t i0, int64_t count, int64_t j0,
                 float* rows, int64_t stride) {
  const int64_t width = std::min<int64_t>(kNR, n - j0);
  for (int t = 0; t < 9; ++t) {
    float* dst = rows + t * stride * kNR;
    if (swapped) {
      for (int64_t j = 0; j < kNR; ++j) {
        const float* src = g + (t * n + j0 + j) * k + i0;
        for (int64_t i = 0; i < count; ++i) dst[i * kNR + j] = j < width ? src[i] : 0.f;
      }
      continue;
    }
    for (int64_t i = 0; i < count; ++i) {
      const float* src = g + (t * k + i0 + i) * n + j0;
      // kNR floats out of every row of n: too far apart for the hardware's prefetcher to see.
      // 16 rows ahead made the products at 512 x 512 channels and 35 rows about 0.9 of their time,
      // 48 rows ahead about 0.93 of that again (35 and 130 rows; 2-core AVX-512 EPYC).
      constexpr int64_t kAhead = 48;
      if (i + kAhead < count) {
        __builtin_prefetch(src + kAhead * n);
        __builtin_prefetch(src + kAhead * n + kVL);
      }
      if (width == kNR) {
        store(dst + i * kNR, load(src));
        store(dst + i * kNR + kVL, load(src + kVL));
      } else {
        std::memcpy(dst + i * kNR, src, width * sizeof(float));
        std::fill(dst + i * kNR + width, dst + (i + 1) * kNR, 0.f);
      }
    }
  }
}

// out[i] = sum over w's taps t of weight_t rows[t][i] for i < count (rows as gather_taps wrote
// them): count rows of one position's K x kNR panel of U.
inline void combine_taps(const Taps& w, const float* rows, int64_t stride, int64_t count, float* out) {
  for (int64_t i = 0; i < count; ++i) {
    vfloat s0 = vfloat{}, s1 = vfloat{};
    for (int t = 0; t < w.count; ++t) {
      const float* row = rows + (w.index[t] * stride + i) * kNR;
      s0 += w.weight[t] * load(row);
      s1 += w.weight[t] * load(row + kVL);
    }
    store(out + i * kNR, s0);
    store(out + i * kNR + kVL, s1);
  }
}

// U[e] = sum_t kron[e, t] W[t] for positions e (rows of kr), W[t] the kernel's tap t as a (K, N)
// matrix, written in the order the products read it: u[e][column] is a K x kNR panel (kNR output
// channels, zero-padded past the last one). A work unit is a block of kRows rows of every tap: each
// column of it is copied to `rows` (in L1) once and used for all positions, and each position's
// panel gets kRows contiguous rows. Writing position after position (not all positions of one
// row at a time, whose panels lie a power of two apart and evict one another) made this 1.7 times
// as fast on a 2-core AVX2 EPYC (512 x 512 channels). swapped: see gather_taps.
void transform_kernel(OpKernelContext* ctx, const float* g, bool swapped, int64_t k, int64_t n,
                      const float* kr, int64_t positions, float* u) {
  const int64_t columns = (n + kNR - 1) / kNR;
  const std::vector<Taps> taps = taps_of(kr, positions);
  if (positions == 0) return;
  const auto& pool = *ctx->device()->tensorflow_cpu_worker_threads();
  if (swapped) {
    // The input gradient's kernel is gathered across its rows (a transpose): whole columns of
    // K rows at a time read it in long runs. 0.6-0.85 of the time of 32-row blocks for 512 x 512
    // channels on a 2-core AVX-512 EPYC; for the forward kernel, read row by row, no faster.
    auto by_column = [&](int64_t begin, int64_t end) {
      std::unique_ptr<float[]> rows(new float[9 * k * kNR]);
      for (int64_t col = begin; col < end; ++col) {
        gather_taps(g, swapped, k, n, 0, k, col * kNR, rows.get(), k);
        for (int64_t e = 0; e < positions; ++e) {
          combine_taps(taps[e], rows.get(), k, k, u + (e * columns + col) * k * kNR);
        }
      }
    };
    tensorflow::Shard(pool.num_threads, pool.workers, columns, 4 * k * kNR * positions, by_column);
    return;
  }
  constexpr int64_t kRows = 32;
  auto work = [&](int64_t begin, int64_t end) {
    alignas(64) float rows[9 * kRows * kNR];
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t i0 = unit * kRows, count = std::min(k, i0 + kRows) - i0;
      for (int64_t col = 0; col < columns; ++col) {
        gather_taps(g, swapped, k, n, i0, count, col * kNR, rows, kRows);
        for (int64_t e = 0; e < positions; ++e) {
          combine_taps(taps[e], rows, kRows, count, u + ((e * columns + col) * k + i0) * kNR);
        }
      }
    }
  };
  tensorflow::Shard(pool.num_threads, pool.workers, (k + kRows - 1) / kRows, 4 * kRows * positions * n, work);
}

// c[rows x kNR] = a[rows x k] @ panel[k x kNR], kMR rows at a time
void multiply_panel(const float* a, int64_t rows, int64_t k, const float* panel, float* c, int64_t ldc) {
  int64_t r = 0;
  for (; r + kMR <= rows; r += kMR) micro_kernel<kMR>(a + r * k, k, panel, k, c + r * ldc, ldc);
  a += r * k, c += r * ldc;
  switch (rows - r) {
    case 5: micro_kernel<5>(a, k, panel, k, c, ldc); break;
    case 4: micro_kernel<4>(a, k, panel, k, c, ldc); break;
    case 3: micro_kernel<3>(a, k, panel, k, c, ldc); break;
    case 2: micro_kernel<2>(a, k, panel, k, c, ldc); break;
    case 1: micro_kernel<1>(a, k, panel, k, c, ldc); break;
    default: break;
  }
}

// c[rows x width] = a[rows x k] @ panel[k x kNR] for the output channels j0 .. j0 + width of c
// (row stride n); the last, narrower column (width < kNR) goes through `partial` (rows x kNR).
void multiply_column(const float* a, int64_t rows, int64_t k, const float* panel, float* c, int64_t n,
                     int64_t j0, float* partial) {
  const int64_t width = std::min<int64_t>(kNR, n - j0);
  if (width == kNR) {
    multiply_panel(a, rows, k, panel, c + j0, n);
    return;
  }
  multiply_panel(a, rows, k, panel, partial, kNR);
  for (int64_t r = 0; r < rows; ++r) std::memcpy(c + r * n + j0, partial + r * kNR, width * sizeof(float));
}

// m[e] = v[e] @ U[e] with each K x kNR panel of U made in cache just before it is used, not
// written to memory and read back: for few rows p, where U (4 times the kernel, 38 MB for 512 x 512
// channels) costs more than the products. A work unit is a column of kNR output channels for a
// group of positions: its taps are gathered once (9 x K x kNR floats), each position's panel is
// made from them, and v (small here) is read again for every column. One group where there are at
// least two columns per thread (so on 2 cores); more, each gathering the taps again, where there
// are not, so that many cores all get work.
void products_in_cache(OpKernelContext* ctx, const float* src, const float* g, bool swapped, const float* kr,
                       int64_t positions, int64_t p, int64_t k, int64_t n, float* dst) {
  const int64_t columns = (n + kNR - 1) / kNR;
  const std::vector<Taps> taps = taps_of(kr, positions);
  const auto& pool = *ctx->device()->tensorflow_cpu_worker_threads();
  const int64_t wanted = std::min(positions, std::max<int64_t>(1, (2 * pool.num_threads + columns - 1) / columns));
  const int64_t per_group = (positions + wanted - 1) / wanted, groups = (positions + per_group - 1) / per_group;
  auto work = [&](int64_t begin, int64_t end) {
    std::unique_ptr<float[]> rows(new float[9 * k * kNR]), panel(new float[k * kNR]), partial(new float[p * kNR]);
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t col = unit % columns, e0 = unit / columns * per_group;
      gather_taps(g, swapped, k, n, 0, k, col * kNR, rows.get(), k);
      for (int64_t e = e0; e < std::min(positions, e0 + per_group); ++e) {
        combine_taps(taps[e], rows.get(), k, k, panel.get());
        multiply_column(src + e * p * k, p, k, panel.get(), dst + e * p * n, n, col * kNR, partial.get());
      }
    }
  };
  tensorflow::Shard(pool.num_threads, pool.workers, columns * groups, 2 * per_group * (p + 2) * k * kNR, work);
}

void products(OpKernelContext* ctx, const Tensor& v, const Tensor& kernel, bool swapped, const Tensor& kron) {
  const int64_t positions = v.dim_size(0), p = v.dim_size(1), k = v.dim_size(2);
  const int64_t n = kernel.dim_size(swapped ? 2 : 3);
  const int64_t columns = (n + kNR - 1) / kNR;
  Tensor* m = nullptr;
  OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({positions, p, n}), &m));
  // Few rows (deep layers of small images: 35 tiles at conv4_x for 200x150, 130 at 400x300): U in
  // cache, never in memory. Measured on a 2-core AVX-512 EPYC against U in memory: 0.4-0.8 of the
  // time at 35 rows, 0.9-1.0 at 130, 1.1 at 252 (v, read again for every column, leaves the cache).
  constexpr int64_t kSmallRows = 192;
  if (p <= kSmallRows) {
    products_in_cache(ctx, v.flat<float>().data(), kernel.flat<float>().data(), swapped, kron.flat<float>().data(),
                      positions, p, k, n, m->flat<float>().data());
    return;
  }
  // The transformed kernel is made for a group of positions at a time, at most kGroupBytes: the
  // whole of it (4 or 7.1 times the kernel, 38 MB for a 512 x 512 layer) is above glibc's largest
  // mmap threshold (32 MB), so it would be mapped afresh on every call and its pages faulted in
  // again (a third of the step on a machine measured). Smaller groups read the kernel more often.
  constexpr int64_t kGroupBytes = 16 << 20;
  const int64_t per_position = columns * k * kNR;
  const int64_t group = std::max<int64_t>(1, std::min(positions, kGroupBytes / (per_position * int64_t{sizeof(float)})));
  Tensor u;
  OP_REQUIRES_OK(ctx, ctx->allocate_temp(tensorflow::DT_FLOAT, TensorShape({group * per_position}), &u));
  const float* panels = u.flat<float>().data();
  const float* src = v.flat<float>().data();
  float* dst = m->flat<float>().data();
  // A work unit is a chunk of v's rows at one position, multiplied by all of that position's
  // panels: the rows stay in cache while the panels stream past.
  const int64_t chunks = (p + kRowChunk - 1) / kRowChunk;
  int64_t e0 = 0;
  auto work = [&](int64_t begin, int64_t end) {
    std::unique_ptr<float[]> partial(new float[kRowChunk * kNR]);
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t e = unit / chunks, r0 = unit % chunks * kRowChunk, rows = std::min(p, r0 + kRowChunk) - r0;
      const float* a = src + ((e0 + e) * p + r0) * k;
      float* c = dst + ((e0 + e) * p + r0) * n;
      for (int64_t col = 0; col < columns; ++col) {
        multiply_column(a, rows, k, panels + (e * columns + col) * k * kNR, c, n, col * kNR, partial.get());
      }
    }
  };
  const auto& pool = *ctx->device()->tensorflow_cpu_worker_threads();
  for (; e0 < positions; e0 += group) {
    const int64_t count = std::min(group, positions - e0);
    transform_kernel(ctx, kernel.flat<float>().data(), swapped, k, n, kron.flat<float>().data() + e0 * 9,
                     count, u.flat<float>().data());
    tensorflow::Shard(pool.num_threads, pool.workers, count * chunks, 2 * std::min(p, kRowChunk) * k * n, work);
  }
}

// The whole convolution, bands of tiles at a time: each band's transformed tiles and products
// stay in a thread's scratch (about kBandBytes) instead of going through two tensors in memory,
// 20 times the layer's input for F(6x6, 3x3). It pays where the transformed kernel is small (it
// is read again for every band): the first blocks of VGG (see choice.winograd_fused).
template <class T>
void fused_conv(OpKernelContext* ctx, const Tensor& x, const Tensor& kernel, bool swapped, const Tensor& kron,
                const float* bias, bool relu) {
  constexpr int kOut = T::kOut, kIn = T::kIn, positions = kIn * kIn;
  constexpr int64_t kBandBytes = 2 << 20;
  const int64_t images = x.dim_size(0), h = x.dim_size(1), w = x.dim_size(2), k = x.dim_size(3);
  const int64_t n = kernel.dim_size(swapped ? 2 : 3), columns = (n + kNR - 1) / kNR;
  const int64_t th = tiles_along(h, kOut), tw = tiles_along(w, kOut), tiles = images * th * tw;
  Tensor* y = nullptr;
  OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({images, h, w, n}), &y));
  Tensor u;
  OP_REQUIRES_OK(ctx, ctx->allocate_temp(tensorflow::DT_FLOAT, TensorShape({positions * columns * k * kNR}), &u));
  transform_kernel(ctx, kernel.flat<float>().data(), swapped, k, n, kron.flat<float>().data(), positions,
                   u.flat<float>().data());
  const float* panels = u.flat<float>().data();
  const float* src = x.flat<float>().data();
  float* dst = y->flat<float>().data();
  // tiles per band: a multiple of kMR (whole row blocks), at most all of them
  const int64_t band = std::min<int64_t>(
      tiles, std::max<int64_t>(kMR, kBandBytes / (positions * (k + n) * int64_t{sizeof(float)}) / kMR * kMR));
  auto work = [&](int64_t begin, int64_t end) {
    std::unique_ptr<float[]> v(new float[positions * band * k]), m(new float[positions * band * n]),
        partial(new float[band * kNR]);
    for (int64_t b = begin; b < end; ++b) {
      const int64_t p0 = b * band, count = std::min(band, tiles - p0);
      for (int64_t q = 0; q < count; ++q) {
        const int64_t p = p0 + q;
        input_tile<T>(src, h, w, k, p / (th * tw), (p / tw) % th, p % tw, v.get() + q * k, band * k);
      }
      for (int e = 0; e < positions; ++e) {
        for (int64_t col = 0; col < columns; ++col) {
          multiply_column(v.get() + e * band * k, count, k, panels + (e * columns + col) * k * kNR,
                          m.get() + e * band * n, n, col * kNR, partial.get());
        }
      }
      for (int64_t q = 0; q < count; ++q) {
        const int64_t p = p0 + q;
        output_tile<T>(m.get() + q * n, band * n, n, dst, h, w, p / (th * tw), (p / tw) % th, p % tw, bias, relu);
      }
    }
  };
  const auto& pool = *ctx->device()->tensorflow_cpu_worker_threads();
  tensorflow::Shard(pool.num_threads, pool.workers, (tiles + band - 1) / band,
                    2 * positions * band * k * n, work);
}

class WinogradConvOp : public OpKernel {
 public:
  explicit WinogradConvOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, read_tile(ctx, &tile_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("swap_channels", &swapped_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("relu", &relu_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor &x = ctx->input(0), &kernel = ctx->input(1), &kron = ctx->input(2), &bias = ctx->input(3);
    const int n = tile_ + 2;
    OP_REQUIRES(ctx, x.dims() == 4, tensorflow::errors::InvalidArgument("x must be (N, H, W, K)"));
    OP_REQUIRES_OK(ctx, all_positive(x, "x"));
    OP_REQUIRES_OK(ctx, all_positive(kernel, "kernel"));
    OP_REQUIRES(ctx, kernel.dims() == 4 && kernel.dim_size(0) == 3 && kernel.dim_size(1) == 3 &&
                         kernel.dim_size(swapped_ ? 3 : 2) == x.dim_size(3),
                tensorflow::errors::InvalidArgument(swapped_ ? "kernel must be (3, 3, C, K) with K = x's channels"
                                                             : "kernel must be (3, 3, K, C) with K = x's channels"));
    OP_REQUIRES(ctx, kron.dims() == 2 && kron.dim_size(0) == n * n && kron.dim_size(1) == 9,
                tensorflow::errors::InvalidArgument("kron must be (", n * n, ", 9)"));
    const int64_t channels = kernel.dim_size(swapped_ ? 2 : 3);
    OP_REQUIRES(ctx, bias.dims() == 1 && (bias.dim_size(0) == 0 || bias.dim_size(0) == channels),
                tensorflow::errors::InvalidArgument("bias must be (", channels, ") or (0)"));
    if (tile_ == 6) {
      fused_conv<F6>(ctx, x, kernel, swapped_, kron, bias_or_null(bias), relu_);
    } else {
      fused_conv<F4>(ctx, x, kernel, swapped_, kron, bias_or_null(bias), relu_);
    }
  }

 private:
  int tile_ = 4;
  bool swapped_ = false, relu_ = false;
};

class WinogradProductsOp : public OpKernel {
 public:
  explicit WinogradProductsOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("swap_channels", &swapped_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor &v = ctx->input(0), &kernel = ctx->input(1), &kron = ctx->input(2);
    OP_REQUIRES(ctx, v.dims() == 3, tensorflow::errors::InvalidArgument("v must be (n*n, P, K)"));
    OP_REQUIRES_OK(ctx, all_positive(v, "v"));
    OP_REQUIRES_OK(ctx, all_positive(kernel, "kernel"));
    OP_REQUIRES(ctx, kernel.dims() == 4 && kernel.dim_size(0) == 3 && kernel.dim_size(1) == 3 &&
                         kernel.dim_size(swapped_ ? 3 : 2) == v.dim_size(2),
                tensorflow::errors::InvalidArgument(swapped_ ? "kernel must be (3, 3, N, K) with K = v's last dimension"
                                                             : "kernel must be (3, 3, K, N) with K = v's last dimension"));
    OP_REQUIRES(ctx, kron.dims() == 2 && kron.dim_size(0) == v.dim_size(0) && kron.dim_size(1) == 9,
                tensorflow::errors::InvalidArgument("kron must be (n*n, 9) with n*n = v's first dimension"));
    products(ctx, v, kernel, swapped_, kron);
  }

 private:
  bool swapped_ = false;
};

// ---- Gram matrices ---------------------------------------------------------------------------
// The style cost's A^T A (A: P positions x C channels): its upper triangle only (it is symmetric:
// half the multiply-adds), with the products' register-blocked kernel. TensorFlow's matmul runs
// these tall, thin products at 40-80 GFLOP/s on a 2-core AVX2 EPYC; this one took 0.5-0.85 of its
// time there (conv1_1 .. conv4_1 at 400x300).

// g[r0 + r][j0 .. j0 + kNR] += sum_p a[p][r0 + r] a[p][j0 .. j0 + kNR] for r < R, rows p of a (stride lda)
template <int R>
inline void gram_block(const float* a, int64_t rows, int64_t lda, int64_t r0, int64_t j0, float* g,
                       int64_t ldg) {
  vfloat acc0[R], acc1[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = vfloat{};
  for (int64_t p = 0; p < rows; ++p) {
    const float* row = a + p * lda;
    const vfloat b0 = load(row + j0), b1 = load(row + j0 + kVL);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const vfloat x = splat(row[r0 + r]);
      acc0[r] += x * b0;
      acc1[r] += x * b1;
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    float* out = g + (r0 + r) * ldg + j0;
    store(out, load(out) + acc0[r]);
    store(out + kVL, load(out + kVL) + acc1[r]);
  }
}

// g += the blocks of a^T a on or above the diagonal, for rows of a (P x c, row-major)
void gram_rows(const float* a, int64_t rows, int64_t c, float* g) {
  for (int64_t r0 = 0; r0 < c; r0 += kMR) {
    for (int64_t j0 = r0 / kNR * kNR; j0 < c; j0 += kNR) {
      switch (std::min<int64_t>(kMR, c - r0)) {
        case 6: gram_block<6>(a, rows, c, r0, j0, g, c); break;
        case 5: gram_block<5>(a, rows, c, r0, j0, g, c); break;
        case 4: gram_block<4>(a, rows, c, r0, j0, g, c); break;
        case 3: gram_block<3>(a, rows, c, r0, j0, g, c); break;
        case 2: gram_block<2>(a, rows, c, r0, j0, g, c); break;
        default: gram_block<1>(a, rows, c, r0, j0, g, c); break;
      }
    }
  }
}

class GramOp : public OpKernel {
 public:
  explicit GramOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& a = ctx->input(0);
    OP_REQUIRES(ctx, a.dims() == 2 && a.dim_size(1) % 32 == 0,
                tensorflow::errors::InvalidArgument("a must be (P, C) with C a multiple of 32"));
    OP_REQUIRES_OK(ctx, all_positive(a, "a"));
    const int64_t p = a.dim_size(0), c = a.dim_size(1);
    Tensor* g = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({c, c}), &g));
    const auto& pool = *ctx->device()->tensorflow_cpu_worker_threads();
    // One part of the rows per thread, each summed into its own matrix; within a part, chunks of
    // about 256 KB of a stay in L2 while all blocks of the triangle pass over them.
    const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(pool.num_threads, p / 64));
    const int64_t chunk = std::max<int64_t>(16, (256 << 10) / (c * int64_t{sizeof(float)}));
    std::vector<std::vector<float>> partial(parts, std::vector<float>(c * c, 0.f));
    const float* src = a.flat<float>().data();
    auto work = [&](int64_t begin, int64_t end) {
      for (int64_t part = begin; part < end; ++part) {
        const int64_t p0 = p * part / parts, p1 = p * (part + 1) / parts;
        for (int64_t q = p0; q < p1; q += chunk) {
          gram_rows(src + q * c, std::min(chunk, p1 - q), c, partial[part].data());
        }
      }
    };
    tensorflow::Shard(pool.num_threads, pool.workers, parts, 2 * (p / parts) * c * c, work);
    float* out = g->flat<float>().data();
    for (int64_t i = 0; i < c; ++i) {
      for (int64_t j = i; j < c; ++j) {
        float sum = 0.f;
        for (int64_t part = 0; part < parts; ++part) sum += partial[part][i * c + j];
        out[i * c + j] = out[j * c + i] = sum;
      }
    }
  }
};

}  // namespace

REGISTER_OP("NstWinogradInput")
    .Input("x: float")
    .Attr("tile: int = 4")
    .Output("v: float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      tensorflow::shape_inference::ShapeHandle x;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 4, &x));
      int out;
      TF_RETURN_IF_ERROR(c->GetAttr("tile", &out));
      if (out != 4 && out != 6) return tensorflow::errors::InvalidArgument("tile must be 4 or 6, got ", out);
      const int in = out + 2;
      auto dim = [&](int i) { return c->Value(c->Dim(x, i)); };
      if (!c->ValueKnown(c->Dim(x, 0)) || !c->ValueKnown(c->Dim(x, 1)) || !c->ValueKnown(c->Dim(x, 2))) {
        c->set_output(0, c->MakeShape({in * in, c->UnknownDim(), c->Dim(x, 3)}));
        return absl::OkStatus();
      }
      const int64_t tiles = dim(0) * tiles_along(dim(1), out) * tiles_along(dim(2), out);
      c->set_output(0, c->MakeShape({in * in, tiles, c->Dim(x, 3)}));
      return absl::OkStatus();
    });

REGISTER_OP("NstWinogradOutput")
    .Input("m: float")
    .Input("bias: float")
    .Attr("height: int")
    .Attr("width: int")
    .Attr("tile: int = 4")
    .Attr("relu: bool = false")
    .Output("y: float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      tensorflow::shape_inference::ShapeHandle m;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 3, &m));
      int height, width, out;
      TF_RETURN_IF_ERROR(c->GetAttr("height", &height));
      TF_RETURN_IF_ERROR(c->GetAttr("width", &width));
      TF_RETURN_IF_ERROR(c->GetAttr("tile", &out));
      if (height <= 0 || width <= 0 || (out != 4 && out != 6)) {
        return tensorflow::errors::InvalidArgument("height and width must be positive and tile 4 or 6, got ", height,
                                                   ", ", width, " and ", out);
      }
      const int64_t per_image = tiles_along(height, out) * tiles_along(width, out);
      auto tiles = c->Dim(m, 1);
      auto n = c->ValueKnown(tiles) ? c->MakeDim(c->Value(tiles) / per_image) : c->UnknownDim();
      c->set_output(0, c->MakeShape({n, height, width, c->Dim(m, 2)}));
      return absl::OkStatus();
    });

REGISTER_OP("NstWinogradProducts")
    .Input("v: float")
    .Input("kernel: float")
    .Input("kron: float")
    .Attr("swap_channels: bool = false")
    .Output("m: float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      tensorflow::shape_inference::ShapeHandle v, kernel;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 3, &v));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 4, &kernel));
      bool swapped;
      TF_RETURN_IF_ERROR(c->GetAttr("swap_channels", &swapped));
      c->set_output(0, c->MakeShape({c->Dim(v, 0), c->Dim(v, 1), c->Dim(kernel, swapped ? 2 : 3)}));
      return absl::OkStatus();
    });

REGISTER_OP("NstWinogradConv")
    .Input("x: float")
    .Input("kernel: float")
    .Input("kron: float")
    .Input("bias: float")
    .Attr("tile: int = 4")
    .Attr("swap_channels: bool = false")
    .Attr("relu: bool = false")
    .Output("y: float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      tensorflow::shape_inference::ShapeHandle x, kernel;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 4, &x));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 4, &kernel));
      bool swapped;
      TF_RETURN_IF_ERROR(c->GetAttr("swap_channels", &swapped));
      c->set_output(0, c->MakeShape({c->Dim(x, 0), c->Dim(x, 1), c->Dim(x, 2), c->Dim(kernel, swapped ? 2 : 3)}));
      return absl::OkStatus();
    });

REGISTER_KERNEL_BUILDER(Name("NstWinogradInput").Device(tensorflow::DEVICE_CPU), WinogradInputOp);
REGISTER_KERNEL_BUILDER(Name("NstWinogradOutput").Device(tensorflow::DEVICE_CPU), WinogradOutputOp);
REGISTER_KERNEL_BUILDER(Name("NstWinogradProducts").Device(tensorflow::DEVICE_CPU), WinogradProductsOp);
REGISTER_KERNEL_BUILDER(Name("NstWinogradConv").Device(tensorflow::DEVICE_CPU), WinogradConvOp);
REGISTER_KERNEL_BUILDER(Name("NstGram").Device(tensorflow::DEVICE_CPU), GramOp);

REGISTER_OP("NstGram")
    .Input("a: float")
    .Output("g: float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      tensorflow::shape_inference::ShapeHandle a;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 2, &a));
      c->set_output(0, c->MakeShape({c->Dim(a, 1), c->Dim(a, 1)}));
      return absl::OkStatus();
    });
