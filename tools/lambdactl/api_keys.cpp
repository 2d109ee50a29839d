#include "api_keys.h"

#include <cctype>
#include <cstdio>

#include "client_logic.h"
#include "lambda/domain/api_keys.h"
#include "lambda/redis/keys.h"
#include "lambda/util/util.h"
#include "redis_ask.h"

namespace lambda::ctl {

bool ValidKeyName(const std::string& n) {
  if (n.size() > 64) return false;
  for (char ch : n) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.' ||
          ch == ' '))
      return false;
  }
  return true;
}

namespace {

int Create(redis::SyncClient& c, const ApiKeyArgs& args) {
  if (!args.flag_without_value.empty()) {
    std::fprintf(stderr, "lambdactl: %s needs a value\n", args.flag_without_value.c_str());
    return 2;
  }
  const std::string& prefix = args.prefix;
  const std::string& tenant = args.tenant;
  const std::string& name = args.name;
  if (!ValidTenant(tenant)) {
    std::fprintf(stderr, "lambdactl: --tenant must be 1..64 of [A-Za-z0-9._-]\n");
    return 2;
  }
  auto scope = domain::ParseScope(args.scope);
  if (!scope) {
    std::fprintf(stderr, "lambdactl: --scope must be read, operate or admin\n");
    return 2;
  }
  if (!ValidKeyName(name)) {
    std::fprintf(stderr, "lambdactl: --name must be at most 64 of [A-Za-z0-9._- ]\n");
    return 2;
  }
  const std::string& expires = args.expires;
  int64_t expires_at = 0;
  const int64_t now = util::NowMs();
  if (!expires.empty()) {
    auto ms = domain::ParseDurationMs(expires);
    if (!ms) {
      std::fprintf(stderr, "lambdactl: --expires: %s\n", ms.error().message.c_str());
      return 2;
    }
    expires_at = now + *ms;
  }
  // 256 bits from the CSPRNG, URL-safe; only its SHA-256 is stored.
  std::string key = util::RandomToken(32);
  std::string hash = util::Sha256Hex(key);
  std::vector<std::string> hset{"HSET",       redis::keys::ApiKey(prefix, hash),
                                "tenant",     tenant,
                                "hash",       hash,
                                "created_at", util::Rfc3339(now),
                                "name",       name,
                                "scope",      std::string(domain::ScopeName(*scope))};
  if (expires_at != 0) {
    hset.insert(hset.end(), {"expires_at", std::to_string(expires_at)});
  }
  if (!Ask(c, hset) || !Ask(c, {"SADD", redis::keys::TenantApiKeys(prefix, tenant), hash}) ||
      !Ask(c, {"SADD", prefix + "tenants", tenant}))
    return 1;
  std::printf("%s\n", key.c_str());
  return 0;
}

/// The tenant's keys (those made since keys are indexed): id, name, scope, created, expires,
/// last used. Never the key itself (only its hash is stored).
int List(redis::SyncClient& c, const std::string& prefix, const std::string& tenant) {
  if (!ValidTenant(tenant)) {
    std::fprintf(stderr, "lambdactl: --tenant must be 1..64 of [A-Za-z0-9._-]\n");
    return 2;
  }
  auto hashes = Ask(c, {"SMEMBERS", redis::keys::TenantApiKeys(prefix, tenant)});
  if (!hashes) return 1;
  std::printf("%-16s %-20s %-8s %-24s %-24s %s\n", "ID", "NAME", "SCOPE", "CREATED", "EXPIRES",
              "LAST USED");
  const int64_t now = util::NowMs();
  for (const auto& h : hashes->elements) {
    auto row = Ask(c, {"HMGET", redis::keys::ApiKey(prefix, h.str), "created_at", "name", "scope",
                       "expires_at", "last_used"});
    if (!row) return 1;
    if (row->elements.size() != 5 || row->elements[0].is_nil()) continue;  // revoked meanwhile
    const auto& e = row->elements;
    std::string expires = "never";
    if (!e[3].is_nil()) {
      const int64_t at = util::ParseInt(e[3].str).value_or(0);
      expires = util::Rfc3339(at) + (at <= now ? " (expired)" : "");
    }
    std::printf("%-16s %-20s %-8s %-24s %-24s %s\n", h.str.substr(0, 16).c_str(),
                ForTerminal(e[1].is_nil() || e[1].str.empty() ? "-" : e[1].str).c_str(),
                std::string(domain::ScopeName(domain::StoredScope(e[2].str))).c_str(),
                ForTerminal(e[0].str).c_str(), expires.c_str(),
                e[4].is_nil() ? "never" : ForTerminal(e[4].str).c_str());
  }
  return 0;
}

int Revoke(redis::SyncClient& c, const std::string& prefix, const std::string& key) {
  const std::string hash = util::Sha256Hex(key);
  auto tenant = Ask(c, {"HGET", redis::keys::ApiKey(prefix, hash), "tenant"});
  if (!tenant) return 1;
  auto r = Ask(c, {"DEL", redis::keys::ApiKey(prefix, hash)});
  if (!r) return 1;
  if (r->integer == 0) {
    std::fprintf(stderr, "lambdactl: no such key\n");
    return 1;
  }
  if (!tenant->is_nil() && !Ask(c, {"SREM", redis::keys::TenantApiKeys(prefix, tenant->str), hash}))
    return 1;
  std::fprintf(stderr, "revoked (running shims stop trusting it within their key cache TTL)\n");
  return 0;
}

}  // namespace

int RunApiKey(redis::SyncClient& redis, const ApiKeyArgs& args) {
  const auto& pos = args.positional;
  if (pos.size() == 2 && pos[1] == "create") return Create(redis, args);
  if (pos.size() == 2 && pos[1] == "list") return List(redis, args.prefix, args.tenant);
  if (pos.size() == 3 && pos[1] == "revoke") return Revoke(redis, args.prefix, pos[2]);
  return 2;
}

}  // namespace lambda::ctl
