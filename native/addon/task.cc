#include "task.h"

#include "../core/attack_model.h"
#include "../core/thread_pool.h"
#include "convert.h"

namespace nrem_addon {

namespace {

class Task : public Napi::AsyncProgressQueueWorker<Progress> {
 public:
  Task(Napi::Env env, Napi::Function noop, ExecFn exec, DoneFn done)
      : Napi::AsyncProgressQueueWorker<Progress>(noop, "nrem:task"),
        deferred_(Napi::Promise::Deferred::New(env)),
        exec_(std::move(exec)),
        done_(std::move(done)),
        cancel_(&token_) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void keep(const Napi::Value& v) {
    if (v.IsObject()) kept_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  void set_progress(const Napi::Value& fn) {
    if (fn.IsFunction()) progress_ = Napi::Persistent(fn.As<Napi::Function>());
  }
  void set_cancel(const int32_t* flag) { token_.flag = flag; }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    try {
      nrem::PoolLease lease;
      nrem::GradCacheScope caches;
      nrem::CancelScope scope(&token_);
      ProgressFn report = [this, &progress](const Progress& p) {
        if (!token_.internal.load(std::memory_order_relaxed)) progress.Send(&p, 1);
      };
      exec_(report, cancel_);
    } catch (const nrem::Error& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = "ERR_MEMORY";
      SetError("Out of memory in native code");
    } catch (const std::exception& e) {
      code_ = "ERR_NATIVE";
      SetError(e.what());
    } catch (...) {
      code_ = "ERR_NATIVE";
      SetError("Unknown native error");
    }
  }

  void OnProgress(const Progress* data, size_t count) override {
    if (progress_.IsEmpty() || !callback_error_.IsEmpty()) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    for (size_t i = 0; i < count; ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("phase", data[i].phase);
      o.Set("done", data[i].done);
      o.Set("total", data[i].total);
      for (auto& kv : data[i].values) o.Set(kv.first, kv.second);
      try {
        progress_.Call({o});
      } catch (const Napi::Error& e) {
        // The call stops at its next cancellation check and rejects with this error.
        Napi::Value v = e.Value();
        callback_error_ = Napi::Persistent(v.IsObject() ? v.As<Napi::Object>() : Napi::Error::New(env, v.ToString()).Value());
        token_.internal.store(1, std::memory_order_relaxed);
        return;
      }
    }
  }

  // True (and the Promise rejected) when a progress callback threw.
  bool reject_with_callback_error() {
    if (callback_error_.IsEmpty()) return false;
    deferred_.Reject(callback_error_.Value());
    return true;
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (reject_with_callback_error()) return;
    try {
      deferred_.Resolve(done_(env));
    } catch (const nrem::Error& e) {
      deferred_.Reject(to_js_error(env, e).Value());
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const std::exception& e) {
      deferred_.Reject(to_js_error(env, "ERR_NATIVE", e.what()).Value());
    }
  }

  void OnError(const Napi::Error& e) override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (reject_with_callback_error()) return;
    deferred_.Reject(to_js_error(env, code_.c_str(), e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  ExecFn exec_;
  DoneFn done_;
  std::vector<Napi::ObjectReference> kept_;
  Napi::FunctionReference progress_;
  Napi::ObjectReference callback_error_;
  nrem::CancelToken token_;
  nrem_addon::Cancel cancel_;
  std::string code_ = "ERR_NATIVE";
};

}  // namespace

Napi::Promise start_task(Napi::Env env, ExecFn exec, DoneFn done, const std::vector<Napi::Value>& keep_alive,
                         const Napi::Value& control) {
  Napi::Function noop = Napi::Function::New(env, [](const Napi::CallbackInfo&) {});
  auto* task = new Task(env, noop, std::move(exec), std::move(done));  // deletes itself when done
  for (auto& v : keep_alive) task->keep(v);
  if (control.IsObject()) {
    auto c = control.As<Napi::Object>();
    if (has_field(c, "onProgress")) {
      nrem::require(c.Get("onProgress").IsFunction(), "ERR_ARGUMENT", "Expected a function for onProgress");
      task->set_progress(c.Get("onProgress"));
    }
    if (has_field(c, "cancel")) {
      auto flag = get_i32(c.Get("cancel"), "cancel", 1);
      task->keep(c.Get("cancel"));
      task->set_cancel(flag.data);
    }
  }
  Napi::Promise p = task->promise();
  task->Queue();
  return p;
}

}  // namespace nrem_addon
