#include "model.h"

#include <algorithm>
#include <cmath>

namespace nrem {

std::string Shape::str() const {
  return std::to_string(c) + "×" + std::to_string(h) + "×" + std::to_string(w);
}

const char* layer_kind_name(LayerKind k) {
  switch (k) {
    case LayerKind::Dense: return "dense";
    case LayerKind::Conv: return "conv";
    case LayerKind::MaxPool: return "maxpool";
    case LayerKind::AvgPool: return "avgpool";
  }
  return "?";
}

size_t Layer::weight_count() const {
  switch (kind) {
    case LayerKind::Dense: return out.size() * in.size();
    case LayerKind::Conv: return static_cast<size_t>(out.c) * in.c * win.kh * win.kw;
    default: return 0;
  }
}

int Layer::fan_in() const {
  switch (kind) {
    case LayerKind::Dense: return static_cast<int>(in.size());
    case LayerKind::Conv: return in.c * win.kh * win.kw;
    default: return win.kh * win.kw;
  }
}

int Model::weighted_layers() const {
  int k = 0;
  for (const Layer& l : layers) k += l.weighted();
  return k;
}

int Model::weighted_index(int k) const {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].weighted() && k-- == 0) return static_cast<int>(i);
  throw Error("ERR_ARGUMENT", "the network has no weight layer " + std::to_string(k));
}

size_t Model::widest() const {
  size_t w = input.size();
  for (const Layer& l : layers) w = std::max(w, l.out.size());
  return w;
}

bool Model::dense_chain() const {
  if (!input_ops.empty()) return false;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    const bool last = i + 1 == layers.size();
    if (l.kind != LayerKind::Dense || l.act.pre != 1.0f || l.act.post != 1.0f) return false;
    if (!last && !l.act.relu) return false;
  }
  return true;
}

NetView Model::dense_view() const {
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    const std::string where = "layer " + std::to_string(i + 1) + " (" + layer_kind_name(l.kind) + ")";
    require(l.kind == LayerKind::Dense, "ERR_UNSUPPORTED",
            where + " is not fully connected: this operation supports fully connected networks only");
    require(l.act.pre == 1.0f && l.act.post == 1.0f, "ERR_UNSUPPORTED",
            where + " scales its activation: this operation supports plain fully connected networks only");
    require(i + 1 == layers.size() || l.act.relu, "ERR_UNSUPPORTED",
            where + " has no ReLU: this operation supports ReLU networks only");
  }
  require(input_ops.empty(), "ERR_UNSUPPORTED",
          "the network transforms its input (normalisation): this operation supports plain fully connected networks only");
  NetView v;
  v.sizes.push_back(inputs());
  for (const Layer& l : layers) {
    v.sizes.push_back(static_cast<int>(l.out.size()));
    v.W.push_back(const_cast<float*>(l.W.data()));
    v.b.push_back(l.has_bias() ? const_cast<float*>(l.b.data()) : nullptr);
  }
  v.out = out;
  v.temperature = temperature;
  v.hidden_scale = hidden_scale;
  return v;
}

