// Unprivileged ICMP echo ("ping sockets", Linux 3.0+): socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP),
// allowed to the groups in net.ipv4.ping_group_range. The kernel keeps the echo identifier (it is
// the socket's "port") and the checksum; the caller sends an echo request's header and data and
// reads whole echo replies. A gateway carries its members' pings out through these.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "errno-error.h"
#include "register.h"

using ztnc::ArgInt;
using ztnc::ThrowErrno;

namespace {

// pingSocket() -> fd: nonblocking, close-on-exec. Throws EACCES when the group may not ping.
Napi::Value PingSocket(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
  if (fd < 0) {
    ThrowErrno(env, errno, "socket");
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// pingSend(fd, ip: string, message: Buffer) -> bytes sent, or null when the socket is full.
Napi::Value PingSend(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  if (info.Length() < 3 || !info[1].IsString() || !info[2].IsBuffer()) {
    Napi::TypeError::New(env, "pingSend(fd, ip: string, message: Buffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string ip = info[1].As<Napi::String>().Utf8Value();
  Napi::Buffer<uint8_t> msg = info[2].As<Napi::Buffer<uint8_t>>();
  struct sockaddr_in to;
  memset(&to, 0, sizeof(to));
  to.sin_family = AF_INET;
  if (inet_pton(AF_INET, ip.c_str(), &to.sin_addr) != 1) {
    ThrowErrno(env, EINVAL, "sendto");
    return env.Undefined();
  }
  ssize_t n;
  do {
    n = sendto(fd, msg.Data(), msg.Length(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<struct sockaddr *>(&to),
               sizeof(to));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowErrno(env, errno, "sendto");
    return env.Undefined();
  }
  return Napi::Number::New(env, double(n));
}

// pingRecv(fd) -> { data: Buffer (the ICMP message), from: string }, or null when none is waiting.
Napi::Value PingRecv(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  uint8_t buf[65536];
  struct sockaddr_in from;
  socklen_t fromLen = sizeof(from);
  ssize_t n;
  do {
    n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<struct sockaddr *>(&from), &fromLen);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowErrno(env, errno, "recvfrom");
    return env.Undefined();
  }
  char text[INET_ADDRSTRLEN] = "";
  inet_ntop(AF_INET, &from.sin_addr, text, sizeof(text));
  Napi::Object out = Napi::Object::New(env);
  out.Set("data", Napi::Buffer<uint8_t>::Copy(env, buf, size_t(n)));
  out.Set("from", Napi::String::New(env, text));
  return out;
}

} // namespace

void RegisterPing(Napi::Env env, Napi::Object exports) {
  exports.Set("pingSocket", Napi::Function::New(env, PingSocket));
  exports.Set("pingSend", Napi::Function::New(env, PingSend));
  exports.Set("pingRecv", Napi::Function::New(env, PingRecv));
}
