#pragma once
/// Publishing with a promise: every publish completes exactly once, with the broker's ack, or
/// with an error on nack, return (unroutable), deadline, or a dropped connection. `Publisher` is
/// the port the admission protocol and the reconciler depend on; `ConfirmingPublisher` is the
/// one over a real connection (publisher confirms on its own channel, mandatory, persistent).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "lambda/amqp/connection.h"
#include "lambda/result.h"

namespace lambda::amqp {

class Publisher {
 public:
  virtual ~Publisher() = default;
  /// `done` runs exactly once: inside this call for the refusals that need no broker (not
  /// connected, too many in flight), so a caller answers 503 without a round trip; otherwise
  /// later, on the loop.
  virtual void Publish(const std::string& exchange, const std::string& routing_key,
                       std::string_view body, const PublishOptions& options,
                       std::function<void(Status)> done) = 0;
  virtual bool connected() const = 0;
  virtual size_t in_flight() const = 0;
  virtual const Topology& topology() const = 0;
};

class ConfirmingPublisher final : public Publisher {
 public:
  /// `connection` outlives this publisher.
  explicit ConfirmingPublisher(Connection& connection);
  /// Cancels the pending publishes' callbacks; `Connection::Stop()` answers them instead.
  ~ConfirmingPublisher() override;
  ConfirmingPublisher(const ConfirmingPublisher&) = delete;
  ConfirmingPublisher& operator=(const ConfirmingPublisher&) = delete;

  void Publish(const std::string& exchange, const std::string& routing_key, std::string_view body,
               const PublishOptions& options, std::function<void(Status)> done) override;
  bool connected() const override { return connection_.connected(); }
  size_t in_flight() const override { return pending_.size(); }
  const Topology& topology() const override { return connection_.topology(); }

 private:
  struct Pending {
    uint64_t deadline_ms;
    std::function<void(Status)> done;
  };
  void Confirm(uint64_t seq, const Status& outcome);
  void FailAll(const Error& e);
  void CheckDeadlines();

  Connection& connection_;
  uint64_t next_seq_ = 0;
  std::map<uint64_t, Pending> pending_;  ///< by seq: oldest first, so deadlines expire in order
  struct DeadlineTimer;
  std::unique_ptr<DeadlineTimer> deadlines_;
};

}  // namespace lambda::amqp
