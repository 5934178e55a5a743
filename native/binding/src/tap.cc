// TAP devices: opening one through /dev/net/tun, and moving frames between it and JavaScript
// without blocking the event loop (uv_poll readiness, nonblocking read/write, batched delivery).
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "errno-error.h"
#include "poll-handle.h"
#include "register.h"

using ztnc::ArgInt;
using ztnc::ThrowErrno;

namespace {

// openTap(name) -> { fd, name }. An empty name lets the kernel choose (tap%d). The fd is
// nonblocking and close-on-exec; the interface lives in the network namespace of the caller.
Napi::Value OpenTap(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string name;
  if (info.Length() > 0 && info[0].IsString()) name = info[0].As<Napi::String>().Utf8Value();
  if (name.size() >= IFNAMSIZ) {
    ThrowErrno(env, EINVAL, "TUNSETIFF");
    return env.Undefined();
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    ThrowErrno(env, errno, "open");
    return env.Undefined();
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, "TUNSETIFF");
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", Napi::Number::New(env, fd));
  out.Set("name", Napi::String::New(env, std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ))));
  return out;
}

// new TapDevice(fd, onFrames(frames: Buffer[]), onError(err), batch) owns `fd` from then on.
// Frames that are ready are read together (up to `batch`) and handed over in one call.
class TapDevice : public Napi::ObjectWrap<TapDevice> {
public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TapDevice",
                       {
                           InstanceMethod("write", &TapDevice::Write),
                           InstanceMethod("writev", &TapDevice::Writev),
                           InstanceMethod("pause", &TapDevice::Pause),
                           InstanceMethod("resume", &TapDevice::Resume),
                           InstanceMethod("close", &TapDevice::Close),
                           InstanceMethod("stats", &TapDevice::Stats),
                       });
  }

  explicit TapDevice(const Napi::CallbackInfo &info) : Napi::ObjectWrap<TapDevice>(info) {
    Napi::Env env = info.Env();
    int32_t fd;
    if (!ArgInt(info, 0, "fd", &fd)) return;
    if (info.Length() < 3 || !info[1].IsFunction() || !info[2].IsFunction()) {
      Napi::TypeError::New(env, "TapDevice(fd, onFrames, onError, batch?)").ThrowAsJavaScriptException();
      return;
    }
    if (info.Length() > 3 && info[3].IsNumber()) {
      int32_t b = info[3].As<Napi::Number>().Int32Value();
      if (b >= 1 && b <= 4096) batch_ = b;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)) {
      ThrowErrno(env, errno, "fcntl");
      return;
    }
    poll_ = ztnc::OpenPollHandle(env, fd, this);
    if (poll_ == nullptr) return;
    fd_ = fd;
    onFrames_ = Napi::Persistent(info[1].As<Napi::Function>());
    onError_ = Napi::Persistent(info[2].As<Napi::Function>());
    async_ = std::make_unique<Napi::AsyncContext>(env, "ztnc:TapDevice");
    readBuf_.resize(kMaxFrame);
    StartPolling(env);
  }

  ~TapDevice() override { Shutdown(); }

