#include "errno-error.h"

#include <string.h>
#include <uv.h>

#include <string>

namespace ztnc {

void ThrowErrno(Napi::Env env, int err, const char *syscall) {
  const char *code = uv_err_name(-err);
  std::string msg = std::string(syscall) + " failed: " + code + " (" + strerror(err) + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, code));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.ThrowAsJavaScriptException();
}

bool ArgInt(const Napi::CallbackInfo &info, size_t i, const char *what, int32_t *out) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    Napi::TypeError::New(info.Env(), std::string(what) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::Number>().Int32Value();
  return true;
}

} // namespace ztnc
