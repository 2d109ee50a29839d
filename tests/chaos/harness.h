#pragma once
// The chaos harness (issue 4): a stream of start/stop actions against a real stack while real
// processes are killed. Every figure is judged from the per-instance status history in Redis:
// an accepted (202) action must reach a final status exactly once; a refused (503) one must have
// changed nothing. LAMBDA_CHAOS_SECONDS and LAMBDA_CHAOS_INSTANCES make a run longer. Shared by
// the chaos tier (one broker) and the cluster tier (a RabbitMQ cluster).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support.h"

namespace lambda::chaos {

using testing::Stack;

int EnvInt(const char* name, int fallback);
/// Runs `script` in bash with scripts/lib/common.sh sourced; its exit status.
int Shell(const std::string& script);

struct Sent {
  std::string request_id, id, action;
};

struct Figures {
  std::atomic<uint64_t> sent{0}, accepted{0}, refused{0}, conflict{0}, errors{0};
  std::mutex mu;
  std::vector<Sent> accepted_actions, refused_actions;
  /// When each 202 came (steady clock, ms): the throughput around a fault.
  std::vector<int64_t> accepted_at_ms;
  std::vector<int64_t> refused_at_ms;  ///< and each 503
};

/// Drives start/stop over `ids` from `threads` threads until `stop` is set.
void Drive(const Stack& stack, const std::string& key, const std::vector<std::string>& ids,
           int threads, std::atomic<bool>& stop, Figures& f);

/// Per request id: how many statuses a worker (or the reconciler) wrote for it, and whether one
/// of them was final.
struct Outcome {
  int worker_writes = 0;
  bool final = false;
  bool timed_out = false;
};

std::map<std::string, Outcome> Outcomes(Stack& stack, const std::vector<std::string>& ids);

struct Verdict {
  uint64_t reached = 0, lost = 0, twice = 0, refused_changed = 0, timed_out = 0;
  uint64_t ledger_entries = 0, ledger_effects = 0, ledger_twice = 0;
};

/// The operations ledger's verdict: per request, operation and VM, how many times an operation
/// took effect. More than once is an action applied twice to the world.
void JudgeLedger(Stack& stack, const std::vector<std::string>& ids, Verdict* v);
Verdict Judge(Stack& stack, const std::vector<std::string>& ids, Figures& f,
              std::chrono::seconds settle);
void Report(const std::string& scenario, Figures& f, const Verdict& v);
/// How many admissions the reconciler undid as never confirmed (their shim answered 503 or died).
size_t UndoneByReconciler(Stack& stack, const std::vector<std::string>& ids);

struct RunResult {
  std::vector<std::string> ids;
  uint64_t accepted = 0, refused = 0, no_answer = 0;
  std::vector<int64_t> accepted_at_ms, refused_at_ms;
};

class Chaos : public ::testing::Test {
 protected:
  /// Drives a stream of start/stop actions over freshly seeded instances from `threads` threads
  /// for LAMBDA_CHAOS_SECONDS while `chaos` runs beside it, then judges every accepted action:
  /// final exactly once, none applied twice, no refused one changed anything.
  RunResult Run(const std::string& name, Stack& stack, int threads,
                const std::function<void(std::atomic<bool>&)>& chaos);
  Verdict last_verdict_;
  int seconds_ = EnvInt("LAMBDA_CHAOS_SECONDS", 8);  ///< how long Run drives actions
  /// Sleeps up to `ms` unless stopped; false once stopped.
  static bool Pause(std::atomic<bool>& stop, int ms) {
    for (int i = 0; i < ms / 20 && !stop; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return !stop;
  }
};

/// The worker flags every scenario uses (short leases, a quick reconciler) plus `worker`.
Stack::Options Options(int workers, std::vector<std::string> shim = {},
                       std::vector<std::string> worker = {});
/// Whether a line of the shim's log holds `text` (the fault's trace, when it happened).
bool ShimLogHas(Stack& stack, const std::string& text);

}  // namespace lambda::chaos
