#pragma once
// Test support: environment of tests/with_servers.sh, a synchronous Redis client, child
// processes, an HTTP client (libcurl) and a whole-stack fixture. Every wait is bounded.
#include <rapidjson/document.h>
#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lambda/redis/sync_client.h"

namespace lambda::testing {

std::string EnvOr(const char* name, const std::string& fallback = "");
/// A fresh prefix for keys, queues and exchanges, so tests never share names.
std::string UniquePrefix(const std::string& base);
int FreePort();

/// Polls `pred` every 20 ms until true or `timeout`; returns the last value.
bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
/// Whether, within `timeout`, every node of the test Redis Cluster (LAMBDA_TEST_REDIS_PORT_1..N)
/// says the cluster is whole and every replica is in sync with its master (after a node was
/// killed and brought back: a node just back refuses with CLUSTERDOWN until it caught up).
bool RedisClusterIsWhole(std::chrono::milliseconds timeout);
/// How many nodes the redis-cluster fixture started (LAMBDA_TEST_REDIS_PORT_1..N).
int RedisClusterNodes();
/// Runs `loop` (a turn at a time, never blocking over 5 ms) until `pred` holds or `timeout`.
bool RunLoopUntil(uv_loop_t* loop, const std::function<bool()>& pred,
                  std::chrono::milliseconds timeout);

/// A blocking client for checks from the test thread: one Redis, or a Redis Cluster (through
/// redis::SyncClient, so a killed node is stepped around).
class SyncRedis {
 public:
  explicit SyncRedis(const std::string& url);
  ~SyncRedis();
  /// Returns the reply as a string ("" for nil); integers as text; arrays joined with '\n'.
  std::string Cmd(const std::vector<std::string>& argv);
  /// Elements of an array reply; a scalar reply comes back as one element.
  std::vector<std::string> Array(const std::vector<std::string>& argv);
  long long Int(const std::vector<std::string>& argv);
  bool Reconnect();
  /// Every id in the outbox (all 16384 buckets of keys.h, pipelined), up to `limit`.
  std::vector<std::string> PendingIds(const std::string& prefix, size_t limit = 1000000);

