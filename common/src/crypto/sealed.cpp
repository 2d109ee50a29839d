#include "lambda/crypto/sealed.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>

namespace lambda::crypto {
namespace {

constexpr std::string_view kVersion = "v1:";
constexpr int kNonceBytes = 12;
constexpr int kTagBytes = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Error Failed(const char* what) {
  return Error{Code::kInternal, std::string("AES-256-GCM: ") + what};
}

}  // namespace

ServerKey::~ServerKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

Result<ServerKey> ServerKey::Load(const std::string& path) {
  auto fail = [&](const std::string& why) {
    return Error{Code::kInvalidArgument, "server key file " + path + ": " + why};
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return fail("readable or writable by others than its owner (chmod 600 it)");
  }
  std::array<unsigned char, kBytes> bytes{};
  unsigned char extra = 0;
  ssize_t n = ::read(fd, bytes.data(), bytes.size());
  ssize_t more = n == static_cast<ssize_t>(kBytes) ? ::read(fd, &extra, 1) : 0;
  ::close(fd);
  ServerKey key(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  if (n != static_cast<ssize_t>(kBytes) || more != 0) {
    return fail("must hold exactly 32 bytes (e.g. head -c 32 /dev/urandom)");
  }
  return key;
}

Result<std::string> Seal(const ServerKey& key, std::string_view plain, std::string_view context) {
  unsigned char nonce[kNonceBytes];
  if (RAND_bytes(nonce, kNonceBytes) != 1) return Failed("no random bytes");
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  std::string out(plain.size() + 16, '\0');
  int len = 0, total = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(context),
                        static_cast<int>(context.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o, &len, Bytes(plain), static_cast<int>(plain.size())) != 1) {
    return Failed("encrypt");
  }
  total = len;
  unsigned char tag[kTagBytes];
  if (EVP_EncryptFinal_ex(ctx.get(), o + total, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, tag) != 1) {
    return Failed("encrypt");
  }
  total += len;
  out.resize(static_cast<size_t>(total));
  std::string raw(reinterpret_cast<const char*>(nonce), kNonceBytes);
  raw += out;
  raw.append(reinterpret_cast<const char*>(tag), kTagBytes);
  return std::string(kVersion) + ToHex(raw);
}

Result<std::string> Open(const ServerKey& key, std::string_view sealed, std::string_view context) {
  if (sealed.substr(0, kVersion.size()) != kVersion) return Failed("not a sealed value");
  auto raw = FromHex(sealed.substr(kVersion.size()));
  if (!raw || raw->size() < kNonceBytes + kTagBytes) return Failed("not a sealed value");
  std::string_view all(*raw);
  auto nonce = all.substr(0, kNonceBytes);
  auto cipher = all.substr(kNonceBytes, all.size() - kNonceBytes - kTagBytes);
  std::string tag(all.substr(all.size() - kTagBytes));
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  std::string out(cipher.size() + 16, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), Bytes(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(context),
                        static_cast<int>(context.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), o, &len, Bytes(cipher), static_cast<int>(cipher.size())) != 1) {
    return Failed("decrypt");
  }
  int total = len;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + total, &len) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return Failed("the sealed value does not open under this key (altered, or another key)");
  }
  total += len;
  out.resize(static_cast<size_t>(total));
  return out;
}

std::string HmacSha256Hex(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), Bytes(message), message.size(), mac,
       &len);
  return ToHex(std::string_view(reinterpret_cast<const char*>(mac), len));
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 15];
  }
  return out;
}

}  // namespace lambda::crypto
