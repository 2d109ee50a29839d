#pragma once
/// Asynchronous Redis client on a libuv loop (hiredis + its libuv adapter), with reconnection.
/// Thread: loop only. Every command's callback runs exactly once, on the loop, with the reply
/// or an Error: kUnavailable when it was never sent (not connected, saturated), kTimeout when it
/// was sent and the connection dropped before the reply (the server may have run it).
#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lambda/result.h"

struct redisAsyncContext;

namespace lambda::redis {

/// An owned copy of a hiredis reply.
struct Value {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;
  int64_t integer = 0;
  std::vector<Value> elements;

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
  /// Integer or a string holding an integer; `fallback` otherwise.
  int64_t AsInt(int64_t fallback = 0) const;
};

struct Config {
  std::string host = "127.0.0.1";
  int port = 6379;
  /// Redis Cluster (a redis+cluster:// URL): host:port is the first seed and these the others;
  /// the slot map is learnt from whichever answers. A subscriber connection rotates over all.
  bool cluster = false;
  std::vector<std::pair<std::string, int>> more_nodes;
  int db = 0;
  std::string user;  ///< Redis 6 ACL user; empty = the default user
  std::string password;
  uint64_t reconnect_min_ms = 100;
  uint64_t reconnect_max_ms = 5000;
  /// hiredis 0.14's libuv adapter drops poll errors, so a refused connect never reports:
  /// a connect still pending after this long is abandoned and retried.
  uint64_t connect_timeout_ms = 1000;
  /// A command unanswered this long means the server is frozen or the connection is dead
  /// without having said so: the connection is dropped (pending commands fail) and remade.
  uint64_t command_timeout_ms = 5000;
  size_t max_pending = 20000;  ///< commands awaiting replies; beyond → kUnavailable
};

/// Parses redis://[[user]:password@]host[:port][/db] (user and password percent-decoded; a
/// credential without a colon is a password), or for Redis Cluster
/// redis+cluster://[[user]:password@]host1[:port1],host2[:port2],... (seed nodes, database 0).
Result<Config> ParseUrl(std::string_view url);

/// A Lua script embedded at build time, called by EVALSHA (NOSCRIPT falls back to EVAL).
struct Script {
  std::string_view name;
  std::string body;
  std::string sha;  ///< hex SHA-1 of body
};
Script MakeScript(std::string_view name, std::string body);

using Callback = std::function<void(Result<Value>)>;

/// What callers of Redis depend on (a port): `AsyncClient`, or a fake in unit tests.
class Client {
 public:
  virtual ~Client() = default;
  virtual bool connected() const = 0;
  /// `cb` runs exactly once: with the reply, or an error (kUnavailable: not sent; kTimeout: sent,
  /// the reply lost, so the command may have run).
  virtual void Command(const std::vector<std::string>& argv, Callback cb) = 0;
  /// EVALSHA, falling back to EVAL once when the server lost its script cache.
  virtual void EvalSha(const Script& script, const std::vector<std::string>& keys,
                       std::vector<std::string> args, Callback cb) = 0;
  /// WAIT for `replicas` replicas to have every write sent so far on the connection that
  /// serves `key` (its node, on Redis Cluster); answers the number that acknowledged.
  virtual void WaitReplicas(const std::string& key, int replicas, uint64_t timeout_ms,
                            Callback cb) {
    (void)key;
    Command({"WAIT", std::to_string(replicas), std::to_string(timeout_ms)}, std::move(cb));
  }
};

/// A client the binaries own: one server (`AsyncClient`) or a Redis Cluster (`ClusterClient`).
class LiveClient : public Client {
 public:
  /// kDisconnected → kConnecting → kConnected; any drop goes back to kDisconnected and a
  /// reconnect is scheduled with exponential back-off and jitter, until Stop().
  enum class State { kDisconnected, kConnecting, kConnected, kStopped };
  /// `on_state` is told every state change (e.g. for /readyz and logs).
  virtual void Start(std::function<void(State)> on_state = nullptr) = 0;
  /// Fails pending commands with kUnavailable and stops reconnecting.
  virtual void Stop() = 0;
  /// Commands awaiting replies.
  virtual size_t pending() const = 0;
};

/// The client `config` asks for: a ClusterClient for redis+cluster://, else an AsyncClient.
std::unique_ptr<LiveClient> MakeClient(uv_loop_t* loop, const Config& config);

class AsyncClient final : public LiveClient {
 public:
  AsyncClient(uv_loop_t* loop, Config config);
  /// Cancels every pending command: no callback runs once destruction begins (Stop() is the
  /// way to have them answered kUnavailable).
  ~AsyncClient() override;
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  void Start(std::function<void(State)> on_state = nullptr) override;
  void Stop() override;

  State state() const { return state_; }
  bool connected() const override { return state_ == State::kConnected; }
  size_t pending() const override { return pending_; }
  /// host:port of the server it talks to (or tries to, next).
  std::string address() const;

  void Command(const std::vector<std::string>& argv, Callback cb) override;
  void EvalSha(const Script& script, const std::vector<std::string>& keys,
               std::vector<std::string> args, Callback cb) override;

  /// Makes this a subscriber connection (call before Start; it then runs no other command):
  /// SUBSCRIBE `channel` on every (re)connection. `on_message` gets each payload;
  /// `on_subscribed(true)` runs once the server confirmed a subscription, `(false)` when the
  /// connection drops (messages published meanwhile are missed: re-read after the next true).
  void Subscribe(std::string channel, std::function<void(std::string_view)> on_message,
                 std::function<void(bool)> on_subscribed);

 private:
  struct Pending;
  static void OnConnect(const redisAsyncContext* c, int status) noexcept;
  static void OnDisconnect(const redisAsyncContext* c, int status) noexcept;
  static void OnReply(redisAsyncContext* c, void* reply, void* privdata) noexcept;
  static void OnSubscription(redisAsyncContext* c, void* reply, void* privdata) noexcept;
  void SendSubscribe();
  void Connect();
  void ScheduleReconnect();
  void SetState(State s);
  void Send(const std::vector<std::string>& argv, std::unique_ptr<Pending> p,
            bool handshake = false);
  /// AUTH and SELECT on a new connection, before it counts as connected (so nothing else runs
  /// unauthenticated or in the wrong database); a refusal drops the connection and retries.
  void Handshake();

  uv_loop_t* loop_;
  Config config_;
  redisAsyncContext* ctx_ = nullptr;  // owned by hiredis after connect; nulled on disconnect
  State state_ = State::kDisconnected;
  std::function<void(State)> on_state_;
  size_t pending_ = 0;
  int reconnect_attempt_ = 0;
  size_t node_ = 0;  ///< which of config_'s nodes (host:port, then more_nodes) it talks to
  class Timer;       ///< a uv::Timer, kept out of this header: reconnect back-off, connect timeout,
                     ///< watchdog
  std::unique_ptr<Timer> reconnect_;
  std::unique_ptr<Timer> connect_timeout_;
  std::unique_ptr<Timer> watchdog_;
  std::deque<uint64_t> sent_at_ms_;  ///< replies come in send order: the front is the oldest
  void Abandon(const char* why);
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::string channel_;  ///< non-empty: a subscriber connection
  std::function<void(std::string_view)> on_message_;
  std::function<void(bool)> on_subscribed_;
  bool subscribed_ = false;
};

}  // namespace lambda::redis