 private:
  /// The answer, or nullopt when Redis did not answer (then it reconnects for the next call).
  std::optional<redis::Value> Send(const std::vector<std::string>& argv);
  redis::Config config_;
  std::unique_ptr<redis::SyncClient> client_;
};

/// A child process with stdout/stderr appended to a log file; SIGKILLed when destroyed.
class Process {
 public:
  Process(std::vector<std::string> argv, std::string log_path,
          std::vector<std::string> extra_env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  pid_t pid() const { return pid_; }
  bool Alive();
  void Signal(int sig);
  /// Waits for exit up to `timeout`; returns the exit code, or -1 when still running / signalled.
  int Wait(std::chrono::milliseconds timeout);
  const std::string& log_path() const { return log_; }
  /// How it ended, once reaped: "" while running or after a clean exit 0 or SIGTERM/SIGKILL
  /// (what tests send), else e.g. "signal 11" or "exit 3".
  std::string UnexpectedEnd();
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::string log_;
  int status_ = 0;
  bool reaped_ = false;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  ///< lowercase names
};

HttpResponse Http(const std::string& method, const std::string& url,
                  const std::vector<std::string>& headers = {}, const std::string& body = "",
                  bool multipart_action = false);

/// A shell command's exit code (-1 when it did not exit) and its stdout.
struct CommandResult {
  int rc = -1;
  std::string out;
};
CommandResult RunCommand(const std::string& cmd);

/// A TCP connection to 127.0.0.1:`port` (blocking), or -1; `rcvbuf` > 0 sets SO_RCVBUF first.
int ConnectLoopback(int port, int rcvbuf = 0);

/// Sends raw bytes over one TCP connection and returns everything read until the server closes
/// the connection, `responses` complete responses have arrived, or `timeout` passes.
std::string RawHttp(int port, const std::string& bytes, std::chrono::milliseconds timeout,
                    int responses = 1);

/// A stack of the real binaries (api-shim + workers) on the test's Redis and RabbitMQ, with its
/// own key prefix and queue names.
class Stack {
 public:
  struct Options {
    int workers = 2;
    std::vector<std::string> shim_flags;
    std::vector<std::string> worker_flags;
    /// false (most tests): the shim starts with every tenant's limits raised out of reach and
    /// no per-address limit (HarnessLimitFlags), so that suites that load a tenant (chaos,
    /// cluster, batches) measure what they are about; true: the shim's own defaults (SPEC §3).
    bool production_limits = false;
  };
  explicit Stack(Options options);
  /// On another Redis than the test's (LAMBDA_TEST_REDIS_URL): e.g. one with a password.
  Stack(Options options, std::string redis_url);
  ~Stack();

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  const std::string& redis_prefix() const { return redis_prefix_; }
  const std::string& redis_url() const { return redis_url_; }
  const std::string& amqp_prefix() const { return amqp_prefix_; }
  SyncRedis& redis() { return *redis_; }
  /// Creates an API key for `tenant` through lambdactl.
  std::string NewKey(const std::string& tenant);
  /// Seeds instances through lambdactl.
  std::vector<std::string> Seed(int count, const std::string& status, const std::string& tenant);
  Process& shim() { return *shim_; }
  Process& worker(size_t i) { return *workers_.at(i); }
  size_t workers() const { return workers_.size(); }
  void StartWorker(const std::vector<std::string>& extra_flags = {});
  /// Starts a new shim on a new port; false when it did not become ready (it may have died).
  bool RestartShim();
  /// Status name of an instance straight from Redis.
  std::string StatusOf(const std::string& id);
  bool WaitStatus(const std::string& id, const std::string& name,
                  std::chrono::milliseconds timeout);
  /// WaitFor with the stack's default patience (20 s).
  bool WaitFor(const std::function<bool()>& pred) {
    return testing::WaitFor(pred, std::chrono::seconds(20));
  }
  /// The status history stream of an instance: one status code per entry.
  std::vector<std::string> History(const std::string& id);
  std::string logs_dir() const { return logs_; }
  /// The server key file of this stack's shims (32 random bytes, mode 0600), for lambdactl.
  std::string server_key_file() const { return logs_ + "/server.key"; }
  /// The command line of a shim of this stack, up to its port and own flags (for extra shims).
  std::vector<std::string> ShimArgv() const;

 private:
  /// A binary's command line up to its own flags (`binary_env` names the variable with its path).
  std::vector<std::string> Argv(const char* binary_env) const;
  bool StartShim();
  Options options_;
  std::string redis_url_;
  std::string redis_prefix_;
  std::string amqp_prefix_;
  std::string logs_;
  int port_ = 0;
  std::unique_ptr<SyncRedis> redis_;
  std::unique_ptr<Process> shim_;
  std::vector<std::unique_ptr<Process>> workers_;
};

/// Publishes `bodies` onto the stack's actions exchange with publisher confirms, as a producer
/// other than the shim would (replays, poison). Returns how many the broker confirmed.
int PublishActions(const Stack& stack, const std::vector<std::string>& bodies,
                   const std::string& message_id = "");

/// Parses a response body (a test failure when it is not JSON).
rapidjson::Document Json(const std::string& body);

/// A valid create body; `extra` is spliced in before the closing brace (e.g. a simulate block).
std::string CreateBody(const std::string& name, const std::string& extra = "");

/// The id in a service API 202 (`data[0].id`), or "" when the body has none.
std::string CreatedId(const std::string& body);
/// A create of CreateBody(name, extra) with `key` on the service API: its id (a test failure
/// unless it was answered 202).
std::string CreateAs(Stack& stack, const std::string& key, const std::string& name,
                     const std::string& extra = "");

}  // namespace lambda::testing
