// AES-GMAC-SIV (ZeroTier cipher suite 3) over a whole packet in place, with OpenSSL contexts made
// once per peer key (node's bundled OpenSSL; its symbols come from the node binary).
//
//   aesGmacSivCreate(k0: Buffer(32), k1: Buffer(32)) -> External   (the per-peer contexts)
//   aesGmacSivArmor(ctx, packet: Buffer) -> boolean     seal bytes 27.., tag into 0..8 and 19..27
//   aesGmacSivDearmor(ctx, packet: Buffer) -> boolean   open and check; on failure the packet is
//                                                       left as it was
// The packet layout and the construction are described in src/node/armor.ts and
// src/node/crypto/aes-gmac-siv.ts; the TypeScript path there is the reference and the fallback.
#include "crypto.h"

#include <openssl/evp.h>

#include <cstdint>
#include <cstring>

namespace {

constexpr size_t kIdxDest = 8;
constexpr size_t kIdxFlags = 18;
constexpr size_t kIdxMac = 19;
constexpr size_t kIdxVerb = 27;
constexpr size_t kMinPacket = 28;

struct Siv {
  EVP_CIPHER_CTX *gcm = nullptr;    // K0, GMAC
  EVP_CIPHER_CTX *ecbEnc = nullptr; // K1
  EVP_CIPHER_CTX *ecbDec = nullptr; // K1
  EVP_CIPHER_CTX *ctr = nullptr;    // K1
  ~Siv() {
    EVP_CIPHER_CTX_free(gcm);
    EVP_CIPHER_CTX_free(ecbEnc);
    EVP_CIPHER_CTX_free(ecbDec);
    EVP_CIPHER_CTX_free(ctr);
  }
  bool Init(const uint8_t *k0, const uint8_t *k1) {
    gcm = EVP_CIPHER_CTX_new();
    ecbEnc = EVP_CIPHER_CTX_new();
    ecbDec = EVP_CIPHER_CTX_new();
    ctr = EVP_CIPHER_CTX_new();
    if (!gcm || !ecbEnc || !ecbDec || !ctr) return false;
    if (EVP_EncryptInit_ex(gcm, EVP_aes_256_gcm(), nullptr, k0, nullptr) != 1) return false;
    if (EVP_EncryptInit_ex(ecbEnc, EVP_aes_256_ecb(), nullptr, k1, nullptr) != 1) return false;
    if (EVP_DecryptInit_ex(ecbDec, EVP_aes_256_ecb(), nullptr, k1, nullptr) != 1) return false;
    if (EVP_EncryptInit_ex(ctr, EVP_aes_256_ctr(), nullptr, k1, nullptr) != 1) return false;
    EVP_CIPHER_CTX_set_padding(ecbEnc, 0);
    EVP_CIPHER_CTX_set_padding(ecbDec, 0);
    return true;
  }

  // 16-byte GMAC of aad16 || data under K0 with IV iv8 || 0^32.
  bool Gmac(const uint8_t *iv8, const uint8_t *aad16, const uint8_t *data, size_t len, uint8_t *tag16) {
    uint8_t iv[12];
    std::memcpy(iv, iv8, 8);
    std::memset(iv + 8, 0, 4);
    int outl = 0;
    if (EVP_EncryptInit_ex(gcm, nullptr, nullptr, nullptr, iv) != 1) return false;
    if (EVP_EncryptUpdate(gcm, nullptr, &outl, aad16, 16) != 1) return false;
    if (len > 0 && EVP_EncryptUpdate(gcm, nullptr, &outl, data, static_cast<int>(len)) != 1) return false;
    uint8_t none[16];
    if (EVP_EncryptFinal_ex(gcm, none, &outl) != 1) return false;
    return EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, 16, tag16) == 1;
  }

  static bool Block(EVP_CIPHER_CTX *c, uint8_t *b16) {
    uint8_t out[32];
    int outl = 0;
    if (EVP_CipherUpdate(c, out, &outl, b16, 16) != 1 || outl != 16) return false;
    std::memcpy(b16, out, 16);
    return true;
  }

  // AES-CTR under K1 in place; IV = the encrypted tag block with bit 31 of its last word cleared.
  bool Ctr(const uint8_t *tag16, uint8_t *data, size_t len) {
    if (len == 0) return true;
    uint8_t iv[16];
    std::memcpy(iv, tag16, 16);
    iv[12] &= 0x7f;
    int outl = 0;
    if (EVP_EncryptInit_ex(ctr, nullptr, nullptr, nullptr, iv) != 1) return false;
    return EVP_EncryptUpdate(ctr, data, &outl, data, static_cast<int>(len)) == 1;
  }
};

