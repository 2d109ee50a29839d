#pragma once
/// Fair dispatch inside one worker (SPEC §5): the commands it has been delivered but not yet
/// started, one FIFO per tenant, started round-robin across tenants as slots free, with
/// a cap on the slots one tenant may hold. Pure logic, no I/O; the consumer drives it.
///
/// Why a cap and not just round-robin: a slow job holds its slot for minutes, so a tenant that
/// took every slot before another arrived would keep them. With `max_running_per_tenant` below
/// `max_running`, a newcomer always finds a slot at once. Why a bound on what is held: held
/// deliveries are unacked and count against the broker's prefetch window; a tenant allowed to
/// fill that window hides every other tenant's messages behind it, so its excess is handed back
/// (the consumer defers it through the delayed-retry queue) instead of held.
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace lambda::worker {

struct FairLimits {
  size_t max_running = 256;             ///< jobs this worker runs at once
  size_t max_running_per_tenant = 128;  ///< of those, one tenant's
  size_t max_held_per_tenant = 64;      ///< delivered, not started, per tenant
  /// Held and running together: kept under the prefetch window, so that deliveries never stop
  /// (a newcomer's command is seen, an excess one deferred, and no backlog builds in the queue).
  size_t max_held = 512;
};

template <typename T>
class FairQueue {
 public:
  explicit FairQueue(FairLimits limits) : limits_(limits) {}

  /// Whether a new command of `tenant` may wait here; false: hand it back (defer). A tenant with
  /// nothing held is always let in, so the global bound never shuts a newcomer out.
  bool CanHold(const std::string& tenant) const {
    auto it = tenants_.find(tenant);
    size_t held = it == tenants_.end() ? 0 : it->second.queue.size();
    if (held == 0) return true;
    return held < limits_.max_held_per_tenant && held_ + running_ < limits_.max_held;
  }

  void Push(const std::string& tenant, T item) {
    auto& t = tenants_[tenant];
    if (t.queue.empty()) order_.push_back(tenant);
    t.queue.push_back(std::move(item));
    ++held_;
  }

  /// The next command to start, if a slot is free and some tenant under its cap waits: the
  /// first such tenant in round-robin order, which then goes to the back. Counts it running.
  std::optional<std::pair<std::string, T>> PopNext() {
    if (running_ >= limits_.max_running) return std::nullopt;
    for (size_t i = 0; i < order_.size(); ++i) {
      const std::string name = order_[i];
      auto& t = tenants_[name];
      if (t.running >= limits_.max_running_per_tenant) continue;
      T item = std::move(t.queue.front());
      t.queue.pop_front();
      --held_;
      ++t.running;
      ++running_;
      order_.erase(order_.begin() + static_cast<std::ptrdiff_t>(i));
      if (!t.queue.empty()) order_.push_back(name);
      return std::make_pair(name, std::move(item));
    }
    return std::nullopt;
  }

  /// A command that PopNext handed out has ended (its slot is free again).
  void Finished(const std::string& tenant) {
    auto it = tenants_.find(tenant);
    if (it == tenants_.end() || it->second.running == 0) return;
    --it->second.running;
    --running_;
    if (it->second.running == 0 && it->second.queue.empty()) tenants_.erase(it);
  }

  /// Everything held, in no particular order, removed (shutdown hands it back to the broker).
  template <typename Fn>
  void DrainHeld(Fn&& fn) {
    for (auto& [name, t] : tenants_) {
      while (!t.queue.empty()) {
        T item = std::move(t.queue.front());
        t.queue.pop_front();
        --held_;
        fn(name, std::move(item));
      }
    }
    order_.clear();
    for (auto it = tenants_.begin(); it != tenants_.end();) {
      it = it->second.running == 0 ? tenants_.erase(it) : std::next(it);
    }
  }

  size_t held() const { return held_; }
  size_t running() const { return running_; }
  size_t running_of(const std::string& tenant) const {
    auto it = tenants_.find(tenant);
    return it == tenants_.end() ? 0 : it->second.running;
  }
  size_t held_of(const std::string& tenant) const {
    auto it = tenants_.find(tenant);
    return it == tenants_.end() ? 0 : it->second.queue.size();
  }
  const FairLimits& limits() const { return limits_; }

 private:
  struct Tenant {
    std::deque<T> queue;
    size_t running = 0;
  };
  FairLimits limits_;
  std::map<std::string, Tenant> tenants_;
  std::deque<std::string> order_;  ///< tenants with something held, next first
  size_t held_ = 0;
  size_t running_ = 0;
};

}  // namespace lambda::worker
