// Readiness of any fd on Node's event loop (uv_poll), for sockets Node does not own itself, e.g.
// a seqpacket socket that carries fds with sendFds/recvFds. The watcher never closes the fd.
#include <errno.h>
#include <sys/socket.h>
#include <uv.h>

#include <memory>

#include "errno-error.h"
#include "poll-handle.h"
#include "register.h"

using ztnc::ArgInt;
using ztnc::ThrowErrno;

namespace {

// new FdWatcher(fd, onEvent(readable, writable, errno)); start(readable, writable); stop(); close().
// One watcher per fd: libuv allows a single poll handle per descriptor, so never watch an fd
// that a net.Socket (or another watcher) is also using.
class FdWatcher : public Napi::ObjectWrap<FdWatcher> {
public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FdWatcher",
                       {
                           InstanceMethod("start", &FdWatcher::Start),
                           InstanceMethod("stop", &FdWatcher::Stop),
                           InstanceMethod("close", &FdWatcher::Close),
                       });
  }

  explicit FdWatcher(const Napi::CallbackInfo &info) : Napi::ObjectWrap<FdWatcher>(info) {
    Napi::Env env = info.Env();
    int32_t fd;
    if (!ArgInt(info, 0, "fd", &fd)) return;
    if (info.Length() < 2 || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "FdWatcher(fd, onEvent)").ThrowAsJavaScriptException();
      return;
    }
    poll_ = ztnc::OpenPollHandle(env, fd, this);
    if (poll_ == nullptr) return;
    fd_ = fd;
    onEvent_ = Napi::Persistent(info[1].As<Napi::Function>());
    async_ = std::make_unique<Napi::AsyncContext>(env, "ztnc:FdWatcher");
  }

  ~FdWatcher() override { Shutdown(); }

private:
  void Shutdown() {
    if (poll_ == nullptr) return;
    if (active_) {
      uv_poll_stop(poll_);
      active_ = false;
      Unref();
    }
    ztnc::ClosePollHandle(poll_);
    poll_ = nullptr;
  }

  static void OnEvent(uv_poll_t *handle, int status, int events) {
    auto *self = static_cast<FdWatcher *>(handle->data);
    if (self != nullptr) self->Deliver(status, events);
  }

  void Deliver(int status, int events) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    int err = status < 0 ? -status : 0;
    if (err != 0) {
      // libuv reports every POLLERR as EBADF; a socket knows the real cause (ECONNRESET…).
      int soErr = 0;
      socklen_t len = sizeof(soErr);
      if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &soErr, &len) == 0 && soErr != 0) err = soErr;
    }
    if (err != 0) {
      // A poll error repeats forever if left armed.
      uv_poll_stop(poll_);
      active_ = false;
      Unref();
    }
    ztnc::CallFromLoop(env, onEvent_, Value(),
                       {Napi::Boolean::New(env, (events & UV_READABLE) != 0 || err != 0),
                        Napi::Boolean::New(env, (events & UV_WRITABLE) != 0 || err != 0), Napi::Number::New(env, err)},
                       *async_);
  }

  // start(readable, writable): (re)arms for those events; both false is stop().
  Napi::Value Start(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (poll_ == nullptr) {
      ThrowErrno(env, EBADF, "uv_poll_start");
      return env.Undefined();
    }
    int events = 0;
    if (info.Length() > 0 && info[0].ToBoolean().Value()) events |= UV_READABLE;
    if (info.Length() > 1 && info[1].ToBoolean().Value()) events |= UV_WRITABLE;
    if (events == 0) return Stop(info);
    int rc = uv_poll_start(poll_, events, OnEvent);
    if (rc != 0) {
      ThrowErrno(env, -rc, "uv_poll_start");
      return env.Undefined();
    }
    if (!active_) {
      active_ = true;
      // Armed, the handle points at this object: keep it alive.
      Ref();
    }
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo &info) {
    if (poll_ != nullptr && active_) {
      uv_poll_stop(poll_);
      active_ = false;
      Unref();
    }
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Shutdown();
    return info.Env().Undefined();
  }

  int fd_ = -1;
  uv_poll_t *poll_ = nullptr;
  bool active_ = false;
  Napi::FunctionReference onEvent_;
  std::unique_ptr<Napi::AsyncContext> async_;
};

} // namespace

void RegisterFdWatcher(Napi::Env env, Napi::Object exports) { exports.Set("FdWatcher", FdWatcher::Define(env)); }
