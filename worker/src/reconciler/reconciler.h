#pragma once
/// The reconciler (SPEC §5): on a timer, the one worker holding the reconciler lease in Redis
/// walks the outbox buckets (keys.h) and, one instance at a time (each in its own slot),
/// republishes pending commands nobody is working on past a deadline (a shim that died between
/// admission and publish, a lost message) and fails instances stuck past a hard timeout.
/// Thread: loop only.
#include <uv.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lambda/amqp/publisher.h"
#include "lambda/redis/async_client.h"
#include "lambda/uv/handle.h"

namespace lambda::worker {

struct ReconcilerConfig {
  uint64_t interval_ms = 2000;
  uint64_t republish_after_ms =
      30000;  ///< a pending command older than this, unleased, is republished
  uint64_t create_timeout_ms = 3600000;  ///< a create pending longer than this fails
  uint64_t action_timeout_ms = 1800000;  ///< a start/stop/destroy pending longer than this fails
  int batch = 500;                       ///< instances looked at per pass
  /// Outbox buckets (one per Redis Cluster slot, 16384) looked into per pass: a full round of
  /// the outbox takes 16384 / buckets_per_pass passes.
  int buckets_per_pass = 4096;
  /// An admission no shim confirmed and no worker claimed this long after it was made is undone
  /// (its shim answered 503 or died). Must exceed the shim's publish timeout plus its confirm.
  uint64_t unconfirmed_after_ms = 60000;
};

/// What the reconciler did: plain numbers, read by /metrics on the same loop.
struct ReconcilerCounters {
  uint64_t passes = 0;
  uint64_t republished = 0;  ///< pending commands published again past their deadline
  uint64_t failed = 0;       ///< instances failed past the hard timeout
  uint64_t undone = 0;       ///< admissions left unconfirmed, undone
};

class Reconciler {
 public:
  Reconciler(uv_loop_t* loop, redis::Client* redis, ReconcilerConfig config, std::string prefix,
             std::string worker_id, int history_max);
  /// Where republished commands go; outlives this object.
  void Attach(amqp::Publisher* publisher) { publisher_ = publisher; }
  void Start();
  void Stop() { timer_.Stop(); }
  const ReconcilerCounters& counters() const { return counters_; }

 private:
  void Pass();
  void WalkBuckets();
  /// reconcile_one.lua on each due id, and what it hands back: undo, republish.
  void LookAt(std::vector<std::string> ids);
  void Republish(const std::string& id, const std::vector<redis::Value>& verdict);
  /// An admission left unconfirmed past its deadline, undone by its token (a claim wins).
  void UndoUnconfirmed(const std::string& id, const std::string& token, const std::string& gen);

  redis::Client* redis_;
  amqp::Publisher* publisher_ = nullptr;
  ReconcilerConfig config_;
  std::string prefix_;
  std::string worker_id_;
  int history_max_;
  std::string create_failures_;
  uv::Timer timer_;
  bool in_pass_ = false;
  int next_bucket_ = 0;
  ReconcilerCounters counters_;
};

}  // namespace lambda::worker
