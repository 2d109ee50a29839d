#pragma once
/// Runs one service hook (SPEC §6): an executable in the hooks directory, started with uv_spawn
/// in a session and process group of its own, its stdout and stderr captured (the last
/// `tail_bytes` of each kept), killed as a group at the timeout (SIGTERM, then SIGKILL after
/// `kill_grace_ms`). A missing hook is no error: the step has nothing to do.
/// Thread: loop only. Runs still going when the runner is destroyed are killed (SIGKILL to the
/// group) and their callbacks dropped.
#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lambda::worker {

struct HookConfig {
  std::string dir;  ///< empty = no hooks
  uint64_t timeout_ms = 600000;
  uint64_t kill_grace_ms = 2000;
  size_t tail_bytes = 2048;
  uint64_t interrupt_grace_ms = 300;  ///< Interrupt: SIGTERM to SIGKILL (the slot frees in 1 s)
};

struct HookResult {
  bool ran = false;  ///< false: no such hook
  int64_t exit_status = 0;
  int term_signal = 0;
  bool timed_out = false;
  bool interrupted = false;  ///< killed by Interrupt (its command was superseded)
  std::string spawn_error;   ///< the hook exists but could not be started
  std::string stdout_tail;
  std::string stderr_tail;
  bool ok() const {
    return spawn_error.empty() && !timed_out && !interrupted && exit_status == 0 &&
           term_signal == 0;
  }
};

class HookRunner {
 public:
  using Done = std::function<void(HookResult)>;
  HookRunner(uv_loop_t* loop, HookConfig config);
  ~HookRunner();
  HookRunner(const HookRunner&) = delete;
  HookRunner& operator=(const HookRunner&) = delete;

  const HookConfig& config() const { return config_; }
  /// Runs `<dir>/<name>` with exactly `env` ("K=V") as its environment. Returns the run's id
  /// for Interrupt, or 0 when `done` has already run (no such hook, or it could not start).
  uint64_t Run(const std::string& name, const std::vector<std::string>& env, Done done);
  /// Kills a run's process group now (SIGTERM, then SIGKILL after `interrupt_grace_ms`); its
  /// `done` then reports `interrupted` once the process is gone. An unknown id is ignored.
  void Interrupt(uint64_t id);

 private:
  class Process;
  void Finished(uint64_t id);

  uv_loop_t* loop_;
  HookConfig config_;
  uint64_t next_id_ = 0;
  std::map<uint64_t, std::unique_ptr<Process>> running_;
};

}  // namespace lambda::worker
