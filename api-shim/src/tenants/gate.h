#pragma once
/// The tenant limits on the request path (SPEC §3): each tenant's limits, read from its limits
/// hash (keys::TenantLimits) and cached for `ttl_ms` (a stale entry is used while it is read
/// again, so the hot path pays no round trip but a tenant's first request), its request-rate
/// bucket (shared by all its keys, a batch costing one token per item), and the buckets of the
/// client addresses on the routes without a key. Thread: loop only.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lambda/domain/tenant_limits.h"
#include "lambda/redis/async_client.h"
#include "routes/table.h"
#include "tenants/buckets.h"
#include "tenants/refusal.h"

namespace lambda::shim {

/// What a request costs in tokens: the number of instances a batch (§4.4) or a Zenlayer
/// StartInstances/StopInstances names (at most 1,000), otherwise 1. Pure.
double RequestCost(routes::Route route, std::string_view body);

class TenantGate {
 public:
  struct Options {
    domain::TenantLimits defaults;
    double address_rate = 100;  ///< per client address on the routes without a key (0: off)
    double address_burst = 200;
    uint64_t ttl_ms = 2000;  ///< how long read limits are used before they are read again
  };
  using Decided =
      std::function<void(const domain::TenantLimits&, std::optional<LimitRefusal> refused)>;

  /// `redis` outlives this object.
  TenantGate(redis::Client* redis, std::string prefix, Options options);

  /// The tenant's limits, then `cost` tokens taken from its bucket (or the refusal). Redis not
  /// answering leaves the defaults in force. May answer inside the call.
  void Admit(const std::string& tenant, double cost, Decided done);
  /// One token from the bucket of a client address (a route without a key).
  std::optional<LimitRefusal> AdmitAddress(std::string_view address);

  /// The tenants whose limits are cached (for tests and /metrics).
  size_t cached() const { return cache_.size(); }

 private:
  struct Entry {
    domain::TenantLimits limits;
    uint64_t read_ms = 0;
    bool known = false;    ///< read at least once (else the waiters wait for the read)
    bool reading = false;  ///< a read is in flight
    std::vector<std::function<void(const domain::TenantLimits&)>> waiters;
  };
  void Read(const std::string& tenant);
  void Decide(const std::string& tenant, const domain::TenantLimits& limits, double cost,
              const Decided& done);

  redis::Client* redis_;
  std::string prefix_;
  Options options_;
  std::unordered_map<std::string, Entry> cache_;
  TokenBuckets tenants_;
  TokenBuckets addresses_;
};

}  // namespace lambda::shim
