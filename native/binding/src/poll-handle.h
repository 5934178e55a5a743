// A uv_poll_t watching an fd on this Node environment's event loop, shared by the objects that
// wait for fds to become ready (FdWatcher, TapDevice, UdpSocket), and how they call back.
#pragma once

#include <napi.h>
#include <node_api.h>
#include <uv.h>

#include "errno-error.h"

namespace ztnc {

// A poll handle on fd whose data points at owner; nullptr with a pending JavaScript exception
// when the loop or the handle cannot be had.
inline uv_poll_t *OpenPollHandle(Napi::Env env, int fd, void *owner) {
  uv_loop_t *loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    Napi::Error::New(env, "no event loop").ThrowAsJavaScriptException();
    return nullptr;
  }
  auto *poll = new uv_poll_t;
  int rc = uv_poll_init(loop, poll, fd);
  if (rc != 0) {
    delete poll;
    ThrowErrno(env, -rc, "uv_poll_init");
    return nullptr;
  }
  poll->data = owner;
  return poll;
}

// Calls a JavaScript callback from a libuv callback. No JavaScript frame is below us, so an
// exception the callback throws goes to the process (uncaughtException), not back to a caller.
inline void CallFromLoop(Napi::Env env, Napi::FunctionReference &fn, napi_value recv,
                         const std::initializer_list<napi_value> &args, Napi::AsyncContext &async) {
  fn.MakeCallback(recv, args, async);
  if (env.IsExceptionPending()) {
    Napi::Error err = env.GetAndClearPendingException();
    napi_fatal_exception(env, err.Value());
  }
}

// Detaches the handle from its owner and frees it once libuv has closed it (the caller stops
// polling first).
inline void ClosePollHandle(uv_poll_t *poll) {
  poll->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t *>(poll), [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
}

} // namespace ztnc
