#include "task.h"

#include "convert.h"

namespace nrem_addon {

namespace {

class Task : public Napi::AsyncProgressQueueWorker<Progress> {
 public:
  Task(Napi::Env env, Napi::Function noop, ExecFn exec, DoneFn done)
      : Napi::AsyncProgressQueueWorker<Progress>(noop, "nrem:task"),
        deferred_(Napi::Promise::Deferred::New(env)),
        exec_(std::move(exec)),
        done_(std::move(done)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void keep(const Napi::Value& v) {
    if (v.IsObject()) kept_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  void set_progress(const Napi::Value& fn) {
    if (fn.IsFunction()) progress_ = Napi::Persistent(fn.As<Napi::Function>());
  }
  void set_cancel(const int32_t* flag) { cancel_ = nrem_addon::Cancel(flag); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    try {
      ProgressFn report = [&progress](const Progress& p) { progress.Send(&p, 1); };
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
    if (progress_.IsEmpty()) return;
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
      } catch (...) {
        // A throwing progress callback must not take the process down.
      }
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
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
    deferred_.Reject(to_js_error(env, code_.c_str(), e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  ExecFn exec_;
  DoneFn done_;
  std::vector<Napi::ObjectReference> kept_;
  Napi::FunctionReference progress_;
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
