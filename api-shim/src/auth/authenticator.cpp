#include "auth/authenticator.h"

#include "lambda/redis/keys.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"

namespace lambda::shim {

std::optional<KeyIdentity> KeyCache::Lookup(const std::string& key, uint64_t now_ms) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires_ms > now_ms) return it->second.identity;
  // Expired: asked again from here (a revocation shows); kept for the stale window.
  if (it->second.expires_ms + stale_ms_ <= now_ms) entries_.erase(it);
  return std::nullopt;
}

std::optional<KeyIdentity> KeyCache::LookupStale(const std::string& key, uint64_t now_ms) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.expires_ms + stale_ms_ <= now_ms) return std::nullopt;
  return it->second.identity;
}

std::optional<std::string> KeyCache::Find(const std::string& key, uint64_t now_ms) {
  auto id = Lookup(key, now_ms);
  return id ? std::optional<std::string>(id->tenant) : std::nullopt;
}

std::optional<std::string> KeyCache::FindStale(const std::string& key, uint64_t now_ms) {
  auto id = LookupStale(key, now_ms);
  return id ? std::optional<std::string>(id->tenant) : std::nullopt;
}

void KeyCache::Put(const std::string& key, KeyIdentity identity, uint64_t now_ms) {
  if (ttl_ms_ == 0) return;
  if (entries_.size() >= max_entries_) entries_.clear();
  entries_[key] = {std::move(identity), now_ms + ttl_ms_};
}

bool TouchThrottle::Due(const std::string& hash, uint64_t now_ms) {
  auto it = last_.find(hash);
  if (it != last_.end() && now_ms < it->second + period_ms_) return false;
  if (it == last_.end() && last_.size() >= max_entries_) last_.clear();
  last_[hash] = now_ms;
  return true;
}

std::optional<KeyIdentity> Authenticator::Admit(std::optional<KeyIdentity> id, int64_t now_ms) {
  if (!id || id->ExpiredAt(now_ms)) return std::nullopt;
  if (!id->hash.empty() && touched_.Due(id->hash, static_cast<uint64_t>(now_ms))) {
    const redis::args::TouchKey t{prefix_, id->hash, util::Rfc3339(now_ms)};
    redis_->EvalSha(redis::scripts::TouchKey(), t.Keys(), t.Argv(),
                    [](const Result<redis::Value>&) {});
  }
  return id;
}

void Authenticator::Identify(const std::string& key, const IdentityDone& done) {
  if (key.empty() || key.size() > 256) return done(std::optional<KeyIdentity>{});
  const int64_t now = util::NowMs();
  if (auto id = cache_.Lookup(key, static_cast<uint64_t>(now))) return done(Admit(id, now));
  std::string hash = util::Sha256Hex(key);
  redis_->Command(
      {"HMGET", redis::keys::ApiKey(prefix_, hash), "tenant", "hash", "name", "scope",
       "expires_at"},
      [this, hash, key, done](Result<redis::Value> r) {
        const int64_t answered = util::NowMs();
        if (!r || r->is_error() || r->elements.size() != 5) {
          if (auto stale = cache_.LookupStale(key, static_cast<uint64_t>(answered))) {
            return done(Admit(std::move(stale), answered));
          }
          return done(Error{Code::kUnavailable, r ? r->str : r.error().message});
        }
        const auto& e = r->elements;
        // The lookup is by hash; the stored hash is still compared in constant time.
        if (e[0].is_nil() || e[1].is_nil() || !util::ConstantTimeEqual(e[1].str, hash)) {
          return done(std::optional<KeyIdentity>{});
        }
        KeyIdentity id{e[0].str,
                       hash.substr(0, 16),
                       e[2].is_nil() ? std::string() : e[2].str,
                       domain::StoredScope(e[3].is_nil() ? std::string_view() : e[3].str),
                       e[4].is_nil() ? 0 : util::ParseInt(e[4].str).value_or(1),
                       hash};
        cache_.Put(key, id, static_cast<uint64_t>(answered));
        done(Admit(std::move(id), answered));
      });
}

void Authenticator::Check(const std::string& key,
                          const std::function<void(Result<std::optional<std::string>>)>& done) {
  Identify(key, [done](Result<std::optional<KeyIdentity>> id) {
    if (!id) return done(id.error());
    if (!*id) return done(std::optional<std::string>{});
    done(std::optional<std::string>((*id)->tenant));
  });
}

}  // namespace lambda::shim
