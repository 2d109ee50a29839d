#include "access_keys.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cctype>
#include <cstdio>

#include "client_logic.h"
#include "lambda/crypto/sealed.h"
#include "lambda/redis/keys.h"
#include "lambda/util/util.h"
#include "redis_ask.h"

namespace lambda::ctl {
namespace {

bool ValidName(const std::string& n) {
  if (n.size() > 64) return false;
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == ' '))
      return false;
  }
  return true;
}

int Create(redis::SyncClient& c, const AccessKeyArgs& a) {
  if (!ValidTenant(a.tenant)) {
    std::fprintf(stderr, "lambdactl: --tenant must be 1..64 of [A-Za-z0-9._-]\n");
    return 2;
  }
  if (!ValidName(a.name)) {
    std::fprintf(stderr, "lambdactl: --name must be at most 64 of [A-Za-z0-9._- ]\n");
    return 2;
  }
  if (a.server_key_file.empty()) {
    std::fprintf(stderr,
                 "lambdactl: accesskey create needs the api-shim's server key file "
                 "(--server-key-file or LAMBDA_SERVER_KEY_FILE)\n");
    return 2;
  }
  auto key = crypto::ServerKey::Load(a.server_key_file);
  if (!key) {
    std::fprintf(stderr, "lambdactl: %s\n", key.error().message.c_str());
    return 1;
  }
  const std::string id = NewAccessKeyId();
  // 256 bits from the CSPRNG, URL-safe; stored only sealed, bound to its id.
  std::string secret = util::RandomToken(32);
  auto sealed = crypto::Seal(*key, secret, id);
  if (!sealed) {
    OPENSSL_cleanse(secret.data(), secret.size());
    std::fprintf(stderr, "lambdactl: %s\n", sealed.error().message.c_str());
    return 1;
  }
  // The id is claimed first: one already taken (80 random bits: never in practice) is left alone.
  auto claimed = Ask(c, {"HSETNX", redis::keys::AccessKey(a.prefix, id), "tenant", a.tenant});
  if (!claimed || claimed->integer != 1) {
    if (claimed)
      std::fprintf(stderr, "lambdactl: access key id %s is taken; run it again\n", id.c_str());
    OPENSSL_cleanse(secret.data(), secret.size());
    return 1;
  }
  if (!Ask(c, {"HSET", redis::keys::AccessKey(a.prefix, id), "name", a.name, "created_at",
               util::Rfc3339(util::NowMs()), "secret", *sealed}) ||
      !Ask(c, {"SADD", redis::keys::TenantAccessKeys(a.prefix, a.tenant), id}) ||
      !Ask(c, {"SADD", a.prefix + "tenants", a.tenant})) {
    OPENSSL_cleanse(secret.data(), secret.size());
    return 1;
  }
  std::printf("%s\n%s\n", id.c_str(), secret.c_str());
  std::fflush(stdout);
  OPENSSL_cleanse(secret.data(), secret.size());
  std::fprintf(stderr,
               "access key id and secret above; the secret is shown only now "
               "(SDK: Credential(ID, SECRET))\n");
  return 0;
}

int List(redis::SyncClient& c, const AccessKeyArgs& a) {
  if (!ValidTenant(a.tenant)) {
    std::fprintf(stderr, "lambdactl: --tenant must be 1..64 of [A-Za-z0-9._-]\n");
    return 2;
  }
  auto ids = Ask(c, {"SMEMBERS", redis::keys::TenantAccessKeys(a.prefix, a.tenant)});
  if (!ids) return 1;
  std::printf("%-24s %-26s %s\n", "ID", "CREATED", "NAME");
  for (const auto& id : ids->elements) {
    auto row = Ask(c, {"HMGET", redis::keys::AccessKey(a.prefix, id.str), "created_at", "name"});
    if (!row) return 1;
    if (row->elements.size() != 2 || row->elements[0].is_nil()) continue;  // revoked meanwhile
    std::printf("%-24s %-26s %s\n", ForTerminal(id.str).c_str(),
                ForTerminal(row->elements[0].str).c_str(),
                ForTerminal(row->elements[1].str).c_str());
  }
  return 0;
}

int Revoke(redis::SyncClient& c, const AccessKeyArgs& a, const std::string& id) {
  auto tenant = Ask(c, {"HGET", redis::keys::AccessKey(a.prefix, id), "tenant"});
  if (!tenant) return 1;
  if (tenant->is_nil()) {
    std::fprintf(stderr, "lambdactl: no such access key\n");
    return 1;
  }
  if (!Ask(c, {"DEL", redis::keys::AccessKey(a.prefix, id)}) ||
      !Ask(c, {"SREM", redis::keys::TenantAccessKeys(a.prefix, tenant->str), id})) {
    return 1;
  }
  std::fprintf(stderr, "revoked (running shims stop trusting it within their key cache TTL)\n");
  return 0;
}

}  // namespace

std::string NewAccessKeyId() {
  unsigned char raw[10];
  if (RAND_bytes(raw, sizeof raw) != 1) std::abort();
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string id = "AK";
  for (unsigned char b : raw) {
    id += kDigits[b >> 4];
    id += kDigits[b & 15];
  }
  return id;
}

int RunAccessKey(redis::SyncClient& redis, const AccessKeyArgs& args) {
  const auto& pos = args.positional;
  if (pos.size() == 2 && pos[1] == "create") return Create(redis, args);
  if (pos.size() == 2 && pos[1] == "list") return List(redis, args);
  if (pos.size() == 3 && pos[1] == "revoke") return Revoke(redis, args, pos[2]);
  return 2;
}

}  // namespace lambda::ctl
