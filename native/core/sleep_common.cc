// Parts of the sleep shared by both engines: validation, the input source (sequence,
// mean, masked mean), the recorder of counters / trace / raster / changed weights, and
// the batch driver.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>

#include "sleep.h"
#include "thread_pool.h"

namespace nrem {

namespace {
bool finite(float x) { return std::isfinite(x); }
std::string num(double x) { return std::to_string(x); }
}  // namespace

void sleep_check_row(const float* x, int n0, size_t row) {
  int bad = 0;
  for (int j = 0; j < n0; ++j) bad |= !(x[j] - x[j] == 0.0f);  // NaN or ±Inf
  if (!bad) return;
  for (int j = 0; j < n0; ++j)
    require(std::isfinite(x[j]), "ERR_VALUE",
            "Expected finite values in data but found " + std::to_string(x[j]) + " at row " + std::to_string(row) +
                ", column " + std::to_string(j));
}

SleepNet sleep_net(const NetView& net) {
  net.validate();
  SleepNet s;
  s.input = Shape{net.inputs(), 1, 1};
  for (int l = 1; l <= net.layers(); ++l) {
    SpikingLayer y;
    y.kind = SpikeKind::Dense;
    y.in = Shape{net.sizes[l - 1], 1, 1};
    y.out = Shape{net.sizes[l], 1, 1};
    y.W = net.W[l - 1];
    y.b = net.b[l - 1];
    s.layers.push_back(y);
  }
  return s;
}

void sleep_validate(const NetView& net, const SleepParams& p, const SleepData& d) { sleep_validate(sleep_net(net), p, d); }

void sleep_validate(const SleepNet& net, const SleepParams& p, const SleepData& d) {
  const int L = static_cast<int>(net.layers.size());
  require(L > 0 && net.input.size() > 0, "ERR_SHAPE", "the sleep needs a network with at least one layer");
  Shape cur = net.input;
  for (int l = 0; l < L; ++l) {
    const SpikingLayer& y = net.layers[l];
    const std::string where = "spiking layer " + std::to_string(l + 1);
    require(y.in == cur, "ERR_SHAPE", where + " takes " + y.in.str() + " but receives " + cur.str());
    require(!y.weighted() || y.W != nullptr, "ERR_SHAPE", where + " has no weights");
    if (y.kind != SpikeKind::Dense) {
      const int units = y.kind == SpikeKind::Conv ? y.out.c : y.in.c;
      require(layer_output_shape(y.kind == SpikeKind::Conv ? LayerKind::Conv : y.kind == SpikeKind::MaxPool ? LayerKind::MaxPool : LayerKind::AvgPool,
                                 y.in, y.win, units, where) == y.out,
              "ERR_SHAPE", where + ": output shape " + y.out.str() + " does not follow from its window");
    }
    cur = y.out;
  }
  require(p.plastic.empty() || static_cast<int>(p.plastic.size()) == L, "ERR_SHAPE",
          "plastic needs " + std::to_string(L) + " flags (one per spiking layer), got " + std::to_string(p.plastic.size()));
  require(p.inhibition == 0.0f || net.dense(), "ERR_UNSUPPORTED",
          "lateral inhibition is defined for fully connected layers only (this network has conv or pooling layers)");
  require(p.steps > 0, "ERR_VALUE", "steps must be > 0, got " + std::to_string(p.steps));
  require(static_cast<int>(p.alpha.size()) == L, "ERR_SHAPE",
          "alpha needs " + std::to_string(L) + " values (one per layer), got " + std::to_string(p.alpha.size()));
  require(static_cast<int>(p.beta.size()) == L, "ERR_SHAPE",
          "beta needs " + std::to_string(L) + " values (one per layer), got " + std::to_string(p.beta.size()));
  for (int l = 0; l < L; ++l) {
    require(finite(p.alpha[l]) && p.alpha[l] > 0, "ERR_VALUE", "alpha must be positive and finite");
    require(finite(p.beta[l]) && p.beta[l] > 0, "ERR_VALUE", "beta must be positive and finite");
  }
  require(finite(p.dt) && p.dt > 0, "ERR_VALUE", "dt must be > 0, got " + num(p.dt));
  require(finite(p.max_rate) && p.max_rate >= 0, "ERR_VALUE", "maxRate must be >= 0, got " + num(p.max_rate));
  require(finite(p.inc) && p.inc >= 0, "ERR_VALUE", "inc must be >= 0, got " + num(p.inc));
  require(finite(p.dec) && p.dec >= 0, "ERR_VALUE", "dec must be >= 0, got " + num(p.dec));
  require(finite(p.threshold) && p.threshold > 0, "ERR_VALUE", "threshold must be > 0, got " + num(p.threshold));
  require(finite(p.decay) && p.decay >= 0 && p.decay <= 1, "ERR_VALUE", "decay must be in [0, 1], got " + num(p.decay));
  require(finite(p.inhibition) && p.inhibition >= 0, "ERR_VALUE", "inhibition must be >= 0");
  require(finite(p.dc), "ERR_VALUE", "dc must be finite");
  require(finite(p.gate_width) && p.gate_width > 0, "ERR_VALUE", "gateWidth must be > 0");
  require(p.trace_every >= 0, "ERR_VALUE", "traceEvery must be >= 0");
  require(p.raster_from >= 0 && p.raster_to >= p.raster_from && p.raster_to <= p.steps, "ERR_VALUE",
          "raster window must satisfy 0 <= from <= to <= steps");
  const int n0 = net.inputs();
  if (d.mode == SleepInputMode::Replay) {
    require(d.replay_offsets && d.replay_steps >= static_cast<size_t>(p.steps), "ERR_SHAPE",
            "the replayed input holds " + std::to_string(d.replay_steps) + " steps, fewer than steps = " +
                std::to_string(p.steps));
    require(d.replay_offsets[0] == 0, "ERR_VALUE", "replay offsets must start at 0");
    for (size_t t = 0; t < d.replay_steps; ++t)
      require(d.replay_offsets[t + 1] >= d.replay_offsets[t], "ERR_VALUE", "replay offsets must not decrease");
    require(static_cast<size_t>(d.replay_offsets[d.replay_steps]) <= d.replay_count, "ERR_SHAPE",
            "replay offsets point past the end of the indices");
    for (size_t k = 0; k < static_cast<size_t>(d.replay_offsets[d.replay_steps]); ++k)
      require(d.replay_indices[k] >= 0 && d.replay_indices[k] < n0, "ERR_VALUE",
              "replay index " + std::to_string(d.replay_indices[k]) + " is outside 0.." + std::to_string(n0 - 1));
  } else {
    require(d.x && d.n > 0, "ERR_SHAPE", "the sleep input needs at least one row");
    // Every row the sleep reads must be finite. Mean inputs read every row here; a
    // sequence reads one row a step, and the engines check each row as they read it
    // (sleep_check_row), which saves a pass over the data.
    if (d.mode != SleepInputMode::Sequence)
      for (size_t r = 0; r < d.n; ++r) sleep_check_row(d.x + r * n0, n0, r);
    if (d.mode == SleepInputMode::MaskedMean) {
      require(d.image_h > 0 && d.image_w > 0 && d.image_c > 0 && d.image_c * d.image_h * d.image_w == n0, "ERR_SHAPE",
              "masked-mean input needs image data (channels × height × width = input size)");
      require(p.mask_size > 0 && p.mask_size <= std::min(d.image_h, d.image_w), "ERR_VALUE",
              "maskSize must be in 1..min(height, width)");
    }
  }
}

SleepInputSource::SleepInputSource(const SleepParams& p, const SleepData& d, int n0) : p_(p), d_(d), n0_(n0) {
  if (d.mode == SleepInputMode::Mean || d.mode == SleepInputMode::MaskedMean) {
    // Mean in double, in row order, then rounded once.
    std::vector<double> acc(n0, 0.0);
    for (size_t r = 0; r < d.n; ++r)
      for (int j = 0; j < n0; ++j) acc[j] += d.x[r * n0 + j];
    mean_.resize(n0);
    for (int j = 0; j < n0; ++j) mean_[j] = static_cast<float>(acc[j] / static_cast<double>(d.n));
    masked_.assign(n0, 0.0f);
  }
}

const float* SleepInputSource::at(int64_t step) {
  switch (d_.mode) {
    case SleepInputMode::Sequence:
      return d_.x + (static_cast<size_t>(step) % d_.n) * n0_;
    case SleepInputMode::Mean:
      return mean_.data();
    case SleepInputMode::MaskedMean: {
      // A k×k window at a random position (top-left uniform over valid positions).
      const int k = p_.mask_size, H = d_.image_h, W = d_.image_w;
      const int r0 = std::min(H - k, static_cast<int>(rng_uniform(p_.seed, kStreamSleepWindow, step, 0) * (H - k + 1)));
      const int c0 = std::min(W - k, static_cast<int>(rng_uniform(p_.seed, kStreamSleepWindow, step, 1) * (W - k + 1)));
      std::fill(masked_.begin(), masked_.end(), 0.0f);
      for (int ch = 0; ch < d_.image_c; ++ch)
        for (int r = r0; r < r0 + k; ++r)
          for (int c = c0; c < c0 + k; ++c) masked_[(ch * H + r) * W + c] = mean_[(ch * H + r) * W + c];
      return masked_.data();
    }
    default:
      return nullptr;
  }
}

SleepRecorder::SleepRecorder(const SleepNet& net, const SleepParams& p, SleepStats& st)
    : p_(p), st_(st), L_(static_cast<int>(net.layers.size())) {
  sizes_.push_back(net.inputs());
  for (const SpikingLayer& l : net.layers) sizes_.push_back(l.n());
  conv_before_.resize(L_ + 1);
  for (int l = 1; l <= L_; ++l) {
    const SpikingLayer& y = net.layers[l - 1];
    if (y.kind == SpikeKind::Conv) conv_before_[l].assign(y.W, y.W + y.weight_count());
  }
  st = SleepStats{};
  st.spikes.assign(L_ + 1, 0);
  st.neuron_spikes.resize(L_ + 1);
  for (int l = 0; l <= L_; ++l) st.neuron_spikes[l].assign(sizes_[l], 0);
  st.potentiation.assign(L_, 0);
  st.depression.assign(L_, 0);
  st.changed.assign(L_, 0);
  st.abs_change.assign(L_, 0.0);
  window_.assign(L_ + 1, 0);
  if (p.raster_to > p.raster_from) {
    st.raster_offsets.assign(L_ + 1, std::vector<int32_t>{0});
    st.raster_indices.resize(L_ + 1);
  }
  saved_at_.resize(L_ + 1);
  saved_.resize(L_ + 1);
  saved_rows_.resize(L_ + 1);
}

void SleepRecorder::layer_spikes(int l, int64_t step, const int32_t* idx, size_t count) {
  st_.spikes[l] += count;
  window_[l] += count;
  auto& per = st_.neuron_spikes[l];
  for (size_t k = 0; k < count; ++k) per[idx[k]]++;
  if (step >= p_.raster_from && step < p_.raster_to) {
    auto& ind = st_.raster_indices[l];
    ind.insert(ind.end(), idx, idx + count);
  }
}

void SleepRecorder::end_step(int64_t step) {
  if (step >= p_.raster_from && step < p_.raster_to)
    for (int l = 0; l <= L_; ++l) st_.raster_offsets[l].push_back(static_cast<int32_t>(st_.raster_indices[l].size()));
  if (p_.trace_every > 0 && (step + 1) % p_.trace_every == 0) {
    for (int l = 0; l <= L_; ++l) {
      st_.trace.push_back(static_cast<float>(static_cast<double>(window_[l]) /
                                             (static_cast<double>(sizes_[l]) * p_.trace_every * p_.dt)));
      window_[l] = 0;
    }
  }
  st_.steps = step + 1;
}

void SleepRecorder::save_row(int l, int row, const float* w, int fan_in) {
  auto& at = saved_at_[l];
  if (at.empty()) at.assign(sizes_[l], -1);
  if (at[row] >= 0) return;
  at[row] = static_cast<int32_t>(saved_[l].size());
  saved_[l].insert(saved_[l].end(), w, w + fan_in);
  saved_rows_[l].push_back(row);
}

void SleepRecorder::finish(const SleepNet& net) {
  for (int l = 1; l <= L_; ++l) {
    const SpikingLayer& y = net.layers[l - 1];
    if (y.kind == SpikeKind::Conv) {
      const std::vector<float>& before = conv_before_[l];
      for (size_t i = 0; i < before.size(); ++i)
        if (y.W[i] != before[i]) {
          st_.changed[l - 1]++;
          st_.abs_change[l - 1] += std::fabs(static_cast<double>(y.W[i]) - before[i]);
        }
      continue;
    }
    const int fan_in = sizes_[l - 1];
    for (int row : saved_rows_[l]) {
      const float* before = saved_[l].data() + saved_at_[l][row];
      const float* after = y.W + static_cast<size_t>(row) * fan_in;
      for (int j = 0; j < fan_in; ++j)
        if (after[j] != before[j]) {
          st_.changed[l - 1]++;
          st_.abs_change[l - 1] += std::fabs(static_cast<double>(after[j]) - before[j]);
        }
    }
  }
}

void sleep_batch(const std::vector<SleepNet>& nets, const std::vector<SleepParams>& ps, const SleepData& d,
                 std::vector<SleepStats>& st, const SleepHooks& hooks) {
  require(nets.size() == ps.size(), "ERR_SHAPE", "one network copy per parameter set");
  for (size_t k = 0; k < nets.size(); ++k) sleep_validate(nets[k], ps[k], d);
  st.assign(nets.size(), SleepStats{});
  std::mutex mu;
  std::vector<int64_t> done(nets.size(), 0);
  pool().parallel_for(nets.size(), 1, [&](size_t b, size_t e) {
    for (size_t k = b; k < e; ++k) {
      SleepHooks h;
      h.every = hooks.every;
      h.pipeline = false;  // the batch already keeps every core busy
      h.cancelled = hooks.cancelled;
      if (hooks.progress)
        h.progress = [&, k](int64_t n) {
          std::lock_guard<std::mutex> lock(mu);
          done[k] = n;
          int64_t total = 0;
          for (int64_t x : done) total += x;
          hooks.progress(total);
        };
      sleep_run(nets[k], ps[k], d, st[k], h);
    }
  });
}

}  // namespace nrem
