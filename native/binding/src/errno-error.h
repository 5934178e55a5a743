// Errors from system calls reach JavaScript as an Error with `.errno` (positive POSIX errno),
// `.code` ('EBADF', …) and `.syscall`, like Node's own system errors.
#pragma once

#include <napi.h>

namespace ztnc {

// Throws the error as a pending JavaScript exception; the caller returns right after.
void ThrowErrno(Napi::Env env, int err, const char *syscall);

// Reads an int32 argument, throwing TypeError when it is missing or not a number.
bool ArgInt(const Napi::CallbackInfo &info, size_t i, const char *what, int32_t *out);

} // namespace ztnc
