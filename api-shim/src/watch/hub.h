#pragma once
/// The shim's watchers (SPEC §4.4): one Redis subscriber connection on the status channel,
/// fanned out in-process to the requests waiting for a status (long polls) and to the open
/// Server-Sent Events streams. No polling: a watcher acts only on a message for its instance, on
/// its own timeout, or after the subscription was re-made (when it re-reads what it may have
/// missed). Bounded: past `max_watchers` a new watch is refused (the caller answers 503).
/// Thread: loop only.
#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lambda/domain/status.h"
#include "lambda/http/server.h"
#include "lambda/redis/async_client.h"
#include "lambda/result.h"
#include "lambda/uv/handle.h"
#include "watch/cursor.h"
#include "watch/events.h"

namespace lambda::watch {

struct HubLimits {
  size_t max_watchers = 10000;    ///< waiters and streams together
  uint64_t heartbeat_ms = 15000;  ///< SSE comment line this often
  int history_batch = 100;        ///< entries read per catch-up round trip
  size_t owner_cache = 65536;     ///< instance owners remembered for tenant streams
  size_t replay_max = 256;        ///< changes a tenant stream's resume sends; more → reset
  size_t replay_reads = 128;      ///< history reads one resume keeps in flight
};

/// Why a waiter is woken. Every wake ends the waiter; the caller reads the status and answers
/// (or, after kRecheck, waits again if the status is not there yet).
enum class Wake { kReached, kTimeout, kRecheck, kShutdown };

class Hub {
 public:
  /// `commands` reads the history (the shim's command connection); `subscriber` is the Redis
  /// the channel lives on (a connection of its own is made from it).
  Hub(uv_loop_t* loop, redis::Client* commands, const redis::Config& subscriber, std::string prefix,
      HubLimits limits);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  void Start();
  /// Wakes every waiter with kShutdown and ends every stream; no new watch is taken.
  void Stop();

  /// Subscribed: watches are taken (without the channel they could miss a change).
  bool ready() const { return ready_ && !stopped_; }
  size_t waiters() const { return waiters_.size(); }
  size_t streams() const { return streams_.size(); }
  /// Why a new watch would be refused now, or empty when it would be taken.
  std::string Refusal() const;

  /// Wakes `wake` once: when `id` is written with a status in `wanted`, at the timeout, after a
  /// re-subscription, or at shutdown. Returns a token for Cancel, or the refusal.
  Result<uint64_t> AddWaiter(const std::string& id, std::vector<domain::InstanceStatus> wanted,
                             uint64_t timeout_ms, std::function<void(Wake)> wake);
  void Cancel(uint64_t token);

  /// Streams `id`'s history to `stream` as SSE: the entries after `after` (an entry id), or,
  /// when empty, the latest entry; then every new one, with heartbeats, until the stream ends.
  void AddStream(const std::string& id, std::string after, std::shared_ptr<http::Stream> stream);

  /// Streams every status change of `tenant`'s instances to `stream`, each with an id (a
  /// watch::TenantCursor), with heartbeats, until the stream ends. With `from` (a reconnect's
  /// Last-Event-ID) it first sends every change after it, or `event: reset` when it cannot.
  void AddTenantStream(const std::string& tenant, const std::shared_ptr<http::Stream>& stream,
                       std::optional<TenantCursor> from = std::nullopt);
  size_t tenant_streams() const { return tenant_streams_.size(); }

  /// The status channel's name under `prefix`.
  static std::string Channel(std::string_view prefix) { return std::string(prefix) + "events"; }

  // The subscriber's two events; public so that unit tests drive the hub without a server.
  void OnMessage(std::string_view payload);
  void OnSubscribed(bool subscribed);

 private:
  struct Waiter {
    std::string id;
    std::vector<domain::InstanceStatus> wanted;
    std::function<void(Wake)> wake;
    std::unique_ptr<uv::Timer> timer;
  };
  struct Streamer {
    std::string id;
    std::string last;  ///< the last entry id sent (empty: none yet)
    std::shared_ptr<http::Stream> stream;
    bool reading = false;
    bool dirty = false;  ///< a change arrived while reading: read again
  };

  struct TenantStreamer {
    std::string tenant;
    std::shared_ptr<http::Stream> stream;
    TenantCursor cursor;  ///< what this stream has sent (its frames' ids)
    bool replaying = false;
    std::vector<Notification> held;  ///< live changes that came during the replay
    bool held_lost = false;          ///< more came than `held` keeps: the resume resets
    bool again = false;              ///< re-subscribed during the replay: resume once more
    /// Per instance, the last entry the replay sent: a held or late live copy is not sent twice.
    std::unordered_map<std::string, EntryId> replayed;
  };
  struct Replay;
  /// Sends `n` to the tenant streams of its instance's owner (named in the message, or looked up
  /// once, then cached).
  void FanOutToTenant(const Notification& n);
  void SendToTenant(const std::string& owner, const Notification& n);
  /// One change to one tenant stream, its cursor moved on and the id sent with it.
  void DeliverTenant(uint64_t token, const Notification& n);
  void StartReplay(uint64_t token);
  void ReadTails(const std::shared_ptr<Replay>& r);
  void FinishReplay(const std::shared_ptr<Replay>& r);
  /// After a re-subscription: each tenant stream resumes from its cursor (or, with none, tells
  /// its client to list again).
  void CatchUpTenants();
  void WakeWaiter(uint64_t token, Wake why);
  void CatchUp(uint64_t token);
  void Forget(uint64_t token);
  std::vector<uint64_t> TokensOf(const std::string& id) const;

  uv_loop_t* loop_;
  redis::Client* commands_;
  std::string prefix_;
  HubLimits limits_;
  std::unique_ptr<redis::AsyncClient> subscriber_;
  std::unique_ptr<uv::Timer> heartbeat_;
  bool ready_ = false;
  bool stopped_ = false;
  uint64_t next_token_ = 1;
  std::map<uint64_t, Waiter> waiters_;
  std::map<uint64_t, Streamer> streams_;
  std::unordered_map<std::string, std::vector<uint64_t>> by_instance_;
  std::map<uint64_t, TenantStreamer> tenant_streams_;
  /// Instance → owner (an owner never changes); bounded, emptied when full.
  std::unordered_map<std::string, std::string> owners_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lambda::watch
