// The plain view of a fully connected chain (Model::dense_view(), model.h) that the sleep
// engines and the CUDA kernels read, and the output activations every forward pass uses.
//
//   a_0 = x                                   (n0)
//   z_l = W_l a_(l-1) + b_l                   (W_l: n_l × n_(l-1), row-major)
//   a_l = h · relu(z_l)          for hidden layers, h = hidden_scale (1 - p for the
//                                paper's non-inverted dropout at test time, else 1)
//   a_L = out(z_L)               out ∈ {relu, linear, softmax(z / T), log-softmax(z / T)}
//
// The view never owns memory: it points into a Model's parameters.
#pragma once
#include <vector>

#include "common.h"

namespace nrem {

enum class OutputAct { Relu = 0, Linear = 1, Softmax = 2, LogSoftmax = 3 };

struct NetView {
  std::vector<int> sizes;         // n0 … nL
  std::vector<float*> W;          // L matrices, W[l-1] is n_l × n_(l-1)
  std::vector<float*> b;          // L entries, nullptr where the layer has no bias
  OutputAct out = OutputAct::Relu;
  float temperature = 1.0f;       // softmax temperature (Softmax output only)
  float hidden_scale = 1.0f;      // test-time scale of hidden activations

  int layers() const { return static_cast<int>(sizes.size()) - 1; }
  int inputs() const { return sizes.front(); }
  int outputs() const { return sizes.back(); }
  size_t weight_count(int l) const {  // l = 1..L
    return static_cast<size_t>(sizes[l]) * sizes[l - 1];
  }
  void validate() const;  // throws ERR_SHAPE / ERR_VALUE
};

// A hidden layer's activation in place on a block of z (rows × cols at row stride ld):
// scale · relu(z), the test-mode hidden activation (scale = NetView::hidden_scale).
void hidden_relu_block(float* z, int rows, int cols, size_t ld, float scale);

// The output activation in place on n rows of width m (relu, linear, softmax(z / T),
// log-softmax(z / T)):
// the one implementation used by the forward passes, backprop and the attacks.
void output_rows(float* a, size_t n, int m, OutputAct act, float temperature);

// Index of the largest output per row (ties: lowest index), for n rows of width nL.
void argmax_rows(const float* Y, size_t n, int width, int32_t* labels);

}  // namespace nrem
