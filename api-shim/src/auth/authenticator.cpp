#include "auth/authenticator.h"

#include "lambda/util/util.h"

namespace lambda::shim {

std::optional<std::string> KeyCache::Find(const std::string& key, uint64_t now_ms) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires_ms > now_ms) return it->second.tenant;
  // Expired: asked again from here (a revocation shows); kept for the stale window.
  if (it->second.expires_ms + stale_ms_ <= now_ms) entries_.erase(it);
  return std::nullopt;
}

std::optional<std::string> KeyCache::FindStale(const std::string& key, uint64_t now_ms) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.expires_ms + stale_ms_ <= now_ms) return std::nullopt;
  return it->second.tenant;
}

void KeyCache::Put(const std::string& key, const std::string& tenant, uint64_t now_ms) {
  if (ttl_ms_ == 0) return;
  if (entries_.size() >= max_entries_) entries_.clear();
  entries_[key] = {tenant, now_ms + ttl_ms_};
}

void Authenticator::Check(const std::string& key,
                          const std::function<void(Result<std::optional<std::string>>)>& done) {
  if (key.empty() || key.size() > 256) return done(std::optional<std::string>{});
  const auto now = static_cast<uint64_t>(util::NowMs());
  if (auto tenant = cache_.Find(key, now)) return done(std::move(tenant));
  std::string hash = util::Sha256Hex(key);
  redis_->Command({"HMGET", prefix_ + "k:" + hash, "tenant", "hash"}, [this, hash, key, done](
                                                                          Result<redis::Value> r) {
    if (!r || r->is_error() || r->elements.size() != 2) {
      if (auto stale = cache_.FindStale(key, static_cast<uint64_t>(util::NowMs()))) {
        return done(std::move(stale));
      }
      return done(Error{Code::kUnavailable, r ? r->str : r.error().message});
    }
    const auto& tenant = r->elements[0];
    const auto& stored = r->elements[1];
    // The lookup is by hash; the stored hash is still compared in constant time.
    if (tenant.is_nil() || stored.is_nil() || !util::ConstantTimeEqual(stored.str, hash)) {
      return done(std::optional<std::string>{});
    }
    cache_.Put(key, tenant.str, static_cast<uint64_t>(util::NowMs()));
    done(std::optional<std::string>(tenant.str));
  });
}

}  // namespace lambda::shim
