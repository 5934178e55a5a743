// The node's underlay socket: UDP datagrams in and out in batches. Reads take every ready datagram
// with recvmmsg and hand them to JavaScript in one call; sends go out with one sendmmsg per batch,
// and runs of equal-size datagrams to one destination travel as one UDP_SEGMENT (GSO) message,
// which the kernel splits on the way out — or hands whole to a receiver that enabled UDP_GRO, as
// this socket does. On the wire every datagram is an ordinary one.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "errno-error.h"
#include "poll-handle.h"
#include "register.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

using ztnc::ThrowErrno;

namespace {

union SockAddr {
  sockaddr sa;
  sockaddr_in in4;
  sockaddr_in6 in6;
};

bool ParseAddress(int family, const std::string &ip, int port, SockAddr *out, socklen_t *len) {
  memset(out, 0, sizeof(*out));
  if (port < 0 || port > 65535) return false;
  if (family == 4) {
    out->in4.sin_family = AF_INET;
    out->in4.sin_port = htons(uint16_t(port));
    *len = sizeof(sockaddr_in);
    return inet_pton(AF_INET, ip.c_str(), &out->in4.sin_addr) == 1;
  }
  out->in6.sin6_family = AF_INET6;
  out->in6.sin6_port = htons(uint16_t(port));
  *len = sizeof(sockaddr_in6);
  return inet_pton(AF_INET6, ip.c_str(), &out->in6.sin6_addr) == 1;
}

bool SameAddress(const SockAddr &a, const SockAddr &b) {
  if (a.sa.sa_family != b.sa.sa_family) return false;
  if (a.sa.sa_family == AF_INET)
    return a.in4.sin_port == b.in4.sin_port && a.in4.sin_addr.s_addr == b.in4.sin_addr.s_addr;
  return a.in6.sin6_port == b.in6.sin6_port && memcmp(&a.in6.sin6_addr, &b.in6.sin6_addr, 16) == 0;
}

// new UdpSocket(family 4|6, address, port, onDatagrams(datagrams, sourceOf, sources), onWritable())
//   onDatagrams: `datagrams` is an array of Buffers, `sourceOf` a Uint32Array giving each one's
//   index into `sources` (null when the batch has one sender), an array of [ip, port] (distinct
//   per call; the same array object as the last call's when the senders are the same).
//   onWritable: the socket can take datagrams again after send() returned short.
// Methods: address() -> [ip, port]; send(flat [ip, port, Buffer, ...]) -> datagrams consumed
// (sent, or dropped and counted; fewer than given only when the kernel's buffer is full, and then
// onWritable follows); close(); stats().
class UdpSocket : public Napi::ObjectWrap<UdpSocket> {
public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UdpSocket",
                       {
                           InstanceMethod("address", &UdpSocket::Address),
                           InstanceMethod("send", &UdpSocket::Send),
                           InstanceMethod("close", &UdpSocket::Close),
                           InstanceMethod("stats", &UdpSocket::Stats),
                       });
  }

  explicit UdpSocket(const Napi::CallbackInfo &info) : Napi::ObjectWrap<UdpSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber() ||
        !info[3].IsFunction() || !info[4].IsFunction()) {
      Napi::TypeError::New(env, "UdpSocket(family, address, port, onDatagrams, onWritable)")
          .ThrowAsJavaScriptException();
      return;
    }
    int family = info[0].As<Napi::Number>().Int32Value();
    std::string ip = info[1].As<Napi::String>().Utf8Value();
    int port = info[2].As<Napi::Number>().Int32Value();
    if (family != 4 && family != 6) {
      Napi::TypeError::New(env, "family must be 4 or 6").ThrowAsJavaScriptException();
      return;
    }
    SockAddr local;
    socklen_t localLen;
    if (!ParseAddress(family, ip, port, &local, &localLen)) {
      ThrowErrno(env, EINVAL, "bind");
      return;
    }
    family_ = family;
    int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      ThrowErrno(env, errno, "socket");
      return;
    }
    int one = 1;
    if (family == 6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, &local.sa, localLen) != 0) {
      int err = errno;
      close(fd);
      ThrowErrno(env, err, "bind");
      return;
    }
    // Buffer sizes are a wish: root may exceed the sysctl cap, others get what the cap allows.
    int bytes = 4 * 1024 * 1024;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) != 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
    gro_ = setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
    poll_ = ztnc::OpenPollHandle(env, fd, this);
    if (poll_ == nullptr) {
      close(fd);
      return;
    }
    fd_ = fd;
    onDatagrams_ = Napi::Persistent(info[3].As<Napi::Function>());
    onWritable_ = Napi::Persistent(info[4].As<Napi::Function>());
    async_ = std::make_unique<Napi::AsyncContext>(env, "ztnc:UdpSocket");
    slots_.resize(size_t(kSlots) * kSlotSize);
    Arm(env, false);
  }

  ~UdpSocket() override { Shutdown(); }

