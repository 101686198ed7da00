#include "cancel.h"

#include "common.h"

namespace nrem {

namespace {
thread_local const CancelToken* t_cancel = nullptr;
}

const CancelToken* current_cancel() { return t_cancel; }

CancelScope::CancelScope(const CancelToken* token) : saved_(t_cancel) { t_cancel = token; }
CancelScope::~CancelScope() { t_cancel = saved_; }

void check_cancel() {
  if (cancel_requested()) throw Error("ERR_ABORTED", "The operation was aborted");
}

}  // namespace nrem
