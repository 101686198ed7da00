// Reading JS values into C++ at the boundary. The TypeScript layer validates first; these
// checks are the second line, run before any memory is touched, and throw nrem::Error
// with a message naming the argument.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "../core/common.h"

namespace nrem_addon {

struct F32 {
  float* data = nullptr;
  size_t length = 0;
};
struct I32 {
  int32_t* data = nullptr;
  size_t length = 0;
};

F32 get_f32(const Napi::Value& v, const std::string& name, long expected_length = -1);
I32 get_i32(const Napi::Value& v, const std::string& name, long expected_length = -1);
Napi::Value get_field(const Napi::Object& o, const char* key, const std::string& where);
bool has_field(const Napi::Object& o, const char* key);
double get_number(const Napi::Object& o, const char* key, const std::string& where);
double get_number_or(const Napi::Object& o, const char* key, double fallback, const std::string& where);
int64_t get_int(const Napi::Object& o, const char* key, const std::string& where);
int64_t get_int_or(const Napi::Object& o, const char* key, int64_t fallback, const std::string& where);
bool get_bool_or(const Napi::Object& o, const char* key, bool fallback, const std::string& where);
std::string get_string(const Napi::Object& o, const char* key, const std::string& where);
std::vector<int> get_int_array(const Napi::Object& o, const char* key, const std::string& where);
std::vector<double> get_number_array(const Napi::Object& o, const char* key, const std::string& where);
uint64_t get_seed(const Napi::Object& o, const char* key, const std::string& where);

// A JS Error with .code set, from a core error.
Napi::Error to_js_error(Napi::Env env, const nrem::Error& e);
Napi::Error to_js_error(Napi::Env env, const char* code, const std::string& message);

// Runs fn, converting nrem::Error and std::exception into thrown JS errors.
template <typename Fn>
Napi::Value guarded(Napi::Env env, Fn&& fn) {
  try {
    return fn();
  } catch (const nrem::Error& e) {
    to_js_error(env, e).ThrowAsJavaScriptException();
  } catch (const Napi::Error& e) {
    throw;
  } catch (const std::exception& e) {
    to_js_error(env, "ERR_NATIVE", e.what()).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

}  // namespace nrem_addon