private:
  // Largest frame a TAP can deliver: 64 KiB IP packet plus Ethernet header.
  static constexpr size_t kMaxFrame = 65536 + 14;

  void StartPolling(Napi::Env env) {
    if (poll_ == nullptr || polling_) return;
    int rc = uv_poll_start(poll_, UV_READABLE, OnReadable);
    if (rc != 0) {
      ThrowErrno(env, -rc, "uv_poll_start");
      return;
    }
    polling_ = true;
    // While polling, the JavaScript object must outlive the handle that points at it.
    Ref();
  }

  void StopPolling() {
    if (!polling_) return;
    uv_poll_stop(poll_);
    polling_ = false;
    Unref();
  }

  void Shutdown() {
    if (poll_ != nullptr) {
      StopPolling();
      ztnc::ClosePollHandle(poll_);
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  static void OnReadable(uv_poll_t *handle, int status, int /*events*/) {
    auto *self = static_cast<TapDevice *>(handle->data);
    if (self != nullptr) self->ReadBatch(status);
  }

  void ReadBatch(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Array frames = Napi::Array::New(env);
    uint32_t count = 0;
    int failure = 0;
    bool eof = false;
    // On a poll error (libuv reports any POLLERR as EBADF) the read below finds the real errno.
    while (count < uint32_t(batch_)) {
      ssize_t n = read(fd_, readBuf_.data(), readBuf_.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) failure = errno;
        break;
      }
      if (n == 0) {
        // Never from a TAP; from other fds it is end of file, which would otherwise poll forever.
        eof = true;
        break;
      }
      frames.Set(count++, Napi::Buffer<uint8_t>::Copy(env, readBuf_.data(), size_t(n)));
      framesIn_++;
      bytesIn_ += uint64_t(n);
    }
    if (count > 0) Call(env, onFrames_, frames);
    if (fd_ < 0) return;
    if (failure != 0) {
      Fail(env, failure, "read");
    } else if (eof) {
      Fail(env, 0, "read");
    } else if (status < 0) {
      Fail(env, -status, "poll");
    }
  }

  // A read error other than EAGAIN (err 0: end of file) means the device is gone: stop polling
  // (no busy loop) and report.
  void Fail(Napi::Env env, int err, const char *syscall) {
    readErrors_++;
    StopPolling();
    const char *code = err == 0 ? "EOF" : uv_err_name(-err);
    Napi::Error e = Napi::Error::New(env, err == 0 ? std::string("end of file on TAP fd")
                                                   : std::string(syscall) + " failed on TAP: " + code);
    e.Set("errno", Napi::Number::New(env, err));
    e.Set("code", Napi::String::New(env, code));
    e.Set("syscall", Napi::String::New(env, syscall));
    Call(env, onError_, e.Value());
  }

  void Call(Napi::Env env, Napi::FunctionReference &fn, Napi::Value arg) {
    ztnc::CallFromLoop(env, fn, Value(), {arg}, *async_);
  }

  // Writes one frame. true = sent; false = dropped (queue full, link down), counted in stats().
  bool WriteOne(Napi::Env env, Napi::Value v, bool *thrown) {
    if (!v.IsBuffer()) {
      Napi::TypeError::New(env, "frame must be a Buffer").ThrowAsJavaScriptException();
      *thrown = true;
      return false;
    }
    Napi::Buffer<uint8_t> frame = v.As<Napi::Buffer<uint8_t>>();
    ssize_t n;
    do {
      n = write(fd_, frame.Data(), frame.Length());
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EBADF || errno == EFAULT) {
        ThrowErrno(env, errno, "write");
        *thrown = true;
        return false;
      }
      writeDrops_++;
      lastWriteErrno_ = errno;
      return false;
    }
    framesOut_++;
    bytesOut_ += uint64_t(n);
    return true;
  }

  Napi::Value Write(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      ThrowErrno(env, EBADF, "write");
      return env.Undefined();
    }
    bool thrown = false;
    bool ok = WriteOne(env, info.Length() > 0 ? info[0] : env.Undefined(), &thrown);
    if (thrown) return env.Undefined();
    return Napi::Boolean::New(env, ok);
  }

  // writev(frames) -> how many were sent; each frame is its own write (a TAP write is one frame).
  Napi::Value Writev(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      ThrowErrno(env, EBADF, "write");
      return env.Undefined();
    }
    if (info.Length() < 1 || !info[0].IsArray()) {
      Napi::TypeError::New(env, "frames must be an array of Buffers").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Array list = info[0].As<Napi::Array>();
    uint32_t sent = 0;
    for (uint32_t i = 0, n = list.Length(); i < n; i++) {
      bool thrown = false;
      if (WriteOne(env, list.Get(i), &thrown)) sent++;
      if (thrown) return env.Undefined();
    }
    return Napi::Number::New(env, sent);
  }

  Napi::Value Pause(const Napi::CallbackInfo &info) {
    StopPolling();
    return info.Env().Undefined();
  }

  Napi::Value Resume(const Napi::CallbackInfo &info) {
    if (fd_ >= 0) StartPolling(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("framesIn", Napi::Number::New(env, double(framesIn_)));
    out.Set("bytesIn", Napi::Number::New(env, double(bytesIn_)));
    out.Set("framesOut", Napi::Number::New(env, double(framesOut_)));
    out.Set("bytesOut", Napi::Number::New(env, double(bytesOut_)));
    out.Set("writeDrops", Napi::Number::New(env, double(writeDrops_)));
    out.Set("lastWriteErrno", Napi::Number::New(env, lastWriteErrno_));
    out.Set("readErrors", Napi::Number::New(env, double(readErrors_)));
    return out;
  }

  int fd_ = -1;
  int batch_ = 64;
  uv_poll_t *poll_ = nullptr;
  bool polling_ = false;
  Napi::FunctionReference onFrames_;
  Napi::FunctionReference onError_;
  std::unique_ptr<Napi::AsyncContext> async_;
  std::vector<uint8_t> readBuf_;
  uint64_t framesIn_ = 0, bytesIn_ = 0, framesOut_ = 0, bytesOut_ = 0, writeDrops_ = 0, readErrors_ = 0;
  int lastWriteErrno_ = 0;
};

} // namespace

void RegisterTap(Napi::Env env, Napi::Object exports) {
  exports.Set("openTap", Napi::Function::New(env, OpenTap, "openTap"));
  exports.Set("TapDevice", TapDevice::Define(env));
}
