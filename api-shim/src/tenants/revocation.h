#pragma once
/// Revocation reaches what is already open (SPEC §3): every `period_ms` the API keys that hold
/// watches (held waits, event streams) are checked again through the key cache, and the watches
/// of a key that no longer checks (revoked, unknown) end: waits answer 401, streams close. A key
/// is asked of Redis at most once per cache lifetime, so a revocation shows within the cache's
/// lifetime plus one period. While Redis cannot answer, the key stays trusted as the cache does
/// (its stale window). Thread: loop only.
#include <uv.h>

#include <cstdint>
#include <memory>

#include "auth/authenticator.h"
#include "lambda/uv/handle.h"
#include "watch/hub.h"

namespace lambda::shim {

class KeyRevocation {
 public:
  /// `auth` and `hub` outlive this object.
  KeyRevocation(uv_loop_t* loop, Authenticator& auth, watch::Hub& hub, uint64_t period_ms);
  ~KeyRevocation() { *alive_ = false; }
  KeyRevocation(const KeyRevocation&) = delete;
  KeyRevocation& operator=(const KeyRevocation&) = delete;
  void Start();
  void Stop();
  /// One pass (what the timer runs).
  void Sweep();

 private:
  Authenticator& auth_;
  watch::Hub& hub_;
  uint64_t period_ms_;
  uv::Timer timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lambda::shim
