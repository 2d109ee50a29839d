// lambdactl: the admin CLI (SPEC §7). The admin verbs talk to Redis (and RabbitMQ) directly; the
// client verbs (client.cpp) talk to the HTTP API like any user.

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "access_keys.h"
#include "api_keys.h"
#include "client.h"
#include "client_logic.h"
#include "dlq.h"
#include "lambda/amqp/config.h"
#include "lambda/domain/api_keys.h"
#include "lambda/domain/status.h"
#include "lambda/redis/async_client.h"
#include "lambda/redis/keys.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/redis/sync_client.h"
#include "lambda/util/util.h"
#include "tenants.h"

namespace {

using namespace lambda;

using Redis = redis::SyncClient;

int Usage() {
  std::fprintf(
      stderr,
      "usage: lambdactl COMMAND [ARGS]\n"
      "Client verbs (over HTTP; LAMBDA_URL and LAMBDA_API_KEY from the environment, --url and\n"
      "--api-key, or $LAMBDA_STATE_DIR/env as scripts/up wrote it):\n"
      "  create --name N [--slaves K --vcpus-master C --vcpus-slave C --ram-master MB\n"
      "         --ram-slave MB --disk-master GB --disk-slave GB --ip-allocation none|master|all\n"
      "         --network-request N --project P --public-key-name K] | -f spec.json\n"
      "                                create an instance; prints its id\n"
      "  start ID | stop ID | destroy ID | cancel ID\n"
      "     each with --wait [--timeout S]: follow the instance until it gets there (progress on\n"
      "     stderr: one updating line on a terminal, plain lines when piped); cancel rolls a\n"
      "     transitional instance back (a create to DESTROYED, a start to STOPPED, a stop to\n"
      "     STARTED)\n"
      "  status ID                     the current status\n"
      "  list [--limit N]              the tenant's instances\n"
      "  watch ID                      print each change until the instance settles\n"
      "  events ID                     the status history\n"
      "  --json prints the server's JSON instead (events as one JSON object per line)\n"
      "  exit codes: 0 reached, 1 ended in a failed status, 2 usage, 3 timeout, 4 refused (the\n"
      "  server's text is printed), 5 unreachable\n"
      "Admin verbs (straight to Redis/RabbitMQ; --redis-url URL --redis-prefix P):\n"
      "  apikey create --tenant T [--scope read|operate|admin] [--expires N(s|m|h|d)] [--name N]\n"
      "                                create a key (printed once); scope: read may only GET,\n"
      "                                operate (default) may also act, admin may also manage\n"
      "                                webhooks, schedules and keys; expired: refused (401)\n"
      "  apikey list --tenant T        id, name, scope, created, expires, last used\n"
      "  apikey revoke KEY             revoke a key\n"
      "  accesskey create --tenant T [--name N] [--server-key-file F]\n"
      "                                an access key pair for signed (ZC2-HMAC-SHA256) requests:\n"
      "                                prints its id and secret (once); F: the api-shim's\n"
      "                                --server-key-file (default LAMBDA_SERVER_KEY_FILE)\n"
      "  accesskey list --tenant T     the tenant's access key ids, created, name (no secrets)\n"
      "  accesskey revoke ID           revoke an access key\n"
      "  tenant set T [--max-instances N] [--max-inflight N] [--rate R --burst B]\n"
      "               [--max-watchers N]\n"
      "                                a tenant's quotas and limits (a value 'default' goes\n"
      "                                back to the api-shim's; built-in: 1000 live instances,\n"
      "                                200 in a transitional status (actions in flight),\n"
      "                                200 requests/s with a burst of 1000, a batch costing one\n"
      "                                per item, 1000 held waits and streams per shim)\n"
      "  tenant show T                 its limits and live instances\n"
      "  seed --count N --status S --tenant T [--slaves K]\n"
      "  outbox   (how many admissions are pending in the outbox, all buckets)\n"
      "  keys ID  (where an instance lives: its keys, its outbox bucket and their slot)\n"
      "  migrate-keys   (a store written before keys were laid out for Redis Cluster, converted\n"
      "                 in place; one server, the stack stopped; running it again is harmless)\n"
      "                                write N instances straight into Redis; prints ids\n"
      "  dlq list [--max N]            show dead-lettered commands with their reason\n"
      "  dlq replay [--max N]          publish them to the actions queue again\n"
      "  dlq purge                     drop every dead-lettered command\n"
      "Environment: LAMBDA_REDIS_URL, LAMBDA_REDIS_PREFIX, LAMBDA_AMQP_URL, LAMBDA_AMQP_PREFIX,\n"
      "  LAMBDA_SERVER_KEY_FILE\n");
  return 2;
}

struct Args {
  std::vector<std::string> positional;
  std::string Flag(const std::string& name, const std::string& fallback) const {
    for (size_t i = 0; i + 1 < all.size(); ++i) {
      if (all[i] == "--" + name) return all[i + 1];
    }
    for (const auto& a : all) {
      if (a.rfind("--" + name + "=", 0) == 0) return a.substr(name.size() + 3);
    }
    return fallback;
  }
  std::vector<std::string> all;
};

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

/// One server or a Redis Cluster (redis+cluster://): exits on a URL it cannot use.
std::unique_ptr<Redis> Connect(const std::string& url) {
  auto cfg = redis::ParseUrl(url);
  if (!cfg) {
    std::fprintf(stderr, "lambdactl: %s\n", cfg.error().message.c_str());
    std::exit(2);
  }
  // The same handshake as the binaries: a refused AUTH or SELECT is an error, not ignored.
  auto c = Redis::Connect(*cfg);
  if (!c) {
    std::fprintf(stderr, "lambdactl: cannot connect to redis at %s: %s\n", url.c_str(),
                 c.error().message.c_str());
    std::exit(1);
  }
  return std::move(*c);
}

/// The answer to `argv`; exits on an error answer or a lost connection.
redis::Value Command(Redis* c, const std::vector<std::string>& argv) {
  auto r = c->Command(argv);
  if (!r) {
    std::fprintf(stderr, "lambdactl: redis error: %s\n", r.error().message.c_str());
    std::exit(1);
  }
  if (r->is_error()) {
    std::fprintf(stderr, "lambdactl: redis error: %s\n", r->str.c_str());
    std::exit(1);
  }
  return std::move(*r);
}

std::string SeedServers(const std::string& id, int slaves, bool running) {
  std::string status = running ? "ACTIVE" : "SHUTOFF";
  std::string out = "[";
  for (int i = 0; i <= slaves; ++i) {
    if (i > 0) out += ",";
    // Named as every provider names its VMs (lambda-<id>-master, lambda-<id>-slave-<n>).
    std::string name = "lambda-" + id + (i == 0 ? "-master" : "-slave-" + std::to_string(i));
    out += R"({"id":")" + id.substr(0, 8) + "-" + std::to_string(i) + R"(","name":")" + name +
           R"(","role":")" + (i == 0 ? "master" : "slave") + R"(","status":")" + status +
           R"(","private_ip":"10.0.0.)" + std::to_string(i + 2) + R"(","public_ip":)" +
           (i == 0 ? "\"203.0.113.10\"" : "null") + "}";
  }
  return out + "]";
}

