// execve: replaces the running program in place (same pid, same open fds without close-on-exec).
// The daemon uses it once at start to run again under the V8 heap flags it needs, which Node only
// takes on its command line. fileCapabilities: a program file's capability sets (security.capability),
// which make the dynamic loader ignore LD_PRELOAD as set-ID bits do. raiseFdLimit: RLIMIT_NOFILE
// up to a wanted count (each app socket holds one of the daemon's descriptors).
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/xattr.h>
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

// fileCapabilities(path: string) -> null (no capabilities) or { permitted, inheritable, effective }
// from its VFS_CAP_REVISION_2/3 xattr. permitted and inheritable are the low and high 32-bit words
// of each set ORed together: only "is any capability granted" is asked of them. Throws an errno
// error when the file cannot be read.
Napi::Value FileCapabilities(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "fileCapabilities(path: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  // struct vfs_ns_cap_data: magic_etc, then {permitted, inheritable} x 2, then rootid (v3)
  uint32_t words[6] = {0, 0, 0, 0, 0, 0};
  ssize_t n = getxattr(path.c_str(), "security.capability", words, sizeof(words));
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP) return env.Null();
    ThrowErrno(env, errno, "getxattr");
    return env.Undefined();
  }
  if (n < 12) return env.Null(); // too short to be a capability set the kernel would honour
  Napi::Object o = Napi::Object::New(env);
  uint32_t hiPermitted = n >= 20 ? words[3] : 0, hiInheritable = n >= 20 ? words[4] : 0;
  o.Set("permitted", Napi::Number::New(env, static_cast<double>(words[1] | hiPermitted)));
  o.Set("inheritable", Napi::Number::New(env, static_cast<double>(words[2] | hiInheritable)));
  o.Set("effective", Napi::Boolean::New(env, (words[0] & 1u) != 0));
  return o;
}

// raiseFdLimit(want: number) -> { soft, hard }: sets RLIMIT_NOFILE's soft limit to `want`, or to
// the hard limit when that is lower. A privileged process (CAP_SYS_RESOURCE) raises the hard limit
// to `want` as well; the kernel refuses more than fs.nr_open, and then the hard limit stays.
Napi::Value RaiseFdLimit(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "raiseFdLimit(want: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double wantD = info[0].As<Napi::Number>().DoubleValue();
  if (!(wantD >= 0) || wantD > 1e9) {
    Napi::RangeError::New(env, "raiseFdLimit: want must be between 0 and 1e9").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  rlim_t want = static_cast<rlim_t>(wantD);
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) {
    ThrowErrno(env, errno, "getrlimit");
    return env.Undefined();
  }
  if (want > r.rlim_max && r.rlim_max != RLIM_INFINITY) {
    struct rlimit both = {want, want};
    // EPERM without the capability, EINVAL/EPERM above fs.nr_open: keep the hard limit then
    if (setrlimit(RLIMIT_NOFILE, &both) == 0) r = both;
  }
  rlim_t soft = want < r.rlim_max || r.rlim_max == RLIM_INFINITY ? want : r.rlim_max;
  if (soft > r.rlim_cur) {
    struct rlimit raised = {soft, r.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      ThrowErrno(env, errno, "setrlimit");
      return env.Undefined();
    }
    r.rlim_cur = soft;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("soft", Napi::Number::New(env, r.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(r.rlim_cur)));
  o.Set("hard", Napi::Number::New(env, r.rlim_max == RLIM_INFINITY ? -1 : static_cast<double>(r.rlim_max)));
  return o;
}

} // namespace

void RegisterProcess(Napi::Env env, Napi::Object exports) {
  exports.Set("execve", Napi::Function::New(env, Execve, "execve"));
  exports.Set("fileCapabilities", Napi::Function::New(env, FileCapabilities, "fileCapabilities"));
  exports.Set("raiseFdLimit", Napi::Function::New(env, RaiseFdLimit, "raiseFdLimit"));
}
