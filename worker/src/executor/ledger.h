#pragma once
/// The per-instance operations ledger (SPEC §6): one Redis stream per instance,
/// `<prefix>ops:<id>`. Each entry is what one job's provider operations did over a short window
/// (most often one step): `request_id`, `gen`, `worker`, `at`, then `op`, `target`, `outcome`,
/// `detail` once per operation, in the order they happened. One XADD per step instead of one per
/// operation: a stream append was the dearest command of a start. Appends are fire-and-forget and
/// ordered on the connection; a lost append (Redis away, or the worker killed within the window
/// after the effect) can only undercount, so "no effect twice" read from it stays a sound check.
#include <uv.h>

#include <string>
#include <vector>

#include "lambda/redis/async_client.h"
#include "lambda/uv/handle.h"
#include "providers/provider.h"

namespace lambda::worker {

class Ledger {
 public:
  Ledger(redis::Client* redis, std::string prefix, int max_len)
      : redis_(redis), prefix_(std::move(prefix)), max_len_(std::to_string(max_len)) {}
  /// Appends `entries` (one job's, non-empty) as one stream entry.
  void Append(const std::string& instance_id, const Operation& op,
              const std::vector<LedgerEntry>& entries);
  std::string KeyOf(const std::string& instance_id) const { return prefix_ + "ops:" + instance_id; }

 private:
  redis::Client* redis_;
  std::string prefix_;
  std::string max_len_;
};

/// One job's ledger entries not yet appended. They go out together when the job writes a status
/// or ends (Flush), or `window_ms` after the first of them, whichever comes first: a slow
/// operation (a real VM's define takes seconds) is in the ledger while the step still runs.
/// Thread: loop only. Owned by the job, after the Operation it refers to.
class LedgerBatch {
 public:
  LedgerBatch(uv_loop_t* loop, Ledger* ledger, std::string instance_id, const Operation* op,
              uint64_t window_ms)
      : ledger_(ledger),
        instance_id_(std::move(instance_id)),
        op_(op),
        window_ms_(window_ms),
        timer_(loop) {}
  ~LedgerBatch() { Flush(); }
  LedgerBatch(const LedgerBatch&) = delete;
  LedgerBatch& operator=(const LedgerBatch&) = delete;

  void Add(const LedgerEntry& e);
  void Flush();

 private:
  Ledger* ledger_;
  std::string instance_id_;
  const Operation* op_;
  uint64_t window_ms_;
  std::vector<LedgerEntry> entries_;
  uv::Timer timer_;
};

}  // namespace lambda::worker