/// EVALSHA of `script` (loaded on every master first) with its typed KEYS and ARGV.
template <typename ScriptArgs>
std::vector<std::string> Eval(const redis::Script& script, const ScriptArgs& a) {
  std::vector<std::string> keys = a.Keys();
  std::vector<std::string> args = a.Argv();
  std::vector<std::string> argv{"EVALSHA", script.sha, std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), std::make_move_iterator(args.begin()),
              std::make_move_iterator(args.end()));
  return argv;
}

/// Seeds go through the writers a real create goes through, so they have exactly the key schema
/// of one: the seq and index_create.lua index it, admit_create.lua writes the record, claim.lua
/// and a final write_status.lua settle it in the wanted status with its servers (as a worker
/// would). Pipelined per node, on one server or a cluster.
int Seed(Redis* c, const std::string& prefix, const Args& args) {
  auto count = util::ParseInt(args.Flag("count", "1"));
  auto status = domain::FromName(args.Flag("status", "STOPPED"));
  auto slaves = util::ParseInt(args.Flag("slaves", "1"));
  std::string tenant = args.Flag("tenant", "");
  if (!count || *count < 1 || *count > 10000000 || !status || !domain::IsSettled(*status) ||
      !slaves || *slaves < 0 || *slaves > 64 || !ctl::ValidTenant(tenant)) {
    std::fprintf(stderr,
                 "lambdactl: seed needs --count 1..10000000 --status SETTLED_STATUS --tenant T "
                 "[--slaves 0..64]\n");
    return 2;
  }
  const auto& index = redis::scripts::IndexCreate();
  const auto& create = redis::scripts::AdmitCreate();
  const auto& claim = redis::scripts::Claim();
  const auto& write = redis::scripts::WriteStatus();
  for (const auto* script : {&index, &create, &claim, &write}) {
    if (auto loaded = c->OnEveryMaster({"SCRIPT", "LOAD", script->body}); !loaded) {
      std::fprintf(stderr, "lambdactl: redis error: %s\n", loaded.error().message.c_str());
      return 1;
    }
  }
  constexpr const char* kWorker = "lambdactl-seed";
  constexpr uint64_t kLeaseMs = 60000;
  constexpr int kHistoryMax = 1000;
  const int64_t now = util::NowMs();
  const std::string now_text = util::Rfc3339(now);
  const std::string token = util::RandomToken(16);
  constexpr int kBatch = 1000;
  for (int64_t done = 0; done < *count;) {
    int64_t n = std::min<int64_t>(kBatch, *count - done);
    const int64_t last_seq =
        Command(c, {"INCRBY", redis::keys::SeqCounter(prefix), std::to_string(n)}).integer;
    const bool destroyed = *status == domain::InstanceStatus::kDestroyed;
    std::vector<std::vector<std::string>> batch;
    std::vector<std::string> ids;
    for (int64_t i = 0; i < n; ++i) {
      std::string id = util::NewUuid();
      std::string name = "seed-" + id.substr(0, 8);
      std::string info =
          R"({"instance_name":")" + name + R"(","master_name":")" + name + R"(-master","slaves":)" +
          std::to_string(*slaves) +
          R"(,"vcpus_master":2,"vcpus_slave":2,"ram_master":2048,"ram_slave":2048,"disk_master":10,"disk_slave":10,"ip_allocation":"master","network_request":1,"project_name":"seed"})";
      const int64_t seq = last_seq - n + 1 + static_cast<int64_t>(ids.size());
      batch.push_back(Eval(index, redis::args::IndexCreate{prefix, tenant, id, seq}));
      batch.push_back({"HSET", redis::keys::SeqMap(prefix), std::to_string(seq), id});
      batch.push_back(
          Eval(create, redis::args::AdmitCreate{prefix, id, tenant, name, info, "seed", now,
                                                now_text, kHistoryMax, token, seq}));
      batch.push_back(Eval(claim, redis::args::Claim{prefix, id, 1, kWorker, kLeaseMs}));
      batch.push_back(Eval(
          write, redis::args::WriteStatus{prefix, id, 1, kWorker, domain::CodeOf(*status), "",
                                          SeedServers(id, static_cast<int>(*slaves),
                                                      *status == domain::InstanceStatus::kStarted),
                                          true, now, now_text, "seed", kLeaseMs,
                                          id.substr(0, 8) + "-0", kHistoryMax, ""}));
      if (destroyed) batch.push_back({"ZREM", redis::keys::TenantLive(prefix, tenant), id});
      ids.push_back(std::move(id));
    }
    for (const auto& r : c->Pipeline(batch)) {
      if (!r) {
        std::fprintf(stderr, "lambdactl: redis error: %s\n", r.error().message.c_str());
        return 1;
      }
      if (r->is_error()) {
        std::fprintf(stderr, "lambdactl: seed refused: %s\n", r->str.c_str());
        return 1;
      }
    }
    for (const auto& id : ids) std::printf("%s\n", id.c_str());
    done += n;
  }
  return 0;
}

