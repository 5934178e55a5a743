// Each part of the binding adds its exports to the module through one Register function.
#pragma once

#include <napi.h>

void RegisterFd(Napi::Env env, Napi::Object exports);
void RegisterFdWatcher(Napi::Env env, Napi::Object exports);
void RegisterTap(Napi::Env env, Napi::Object exports);
void RegisterUdp(Napi::Env env, Napi::Object exports);
void RegisterChecksum(Napi::Env env, Napi::Object exports);
void RegisterProcess(Napi::Env env, Napi::Object exports);
void RegisterSeqpacket(Napi::Env env, Napi::Object exports);
void RegisterPing(Napi::Env env, Napi::Object exports);
