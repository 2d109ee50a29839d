#pragma once
/// Turns deliveries into jobs: validate (invalid → dead letter with a reason), peek (Lua: whose
/// it is, still current), hold it in the fair queue until a slot is free for its tenant, claim
/// (Lua), run, then ack only after the final status write (of every command the message
/// carries). A command for a leased instance, or one that met a transient provider error, goes
/// to the delayed-retry queue; so does a tenant's command beyond what this worker holds for it
/// (deferred, with a back-off per command), so one tenant never fills the prefetch window.
/// Held commands are unacked: a worker that dies holding them loses nothing (the broker
/// redelivers). Thread: loop only.
#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "consumer/fair_queue.h"
#include "executor/job.h"
#include "lambda/amqp/consumer.h"
#include "lambda/amqp/publisher.h"
#include "lambda/redis/async_client.h"
#include "lambda/uv/handle.h"

namespace lambda::worker {

struct ConsumerConfig {
  int max_attempts =
      600;  ///< retry-path attempts (leased instance, Redis down) before dead-lettering
  uint64_t retry_delay_ms = 1000;  ///< how long a command waits in the retry queue
  FairLimits fair;                 ///< slots, per tenant and in all; what is held per tenant
  uint64_t defer_max_ms = 64000;   ///< a deferred command's back-off doubles up to this
  /// How often the outbox entries of held commands are moved on (so the reconciler leaves what
  /// a worker holds alone): under the reconciler's republish deadline. 0 = never.
  uint64_t hold_touch_ms = 10000;
};

/// What the consumer counts: plain numbers, read by /metrics on the same loop.
struct ConsumerCounters {
  uint64_t deliveries = 0;  ///< messages
  uint64_t commands = 0;    ///< commands in them (a message may carry several)
  uint64_t completed = 0;
  uint64_t stale = 0;  ///< redelivered, duplicated or superseded: acked and dropped
  uint64_t busy = 0;   ///< the instance was leased elsewhere (or here): retried later
  uint64_t retried = 0;
  uint64_t transient_retries = 0;
  uint64_t dead_lettered = 0;
  uint64_t deferred = 0;     ///< handed back: its tenant had its share held here already
  uint64_t interrupted = 0;  ///< running jobs told of a newer gen (the step interrupted)
  /// Claim to final outcome, by action and outcome (JobOutcome); may be empty.
  std::function<void(domain::Action, JobOutcome, uint64_t ms)> command_ms;
  /// `issued_at` to claim: how long the command waited for a worker; may be empty.
  std::function<void(int64_t ms)> queue_wait_ms;
};

class Consumer {
 public:
  Consumer(JobContext ctx, ConsumerConfig config);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;
  /// Where retry and dead-letter copies go, and where deliveries are settled; set before the
  /// first delivery. Both outlive this object.
  void Attach(amqp::Publisher* publisher, amqp::DeliveryAcks* acks) {
    publisher_ = publisher;
    acks_ = acks;
  }
  void OnDelivery(amqp::Delivery d);
  /// A status change of `instance_id` at `gen` (the events channel): a job here for an older gen
  /// is superseded, and its running step interrupted.
  void OnInstanceEvent(std::string_view instance_id, int64_t gen);
  /// Stop taking work: later deliveries, and those held for a slot, are requeued at once.
  void StopIntake();
  /// Commands claimed or running here (held ones wait for a slot and are not counted).
  size_t in_flight() const { return in_flight_; }
  size_t held() const { return fair_.held(); }
  ConsumerCounters& counters() { return counters_; }

 private:
  /// One delivery and the commands of it not yet final; settled when the last one is.
  struct Settlement {
    uint64_t epoch;
    uint64_t tag;
    size_t left;
    bool requeue;  ///< a command's retry copy could not be published: the message comes back
  };
  /// A delivered command waiting for a slot.
  struct Held {
    std::shared_ptr<Settlement> s;
    domain::Command c;
  };
  void Ack(uint64_t epoch, uint64_t tag);
  /// peek.lua, then hold, defer or drop.
  void Peek(const std::shared_ptr<Settlement>& s, domain::Command c);
  /// Into the retry queue with a back-off per command, its outbox entry moved to when it is due.
  void Defer(const std::shared_ptr<Settlement>& s, domain::Command c);
  /// Starts held commands while slots are free.
  void Pump();
  /// Moves the outbox entries of held commands on (hold_touch_ms).
  void TouchHeld();
  void Settle(const std::shared_ptr<Settlement>& s, bool requeue);
  void Start(const std::string& tenant, const std::shared_ptr<Settlement>& s, domain::Command c);
  void DeadLetter(const std::string& body, const std::string& message_id, const std::string& reason,
                  std::function<void(bool ok)> done);
  /// The retry queue (the command waits `retry_delay_ms`), or the dead letters once the
  /// command has used its attempts.
  void SendToRetryQueue(const std::shared_ptr<Settlement>& s, domain::Command cmd,
                        const std::string& why);
  /// Publishes `cmd` to the delayed-retry queue, then settles its part of the delivery.
  void Republish(const std::shared_ptr<Settlement>& s, const domain::Command& cmd,
                 uint64_t delay_ms);
  void Done(const std::string& tenant, const std::shared_ptr<Settlement>& s, domain::Command cmd,
            JobOutcome outcome, const TransientRetry& retry = {});

  JobContext ctx_;
  amqp::Publisher* publisher_ = nullptr;
  amqp::DeliveryAcks* acks_ = nullptr;
  ConsumerConfig config_;
  bool intake_ = true;
  size_t in_flight_ = 0;
  FairQueue<Held> fair_;
  bool pumping_ = false;
  std::unique_ptr<uv::Timer> touch_timer_;
  /// Instances this worker runs a job for (claimed, or claiming): a duplicate delivered meanwhile
  /// must not run beside it. The running jobs are owned here.
  std::map<std::string, std::shared_ptr<Job>> running_;
  /// Newer gens announced for instances whose claim was still on its way (OnInstanceEvent).
  std::map<std::string, int64_t> newer_gen_;
  ConsumerCounters counters_;
};

}  // namespace lambda::worker
