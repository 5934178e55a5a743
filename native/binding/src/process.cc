// execve: replaces the running program in place (same pid, same open fds without close-on-exec).
// The daemon uses it once at start to run again under the V8 heap flags it needs, which Node only
// takes on its command line.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "errno-error.h"
#include "register.h"

using ztnc::ThrowErrno;

namespace {

bool StringList(Napi::Env env, Napi::Value v, const char *what, std::vector<std::string> *out) {
  if (!v.IsArray()) {
    Napi::TypeError::New(env, std::string(what) + " must be an array of strings").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value s = a.Get(i);
    if (!s.IsString()) {
      Napi::TypeError::New(env, std::string(what) + " must be an array of strings").ThrowAsJavaScriptException();
      return false;
    }
    std::string str = s.As<Napi::String>().Utf8Value();
    if (str.find('\0') != std::string::npos) {
      Napi::TypeError::New(env, std::string(what) + " must not contain NUL bytes").ThrowAsJavaScriptException();
      return false;
    }
    out->push_back(std::move(str));
  }
  return true;
}

std::vector<char *> Pointers(std::vector<std::string> &strings) {
  std::vector<char *> p;
  for (auto &s : strings) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

// execve(file: string, argv: string[], env: string[] ("NAME=value")) -> never returns on success;
// throws an errno error (ENOENT, EACCES, E2BIG, ...) when the kernel refuses.
Napi::Value Execve(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString()) {
    Napi::TypeError::New(env, "execve(file: string, argv: string[], env: string[])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string file = info[0].As<Napi::String>().Utf8Value();
  std::vector<std::string> argv, envp;
  if (!StringList(env, info[1], "argv", &argv) || !StringList(env, info[2], "env", &envp)) return env.Undefined();
  if (argv.empty()) {
    Napi::TypeError::New(env, "argv must name the program (argv[0])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<char *> a = Pointers(argv), e = Pointers(envp);
  // Node marks stdin/stdout/stderr close-on-exec at start; the new program must keep them
  int stdioFlags[3];
  for (int fd = 0; fd < 3; fd++) {
    stdioFlags[fd] = fcntl(fd, F_GETFD);
    if (stdioFlags[fd] >= 0) fcntl(fd, F_SETFD, stdioFlags[fd] & ~FD_CLOEXEC);
  }
  execve(file.c_str(), a.data(), e.data());
  int err = errno;
  for (int fd = 0; fd < 3; fd++) {
    if (stdioFlags[fd] >= 0) fcntl(fd, F_SETFD, stdioFlags[fd]);
  }
  ThrowErrno(env, err, "execve");
  return env.Undefined();
}

} // namespace

void RegisterProcess(Napi::Env env, Napi::Object exports) {
  exports.Set("execve", Napi::Function::New(env, Execve, "execve"));
}
