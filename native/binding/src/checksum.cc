// The Internet checksum's running sum (RFC 1071) over a byte range, for the stack's hot path:
//   inetSum16(buf: Uint8Array, start, end) -> number
// The 16-bit one's-complement sum of the big-endian words of buf[start, end) (an odd last byte
// padded with zero), folded to 16 bits: the value src/netstack/wire/checksum.ts's fastSum16 gives.
#include <napi.h>

#include <cstdint>
#include <cstring>

#include "register.h"

namespace {

uint32_t Sum16(const uint8_t *p, size_t len) {
  // Little-endian lanes: the one's-complement sum is byte-order independent (RFC 1071 2(B)), so
  // sum as the machine reads and swap the folded result once.
  uint64_t a = 0, b = 0;
  size_t i = 0;
  for (; i + 16 <= len; i += 16) {
    uint64_t w0, w1;
    std::memcpy(&w0, p + i, 8);
    std::memcpy(&w1, p + i + 8, 8);
    a += (w0 & 0xffffffffu) + (w0 >> 32);
    b += (w1 & 0xffffffffu) + (w1 >> 32);
  }
  uint64_t s = a + b;
  for (; i + 2 <= len; i += 2) s += uint64_t(p[i]) | (uint64_t(p[i + 1]) << 8);
  if (i < len) s += p[i];
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ((s & 0xff) << 8) | (s >> 8);
}

Napi::Value InetSum16(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "inetSum16(buf, start, end)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "inetSum16: buf must be a Uint8Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto bytes = ta.As<Napi::Uint8Array>();
  int64_t start = info[1].As<Napi::Number>().Int64Value();
  int64_t end = info[2].As<Napi::Number>().Int64Value();
  int64_t n = int64_t(bytes.ElementLength());
  if (start < 0 || end > n || start > end) {
    Napi::RangeError::New(env, "inetSum16: range outside the buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, Sum16(bytes.Data() + start, size_t(end - start)));
}

} // namespace

void RegisterChecksum(Napi::Env env, Napi::Object exports) {
  exports.Set("inetSum16", Napi::Function::New(env, InetSum16, "inetSum16"));
}
