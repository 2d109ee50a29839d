#pragma once
/// A blocking Redis client for command-line tools and tests (never on a loop thread): one
/// server, or a Redis Cluster whose slot map it asks for once (CLUSTER SLOTS) and then keeps
/// current from MOVED answers, with a connection per node it needed. A node that stops
/// answering is dropped and the map asked again of any node that answers (a failover); a
/// CLUSTERDOWN or TRYAGAIN answer is retried for about two seconds against a fresh map.
#include <hiredis/hiredis.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lambda/redis/async_client.h"
#include "lambda/redis/keys.h"

namespace lambda::redis {

class SyncClient {
 public:
  /// Connects to the first node of `config` that answers (and authenticates, selects the db).
  static Result<std::unique_ptr<SyncClient>> Connect(const Config& config,
                                                     uint64_t timeout_ms = 2000);
  ~SyncClient();
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  /// The answer (an error answer is a Value of type kError), or kUnavailable when no node that
  /// should serve it answers.
  Result<Value> Command(const std::vector<std::string>& argv);
  /// `argv` on every master (or the one server), e.g. SCRIPT LOAD: the first failure, if any.
  Result<bool> OnEveryMaster(const std::vector<std::string>& argv);
  /// Many commands, pipelined per node; answers in order.
  std::vector<Result<Value>> Pipeline(const std::vector<std::vector<std::string>>& commands);

 private:
  explicit SyncClient(Config config, uint64_t timeout_ms)
      : config_(std::move(config)), timeout_ms_(timeout_ms) {}
  /// The context for `addr`, connected and authenticated on first use; nullptr if it fails.
  redisContext* Node(const std::string& addr);
  void Drop(const std::string& addr);
  /// Who serves `argv` now: its slot's master (cluster), or the one server.
  std::string AddrFor(const std::vector<std::string>& argv) const;
  bool LoadSlots();
  Result<Value> Exchange(const std::string& addr, const std::vector<std::string>& argv,
                         bool asking);

  Config config_;
  uint64_t timeout_ms_;
  std::vector<std::string> seeds_;
  size_t rotate_ = 0;  ///< where the next map reload starts asking
  std::map<std::string, redisContext*> nodes_;
  std::array<std::string, keys::kSlots> slots_;
};

}  // namespace lambda::redis
