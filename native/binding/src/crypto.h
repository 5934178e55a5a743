// AES-GMAC-SIV packet armor (ZeroTier cipher suite 3) on OpenSSL contexts that are kept per peer
// key and reused, instead of node:crypto's per-packet cipher objects.
#pragma once

#include <napi.h>

void RegisterCrypto(Napi::Env env, Napi::Object exports);
