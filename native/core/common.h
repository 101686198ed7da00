// nrem core: shared definitions. Plain C++17, no Node headers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#if defined(__CUDACC__)
#define NREM_HD __host__ __device__
#else
#define NREM_HD
#endif

namespace nrem {

// Every error the core raises. `code` is a stable machine-readable tag that the addon
// maps onto the TypeScript error classes (src/errors.ts): "ERR_SHAPE", "ERR_VALUE",
// "ERR_ARGUMENT", "ERR_ABORTED", "ERR_BACKEND".
class Error : public std::runtime_error {
 public:
  Error(const char* code, const std::string& msg) : std::runtime_error(msg), code_(code) {}
  const char* code() const { return code_; }

 private:
  const char* code_;
};

inline void require(bool ok, const char* code, const std::string& msg) {
  if (!ok) throw Error(code, msg);
}

}  // namespace nrem
