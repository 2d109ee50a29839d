#include "auth/access_keys.h"

#include <openssl/crypto.h>

#include "auth/zc2.h"
#include "lambda/log/log.h"
#include "lambda/redis/keys.h"
#include "lambda/util/util.h"

namespace lambda::shim {

std::string AccessKeyAuthenticator::BucketOf(const http::Request& req) {
  const auto* h = req.Header("authorization");
  if (h == nullptr) return {};
  auto a = zc2::ParseAuthorization(*h);
  return a ? "zc2:" + a->access_key_id : std::string();
}

void AccessKeyAuthenticator::Check(
    const http::Request& req, const std::function<void(Result<std::optional<std::string>>)>& done) {
  Identify(req, [done](Result<std::optional<KeyIdentity>> id) {
    if (!id) return done(id.error());
    if (!*id) return done(std::optional<std::string>{});
    done(std::optional<std::string>((*id)->tenant));
  });
}

void AccessKeyAuthenticator::Identify(const http::Request& req, const Done& done) {
  const std::optional<KeyIdentity> refused;
  auto signed_req = zc2::Read(req);
  if (!signed_req || !server_key_) return done(refused);
  const int64_t now_ms = util::NowMs();
  if (!zc2::Fresh(signed_req->timestamp, now_ms / 1000)) return done(refused);
  Pending p{signed_req->auth.access_key_id, signed_req->auth.signature,
            zc2::StringToSign(*signed_req), zc2::RequestDigest(req), signed_req->timestamp};
  if (auto it = cache_.find(p.access_key_id); it != cache_.end()) {
    if (it->second.expires_ms > static_cast<uint64_t>(now_ms)) return Verify(p, it->second, done);
    cache_.erase(it);  // asked again from here: a revocation shows
  }
  const std::string key = redis::keys::AccessKey(prefix_, p.access_key_id);
  redis_->Command(
      {"HMGET", key, "tenant", "secret"}, [this, p = std::move(p), done](Result<redis::Value> r) {
        if (!r || r->is_error() || r->elements.size() != 2) {
          return done(Error{Code::kUnavailable, r ? r->str : r.error().message});
        }
        const auto& tenant = r->elements[0];
        const auto& sealed = r->elements[1];
        if (tenant.is_nil() || sealed.is_nil()) return done(std::optional<KeyIdentity>{});
        // Sealed for its own id: a secret copied onto another id does not open.
        auto secret = crypto::Open(*server_key_, sealed.str, p.access_key_id);
        if (!secret) {
          log::Error("an access key's secret does not open under this shim's server key",
                     {{"access_key_id", p.access_key_id}, {"error", secret.error().message}});
          return done(std::optional<KeyIdentity>{});
        }
        Entry entry{tenant.str, std::move(*secret), static_cast<uint64_t>(util::NowMs()) + ttl_ms_};
        if (ttl_ms_ > 0) {
          if (cache_.size() >= kMaxCached) cache_.clear();
          cache_[p.access_key_id] = entry;
        }
        Verify(p, entry, done);
        OPENSSL_cleanse(entry.secret.data(), entry.secret.size());
      });
}

void AccessKeyAuthenticator::Verify(const Pending& p, const Entry& key, const Done& done) {
  if (!zc2::Verify(key.secret, p.string_to_sign, p.signature)) {
    return done(std::optional<KeyIdentity>{});
  }
  // Atomically: remember the signature with the request it signed, or read what it signed
  // before. The SDK signs neither the action nor the path, so only the same request may reuse it.
  const int64_t ttl = zc2::SeenTtlS(p.timestamp, util::NowMs() / 1000);
  redis_->Command(
      {"SET", redis::keys::SeenSignature(prefix_, p.signature), p.digest, "NX", "GET", "EX",
       std::to_string(ttl)},
      [who = KeyIdentity{key.tenant, p.access_key_id, {}, domain::KeyScope::kAdmin, 0, {}},
       digest = p.digest, id = p.access_key_id, done](Result<redis::Value> r) {
        if (!r || r->is_error()) {
          return done(Error{Code::kUnavailable, r ? r->str : r.error().message});
        }
        if (r->is_nil() || r->str == digest) {
          return done(std::optional<KeyIdentity>(who));
        }
        log::Warn("a signature seen on another request was refused (replay)",
                  {{"access_key_id", id}});
        done(std::optional<KeyIdentity>{});
      });
}

}  // namespace lambda::shim
