// The SleepNet of a Model, with the input ops folded into the first layer (sleep.h ModelSleep).
#include <cmath>

#include "sleep.h"

namespace nrem {

ModelSleep::ModelSleep(Model& m) : model_(&m) {
  m.validate();
  net.input = m.input;
  for (Layer& l : m.layers) {
    SpikingLayer y;
    y.kind = static_cast<SpikeKind>(static_cast<int>(l.kind));  // same numbering (model.h, sleep.h)
    y.in = l.in;
    y.out = l.out;
    y.win = l.win;
    y.count_include_pad = l.count_include_pad;
    y.W = l.weighted() ? l.W.data() : nullptr;
    y.b = l.has_bias() ? l.b.data() : nullptr;
    net.layers.push_back(y);
  }
  if (m.input_ops.empty()) return;
  // x0 = a⊙x + c: only the multiplicative part a reaches the spiking currents.
  const size_t d = m.input.size();
  scale_.assign(d, 1.0f);
  for (const InputOp& op : m.input_ops)
    for (size_t j = 0; j < d; ++j) {
      if (op.kind == InputOpKind::Mul) scale_[j] *= op.value[j];
      if (op.kind == InputOpKind::Div) scale_[j] /= op.value[j];
    }
  Layer& first = m.layers.front();
  require(first.weighted(), "ERR_UNSUPPORTED", "the network normalises its input and then pools it: the sleep cannot fold the normalisation into a weight layer");
  if (first.kind == LayerKind::Conv) {
    const size_t hw = static_cast<size_t>(m.input.h) * m.input.w;
    for (int c = 0; c < m.input.c; ++c)
      for (size_t q = 1; q < hw; ++q)
        require(scale_[c * hw + q] == scale_[c * hw], "ERR_UNSUPPORTED",
                "the network scales its input element by element before a convolution: the sleep can fold only one scale per input channel");
  }
  folded_ = first.W;
  const int per_row = static_cast<int>(first.kind == LayerKind::Dense ? d : static_cast<size_t>(first.win.kh) * first.win.kw);
  const size_t rows = first.W.size() / (first.kind == LayerKind::Dense ? d : static_cast<size_t>(first.in.c) * per_row);
  for (size_t r = 0; r < rows; ++r)
    for (int c = 0; c < (first.kind == LayerKind::Dense ? 1 : first.in.c); ++c)
      for (int q = 0; q < per_row; ++q) {
        const size_t k = (r * (first.kind == LayerKind::Dense ? 1 : first.in.c) + c) * per_row + q;
        const float a = first.kind == LayerKind::Dense ? scale_[q] : scale_[static_cast<size_t>(c) * m.input.h * m.input.w];
        folded_[k] = first.W[k] * a;
      }
  net.layers.front().W = folded_.data();
}

void ModelSleep::finish() {
  if (folded_.empty()) return;
  Layer& first = model_->layers.front();
  const size_t d = model_->input.size();
  const int per_row = static_cast<int>(first.kind == LayerKind::Dense ? d : static_cast<size_t>(first.win.kh) * first.win.kw);
  const int chans = first.kind == LayerKind::Dense ? 1 : first.in.c;
  const size_t rows = first.W.size() / (static_cast<size_t>(chans) * per_row);
  for (size_t r = 0; r < rows; ++r)
    for (int c = 0; c < chans; ++c)
      for (int q = 0; q < per_row; ++q) {
        const size_t k = (r * chans + c) * per_row + q;
        const float a = first.kind == LayerKind::Dense ? scale_[q] : scale_[static_cast<size_t>(c) * model_->input.h * model_->input.w];
        // unchanged weights keep their exact value (W·a/a may round)
        if (folded_[k] != first.W[k] * a) first.W[k] = folded_[k] / a;
      }
}

}  // namespace nrem