/// The outbox depth: the size of every bucket (one per slot, keys.h), pipelined.
int Outbox(Redis* c, const std::string& prefix) {
  std::vector<std::vector<std::string>> buckets;
  buckets.reserve(redis::keys::kSlots);
  for (int slot = 0; slot < redis::keys::kSlots; ++slot) {
    buckets.push_back({"ZCARD", redis::keys::PendingBucket(prefix, slot)});
  }
  long long total = 0;
  for (const auto& r : c->Pipeline(buckets)) {
    if (!r || r->type != redis::Value::Type::kInteger) {
      std::fprintf(stderr, "lambdactl: outbox: %s\n",
                   !r              ? r.error().message.c_str()
                   : r->is_error() ? r->str.c_str()
                                   : "unexpected");
      return 1;
    }
    total += r->integer;
  }
  std::printf("%lld\n", total);
  return 0;
}

/// Every key matching `pattern` (SCAN, so the server is never blocked for long).
std::vector<std::string> Scan(Redis* c, const std::string& pattern) {
  std::vector<std::string> out;
  std::string cursor = "0";
  do {
    auto r = Command(c, {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (r.elements.size() != 2) break;
    cursor = r.elements[0].str;
    for (auto& k : r.elements[1].elements) out.push_back(std::move(k.str));
  } while (cursor != "0");
  return out;
}

/// The keys of the layout before hash tags (i:<id>, h:<id>, lease:<id>, one `pending` ZSET,
/// t:<tenant>:ids, t:<tenant>:live as a SET) renamed into keys.h's: nothing is lost, and what is
/// in the new layout already is left alone. A lease key of either layout (lease:<id>,
/// lease:{<id>}) becomes the instance's lease_by and lease_until fields, for what is left of it.
int MigrateKeys(Redis* c, const std::string& prefix) {
  size_t instances = 0, pending = 0, tenants = 0;
  auto untagged = [](const std::string& k) { return k.find('{') == std::string::npos; };
  for (const auto& key : Scan(c, prefix + "i:*")) {
    if (!untagged(key)) continue;
    const std::string id = key.substr(prefix.size() + 2);
    Command(c, {"RENAMENX", key, redis::keys::Instance(prefix, id)});
    const std::string old_history = prefix + "h:" + id;
    if (Command(c, {"EXISTS", old_history}).integer == 1) {
      Command(c, {"RENAMENX", old_history, redis::keys::History(prefix, id)});
    }
    ++instances;
  }
  for (const auto& key : Scan(c, prefix + "lease:*")) {
    std::string id = key.substr(prefix.size() + 6);
    if (id.size() > 2 && id.front() == '{' && id.back() == '}') id = id.substr(1, id.size() - 2);
    auto holder = Command(c, {"GET", key});
    auto ttl = Command(c, {"PTTL", key});
    auto now = Command(c, {"TIME"});
    const std::string instance = redis::keys::Instance(prefix, id);
    if (!holder.is_nil() && ttl.integer > 0 && now.elements.size() == 2 &&
        Command(c, {"EXISTS", instance}).integer == 1) {
      const long long until = std::atoll(now.elements[0].str.c_str()) * 1000 +
                              std::atoll(now.elements[1].str.c_str()) / 1000 + ttl.integer;
      Command(c, {"HSET", instance, "lease_by", holder.str, "lease_until", std::to_string(until)});
    }
    Command(c, {"DEL", key});
  }
  const std::string old_pending = prefix + "pending";
  auto entries = Command(c, {"ZRANGE", old_pending, "0", "-1", "WITHSCORES"});
  for (size_t i = 0; i + 1 < entries.elements.size(); i += 2) {
    const std::string& id = entries.elements[i].str;
    Command(c, {"ZADD", redis::keys::PendingOf(prefix, id), entries.elements[i + 1].str, id});
    ++pending;
  }
  Command(c, {"DEL", old_pending});
  for (const auto& key : Scan(c, prefix + "t:*:ids")) {
    if (!untagged(key)) continue;
    const std::string tenant = key.substr(prefix.size() + 2, key.size() - prefix.size() - 6);
    Command(c, {"RENAMENX", key, redis::keys::TenantIds(prefix, tenant)});
    // live was a SET; now a ZSET by seq (Describe pages it in creation order).
    const std::string old_live = prefix + "t:" + tenant + ":live";
    for (const auto& id : Command(c, {"SMEMBERS", old_live}).elements) {
      auto seq = Command(c, {"HGET", redis::keys::Instance(prefix, id.str), "seq"});
      if (seq.is_nil()) continue;  // an instance that is gone has no place in it
      Command(c, {"ZADD", redis::keys::TenantLive(prefix, tenant), seq.str, id.str});
    }
    Command(c, {"DEL", old_live});
    ++tenants;
  }
  std::printf("migrated %zu instances, %zu pending admissions, %zu tenants\n", instances, pending,
              tenants);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) args.all.emplace_back(argv[i]);
  if (!args.all.empty() && ctl::IsClientVerb(args.all[0])) {
    // --name value, --name=value, -f file; --wait and --json take no value.
    std::vector<std::string> positional;
    std::map<std::string, std::string> flags;
    std::set<std::string> switches;
    for (size_t i = 0; i < args.all.size(); ++i) {
      const std::string& a = args.all[i];
      if (a == "--wait" || a == "--json") {
        switches.insert(a.substr(2));
      } else if (a == "-h" || a == "--help") {
        return Usage();
      } else if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
        flags[a.substr(2, a.find('=') - 2)] = a.substr(a.find('=') + 1);
      } else if (a.rfind("--", 0) == 0 || a == "-f") {
        if (i + 1 >= args.all.size()) {
          std::fprintf(stderr, "lambdactl: %s needs a value\n", a.c_str());
          return 2;
        }
        flags[a == "-f" ? "f" : a.substr(2)] = args.all[++i];
      } else {
        positional.push_back(a);
      }
    }
    return ctl::RunClient(positional, flags, switches);
  }
  // Positional words are those that are neither flags nor flag values.
  for (size_t i = 0; i < args.all.size(); ++i) {
    const auto& a = args.all[i];
    if (a.rfind("--", 0) == 0) {
      if (a.find('=') == std::string::npos) ++i;
      continue;
    }
    args.positional.push_back(a);
  }
  std::string url = args.Flag("redis-url", Env("LAMBDA_REDIS_URL", "redis://127.0.0.1:6379"));
  std::string prefix = args.Flag("redis-prefix", Env("LAMBDA_REDIS_PREFIX", "lambda:"));
  const auto& pos = args.positional;
  if (pos.empty()) return Usage();
  if (pos[0] == "apikey" && ((pos.size() == 2 && (pos[1] == "create" || pos[1] == "list")) ||
                             (pos.size() == 3 && pos[1] == "revoke"))) {
    auto c = Connect(url);
    ctl::ApiKeyArgs a{pos,
                      prefix,
                      args.Flag("tenant", ""),
                      args.Flag("name", ""),
                      args.Flag("scope", "operate"),
                      args.Flag("expires", ""),
                      {}};
    for (const char* flag : {"--tenant", "--scope", "--expires", "--name"}) {
      if (!args.all.empty() && args.all.back() == flag) a.flag_without_value = flag;
    }
    return ctl::RunApiKey(*c, a);
  }

  if (pos[0] == "accesskey" && ((pos.size() == 2 && (pos[1] == "create" || pos[1] == "list")) ||
                                (pos.size() == 3 && pos[1] == "revoke"))) {
    auto c = Connect(url);
    return ctl::RunAccessKey(*c, {pos, prefix, args.Flag("tenant", ""), args.Flag("name", ""),
                                  args.Flag("server-key-file", Env("LAMBDA_SERVER_KEY_FILE", ""))});
  }
  if (pos[0] == "tenant" && pos.size() == 3 && (pos[1] == "set" || pos[1] == "show")) {
    auto c = Connect(url);
    const int rc = ctl::RunTenant(*c, {pos, prefix, args.all});
    return rc == 2 ? Usage() : rc;
  }
  if (pos[0] == "dlq" && pos.size() == 2 &&
      (pos[1] == "list" || pos[1] == "replay" || pos[1] == "purge")) {
    auto max = util::ParseInt(args.Flag("max", "1000"));
    if (!max || *max < 1) return Usage();
    return ctl::RunDlq(
        {pos[1],
         args.Flag("amqp-url", Env("LAMBDA_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")),
         args.Flag("amqp-prefix", Env("LAMBDA_AMQP_PREFIX", "lambda")), *max});
  }
  if (pos[0] == "seed") {
    auto c = Connect(url);
    return Seed(c.get(), prefix, args);
  }
  if (pos[0] == "outbox") {
    auto c = Connect(url);
    return Outbox(c.get(), prefix);
  }
  if (pos[0] == "keys" && pos.size() == 2) {
    // Pure: no Redis needed. The layout of keys.h, for redis-cli and debugging.
    const std::string& id = pos[1];
    std::printf("instance %s\nhistory %s\noutbox %s\nslot %d\n",
                redis::keys::Instance(prefix, id).c_str(), redis::keys::History(prefix, id).c_str(),
                redis::keys::PendingOf(prefix, id).c_str(),
                redis::keys::SlotOf(redis::keys::Instance(prefix, id)));
    return 0;
  }
  if (pos[0] == "migrate-keys") {
    if (url.rfind("redis+cluster://", 0) == 0) {
      std::fprintf(stderr, "lambdactl: migrate-keys runs on the one server the store was on\n");
      return 2;
    }
    auto c = Connect(url);
    return MigrateKeys(c.get(), prefix);
  }
  return Usage();
}
