#pragma once
/// Actions in flight per tenant (SPEC §3: a tenant's instances in a transitional status), as the
/// status channel tells every shim: each status write publishes the instance, its status and its
/// owner, so every shim keeps the same count without a Redis read. An admission this shim made
/// counts at once (before its message comes back). Not atomic across shims: two shims admitting
/// for one tenant in the same few milliseconds may both pass its last place. An instance that
/// was in flight when the shim started counts from its next change. Bounded: past `max_ids` it
/// starts again empty (counting low, never refusing wrongly). Pure; thread: loop only.
#include <cstddef>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace lambda::shim {

class InFlight {
 public:
  explicit InFlight(size_t max_ids = 1000000) : max_ids_(max_ids) {}
  /// `id` of `owner` now has a status that is `settled` or not.
  void OnStatus(const std::string& owner, const std::string& id, bool settled);
  size_t Count(const std::string& tenant) const;
  size_t total() const { return total_; }

 private:
  size_t max_ids_;
  size_t total_ = 0;
  std::unordered_map<std::string, std::unordered_set<std::string>> by_tenant_;
};

}  // namespace lambda::shim
