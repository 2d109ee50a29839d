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
#include <set>
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
/// (or, after kRecheck, waits again if the status is not there yet); kRevoked: the key it was
/// opened with was revoked (the caller answers 401).
enum class Wake { kReached, kTimeout, kRecheck, kShutdown, kRevoked };

/// Who holds a watch (SPEC §3): its tenant, counted against that tenant's cap, and the API key
/// it was opened with (empty: none to revoke), whose revocation ends it (EndKey).
struct WatchOwner {
  std::string tenant;
  std::string key;
  size_t max = SIZE_MAX;  ///< the tenant's cap of waits and streams on this shim
};

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
  /// Whether `owner`'s tenant holds its cap of watches on this hub (a new one is a 429, and
  /// other tenants' watches are still taken).
  bool TenantFull(const WatchOwner& owner) const;
  /// The watches `tenant` holds; the most any tenant holds; how many tenants hold any.
  size_t HeldBy(const std::string& tenant) const;
  size_t MostHeld() const;
  size_t tenants_watching() const { return per_tenant_.size(); }

  /// Wakes `wake` once: when `id` is written with a status in `wanted`, at the timeout, after a
  /// re-subscription, at shutdown, or when `owner.key` is revoked. Returns a token for Cancel,
  /// or the refusal (kUnavailable: the hub's; kConflict: the tenant's cap, TenantFull).
  Result<uint64_t> AddWaiter(const std::string& id, std::vector<domain::InstanceStatus> wanted,
                             uint64_t timeout_ms, std::function<void(Wake)> wake,
                             WatchOwner owner = {});
  void Cancel(uint64_t token);

  /// Streams `id`'s history to `stream` as SSE: the entries after `after` (an entry id), or,
  /// when empty, the latest entry; then every new one, with heartbeats, until the stream ends.
  /// Every stream of an instance that has sent the same entries shares one read per change.
  void AddStream(const std::string& id, std::string after, std::shared_ptr<http::Stream> stream,
                 WatchOwner owner = {});

  /// Streams every status change of `tenant`'s instances to `stream`, each with an id (a
  /// watch::TenantCursor), with heartbeats, until the stream ends. With `from` (a reconnect's
  /// Last-Event-ID) it first sends every change after it, or `event: reset` when it cannot.
  void AddTenantStream(const std::string& tenant, const std::shared_ptr<http::Stream>& stream,
                       std::optional<TenantCursor> from = std::nullopt, WatchOwner owner = {});
  size_t tenant_streams() const { return tenant_streams_.size(); }

  /// The API keys some watch was opened with.
  std::vector<std::string> Keys() const;
  /// Ends every watch opened with `key` (revoked): waiters wake with kRevoked, streams end.
  void EndKey(const std::string& key);

  /// The status channel's name under `prefix`.
  static std::string Channel(std::string_view prefix) { return std::string(prefix) + "events"; }

  /// `fn` hears every status change the channel brings (before the watchers do).
  void OnChange(std::function<void(const Notification&)> fn) { on_change_ = std::move(fn); }

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
  /// Reads what `tokens` (streams) have not sent yet: one read per (instance, last entry sent)
  /// among them; a stream reading already is marked to read again when its read answers.
  void CatchUp(const std::vector<uint64_t>& tokens);
  void ReadFor(const std::pair<std::string, std::string>& where, std::vector<uint64_t> group);
  void Forget(uint64_t token);
  /// Counts a new watch against its tenant (and key); Release gives it back.
  void Hold(uint64_t token, WatchOwner owner);
  void Release(uint64_t token);
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
  /// The stream reads in flight by (instance, entry read after): a stream wanting the same read
  /// joins it.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<std::vector<uint64_t>>> reads_;
  /// Every watch's tenant and key; per tenant and per key, how many.
  std::unordered_map<uint64_t, WatchOwner> held_;
  std::unordered_map<std::string, size_t> per_tenant_;
  std::unordered_map<std::string, size_t> per_key_;
  std::function<void(const Notification&)> on_change_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lambda::watch
