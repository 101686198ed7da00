// The sleep phase on the GPU: the same contract as nrem::sleep_batch / sleep_run
// (native/core/sleep.h), the same per-element rules (sleep_rules.h, NREM_HD) and the same
// counter-based input spikes, so CPU and GPU give the same spikes and weights for the same
// seed (sleep.cu: the paper's fully connected sleep; sleep_net.cu: any SleepNet chain).
// Plain C++17; implemented by native/cuda/sleep.cu, stubbed by native/core/cuda_stub.cc.
#pragma once
#include <vector>

#include "../core/sleep.h"
#include "cuda_api.h"

namespace nrem::cuda {

// Largest number of layers the kernel supports.
constexpr int kSleepMaxLayers = 8;

// K independent sleeps, one thread block each, all networks of the same shape. Rasters
// are not recorded on the GPU (ERR_UNSUPPORTED when a raster window is asked for).
void sleep_batch(const std::vector<NetView>& nets, const std::vector<SleepParams>& ps, const SleepData& d,
                 std::vector<SleepStats>& st, const SleepHooks& hooks = {});

// Whether sleep_batch can run this request (the reason when it cannot, for backend "auto").
bool sleep_supported(const std::vector<NetView>& nets, const std::vector<SleepParams>& ps, std::string* why);

// K independent sleeps of any SleepNet chain (conv, max/avg pooling, dense; bias currents,
// `layers` plasticity, convStdp sum|mean, lateral inhibition on dense chains; every input
// mode), one thread block each, all networks of one shape: the CPU event engine's spikes,
// weights, membranes and counters, bit for bit (sleep_net.cuh). The networks' W are updated
// in place. Rasters are not recorded on the GPU (ERR_UNSUPPORTED).
void sleep_batch_net(const std::vector<SleepNet>& nets, const std::vector<SleepParams>& ps, const SleepData& d,
                     std::vector<SleepStats>& st, const SleepHooks& hooks = {});

// Whether sleep_batch_net can run this request (the reason when it cannot).
bool sleep_net_supported(const std::vector<SleepNet>& nets, const std::vector<SleepParams>& ps, std::string* why);

}  // namespace nrem::cuda
