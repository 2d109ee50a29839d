#include "tenants/revocation.h"

namespace lambda::shim {

KeyRevocation::KeyRevocation(uv_loop_t* loop, Authenticator& auth, watch::Hub& hub,
                             uint64_t period_ms)
    : auth_(auth), hub_(hub), period_ms_(period_ms), timer_(loop) {}

void KeyRevocation::Start() {
  timer_.Start(period_ms_, period_ms_, [this] { Sweep(); });
}

void KeyRevocation::Stop() { timer_.Stop(); }

void KeyRevocation::Sweep() {
  for (const auto& key : hub_.Keys()) {
    auth_.Check(key, [this, key, alive = alive_](Result<std::optional<std::string>> tenant) {
      // Unknown now (Redis away, past the stale window) is not revoked: only a definite no ends.
      if (!*alive || !tenant || *tenant) return;
      hub_.EndKey(key);
    });
  }
}

}  // namespace lambda::shim