private:
  static constexpr int kSlots = 32;
  // A GRO message can carry up to 64 KiB of segments.
  static constexpr size_t kSlotSize = 65536;
  // recvmmsg rounds and bytes taken per readiness event, so one busy socket cannot starve the
  // rest of the loop.
  static constexpr int kReadsPerEvent = 8;
  static constexpr size_t kMaxBytesPerEvent = 1 << 20;
  static constexpr int kMaxSegments = 64;
  static constexpr size_t kMaxGsoBytes = 65000;

  void Arm(Napi::Env env, bool writable) {
    if (poll_ == nullptr) return;
    int rc = uv_poll_start(poll_, UV_READABLE | (writable ? UV_WRITABLE : 0), OnEvent);
    if (rc != 0) {
      ThrowErrno(env, -rc, "uv_poll_start");
      return;
    }
    if (!polling_) {
      polling_ = true;
      // While polling, the JavaScript object must outlive the handle that points at it.
      Ref();
    }
    wantWritable_ = writable;
  }

  void Shutdown() {
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      if (polling_) {
        polling_ = false;
        Unref();
      }
      ztnc::ClosePollHandle(poll_);
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  static void OnEvent(uv_poll_t *handle, int status, int events) {
    auto *self = static_cast<UdpSocket *>(handle->data);
    if (self == nullptr) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    // A poll error on a UDP socket is a queued ICMP error (or worse); reading clears it.
    if (status < 0 || (events & UV_READABLE)) self->ReadBatch(env);
    if (self->fd_ >= 0 && self->wantWritable_ && (events & UV_WRITABLE)) {
      self->Arm(env, false);
      ztnc::CallFromLoop(env, self->onWritable_, self->Value(), {}, *self->async_);
    }
  }

  void ReadBatch(Napi::Env env) {
    mmsghdr msgs[kSlots];
    iovec iov[kSlots];
    SockAddr from[kSlots];
    alignas(cmsghdr) char control[kSlots][CMSG_SPACE(sizeof(int))];
    // Each datagram gets its own Buffer: a view into a shared batch buffer would pin the whole
    // batch for as long as any one datagram is held (a TCP out-of-order queue, say).
    Napi::Array datagrams = Napi::Array::New(env);
    std::vector<uint32_t> sourceOf;
    std::vector<SockAddr> sources;
    size_t total = 0;
    for (int round = 0; round < kReadsPerEvent && fd_ >= 0; round++) {
      for (int i = 0; i < kSlots; i++) {
        iov[i].iov_base = slots_.data() + size_t(i) * kSlotSize;
        iov[i].iov_len = kSlotSize;
        memset(&msgs[i].msg_hdr, 0, sizeof(msghdr));
        msgs[i].msg_hdr.msg_name = &from[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(SockAddr);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_control = control[i];
        msgs[i].msg_hdr.msg_controllen = sizeof(control[i]);
      }
      int n = recvmmsg(fd_, msgs, kSlots, MSG_DONTWAIT, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        readErrors_++;
        lastReadErrno_ = errno;
        if (errno == EBADF || errno == ENOTSOCK) break;
        // ECONNREFUSED and friends: an ICMP error for an earlier send, now consumed; keep reading.
        continue;
      }
      for (int i = 0; i < n; i++) {
        const msghdr &h = msgs[i].msg_hdr;
        size_t len = msgs[i].msg_len;
        if (h.msg_flags & MSG_TRUNC) {
          truncated_++;
          continue;
        }
        size_t seg = len;
        for (cmsghdr *c = CMSG_FIRSTHDR(const_cast<msghdr *>(&h)); c != nullptr;
             c = CMSG_NXTHDR(const_cast<msghdr *>(&h), c)) {
          if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
            int s;
            memcpy(&s, CMSG_DATA(c), sizeof(s));
            if (s > 0) seg = size_t(s);
          }
        }
        uint32_t src = 0;
        while (src < sources.size() && !SameAddress(sources[src], from[i])) src++;
        if (src == sources.size()) sources.push_back(from[i]);
        const uint8_t *base = slots_.data() + size_t(i) * kSlotSize;
        size_t off = 0;
        do {
          size_t part = len - off < seg ? len - off : seg;
          datagrams.Set(uint32_t(sourceOf.size()), Napi::Buffer<uint8_t>::Copy(env, base + off, part));
          sourceOf.push_back(src);
          datagramsIn_++;
          total += part;
          off += part;
        } while (off < len);
      }
      if (n < kSlots || total >= kMaxBytesPerEvent) break;
    }
    if (sourceOf.empty() || fd_ < 0) return;
    bytesIn_ += total;
    // one sender (the usual batch): every index is 0, so no index array
    Napi::Value m = env.Null();
    if (sources.size() > 1) {
      Napi::Uint32Array a = Napi::Uint32Array::New(env, sourceOf.size());
      memcpy(a.Data(), sourceOf.data(), sourceOf.size() * sizeof(uint32_t));
      m = a;
    }
    ztnc::CallFromLoop(env, onDatagrams_, Value(), {datagrams, m, SourceList(env, sources)}, *async_);
  }

  // The [ip, port] list of a batch's senders: the last batch's array again when the senders are
  // the same (batch after batch comes from one peer), so no strings are made for them.
  Napi::Value SourceList(Napi::Env env, const std::vector<SockAddr> &sources) {
    bool same = !lastList_.IsEmpty() && sources.size() == lastSources_.size();
    for (size_t i = 0; same && i < sources.size(); i++) same = SameAddress(sources[i], lastSources_[i]);
    if (same) return lastList_.Value();
    Napi::Array list = Napi::Array::New(env, sources.size());
    for (uint32_t i = 0; i < sources.size(); i++) list.Set(i, AddressPair(env, sources[i]));
    lastSources_ = sources;
    lastList_ = Napi::Persistent(list);
    return list;
  }

  static Napi::Array AddressPair(Napi::Env env, const SockAddr &a) {
    char text[INET6_ADDRSTRLEN] = {0};
    int port;
    if (a.sa.sa_family == AF_INET) {
      inet_ntop(AF_INET, &a.in4.sin_addr, text, sizeof(text));
      port = ntohs(a.in4.sin_port);
    } else {
      inet_ntop(AF_INET6, &a.in6.sin6_addr, text, sizeof(text));
      port = ntohs(a.in6.sin6_port);
    }
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(uint32_t(0), Napi::String::New(env, text));
    pair.Set(uint32_t(1), Napi::Number::New(env, port));
    return pair;
  }

  struct Outgoing {
    SockAddr to;
    socklen_t toLen;
    const uint8_t *data;
    size_t len;
  };

  // One message of a sendmmsg call: datagrams [first, first + count) of the batch, as GSO
  // segments of `segment` bytes when count > 1.
  struct Message {
    size_t first;
    size_t count;
    uint16_t segment;
  };

  Napi::Value Send(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      ThrowErrno(env, EBADF, "sendmmsg");
      return env.Undefined();
    }
    if (info.Length() < 1 || !info[0].IsArray()) {
      Napi::TypeError::New(env, "send([ip, port, Buffer, ...])").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Array list = info[0].As<Napi::Array>();
    uint32_t n = list.Length() / 3;
    std::vector<Outgoing> out;
    out.reserve(n);
    // Datagrams to one peer carry the same ip string: it is parsed once per run, not per datagram.
    Napi::Value lastIp;
    int lastPort = -1;
    SockAddr lastAddr;
    socklen_t lastLen = 0;
    bool lastOk = false;
    for (uint32_t i = 0; i < n; i++) {
      Napi::Value ipv = list.Get(i * 3), portv = list.Get(i * 3 + 1), datav = list.Get(i * 3 + 2);
      if (!ipv.IsString() || !portv.IsNumber() || !datav.IsBuffer()) {
        Napi::TypeError::New(env, "send([ip, port, Buffer, ...])").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      int port = portv.As<Napi::Number>().Int32Value();
      if (port != lastPort || lastIp.IsEmpty() || !ipv.StrictEquals(lastIp)) {
        lastIp = ipv;
        lastPort = port;
        lastOk = ParseAddress(family_, ipv.As<Napi::String>().Utf8Value(), port, &lastAddr, &lastLen);
      }
      auto buf = datav.As<Napi::Buffer<uint8_t>>();
      Outgoing o;
      o.to = lastAddr;
      o.toLen = lastLen;
      o.data = buf.Data();
      o.len = buf.Length();
      if (!lastOk) o.toLen = 0; // dropped below as EINVAL
      out.push_back(o);
    }
    size_t consumed = SendAll(out);
    return Napi::Number::New(env, double(consumed));
  }

  // Sends the batch; returns how many datagrams were consumed (sent or dropped). Stops early
  // only when the kernel's send buffer is full, arming the writable callback.
  size_t SendAll(const std::vector<Outgoing> &out) {
    std::vector<Message> msgs;
    for (size_t i = 0; i < out.size();) {
      size_t j = i + 1;
      size_t bytes = out[i].len;
      if (gso_ && out[i].toLen != 0 && out[i].len > 0 && out[i].len <= 0xffff) {
        while (j < out.size() && j - i < size_t(kMaxSegments) && out[j].toLen != 0 &&
               SameAddress(out[j].to, out[i].to) && out[j].len <= out[i].len && out[j].len > 0 &&
               bytes + out[j].len <= kMaxGsoBytes) {
          bytes += out[j].len;
          bool last = out[j].len < out[i].len;
          j++;
          if (last) break; // a shorter segment can only end a GSO message
        }
      }
      msgs.push_back(Message{i, j - i, uint16_t(j - i > 1 ? out[i].len : 0)});
      i = j;
    }
    size_t consumed = 0;
    size_t m = 0;
    std::vector<iovec> iov(out.size());
    for (size_t k = 0; k < out.size(); k++) {
      iov[k].iov_base = const_cast<uint8_t *>(out[k].data);
      iov[k].iov_len = out[k].len;
    }
    while (m < msgs.size()) {
      size_t batch = msgs.size() - m < 64 ? msgs.size() - m : 64;
      mmsghdr hdrs[64];
      alignas(cmsghdr) char control[64][CMSG_SPACE(sizeof(uint16_t))];
      size_t built = 0;
      for (; built < batch; built++) {
        const Message &g = msgs[m + built];
        const Outgoing &first = out[g.first];
        if (first.toLen == 0) break; // an unparsable destination goes alone, below
        msghdr &h = hdrs[built].msg_hdr;
        memset(&h, 0, sizeof(h));
        h.msg_name = const_cast<sockaddr *>(&first.to.sa);
        h.msg_namelen = first.toLen;
        h.msg_iov = &iov[g.first];
        h.msg_iovlen = g.count;
        if (g.count > 1) {
          memset(control[built], 0, sizeof(control[built]));
          h.msg_control = control[built];
          h.msg_controllen = sizeof(control[built]);
          cmsghdr *c = CMSG_FIRSTHDR(&h);
          c->cmsg_level = IPPROTO_UDP;
          c->cmsg_type = UDP_SEGMENT;
          c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
          memcpy(CMSG_DATA(c), &g.segment, sizeof(uint16_t));
        }
      }
      if (built == 0) {
        const Message &g = msgs[m];
        sendErrors_ += g.count;
        lastSendErrno_ = EINVAL;
        consumed += g.count;
        m++;
        continue;
      }
      int r = sendmmsg(fd_, hdrs, unsigned(built), MSG_DONTWAIT);
      if (r < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) {
          if (!wantWritable_) Arm(Env(), true);
          return consumed;
        }
        const Message &g = msgs[m];
        if (g.count > 1 && (err == EINVAL || err == EIO || err == EMSGSIZE || err == EOPNOTSUPP)) {
          // The path cannot take this GSO message (device MTU, no offload): send its datagrams
          // one by one; where offload itself is missing, stop using it on this socket.
          if (err == EIO || err == EOPNOTSUPP) gso_ = false;
          gsoFallbacks_++;
          std::vector<Message> split;
          for (size_t k = 0; k < g.count; k++) split.push_back(Message{g.first + k, 1, 0});
          msgs.erase(msgs.begin() + long(m));
          msgs.insert(msgs.begin() + long(m), split.begin(), split.end());
          continue;
        }
        // This message cannot go (unreachable, refused, too big): drop it, count, go on.
        sendErrors_ += g.count;
        lastSendErrno_ = err;
        consumed += g.count;
        m++;
        continue;
      }
      for (int k = 0; k < r; k++) {
        const Message &g = msgs[m + size_t(k)];
        consumed += g.count;
        datagramsOut_ += g.count;
        if (g.count > 1) gsoMessages_++;
        for (size_t s = 0; s < g.count; s++) bytesOut_ += out[g.first + s].len;
      }
      m += size_t(r);
    }
    return consumed;
  }

  Napi::Value Address(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      ThrowErrno(env, EBADF, "getsockname");
      return env.Undefined();
    }
    SockAddr a;
    socklen_t len = sizeof(a);
    if (getsockname(fd_, &a.sa, &len) != 0) {
      ThrowErrno(env, errno, "getsockname");
      return env.Undefined();
    }
    return AddressPair(env, a);
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("datagramsIn", Napi::Number::New(env, double(datagramsIn_)));
    o.Set("bytesIn", Napi::Number::New(env, double(bytesIn_)));
    o.Set("datagramsOut", Napi::Number::New(env, double(datagramsOut_)));
    o.Set("bytesOut", Napi::Number::New(env, double(bytesOut_)));
    o.Set("gsoMessages", Napi::Number::New(env, double(gsoMessages_)));
    o.Set("gsoFallbacks", Napi::Number::New(env, double(gsoFallbacks_)));
    o.Set("sendErrors", Napi::Number::New(env, double(sendErrors_)));
    o.Set("lastSendErrno", Napi::Number::New(env, lastSendErrno_));
    o.Set("readErrors", Napi::Number::New(env, double(readErrors_)));
    o.Set("lastReadErrno", Napi::Number::New(env, lastReadErrno_));
    o.Set("truncated", Napi::Number::New(env, double(truncated_)));
    o.Set("gro", Napi::Boolean::New(env, gro_));
    o.Set("gso", Napi::Boolean::New(env, gso_));
    return o;
  }

  int fd_ = -1;
  int family_ = 4;
  bool gro_ = false;
  bool gso_ = true;
  uv_poll_t *poll_ = nullptr;
  bool polling_ = false;
  bool wantWritable_ = false;
  Napi::FunctionReference onDatagrams_;
  // The senders of the last batch and the list handed to JavaScript for them (see SourceList).
  std::vector<SockAddr> lastSources_;
  Napi::Reference<Napi::Array> lastList_;
  Napi::FunctionReference onWritable_;
  std::unique_ptr<Napi::AsyncContext> async_;
  std::vector<uint8_t> slots_;
  uint64_t datagramsIn_ = 0, bytesIn_ = 0, datagramsOut_ = 0, bytesOut_ = 0, gsoMessages_ = 0, gsoFallbacks_ = 0,
           sendErrors_ = 0, readErrors_ = 0, truncated_ = 0;
  int lastSendErrno_ = 0, lastReadErrno_ = 0;
};

} // namespace

void RegisterUdp(Napi::Env env, Napi::Object exports) { exports.Set("UdpSocket", UdpSocket::Define(env)); }
