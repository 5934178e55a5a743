// Batched message I/O on AF_UNIX SOCK_SEQPACKET sockets: the data path of the apps' datagram
// sockets (one record per message, see native/intercept/proto.h). One call reads every ready
// message with recvmmsg (up to a batch) and one call sends a batch with sendmmsg, so the daemon
// makes no JavaScript-to-native call per datagram. Readiness comes from FdWatcher.
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <vector>

#include "errno-error.h"
#include "register.h"

using ztnc::ArgInt;
using ztnc::ThrowErrno;

namespace {

// The largest record: a 48-byte header and a UDP datagram's largest payload, with room to spare
// so that a record one byte too long is seen as truncated instead of silently cut.
constexpr size_t kSlotSize = 65536 + 64;
constexpr int kMaxBatch = 64;
// sendmmsg takes at most UIO_MAXIOV messages per call.
constexpr int kMaxSendBatch = 1024;

// Zero-length reads on a seqpacket socket are either an empty message or the peer's end: the
// peer's end also raises POLLRDHUP (shutdown(SHUT_WR)) or POLLHUP (every copy closed).
bool PeerEnded(int fd) {
  struct pollfd p;
  p.fd = fd;
  p.events = POLLRDHUP;
  p.revents = 0;
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP)) != 0;
}

// recvRecords(fd, maxMessages) -> null when nothing is waiting, else
//   { data: Buffer, lengths: Uint32Array, eof: boolean, truncated: number, empty: number }
// `data` holds the messages back to back (lengths[i] each, in order); truncated messages (longer
// than a record can be) and empty ones are left out and counted; eof: the peer has ended (after
// the messages returned). Throws on errors other than EAGAIN.
Napi::Value RecvRecords(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t fd, maxMessages;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgInt(info, 1, "maxMessages", &maxMessages)) return env.Undefined();
  if (maxMessages < 1) maxMessages = 1;
  if (maxMessages > kMaxBatch) maxMessages = kMaxBatch;
  // One pool per thread (workers may load the addon too); the result is copied out of it.
  thread_local std::vector<uint8_t> pool;
  if (pool.size() < kSlotSize * kMaxBatch) pool.resize(kSlotSize * kMaxBatch);
  mmsghdr msgs[kMaxBatch];
  iovec iov[kMaxBatch];
  for (int i = 0; i < maxMessages; i++) {
    iov[i].iov_base = pool.data() + size_t(i) * kSlotSize;
    iov[i].iov_len = kSlotSize;
    memset(&msgs[i].msg_hdr, 0, sizeof(msghdr));
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_len = 0;
  }
  int n;
  do {
    n = recvmmsg(fd, msgs, unsigned(maxMessages), MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowErrno(env, errno, "recvmmsg");
    return env.Undefined();
  }
  // Zero-length messages after the last non-empty one may be the peer's end; earlier ones are
  // empty messages (no record is empty), counted and dropped.
  int lastData = -1;
  for (int i = 0; i < n; i++)
    if (msgs[i].msg_len > 0) lastData = i;
  bool eof = n == 0 || (lastData < n - 1 && PeerEnded(fd));
  int used = eof ? lastData + 1 : n;
  size_t total = 0;
  uint32_t kept = 0, truncated = 0, empty = 0;
  for (int i = 0; i < used; i++) {
    if (msgs[i].msg_len == 0) {
      empty++;
      continue;
    }
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
      truncated++;
      continue;
    }
    total += msgs[i].msg_len;
    kept++;
  }
  Napi::Buffer<uint8_t> data = Napi::Buffer<uint8_t>::New(env, total);
  Napi::Uint32Array lengths = Napi::Uint32Array::New(env, kept);
  size_t off = 0;
  uint32_t k = 0;
  for (int i = 0; i < used; i++) {
    size_t len = msgs[i].msg_len;
    if (len == 0 || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) continue;
    memcpy(data.Data() + off, pool.data() + size_t(i) * kSlotSize, len);
    off += len;
    lengths[k++] = uint32_t(len);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("data", data);
  out.Set("lengths", lengths);
  out.Set("eof", Napi::Boolean::New(env, eof));
  out.Set("truncated", Napi::Number::New(env, truncated));
  out.Set("empty", Napi::Number::New(env, empty));
  return out;
}

