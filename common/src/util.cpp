#include "lambda/util/util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>
#include <random>
#include <stdexcept>

namespace lambda::util {
namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return Hex(out, len);
}

std::atomic<uint64_t> forks_seen{0};

/// Bytes from OpenSSL's CSPRNG, drawn 4 KiB at a time per thread: one RAND_bytes call costs
/// ~6,000 instructions whatever its size, 7.6 % of the shim's per start (an admission token
/// each). A byte is handed out once and wiped; a forked child discards what its parent drew.
void RandomBytes(unsigned char* out, size_t n) {
  static const bool registered = [] {
    return pthread_atfork(nullptr, nullptr, [] { forks_seen.fetch_add(1); }) == 0;
  }();
  struct Pool {
    unsigned char bytes[4096];
    size_t used = sizeof bytes;
    uint64_t forks = 0;
  };
  if (!registered) {  // no fork hook: no buffer either, each call asks OpenSSL itself
    if (RAND_bytes(out, static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
    return;
  }
  thread_local Pool pool;
  if (const uint64_t forks = forks_seen.load(std::memory_order_relaxed); pool.forks != forks) {
    pool.used = sizeof pool.bytes;  // drawn before a fork: the parent hands these out
    pool.forks = forks;
  }
  while (n > 0) {
    if (pool.used == sizeof pool.bytes) {
      if (RAND_bytes(pool.bytes, sizeof pool.bytes) != 1)
        throw std::runtime_error("RAND_bytes failed");
      pool.used = 0;
    }
    const size_t take = std::min(n, sizeof pool.bytes - pool.used);
    std::memcpy(out, pool.bytes + pool.used, take);
    OPENSSL_cleanse(pool.bytes + pool.used, take);
    pool.used += take;
    out += take;
    n -= take;
  }
}

}  // namespace

/// UUID v4 from the CSPRNG: ids are handed to clients (X-Request-Id, instance ids), and a
/// seeded PRNG would let one client predict another tenant's next id.
std::string NewUuid() {
  unsigned char b[16];
  RandomBytes(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // variant 10
  std::string h = Hex(b, 16);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::string RandomToken(size_t n_bytes) {
  std::string raw(n_bytes, '\0');
  RandomBytes(reinterpret_cast<unsigned char*>(raw.data()), n_bytes);
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : raw) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      out += kAlphabet[(acc >> (bits - 6)) & 63];
      bits -= 6;
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::string Sha256Hex(std::string_view data) { return Digest(EVP_sha256(), data); }
std::string Sha1Hex(std::string_view data) { return Digest(EVP_sha1(), data); }

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

uint64_t BackoffMs(uint64_t first_ms, uint64_t cap_ms, int attempt, double unit) {
  uint64_t base = std::min(first_ms, cap_ms);
  // Doubling stops at the cap (and long before a shift could overflow).
  for (int i = 1; i < attempt && base < cap_ms; ++i) base = std::min(base * 2, cap_ms);
  uint64_t half = base / 2;
  auto spread = static_cast<double>(base - half);
  return half + static_cast<uint64_t>(spread * std::clamp(unit, 0.0, 1.0));
}

uint64_t BackoffMs(uint64_t first_ms, uint64_t cap_ms, int attempt) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return BackoffMs(first_ms, cap_ms, attempt, std::uniform_real_distribution<double>(0, 1)(rng));
}

namespace {
std::string Rfc3339Uncached(int64_t unix_ms) {
  time_t secs = static_cast<time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return buf;
}
}  // namespace

std::string Rfc3339(int64_t unix_ms) {
  // The seconds are formatted once per second per thread: gmtime, strftime and snprintf were
  // ~2 % of the shim's instructions per start (two timestamps each), most in the same second.
  thread_local int64_t cached_secs = -1;
  thread_local char cached[20];  // "YYYY-MM-DDTHH:MM:SS"
  const int64_t secs = unix_ms / 1000;
  if (unix_ms >= 0 && secs != cached_secs) {
    const auto t = static_cast<time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    cached_secs = std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm) == 19 ? secs : -1;
  }
  if (unix_ms < 0 || cached_secs != secs) return Rfc3339Uncached(unix_ms);
  const int ms = static_cast<int>(unix_ms % 1000);
  const char tail[5] = {'.', static_cast<char>('0' + ms / 100),
                        static_cast<char>('0' + ms / 10 % 10), static_cast<char>('0' + ms % 10),
                        'Z'};
  std::string out;
  out.reserve(24);
  out.append(cached, 19).append(tail, 5);
  return out;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string UrlDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  auto hexval = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out += static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when the bytes there are not one.
size_t Utf8SequenceAt(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = Utf8SequenceAt(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string ToValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  bool replacing = false;
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceAt(s, i);
    if (n == 0) {
      if (!replacing) out += "\xEF\xBF\xBD";
      replacing = true;
      ++i;
      continue;
    }
    replacing = false;
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string JsonEscape(std::string_view raw) {
  std::string valid;
  std::string_view s = raw;
  if (!IsValidUtf8(raw)) {
    valid = ToValidUtf8(raw);
    s = valid;
  }
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> pieces;
  for (size_t start = 0;;) {
    size_t end = s.find(sep, start);
    pieces.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return pieces;
    start = end + 1;
  }
}

}  // namespace lambda::util
