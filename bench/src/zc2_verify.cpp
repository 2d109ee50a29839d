// What checking one ZC2-HMAC-SHA256 signed request costs the shim's loop thread, without the
// Redis round trips: reading the headers, the string to sign (two SHA-256), the digest of what
// the SDK leaves unsigned (one SHA-256) and the HMAC compared in constant time; and, apart, the
// AES-256-GCM open of a secret on a key cache miss.
//   zc2_verify [--iterations 5000] [--rounds 21]
// Prints: verify_us_median X, verify_us_min Y, open_us_median Z: CPU microseconds per request,
// the median and least over the rounds.
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "auth/zc2.h"
#include "lambda/crypto/sealed.h"

namespace {

using namespace lambda;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double ThreadCpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

/// CPU microseconds (this thread's, so a busy machine does not inflate it) per call of `f` over
/// `iterations` calls, for each of `rounds` rounds.
template <typename F>
std::vector<double> Rounds(int rounds, int iterations, F&& f) {
  std::vector<double> us;
  for (int r = 0; r < rounds; ++r) {
    double t0 = ThreadCpuUs();
    for (int i = 0; i < iterations; ++i) f();
    us.push_back((ThreadCpuUs() - t0) / iterations);
  }
  return us;
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 5000, rounds = 21;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--iterations") == 0) iterations = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::atoi(argv[i + 1]);
  }
  if (iterations < 1 || rounds < 1) {
    std::fprintf(stderr, "usage: zc2_verify [--iterations N] [--rounds R]\n");
    return 2;
  }
  const std::string secret = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";  // 43 chars, as made
  http::Request req;
  req.method = "POST";
  req.target = req.path = "/api/v2/vm";
  req.body = R"({"instanceIds": ["0b5c8f0e-8d1f-4f7e-9a51-7b0c2f1d3e4a"]})";
  req.headers = {{"host", "127.0.0.1:8080"},       {"content-type", "application/json"},
                 {"x-zc-action", "StopInstances"}, {"x-zc-signature-method", "ZC2-HMAC-SHA256"},
                 {"x-zc-timestamp", "1765100000"}, {"authorization", ""}};
  {
    req.headers.back().second =
        "ZC2-HMAC-SHA256 Credential=AK0, SignedHeaders=content-type;host, "
        "Signature=" +
        std::string(64, '0');
    auto unsigned_req = shim::zc2::Read(req);
    req.headers.back().second =
        "ZC2-HMAC-SHA256 Credential=AK0123456789ABCDEF0123, SignedHeaders=content-type;host, "
        "Signature=" +
        shim::zc2::Sign(secret, *unsigned_req);
  }
  size_t accepted = 0;
  auto verify = Rounds(rounds, iterations, [&] {
    auto r = shim::zc2::Read(req);
    std::string to_sign = shim::zc2::StringToSign(*r);
    std::string digest = shim::zc2::RequestDigest(req);
    accepted += shim::zc2::Verify(secret, to_sign, r->auth.signature) && !digest.empty();
  });
  if (accepted != static_cast<size_t>(rounds) * iterations) {
    std::fprintf(stderr, "zc2_verify: the signature did not verify\n");
    return 1;
  }
  std::array<unsigned char, crypto::ServerKey::kBytes> bytes{};
  bytes.fill(42);
  crypto::ServerKey key(bytes);
  auto sealed = crypto::Seal(key, secret, "AK0123456789ABCDEF0123");
  size_t opened = 0;
  auto open = Rounds(rounds, iterations,
                     [&] { opened += crypto::Open(key, *sealed, "AK0123456789ABCDEF0123").ok(); });
  std::printf("verify_us_median %.3f\nverify_us_min %.3f\nopen_us_median %.3f\n", Median(verify),
              *std::min_element(verify.begin(), verify.end()), Median(open));
  return opened == static_cast<size_t>(rounds) * iterations ? 0 : 1;
}
