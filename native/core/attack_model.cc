#include "attack_model.h"

#include <algorithm>
#include <cstring>

#include "thread_pool.h"

namespace nrem {

AttackModel::AttackModel(const Model& net, Backend backend, std::shared_ptr<cuda::DeviceModel> gpu) : net_(net) {
  net_.validate();
  if (gpu) {
    gpu_ = std::move(gpu);
    return;
  }
  const BackendChoice choice = resolve_backend(backend);
  if (choice.backend != Backend::Cuda) {
    reason_ = choice.reason;
    // Unchanged while the model lives: the caller holds it read-only (the addon's read lease).
    // The packed copies (one per transposition used) cost about the layer's weights each, so
    // a layer above 16 M weights (64 MB) is left to pack per call.
    for (const Layer& l : net_.layers)
      if (l.kind == LayerKind::Dense && l.W.size() <= (size_t{16} << 20))
        frozen_.push_back(std::make_shared<FrozenOperand>(l.W.data(), static_cast<int>(l.out.size()), static_cast<int>(l.in.size())));
    return;
  }
  if (!net_.dense_chain()) {
    const std::string why = "the CUDA model supports fully connected networks only (this one has conv, pooling or input ops)";
    require(backend != Backend::Cuda, "ERR_BACKEND", why);
    reason_ = why;
    return;
  }
  gpu_ = std::make_shared<cuda::DeviceModel>(net_.dense_view());
}

void AttackModel::logits(const float* X, size_t n, float* Z) const {
  if (gpu_) return gpu_->logits(X, n, Z);
  ForwardOptions o;
  o.logits = true;
  o.check = check_ ? &check_ : nullptr;
  forward(net_, X, n, Z, o);
}

void AttackModel::outputs_from_logits(const float* Z, size_t n, float* A) const {
  const int K = outputs();
  std::copy(Z, Z + n * K, A);
  output_rows(A, n, K, net_.out, net_.temperature);
}

void AttackModel::predict_from_logits(const float* Z, size_t n, int32_t* pred) const {
  const int K = outputs();
  std::vector<float> a(static_cast<size_t>(K));
  for (size_t r = 0; r < n; ++r) {
    outputs_from_logits(Z + r * K, 1, a.data());
    int best = 0;
    for (int k = 1; k < K; ++k)
      if (a[k] > a[best]) best = k;
    pred[r] = best;
  }
}

void AttackModel::predict(const float* X, size_t n, int32_t* pred) const {
  std::vector<float> z(n * outputs());
  logits(X, n, z.data());
  predict_from_logits(z.data(), n, pred);
}

namespace {
// The attacks call the gradient hundreds of times on batches of one size: each thread
// keeps its forward cache (grow-only) instead of allocating, page-faulting and zero-filling
// four n × width buffers per call. One above 64 MB is released after the call, or at the end
// of the thread's GradCacheScope (attack_model.h).
thread_local int t_scopes = 0;

// One per thread: input_grad and multi_grad never run inside each other.
ForwardCache& thread_cache() {
  thread_local ForwardCache cache;
  return cache;
}

void release_if_large(ForwardCache& c) {
  size_t bytes = 0;
  for (const auto& v : c.a) bytes += v.capacity() * sizeof(float);
  for (const auto& v : c.arg) bytes += v.capacity() * sizeof(int32_t);
  bytes += (c.z.capacity() + c.x0.capacity()) * sizeof(float);
  bytes += (c.g0.capacity() + c.g1.capacity()) * sizeof(float);
  if (bytes > (64u << 20)) c = ForwardCache{};
}

struct CacheLease {
  ForwardCache& c;
  explicit CacheLease(ForwardCache& cache) : c(cache) {}
  ~CacheLease() {
    if (t_scopes == 0) release_if_large(c);
  }
};
}  // namespace

GradCacheScope::GradCacheScope() { ++t_scopes; }
GradCacheScope::~GradCacheScope() {
  if (--t_scopes == 0) release_if_large(thread_cache());
}

void AttackModel::input_grad(const float* X, size_t n, const LossGradFn& dloss, float* dX, float* Z) const {
  if (n == 0) return;
  if (gpu_) return gpu_->input_grad(X, n, dloss, dX, Z);
  CacheLease lease(thread_cache());
  ForwardCache& cache = lease.c;
  forward_cached(net_, X, n, false, DropoutSpec{}, cache);
  if (check_) check_();
  std::vector<float> g(n * outputs());
  dloss(cache.logits(), cache.output(), n, g.data());
  if (Z) std::copy(cache.logits(), cache.logits() + n * outputs(), Z);
  backward(net_, cache, g.data(), nullptr, nullptr, dX);
}

void AttackModel::weighted_grad(const float* X, size_t n, const float* C, float* dX, float* Z) const {
  const int K = outputs();
  input_grad(
      X, n, [C, K](const float*, const float*, size_t rows, float* G) { std::copy(C, C + rows * K, G); }, dX, Z);
}

void AttackModel::multi_grad(const float* X, size_t n, const std::vector<const float*>& Cs,
                             const std::vector<float*>& dXs, float* Z) const {
  if (n == 0) return;
  if (gpu_) return gpu_->multi_grad(X, n, Cs, dXs, Z);
  const int K = outputs();
  CacheLease lease(thread_cache());
  ForwardCache& cache = lease.c;
  forward_cached(net_, X, n, false, DropoutSpec{}, cache);
  if (Z) std::copy(cache.logits(), cache.logits() + n * K, Z);
  std::vector<float> g(n * K);
  for (size_t i = 0; i < Cs.size(); ++i) {
    if (check_) check_();
    std::copy(Cs[i], Cs[i] + n * K, g.begin());
    backward(net_, cache, g.data(), nullptr, nullptr, dXs[i]);
  }
}

void AttackModel::class_grads(const float* X, size_t n, const std::vector<int>& classes, float* J, float* Z) const {
  if (n == 0) return;
  const int K = outputs(), d = inputs();
  const size_t C = classes.size();
  std::vector<std::vector<float>> cs(C, std::vector<float>(n * K, 0.0f)), dx(C, std::vector<float>(n * d));
  std::vector<const float*> cp;
  std::vector<float*> dp;
  for (size_t c = 0; c < C; ++c) {
    for (size_t r = 0; r < n; ++r) cs[c][r * K + classes[c]] = 1.0f;
    cp.push_back(cs[c].data());
    dp.push_back(dx[c].data());
  }
  multi_grad(X, n, cp, dp, Z);
  for (size_t r = 0; r < n; ++r)
    for (size_t c = 0; c < C; ++c) std::memcpy(J + (r * C + c) * d, dx[c].data() + r * d, sizeof(float) * d);
}

}  // namespace nrem
