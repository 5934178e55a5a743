// AF_UNIX socketpairs, fd passing with SCM_RIGHTS, peer credentials and small fd utilities.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "errno-error.h"
#include "register.h"

using ztnc::ArgInt;
using ztnc::ThrowErrno;

namespace {

// Linux caps SCM_RIGHTS at 253 fds per message (SCM_MAX_FD).
constexpr int kMaxFdsPerMessage = 253;

// socketpair(type: 'stream' | 'seqpacket', nonBlocking: boolean) -> [fd, fd]; both ends close-on-exec.
Napi::Value SocketPair(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "type must be 'stream' or 'seqpacket'").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  int type;
  if (kind == "stream") {
    type = SOCK_STREAM;
  } else if (kind == "seqpacket") {
    type = SOCK_SEQPACKET;
  } else {
    Napi::TypeError::New(env, "type must be 'stream' or 'seqpacket'").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  bool nonBlocking = info.Length() > 1 && info[1].ToBoolean().Value();
  int fds[2];
  int flags = SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0);
  if (socketpair(AF_UNIX, type | flags, 0, fds) != 0) {
    ThrowErrno(env, errno, "socketpair");
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(uint32_t(0), Napi::Number::New(env, fds[0]));
  out.Set(uint32_t(1), Napi::Number::New(env, fds[1]));
  return out;
}

// sendFds(fd, data: Buffer, fds: number[]) -> bytes sent, or null when the socket is full (EAGAIN).
// Never blocks (MSG_DONTWAIT) and never raises SIGPIPE (MSG_NOSIGNAL: EPIPE comes back instead).
Napi::Value SendFds(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  if (info.Length() < 3 || !info[1].IsBuffer() || !info[2].IsArray()) {
    Napi::TypeError::New(env, "sendFds(fd, data: Buffer, fds: number[])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Buffer<uint8_t> data = info[1].As<Napi::Buffer<uint8_t>>();
  Napi::Array list = info[2].As<Napi::Array>();
  uint32_t nfds = list.Length();
  if (nfds > kMaxFdsPerMessage) {
    ThrowErrno(env, EINVAL, "sendmsg");
    return env.Undefined();
  }
  std::vector<int> fds(nfds);
  for (uint32_t i = 0; i < nfds; i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsNumber()) {
      Napi::TypeError::New(env, "fds must be numbers").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    fds[i] = v.As<Napi::Number>().Int32Value();
  }

  struct iovec iov;
  iov.iov_base = data.Data();
  iov.iov_len = data.Length();
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (nfds > 0) {
    control.assign(CMSG_SPACE(sizeof(int) * nfds), 0);
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cm), fds.data(), sizeof(int) * nfds);
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowErrno(env, errno, "sendmsg");
    return env.Undefined();
  }
  return Napi::Number::New(env, double(n));
}

// recvFds(fd, maxData, maxFds) -> { data, fds, ctrunc, trunc }, or null when nothing is waiting
// (EAGAIN). A zero-length `data` on a stream socket is end of stream. Received fds are close-on-exec.
Napi::Value RecvFds(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t fd, maxData, maxFds;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgInt(info, 1, "maxData", &maxData) || !ArgInt(info, 2, "maxFds", &maxFds))
    return env.Undefined();
  if (maxData < 0 || maxFds < 0 || maxFds > kMaxFdsPerMessage) {
    ThrowErrno(env, EINVAL, "recvmsg");
    return env.Undefined();
  }
  // One scratch buffer per thread (workers may load the addon too); the result is copied out.
  thread_local std::vector<uint8_t> scratch;
  if (scratch.size() < size_t(maxData) + 1) scratch.resize(size_t(maxData) + 1);
  std::vector<uint8_t> &buf = scratch;
  struct iovec iov;
  iov.iov_base = buf.data();
  iov.iov_len = size_t(maxData);
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (maxFds > 0) {
    control.assign(CMSG_SPACE(sizeof(int) * maxFds), 0);
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
  }
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowErrno(env, errno, "recvmsg");
    return env.Undefined();
  }

  Napi::Array fdList = Napi::Array::New(env);
  uint32_t count = 0;
  bool extra = false;
  if (msg.msg_controllen > 0) {
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
      size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const unsigned char *p = CMSG_DATA(cm);
      for (size_t i = 0; i < k; i++) {
        int got;
        memcpy(&got, p + i * sizeof(int), sizeof(int));
        if (count < uint32_t(maxFds)) {
          fdList.Set(count++, Napi::Number::New(env, got));
        } else {
          // CMSG_SPACE rounds up, so the kernel may deliver more than asked: keep the promise.
          close(got);
          extra = true;
        }
      }
    }
  }
  size_t len = size_t(n) < size_t(maxData) ? size_t(n) : size_t(maxData);
  Napi::Object out = Napi::Object::New(env);
  out.Set("data", Napi::Buffer<uint8_t>::Copy(env, buf.data(), len));
  out.Set("fds", fdList);
  out.Set("ctrunc", Napi::Boolean::New(env, extra || (msg.msg_flags & MSG_CTRUNC) != 0));
  out.Set("trunc", Napi::Boolean::New(env, (msg.msg_flags & MSG_TRUNC) != 0));
  return out;
}