// sendRecords(fd, parts: Buffer[], partsPerMessage) -> [sent, tooBig]
// Sends messages of `partsPerMessage` consecutive buffers each (e.g. header and payload) with
// sendmmsg, never blocking. Stops at the first message the socket has no room for (EAGAIN):
// `sent` counts the messages consumed before it (tooBig of them were refused as larger than the
// socket's buffer can ever hold, EMSGSIZE, and dropped). Throws on other errors (EPIPE: the peer
// is gone).
Napi::Value SendRecords(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t fd, per;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  if (info.Length() < 3 || !info[1].IsArray() || !ArgInt(info, 2, "partsPerMessage", &per)) {
    if (!env.IsExceptionPending())
      Napi::TypeError::New(env, "sendRecords(fd, parts: Buffer[], partsPerMessage)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (per < 1 || per > 8) {
    ThrowErrno(env, EINVAL, "sendmmsg");
    return env.Undefined();
  }
  Napi::Array parts = info[1].As<Napi::Array>();
  uint32_t nparts = parts.Length();
  uint32_t count = nparts / uint32_t(per);
  std::vector<iovec> iov(size_t(count) * size_t(per));
  for (uint32_t i = 0; i < count * uint32_t(per); i++) {
    Napi::Value v = parts.Get(i);
    if (!v.IsBuffer()) {
      Napi::TypeError::New(env, "parts must be Buffers").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Buffer<uint8_t> b = v.As<Napi::Buffer<uint8_t>>();
    iov[i].iov_base = b.Data();
    iov[i].iov_len = b.Length();
  }
  uint32_t sent = 0, tooBig = 0;
  mmsghdr msgs[kMaxSendBatch];
  while (sent < count) {
    uint32_t batch = count - sent < uint32_t(kMaxSendBatch) ? count - sent : uint32_t(kMaxSendBatch);
    for (uint32_t i = 0; i < batch; i++) {
      memset(&msgs[i].msg_hdr, 0, sizeof(msghdr));
      msgs[i].msg_hdr.msg_iov = &iov[size_t(sent + i) * size_t(per)];
      msgs[i].msg_hdr.msg_iovlen = size_t(per);
    }
    int n = sendmmsg(fd, msgs, batch, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EMSGSIZE || errno == ENOBUFS) {
        // This one message can never fit: drop it and go on with the rest.
        sent++;
        tooBig++;
        continue;
      }
      if (sent > 0) break; // reported by the next call
      ThrowErrno(env, errno, "sendmmsg");
      return env.Undefined();
    }
    sent += uint32_t(n);
    if (uint32_t(n) < batch) {
      // Short: the next message met a full buffer or an error; one more try tells which.
      continue;
    }
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(uint32_t(0), Napi::Number::New(env, sent));
  out.Set(uint32_t(1), Napi::Number::New(env, tooBig));
  return out;
}

// hungUp(fd) -> true when the socket reports POLLHUP: for a socketpair end, the peer has closed
// every copy (or shut down both directions). A peer that only shut down its sending side does not
// count: readers learn of that as end of stream instead.
Napi::Value HungUp(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  struct pollfd p;
  p.fd = fd;
  p.events = 0;
  p.revents = 0;
  int n = poll(&p, 1, 0);
  return Napi::Boolean::New(env, n > 0 && (p.revents & (POLLHUP | POLLNVAL)) != 0);
}

// setSendBuffer(fd, bytes) -> the socket's SO_SNDBUF afterwards. SO_SNDBUFFORCE where allowed (the
// kernel's cap does not bind a privileged daemon), else SO_SNDBUF within the cap.
Napi::Value SetSendBuffer(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t fd, bytes;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgInt(info, 1, "bytes", &bytes)) return env.Undefined();
  if (bytes < 0) bytes = 0;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) != 0 &&
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) != 0) {
    ThrowErrno(env, errno, "setsockopt");
    return env.Undefined();
  }
  int now = 0;
  socklen_t len = sizeof(now);
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &now, &len);
  return Napi::Number::New(env, now);
}

} // namespace

void RegisterSeqpacket(Napi::Env env, Napi::Object exports) {
  exports.Set("recvRecords", Napi::Function::New(env, RecvRecords, "recvRecords"));
  exports.Set("sendRecords", Napi::Function::New(env, SendRecords, "sendRecords"));
  exports.Set("hungUp", Napi::Function::New(env, HungUp, "hungUp"));
  exports.Set("setSendBuffer", Napi::Function::New(env, SetSendBuffer, "setSendBuffer"));
}
