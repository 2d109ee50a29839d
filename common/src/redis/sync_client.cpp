#include "lambda/redis/sync_client.h"

#include <unistd.h>

#include <algorithm>

#include "lambda/redis/cluster_client.h"
#include "lambda/util/util.h"
#include "redis/reply.h"

namespace lambda::redis {

namespace {

constexpr int kMaxHops = 10;

/// The key a command is routed by: EVAL/EVALSHA's first key, else its first argument.
const std::string* KeyOf(const std::vector<std::string>& argv) {
  if (argv.size() < 2) return nullptr;
  if (argv[0] == "EVAL" || argv[0] == "EVALSHA") {
    return argv.size() > 3 && argv[2] != "0" ? &argv[3] : nullptr;
  }
  return &argv[1];
}

int Send(redisContext* c, const std::vector<std::string>& argv) {
  std::vector<const char*> p;
  std::vector<size_t> l;
  for (const auto& a : argv) {
    p.push_back(a.data());
    l.push_back(a.size());
  }
  return redisAppendCommandArgv(c, static_cast<int>(argv.size()), p.data(), l.data());
}

Result<Value> Receive(redisContext* c) {
  void* raw = nullptr;
  if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
    return Error{Code::kUnavailable, std::string("redis: ") + c->errstr};
  }
  Value v = detail::Copy(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  return v;
}

}  // namespace

Result<std::unique_ptr<SyncClient>> SyncClient::Connect(const Config& config, uint64_t timeout_ms) {
  std::unique_ptr<SyncClient> c(new SyncClient(config, timeout_ms));
  c->seeds_.push_back(config.host + ":" + std::to_string(config.port));
  for (const auto& [host, port] : config.more_nodes) {
    c->seeds_.push_back(host + ":" + std::to_string(port));
  }
  for (const auto& seed : c->seeds_) {
    if (c->Node(seed) == nullptr) continue;
    if (!config.cluster || c->LoadSlots()) return c;
  }
  return Error{Code::kUnavailable, "redis: no node of " + c->seeds_.front() +
                                       (c->seeds_.size() > 1 ? " and the rest" : "") + " answered"};
}

SyncClient::~SyncClient() {
  for (auto& [addr, c] : nodes_) redisFree(c);
}

redisContext* SyncClient::Node(const std::string& addr) {
  if (auto it = nodes_.find(addr); it != nodes_.end()) return it->second;
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return nullptr;
  timeval tv{static_cast<time_t>(timeout_ms_ / 1000),
             static_cast<suseconds_t>((timeout_ms_ % 1000) * 1000)};
  redisContext* c = redisConnectWithTimeout(
      addr.substr(0, colon).c_str(),
      static_cast<int>(util::ParseInt(addr.substr(colon + 1)).value_or(6379)), tv);
  if (c == nullptr || c->err) {
    if (c) redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, tv);
  std::vector<std::vector<std::string>> handshake;
  if (!config_.password.empty()) {
    handshake.push_back(config_.user.empty()
                            ? std::vector<std::string>{"AUTH", config_.password}
                            : std::vector<std::string>{"AUTH", config_.user, config_.password});
  }
  if (config_.db != 0) handshake.push_back({"SELECT", std::to_string(config_.db)});
  for (const auto& argv : handshake) {
    Send(c, argv);
    auto r = Receive(c);
    if (!r || r->is_error()) {  // a refused AUTH or SELECT is an error, not ignored
      redisFree(c);
      return nullptr;
    }
  }
  nodes_[addr] = c;
  return c;
}

void SyncClient::Drop(const std::string& addr) {
  if (auto it = nodes_.find(addr); it != nodes_.end()) {
    redisFree(it->second);
    nodes_.erase(it);
  }
}

bool SyncClient::LoadSlots() {
  // Any node that answers: the ones known first, then the seeds.
  std::vector<std::string> ask;
  for (const auto& [addr, c] : nodes_) ask.push_back(addr);
  ask.insert(ask.end(), seeds_.begin(), seeds_.end());
  // Each reload starts from another node: one with a stale view is not asked first every time.
  std::rotate(ask.begin(), ask.begin() + static_cast<std::ptrdiff_t>(rotate_ % ask.size()),
              ask.end());
  for (const auto& addr : ask) {
    redisContext* c = Node(addr);
    if (c == nullptr) continue;
    Send(c, {"CLUSTER", "SLOTS"});
    auto r = Receive(c);
    if (!r) {
      Drop(addr);
      continue;
    }
    auto ranges = ParseClusterSlots(*r, addr.substr(0, addr.rfind(':')));
    if (!ranges) continue;
    slots_.fill("");
    for (const auto& range : *ranges) {
      for (int s = range.first; s <= range.last; ++s) slots_[static_cast<size_t>(s)] = range.master;
    }
    return true;
  }
  return false;
}

std::string SyncClient::AddrFor(const std::vector<std::string>& argv) const {
  if (!config_.cluster) return seeds_.front();
  const std::string* key = KeyOf(argv);
  if (key != nullptr) {
    if (const auto& a = slots_[static_cast<size_t>(keys::SlotOf(*key))]; !a.empty()) return a;
  }
  return nodes_.empty() ? seeds_.front() : nodes_.begin()->first;
}

Result<Value> SyncClient::Exchange(const std::string& addr, const std::vector<std::string>& argv,
                                   bool asking) {
  redisContext* c = Node(addr);
  if (c == nullptr) return Error{Code::kUnavailable, "redis: " + addr + " does not answer"};
  if (asking) {
    Send(c, {"ASKING"});
    (void)Receive(c);
  }
  Send(c, argv);
  auto r = Receive(c);
  if (!r) Drop(addr);
  return r;
}

Result<Value> SyncClient::Command(const std::vector<std::string>& argv) {
  std::string addr = AddrFor(argv);
  bool asking = false;
  for (int hop = 0;; ++hop) {
    auto r = Exchange(addr, argv, asking);
    if (!r && config_.cluster && hop < kMaxHops) {
      // The node is gone (killed, or failed over): ask the others for the map, and go again.
      LoadSlots();
      addr = AddrFor(argv);
      asking = false;
      continue;
    }
    if (!r || hop >= kMaxHops) return r;
    if (config_.cluster && r->is_error() &&
        (r->str.rfind("CLUSTERDOWN", 0) == 0 || r->str.rfind("TRYAGAIN", 0) == 0)) {
      // A node just back from the dead serves its old map (and refuses) until it has caught up
      // with the cluster: wait a little and ask another node for the map.
      usleep(200 * 1000);
      rotate_ = (rotate_ + 1) % std::max<size_t>(1, seeds_.size());
      LoadSlots();
      addr = AddrFor(argv);
      asking = false;
      continue;
    }
    auto redirect = ParseRedirect(*r);
    if (!redirect) return r;
    if (!redirect->ask) slots_[static_cast<size_t>(redirect->slot)] = redirect->addr;
    addr = redirect->addr;
    asking = redirect->ask;
  }
}

Result<bool> SyncClient::OnEveryMaster(const std::vector<std::string>& argv) {
  std::vector<std::string> masters{seeds_.front()};
  if (config_.cluster) {
    masters.assign(slots_.begin(), slots_.end());
    std::sort(masters.begin(), masters.end());
    masters.erase(std::unique(masters.begin(), masters.end()), masters.end());
  }
  for (const auto& addr : masters) {
    if (addr.empty()) return Error{Code::kUnavailable, "redis: a slot has no master"};
    auto r = Exchange(addr, argv, false);
    if (!r) return r.error();
    if (r->is_error()) return Error{Code::kUnavailable, r->str};
  }
  return true;
}

std::vector<Result<Value>> SyncClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  std::vector<Result<Value>> out(commands.size(), Error{Code::kUnavailable, "not sent"});
  std::map<std::string, std::vector<size_t>> by_node;
  for (size_t i = 0; i < commands.size(); ++i) by_node[AddrFor(commands[i])].push_back(i);
  std::vector<size_t> again;
  for (const auto& [addr, indexes] : by_node) {
    redisContext* c = Node(addr);
    if (c == nullptr) {
      again.insert(again.end(), indexes.begin(), indexes.end());
      continue;
    }
    for (size_t i : indexes) Send(c, commands[i]);
    bool lost = false;
    for (size_t i : indexes) {
      if (lost) {
        again.push_back(i);
        continue;
      }
      out[i] = Receive(c);
      if (!out[i]) {
        lost = true;
        again.push_back(i);
      } else if (ParseRedirect(*out[i])) {
        again.push_back(i);  // the map was stale for it: sent on its own, redirects followed
      }
    }
    if (lost) Drop(addr);
  }
  for (size_t i : again) out[i] = Command(commands[i]);
  return out;
}

}  // namespace lambda::redis
