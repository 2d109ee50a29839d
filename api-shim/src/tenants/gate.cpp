#include "tenants/gate.h"

#include <algorithm>

#include "lambda/json/json.h"
#include "lambda/log/log.h"
#include "lambda/redis/keys.h"
#include "lambda/util/util.h"

namespace lambda::shim {
namespace {

constexpr size_t kMaxCached = 100000;
constexpr double kMaxCost = 1000;

}  // namespace

double RequestCost(routes::Route route, std::string_view body) {
  const char* field = route == routes::Route::kBatch      ? "ids"
                      : route == routes::Route::kZenlayer ? "instanceIds"
                                                          : nullptr;
  if (field == nullptr || body.empty()) return 1;
  json::Document doc;
  if (!json::Parse(body, &doc) || !doc.IsObject()) return 1;
  auto it = doc.FindMember(field);
  if (it == doc.MemberEnd() || !it->value.IsArray()) return 1;
  return std::clamp(static_cast<double>(it->value.Size()), 1.0, kMaxCost);
}

TenantGate::TenantGate(redis::Client* redis, std::string prefix, Options options)
    : redis_(redis), prefix_(std::move(prefix)), options_(options) {}

void TenantGate::Admit(const std::string& tenant, double cost, Decided done) {
  const auto now = static_cast<uint64_t>(util::NowMs());
  auto it = cache_.find(tenant);
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxCached) cache_.clear();
    it = cache_.emplace(tenant, Entry{options_.defaults, 0, false, false, {}}).first;
  }
  Entry& e = it->second;
  if (e.known) {
    if (now - std::min(now, e.read_ms) >= options_.ttl_ms) Read(tenant);  // used meanwhile
    return Decide(tenant, e.limits, cost, done);
  }
  e.waiters.push_back(
      [this, tenant, cost, done = std::move(done)](const domain::TenantLimits& limits) {
        Decide(tenant, limits, cost, done);
      });
  Read(tenant);
}

void TenantGate::Read(const std::string& tenant) {
  Entry& entry = cache_[tenant];
  if (entry.reading) return;
  entry.reading = true;
  redis_->Command({"HGETALL", redis::keys::TenantLimits(prefix_, tenant)},
                  [this, tenant](Result<redis::Value> r) {
                    auto it = cache_.find(tenant);
                    if (it == cache_.end()) return;  // the cache was emptied meanwhile
                    Entry& e = it->second;
                    e.reading = false;
                    if (r && !r->is_error()) {
                      std::vector<std::pair<std::string, std::string>> fields;
                      for (size_t i = 0; i + 1 < r->elements.size(); i += 2) {
                        fields.emplace_back(r->elements[i].str, r->elements[i + 1].str);
                      }
                      e.limits = domain::LimitsFromFields(fields, options_.defaults);
                      e.read_ms = static_cast<uint64_t>(util::NowMs());
                      e.known = true;
                    } else {
                      // Limits are not worth a 503: the ones known (or the defaults) stay in force.
                      log::Warn("tenant limits not read",
                                {{"tenant", tenant}, {"error", r ? r->str : r.error().message}});
                    }
                    auto waiters = std::move(e.waiters);
                    e.waiters.clear();
                    const domain::TenantLimits limits = e.limits;
                    for (auto& w : waiters) w(limits);
                  });
}

void TenantGate::Decide(const std::string& tenant, const domain::TenantLimits& limits, double cost,
                        const Decided& done) {
  const auto now = static_cast<uint64_t>(util::NowMs());
  Taken t = tenants_.Take(tenant, now, cost, limits.rate, limits.burst);
  if (t.granted) return done(limits, std::nullopt);
  done(limits, RateRefusal(LimitRefusal::Kind::kRate, t, limits.rate, limits.burst));
}

std::optional<LimitRefusal> TenantGate::AdmitAddress(std::string_view address) {
  if (options_.address_rate <= 0) return std::nullopt;
  const auto now = static_cast<uint64_t>(util::NowMs());
  Taken t = addresses_.Take(address, now, 1, options_.address_rate, options_.address_burst);
  if (t.granted) return std::nullopt;
  return RateRefusal(LimitRefusal::Kind::kAddress, t, options_.address_rate,
                     options_.address_burst);
}

}  // namespace lambda::shim