Shape layer_output_shape(LayerKind kind, const Shape& in, const Window& w, int units, const std::string& where) {
  if (kind == LayerKind::Dense) {
    require(units > 0, "ERR_SHAPE", where + ": a dense layer needs at least one unit");
    return Shape{units, 1, 1};
  }
  require(w.kh > 0 && w.kw > 0 && w.sh > 0 && w.sw > 0, "ERR_SHAPE", where + ": kernel and stride must be positive");
  require(w.pt >= 0 && w.pl >= 0 && w.pb >= 0 && w.pr >= 0, "ERR_SHAPE", where + ": padding must be >= 0");
  require(w.kh <= 65535 && w.kw <= 65535 && w.pt + w.pb <= 65535 && w.pl + w.pr <= 65535, "ERR_SHAPE",
          where + ": kernel or padding too large");
  const int ho = Window::out_size(in.h, w.kh, w.sh, w.pt, w.pb);
  const int wo = Window::out_size(in.w, w.kw, w.sw, w.pl, w.pr);
  require(in.h + w.pt + w.pb >= w.kh && in.w + w.pl + w.pr >= w.kw && ho > 0 && wo > 0, "ERR_SHAPE",
          where + ": a " + std::to_string(w.kh) + "×" + std::to_string(w.kw) + " window does not fit its " +
              in.str() + " input (padding " + std::to_string(w.pt) + "," + std::to_string(w.pl) + "," +
              std::to_string(w.pb) + "," + std::to_string(w.pr) + ")");
  if (kind != LayerKind::Conv) {
    // A window made only of padding would have no input cell to pool.
    require(w.pt < w.kh && w.pb < w.kh && w.pl < w.kw && w.pr < w.kw, "ERR_SHAPE",
            where + ": pooling padding must be smaller than the window");
  }
  const int c = kind == LayerKind::Conv ? units : in.c;
  require(c > 0, "ERR_SHAPE", where + ": a conv layer needs at least one output channel");
  return Shape{c, ho, wo};
}

void Model::validate() const {
  require(input.c > 0 && input.h > 0 && input.w > 0, "ERR_SHAPE", "the input shape " + input.str() + " is empty");
  require(!layers.empty(), "ERR_SHAPE", "a network needs at least one layer");
  for (size_t k = 0; k < input_ops.size(); ++k) {
    const InputOp& op = input_ops[k];
    require(op.value.size() == input.size(), "ERR_SHAPE",
            "input op " + std::to_string(k + 1) + " holds " + std::to_string(op.value.size()) + " values for an input of " +
                std::to_string(input.size()));
    for (size_t i = 0; i < op.value.size(); ++i)
      require(std::isfinite(op.value[i]) && (op.kind != InputOpKind::Div || op.value[i] != 0.0f), "ERR_VALUE",
              "input op " + std::to_string(k + 1) + " has the value " + std::to_string(op.value[i]) + " at index " +
                  std::to_string(i));
  }
  Shape cur = input;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    const std::string where = "layer " + std::to_string(i + 1) + " (" + layer_kind_name(l.kind) + ")";
    require(l.in == cur, "ERR_SHAPE", where + " takes " + l.in.str() + " but receives " + cur.str());
    const int units = l.kind == LayerKind::Dense ? static_cast<int>(l.out.size()) : l.out.c;
    const Shape expect = layer_output_shape(l.kind, l.in, l.win, units, where);
    require(l.out == expect, "ERR_SHAPE", where + " claims an output of " + l.out.str() + " but computes " + expect.str());
    require(l.W.size() == l.weight_count(), "ERR_SHAPE",
            where + " holds " + std::to_string(l.W.size()) + " weights, expected " + std::to_string(l.weight_count()));
    if (l.weighted())
      require(l.b.empty() || l.b.size() == static_cast<size_t>(l.out.c), "ERR_SHAPE",
              where + " holds " + std::to_string(l.b.size()) + " biases, expected " + std::to_string(l.out.c));
    else
      require(l.b.empty(), "ERR_SHAPE", where + " cannot have a bias");
    require(std::isfinite(l.act.pre) && l.act.pre > 0 && std::isfinite(l.act.post) && l.act.post > 0, "ERR_VALUE",
            where + ": activation scales must be positive");
    require(!l.act.dropout || (l.kind == LayerKind::Dense && l.act.relu), "ERR_VALUE",
            where + ": dropout applies to fully connected ReLU layers only");
    if (i + 1 == layers.size())
      require(!l.act.relu && l.act.post == 1.0f && !l.act.dropout, "ERR_VALUE",
              "the last layer's activation is the output activation");
    cur = l.out;
  }
  require(std::isfinite(temperature) && temperature > 0, "ERR_VALUE", "temperature must be a positive number");
  require(std::isfinite(hidden_scale) && hidden_scale > 0, "ERR_VALUE", "hidden_scale must be a positive number");
}

}  // namespace nrem
