// Module entry: each part of the binding registers its own exports.
#include <napi.h>

#include "crypto.h"
#include "register.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RegisterFd(env, exports);
  RegisterTap(env, exports);
  RegisterFdWatcher(env, exports);
  RegisterCrypto(env, exports);
  RegisterUdp(env, exports);
  RegisterChecksum(env, exports);
  RegisterProcess(env, exports);
  RegisterSeqpacket(env, exports);
  RegisterPing(env, exports);
  return exports;
}

NODE_API_MODULE(ztnc_binding, Init)
