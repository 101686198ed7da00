#include "convert.h"

#include <cmath>

namespace nrem_addon {

using nrem::require;

F32 get_f32(const Napi::Value& v, const std::string& name, long expected_length) {
  require(v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array,
          "ERR_ARGUMENT", "Expected Float32Array for " + name);
  auto a = v.As<Napi::Float32Array>();
  F32 out{a.Data(), a.ElementLength()};
  if (expected_length >= 0)
    require(out.length == static_cast<size_t>(expected_length), "ERR_SHAPE",
            "Expected " + name + " to hold " + std::to_string(expected_length) + " values but it holds " +
                std::to_string(out.length));
  return out;
}

I32 get_i32(const Napi::Value& v, const std::string& name, long expected_length) {
  require(v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array,
          "ERR_ARGUMENT", "Expected Int32Array for " + name);
  auto a = v.As<Napi::Int32Array>();
  I32 out{a.Data(), a.ElementLength()};
  if (expected_length >= 0)
    require(out.length == static_cast<size_t>(expected_length), "ERR_SHAPE",
            "Expected " + name + " to hold " + std::to_string(expected_length) + " values but it holds " +
                std::to_string(out.length));
  return out;
}

bool has_field(const Napi::Object& o, const char* key) {
  return o.Has(key) && !o.Get(key).IsUndefined() && !o.Get(key).IsNull();
}

Napi::Value get_field(const Napi::Object& o, const char* key, const std::string& where) {
  require(has_field(o, key), "ERR_ARGUMENT", "Missing " + where + "." + key);
  return o.Get(key);
}

double get_number(const Napi::Object& o, const char* key, const std::string& where) {
  auto v = get_field(o, key, where);
  require(v.IsNumber(), "ERR_ARGUMENT", "Expected a number for " + where + "." + key);
  double d = v.As<Napi::Number>().DoubleValue();
  require(std::isfinite(d), "ERR_VALUE", "Expected a finite number for " + where + "." + key);
  return d;
}

double get_number_or(const Napi::Object& o, const char* key, double fallback, const std::string& where) {
  return has_field(o, key) ? get_number(o, key, where) : fallback;
}

int64_t get_int(const Napi::Object& o, const char* key, const std::string& where) {
  double d = get_number(o, key, where);
  require(std::floor(d) == d, "ERR_VALUE", "Expected an integer for " + where + "." + key);
  // |d| < 2^63: the cast of a larger double to int64 is undefined behaviour
  require(d >= -9223372036854775808.0 && d < 9223372036854775808.0, "ERR_VALUE",
          "Expected an integer in [-2^63, 2^63) for " + where + "." + key);
  return static_cast<int64_t>(d);
}

int64_t get_int_or(const Napi::Object& o, const char* key, int64_t fallback, const std::string& where) {
  return has_field(o, key) ? get_int(o, key, where) : fallback;
}

bool get_bool_or(const Napi::Object& o, const char* key, bool fallback, const std::string& where) {
  if (!has_field(o, key)) return fallback;
  auto v = o.Get(key);
  require(v.IsBoolean(), "ERR_ARGUMENT", "Expected a boolean for " + where + "." + key);
  return v.As<Napi::Boolean>().Value();
}

std::string get_string(const Napi::Object& o, const char* key, const std::string& where) {
  auto v = get_field(o, key, where);
  require(v.IsString(), "ERR_ARGUMENT", "Expected a string for " + where + "." + key);
  return v.As<Napi::String>().Utf8Value();
}

std::vector<double> get_number_array(const Napi::Object& o, const char* key, const std::string& where) {
  auto v = get_field(o, key, where);
  require(v.IsArray(), "ERR_ARGUMENT", "Expected an array for " + where + "." + key);
  auto a = v.As<Napi::Array>();
  std::vector<double> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    require(e.IsNumber(), "ERR_ARGUMENT", "Expected numbers in " + where + "." + key);
    out[i] = e.As<Napi::Number>().DoubleValue();
    require(std::isfinite(out[i]), "ERR_VALUE", "Expected finite numbers in " + where + "." + key);
  }
  return out;
}

std::vector<int> get_int_array(const Napi::Object& o, const char* key, const std::string& where) {
  auto d = get_number_array(o, key, where);
  std::vector<int> out(d.size());
  for (size_t i = 0; i < d.size(); ++i) {
    require(std::floor(d[i]) == d[i] && std::fabs(d[i]) < 2147483647.0, "ERR_VALUE",
            "Expected integers in " + where + "." + key);
    out[i] = static_cast<int>(d[i]);
  }
  return out;
}

uint64_t get_seed(const Napi::Object& o, const char* key, const std::string& where) {
  int64_t s = get_int(o, key, where);
  require(s >= 0, "ERR_VALUE", where + "." + key + " must be a non-negative integer seed");
  return static_cast<uint64_t>(s);
}

Napi::Error to_js_error(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

Napi::Error to_js_error(Napi::Env env, const nrem::Error& e) { return to_js_error(env, e.code(), e.what()); }

}  // namespace nrem_addon
