#pragma once
/// Redis Cluster on a libuv loop: one `AsyncClient` per node, commands routed by the slot of
/// their first key. hiredis 0.14 knows nothing of clusters and hiredis-cluster is not packaged
/// for Debian 12, so this keeps to what the binaries need:
///  - the slot map from CLUSTER SLOTS (asked of any node that answers, the seeds first), with a
///    connection to every node it names, replicas included (one of them may be promoted);
///  - MOVED (the map is stale: the slot is learnt, the command sent on) and ASK (a slot being
///    migrated: ASKING, then the command, on the node named), a few hops at most;
///  - a node lost: the map is asked for again every refresh_ms until every slot has a connected
///    master, so a replica promoted after its master died takes the slots over without a restart;
///  - CLUSTERDOWN or TRYAGAIN (answered before the command runs): the map is refreshed and the
///    command is sent again every refresh_ms for up to retry_ms (a node turns its cluster state
///    back to ok a little after the map already names the promoted replica); past that the
///    caller gets the answer;
///  - NOSCRIPT is each node's own: every AsyncClient falls back to EVAL by itself.
/// A command whose slot has no connected master now is answered kUnavailable at once (the shim
/// answers 503); commands of other slots go on. Thread: loop only.
#include <uv.h>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lambda/redis/async_client.h"
#include "lambda/redis/keys.h"

namespace lambda::redis {

/// One CLUSTER SLOTS range: slots [first, last] served by master `addr` ("host:port").
struct SlotRange {
  int first = 0, last = 0;
  std::string master;
  std::vector<std::string> replicas;
};

/// CLUSTER SLOTS's answer as ranges (pure; unit-tested). `fallback_host` stands in for a node
/// that reports an empty ip (the one asked, announcing no address of its own).
Result<std::vector<SlotRange>> ParseClusterSlots(const Value& v, const std::string& fallback_host);

/// A MOVED or ASK error answer: the slot and the node it names ("host:port").
struct Redirect {
  bool ask = false;
  int slot = 0;
  std::string addr;
};
std::optional<Redirect> ParseRedirect(const Value& v);

class ClusterClient final : public LiveClient {
 public:
  ClusterClient(uv_loop_t* loop, Config config, uint64_t refresh_ms = 250,
                uint64_t retry_ms = 1000);
  ~ClusterClient() override;
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  void Start(std::function<void(State)> on_state = nullptr) override;
  void Stop() override;
  /// The slot map is known and at least one of its masters is connected (a slot whose master
  /// is away answers kUnavailable on its own).
  bool connected() const override { return state_ == State::kConnected; }
  size_t pending() const override;

  void Command(const std::vector<std::string>& argv, Callback cb) override;
  void EvalSha(const Script& script, const std::vector<std::string>& keys,
               std::vector<std::string> args, Callback cb) override;
  void WaitReplicas(const std::string& key, int replicas, uint64_t timeout_ms,
                    Callback cb) override;

  /// Slots whose master is connected now (16384 when all is well).
  int healthy_slots() const { return healthy_; }
  uint64_t redirects() const { return redirects_; }
  uint64_t map_refreshes() const { return refreshes_; }
  /// Commands sent again after a CLUSTERDOWN or TRYAGAIN answer.
  uint64_t retries() const { return retries_; }

 private:
  struct Request;
  AsyncClient* NodeFor(int slot);
  AsyncClient& EnsureNode(const std::string& addr);
  void Send(std::shared_ptr<Request> r, AsyncClient* node, bool asking);
  void Route(std::shared_ptr<Request> r);
  void Park(std::shared_ptr<Request> r, Result<Value> answer);
  void ArmRetry();
  void RetryParked();
  void Refresh();
  void OnNodeState();
  void UpdateState();
  void Recount();

  uv_loop_t* loop_;
  Config config_;
  uint64_t refresh_ms_;
  std::map<std::string, std::unique_ptr<AsyncClient>> nodes_;
  std::array<std::string, keys::kSlots> slot_master_;
  bool map_known_ = false;
  int healthy_ = 0;  ///< slots whose master is connected, recounted on every change
  bool refreshing_ = false;
  State state_ = State::kDisconnected;
  std::function<void(State)> on_state_;
  class Timer;
  std::unique_ptr<Timer> refresh_timer_;
  uint64_t retry_ms_;
  std::vector<std::shared_ptr<Request>> parked_;  ///< waiting out a CLUSTERDOWN or TRYAGAIN
  std::unique_ptr<Timer> retry_timer_;
  uint64_t redirects_ = 0;
  uint64_t retries_ = 0;
  uint64_t refreshes_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lambda::redis