// peerCred(fd) -> { pid, uid, gid } of the process that made the other end (SO_PEERCRED).
Napi::Value PeerCred(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    ThrowErrno(env, errno, "getsockopt");
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, cred.pid));
  out.Set("uid", Napi::Number::New(env, cred.uid));
  out.Set("gid", Napi::Number::New(env, cred.gid));
  return out;
}

Napi::Value Close(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  // Linux releases the fd even when close reports EINTR, so it is never retried.
  if (close(fd) != 0 && errno != EINTR) ThrowErrno(env, errno, "close");
  return env.Undefined();
}

// setNonBlocking(fd, on)
Napi::Value SetNonBlocking(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  bool on = info.Length() < 2 || info[1].ToBoolean().Value();
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) {
    ThrowErrno(env, errno, "fcntl");
    return env.Undefined();
  }
  int next = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (next != flags && fcntl(fd, F_SETFL, next) != 0) ThrowErrno(env, errno, "fcntl");
  return env.Undefined();
}

// dup(fd) -> a new close-on-exec descriptor for the same open file.
Napi::Value Dup(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    ThrowErrno(env, errno, "fcntl");
    return env.Undefined();
  }
  return Napi::Number::New(env, copy);
}

// fstatIno(fd) -> { dev, ino }: identifies the open file (e.g. to re-validate an fd after close_range).
Napi::Value FstatIno(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  struct stat st;
  if (fstat(fd, &st) != 0) {
    ThrowErrno(env, errno, "fstat");
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("dev", Napi::Number::New(env, double(st.st_dev)));
  out.Set("ino", Napi::Number::New(env, double(st.st_ino)));
  return out;
}

} // namespace

void RegisterFd(Napi::Env env, Napi::Object exports) {
  exports.Set("socketpair", Napi::Function::New(env, SocketPair, "socketpair"));
  exports.Set("sendFds", Napi::Function::New(env, SendFds, "sendFds"));
  exports.Set("recvFds", Napi::Function::New(env, RecvFds, "recvFds"));
  exports.Set("peerCred", Napi::Function::New(env, PeerCred, "peerCred"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("setNonBlocking", Napi::Function::New(env, SetNonBlocking, "setNonBlocking"));
  exports.Set("dup", Napi::Function::New(env, Dup, "dup"));
  exports.Set("fstatIno", Napi::Function::New(env, FstatIno, "fstatIno"));
  exports.Set("maxFdsPerMessage", Napi::Number::New(env, kMaxFdsPerMessage));
}
