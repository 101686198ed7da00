// The conv and pooling layers of the event-driven sleep engine (sleep.cc, run_layerwise),
// a window of steps at a time, and the maps both engines use to find the neurons an input
// spike reaches (sleep-general.md §3; SleepNet in sleep.h).
//
// Per step of a conv channel o (the channels are independent — each has its own kernel — so
// groups of kConvLanes channels run in parallel, each group over the whole window, the
// channels of a group side by side in one vector: a[p][o], v[p][o], Wᵀ[w][o]):
//   a[p]  = Σ_{input spikes j, ascending} W[o, w]  for the (p, w) of j's fan-out map
//   v     = decay·v for every position; then v[p] += alpha·a[p] where a spike arrived
//           (the same float operations as v = decay·v + alpha·a, since alpha·0 + x = x)
//   v    += bias current c_o (every step, when on); v += dc (the last layer)
//   fired = { p : v[p] >= thr } — only positions that received input (or every position with
//           a bias current) can cross the threshold; STDP (conv_stdp_channel); v[fired] = 0
// Avg-pool layers are the same with fixed weights 1/N and no STDP; max-pool layers pass a
// spike for each window that holds a spiking cell.
#pragma once
#include <cstdint>
#include <vector>

#include "sleep.h"
#include "sleep_kernels.h"

namespace nrem {

// For every input unit j of a conv or pooling layer: the (output position, kernel element)
// pairs it reaches, in ascending order of output position: entries [off[j], off[j+1]).
// Output positions count within one channel (y·Wo + x); pools: the kernel element is unused.
struct FanOut {
  std::vector<int32_t> off, pos, widx;
};
FanOut fan_out(const SpikingLayer& l);

// Spikes of one layer over a window: those of step t0 + k are idx[off[k] .. off[k+1]).
struct WindowSpikes {
  std::vector<int32_t> off, idx;
};

// kConvLanes channels [o0, o0 + G) of a conv layer, side by side (lane = o − o0).
struct ConvGroup {
  int o0 = 0, G = 0;
  std::vector<float> Wt;             // CK × lanes: W[o0 + lane][w] at w·lanes + lane (zero lanes past G)
  std::vector<float> v, acc;         // P × lanes
  std::vector<float> cb;             // lanes bias currents (zero when off)
  std::vector<uint64_t> bits;        // positions that received input in this step
  std::vector<int32_t> touched;      // P: the positions that received input, first-touch order
  std::vector<int32_t> fire_q;       // P: positions where some lane fired, ascending
  std::vector<uint8_t> fire_m;       // P: their lane masks
  std::vector<uint8_t> pre;          // the layer's input spikes of this step (STDP)
  std::vector<float> delta;
  std::vector<uint8_t> touched_w;
  std::vector<int32_t> posts[kConvLanes];
  bool v_zero = true;
};

// State of a conv or avg-pool layer across windows (max-pools keep none).
struct MapLayer {
  const SpikingLayer* l = nullptr;
  FanOut map;
  int P = 0;                        // output positions per channel
  int CK = 0;                       // kernel elements per conv channel (C·kh·kw)
  float alpha = 1, thr = 1, dc = 0;
  bool has_dc = false, plastic = false;
  std::vector<float> bias;          // per channel bias current, or empty
  std::vector<float> pool_w;        // avg-pool: 1/N per output position
  std::vector<float> v;             // C_out × P membranes
  std::vector<uint8_t> v_zero;      // per channel
  std::vector<std::vector<int32_t>> out_k, out_p;  // per channel: this window's spikes
  std::vector<uint64_t> pot, dep;   // per channel STDP terms
  std::vector<ConvGroup> groups;    // conv layers
  // avg-pool scratch per channel
  std::vector<std::vector<float>> acc;
  std::vector<std::vector<uint64_t>> bits;
  std::vector<std::vector<int32_t>> touched;
};

// Conv: one group of channels over a window.
void conv_group_window(MapLayer& m, int g, const WindowSpikes& in, int64_t K, const SleepParams& p);

MapLayer map_layer(const SpikingLayer& l, const SleepParams& p, int index, bool last);

// One avg-pool channel over a window of K steps whose input spikes are `in`.
void map_channel_window(MapLayer& m, int o, const WindowSpikes& in, int64_t K, const SleepParams& p);

// A max-pool layer over a window: out receives the spikes.
void maxpool_window(const SpikingLayer& l, const FanOut& map, const WindowSpikes& in, int64_t K, WindowSpikes& out);

// The channels' spikes of the window, merged into out (ascending o·P + p per step).
void merge_map_spikes(const MapLayer& m, int64_t K, WindowSpikes& out);

}  // namespace nrem