// Destination, source and flags without the hop bits, padded with zeros to 16 bytes.
void FillAad(const uint8_t *p, uint8_t *aad16) {
  std::memcpy(aad16, p + kIdxDest, 11);
  aad16[10] &= 0xf8;
  std::memset(aad16 + 11, 0, 5);
}

bool Args(const Napi::CallbackInfo &info, Siv **siv, uint8_t **data, size_t *len) {
  if (info.Length() < 2 || !info[0].IsExternal() || !info[1].IsBuffer()) {
    Napi::TypeError::New(info.Env(), "expected (context, packet Buffer)").ThrowAsJavaScriptException();
    return false;
  }
  *siv = info[0].As<Napi::External<Siv>>().Data();
  auto buf = info[1].As<Napi::Buffer<uint8_t>>();
  *data = buf.Data();
  *len = buf.Length();
  return true;
}

Napi::Value Create(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsBuffer() ||
      info[0].As<Napi::Buffer<uint8_t>>().Length() != 32 || info[1].As<Napi::Buffer<uint8_t>>().Length() != 32) {
    Napi::TypeError::New(env, "expected two 32-byte key Buffers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto *siv = new Siv();
  if (!siv->Init(info[0].As<Napi::Buffer<uint8_t>>().Data(), info[1].As<Napi::Buffer<uint8_t>>().Data())) {
    delete siv;
    Napi::Error::New(env, "OpenSSL AES context set-up failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::External<Siv>::New(env, siv, [](Napi::Env, Siv *s) { delete s; });
}

Napi::Value Armor(const Napi::CallbackInfo &info) {
  Siv *siv;
  uint8_t *p;
  size_t len;
  if (!Args(info, &siv, &p, &len)) return info.Env().Undefined();
  if (len < kMinPacket) return Napi::Boolean::New(info.Env(), false);
  uint8_t aad[16], tag[16], block[16];
  FillAad(p, aad);
  if (!siv->Gmac(p, aad, p + kIdxVerb, len - kIdxVerb, tag)) return Napi::Boolean::New(info.Env(), false);
  std::memcpy(block, p, 8);
  for (int i = 0; i < 8; i++) block[8 + i] = tag[i] ^ tag[8 + i];
  if (!Siv::Block(siv->ecbEnc, block)) return Napi::Boolean::New(info.Env(), false);
  if (!siv->Ctr(block, p + kIdxVerb, len - kIdxVerb)) return Napi::Boolean::New(info.Env(), false);
  std::memcpy(p, block, 8);
  std::memcpy(p + kIdxMac, block + 8, 8);
  return Napi::Boolean::New(info.Env(), true);
}

Napi::Value Dearmor(const Napi::CallbackInfo &info) {
  Siv *siv;
  uint8_t *p;
  size_t len;
  if (!Args(info, &siv, &p, &len)) return info.Env().Undefined();
  if (len < kMinPacket || ((p[kIdxFlags] >> 3) & 7) != 3) return Napi::Boolean::New(info.Env(), false);
  uint8_t tag16[16], block[16], aad[16], gmac[16];
  std::memcpy(tag16, p, 8);
  std::memcpy(tag16 + 8, p + kIdxMac, 8);
  std::memcpy(block, tag16, 16);
  if (!Siv::Block(siv->ecbDec, block)) return Napi::Boolean::New(info.Env(), false);
  if (!siv->Ctr(tag16, p + kIdxVerb, len - kIdxVerb)) return Napi::Boolean::New(info.Env(), false);
  FillAad(p, aad);
  bool ok = siv->Gmac(block, aad, p + kIdxVerb, len - kIdxVerb, gmac);
  uint8_t diff = 0;
  for (int i = 0; i < 8; i++) diff |= static_cast<uint8_t>(gmac[i] ^ gmac[8 + i] ^ block[8 + i]);
  if (ok && diff == 0) return Napi::Boolean::New(info.Env(), true);
  siv->Ctr(tag16, p + kIdxVerb, len - kIdxVerb); // CTR again restores the ciphertext
  return Napi::Boolean::New(info.Env(), false);
}

} // namespace

void RegisterCrypto(Napi::Env env, Napi::Object exports) {
  exports.Set("aesGmacSivCreate", Napi::Function::New(env, Create, "aesGmacSivCreate"));
  exports.Set("aesGmacSivArmor", Napi::Function::New(env, Armor, "aesGmacSivArmor"));
  exports.Set("aesGmacSivDearmor", Napi::Function::New(env, Dearmor, "aesGmacSivDearmor"));
}
