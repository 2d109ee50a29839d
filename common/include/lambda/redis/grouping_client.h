#pragma once
/// Group commit for the per-instance scripts. At load, many admissions (or claims, or status
/// writes) call their script in the same loop iteration; each EVALSHA costs Redis its command
/// handling and a Lua call set-up on top of the script's own work, and that overhead was as
/// large as the work. The calls of one iteration go to Redis as one EVALSHA of
/// `scripts::Group()` once the iteration's I/O callbacks are done (a uv_check handle, so no call
/// waits for a later iteration), and each caller gets its own call's answer. Every call still
/// runs whole and alone (a Lua script is atomic); a transport error or a lost reply is every
/// caller's, exactly as it would have been for its own EVALSHA. Other commands, scripts that are
/// not groupable, and everything while Redis is away go straight to the inner client.
/// On Redis Cluster (`per_slot`) a group holds only calls whose keys share a slot, since one
/// script runs on one node against one slot.
/// Thread: loop only.
#include <uv.h>

#include <memory>
#include <vector>

#include "lambda/redis/async_client.h"
#include "lambda/uv/end_of_turn.h"

namespace lambda::redis {

class GroupingClient final : public Client {
 public:
  /// `inner` outlives this client. `loop` may be null (tests call Flush).
  GroupingClient(uv_loop_t* loop, Client& inner, size_t max_calls = 128, bool per_slot = false);
  /// Drops the held calls' callbacks, as AsyncClient's destructor does.
  ~GroupingClient() override;
  GroupingClient(const GroupingClient&) = delete;
  GroupingClient& operator=(const GroupingClient&) = delete;

  bool connected() const override { return inner_.connected(); }
  void Command(const std::vector<std::string>& argv, Callback cb) override {
    inner_.Command(argv, std::move(cb));
  }
  void EvalSha(const Script& script, const std::vector<std::string>& keys,
               std::vector<std::string> args, Callback cb) override;
  /// Straight to the inner client, on the connection that serves `key` (WAIT counts the writes
  /// sent before it there; the admission it follows was answered, so it was sent already).
  void WaitReplicas(const std::string& key, int replicas, uint64_t timeout_ms,
                    Callback cb) override;

  void Flush() { turn_.Flush(); }
  uint64_t groups_sent() const { return groups_sent_; }
  uint64_t calls_sent() const { return calls_sent_; }

 private:
  struct Call {
    const Script* script;
    std::vector<std::string> keys;
    std::vector<std::string> args;
    Callback cb;
  };
  void Send(std::vector<Call> calls);
  void SendGroup(std::vector<Call> calls);

  Client& inner_;
  bool per_slot_;
  uint64_t groups_sent_ = 0;
  uint64_t calls_sent_ = 0;
  uv::EndOfTurn<Call> turn_;
};

}  // namespace lambda::redis
