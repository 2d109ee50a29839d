#include "lambda/redis/cluster_client.h"

#include <algorithm>

#include "lambda/log/log.h"
#include "lambda/util/util.h"
#include "lambda/uv/handle.h"

namespace lambda::redis {

namespace {

constexpr int kMaxHops = 5;

std::string Addr(const std::string& host, int port) { return host + ":" + std::to_string(port); }

/// A node entry of CLUSTER SLOTS: [ip, port, id, ...].
std::optional<std::string> NodeAddr(const Value& n, const std::string& fallback_host) {
  if (n.type != Value::Type::kArray || n.elements.size() < 2) return std::nullopt;
  const int64_t port = n.elements[1].AsInt(-1);
  if (port <= 0 || port > 65535) return std::nullopt;
  std::string host = n.elements[0].str;
  if (host.empty() || host == "?") host = fallback_host;
  return Addr(host, static_cast<int>(port));
}

}  // namespace

Result<std::vector<SlotRange>> ParseClusterSlots(const Value& v, const std::string& fallback_host) {
  const Error bad{Code::kUnavailable, "CLUSTER SLOTS: unexpected answer"};
  if (v.is_error()) return Error{Code::kUnavailable, v.str};
  if (v.type != Value::Type::kArray) return bad;
  std::vector<SlotRange> out;
  for (const auto& range : v.elements) {
    if (range.type != Value::Type::kArray || range.elements.size() < 3) return bad;
    SlotRange r;
    r.first = static_cast<int>(range.elements[0].AsInt(-1));
    r.last = static_cast<int>(range.elements[1].AsInt(-1));
    if (r.first < 0 || r.last < r.first || r.last >= keys::kSlots) return bad;
    auto master = NodeAddr(range.elements[2], fallback_host);
    if (!master) return bad;
    r.master = *master;
    for (size_t i = 3; i < range.elements.size(); ++i) {
      if (auto replica = NodeAddr(range.elements[i], fallback_host)) r.replicas.push_back(*replica);
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<Redirect> ParseRedirect(const Value& v) {
  if (!v.is_error()) return std::nullopt;
  Redirect r;
  std::string_view e = v.str;
  if (e.rfind("MOVED ", 0) == 0) {
    e.remove_prefix(6);
  } else if (e.rfind("ASK ", 0) == 0) {
    r.ask = true;
    e.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  auto space = e.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto slot = util::ParseInt(e.substr(0, space));
  if (!slot || *slot < 0 || *slot >= keys::kSlots) return std::nullopt;
  r.slot = static_cast<int>(*slot);
  r.addr = std::string(e.substr(space + 1));
  if (r.addr.empty() || r.addr.find(':') == std::string::npos) return std::nullopt;
  return r;
}

/// A command on its way: what to send again after a redirect, and its caller's callback.
struct ClusterClient::Request {
  std::vector<std::string> argv;   ///< a plain command
  const Script* script = nullptr;  ///< or EVALSHA of this, with keys and args
  std::vector<std::string> keys, args;
  int slot = -1;  ///< -1: no key (any node serves it)
  int hops = 0;
  uint64_t retry_until_ms = 0;               ///< set by the first CLUSTERDOWN or TRYAGAIN answer
  std::optional<Result<Value>> last_answer;  ///< what the caller gets once retry_until_ms passes
  Callback cb;
};

class ClusterClient::Timer : public uv::Timer {
 public:
  using uv::Timer::Timer;
};

ClusterClient::ClusterClient(uv_loop_t* loop, Config config, uint64_t refresh_ms, uint64_t retry_ms)
    : loop_(loop),
      config_(std::move(config)),
      refresh_ms_(refresh_ms),
      refresh_timer_(std::make_unique<Timer>(loop)),
      retry_ms_(retry_ms),
      retry_timer_(std::make_unique<Timer>(loop)) {}

ClusterClient::~ClusterClient() {
  *alive_ = false;
  state_ = State::kStopped;
}

size_t ClusterClient::pending() const {
  size_t n = 0;
  for (const auto& [addr, node] : nodes_) n += node->pending();
  return n + parked_.size();
}

AsyncClient& ClusterClient::EnsureNode(const std::string& addr) {
  auto it = nodes_.find(addr);
  if (it != nodes_.end()) return *it->second;
  Config node = config_;
  node.cluster = false;
  node.more_nodes.clear();
  auto colon = addr.rfind(':');
  node.host = addr.substr(0, colon);
  node.port = static_cast<int>(util::ParseInt(addr.substr(colon + 1)).value_or(6379));
  auto client = std::make_unique<AsyncClient>(loop_, node);
  AsyncClient& ref = *client;
  nodes_.emplace(addr, std::move(client));
  if (state_ != State::kStopped) {
    ref.Start([this, alive = alive_](State) {
      if (*alive) OnNodeState();
    });
  }
  return ref;
}

void ClusterClient::Start(std::function<void(State)> on_state) {
  on_state_ = std::move(on_state);
  state_ = State::kConnecting;
  EnsureNode(Addr(config_.host, config_.port));
  for (const auto& [host, port] : config_.more_nodes) EnsureNode(Addr(host, port));
  // While any slot lacks a connected master (or no map is known yet) the map is asked again.
  refresh_timer_->Start(refresh_ms_, refresh_ms_, [this] {
    if (!map_known_ || healthy_ < keys::kSlots) Refresh();
  });
}

void ClusterClient::Stop() {
  refresh_timer_->Stop();
  retry_timer_->Stop();
  state_ = State::kStopped;
  for (auto& [addr, node] : nodes_) node->Stop();
  // Parked commands never ran: they get the answer that parked them.
  auto parked = std::move(parked_);
  parked_.clear();
  for (auto& r : parked) r->cb(std::move(*r->last_answer));
  if (on_state_) on_state_(State::kStopped);
}

void ClusterClient::Recount() {
  healthy_ = 0;
  if (!map_known_) return;
  std::map<std::string, bool> up;
  for (const auto& [addr, node] : nodes_) up[addr] = node->connected();
  for (const auto& m : slot_master_) healthy_ += !m.empty() && up[m] ? 1 : 0;
}

void ClusterClient::OnNodeState() {
  if (state_ == State::kStopped) return;
  // A node came or went: the map may have changed (a failover), and the state may have.
  Recount();
  if (!map_known_ || healthy_ < keys::kSlots) Refresh();
  UpdateState();
}

void ClusterClient::UpdateState() {
  if (state_ == State::kStopped) return;
  bool any = false;
  if (map_known_) {
    for (const auto& [addr, node] : nodes_) {
      if (node->connected() &&
          std::find(slot_master_.begin(), slot_master_.end(), addr) != slot_master_.end()) {
        any = true;
        break;
      }
    }
  }
  const State next = any ? State::kConnected : State::kDisconnected;
  if (next == state_) return;
  state_ = next;
  log::Info("redis cluster state", {{"state", any ? "connected" : "disconnected"},
                                    {"healthy_slots", static_cast<int64_t>(healthy_slots())}});
  if (on_state_) on_state_(state_);
}

void ClusterClient::Refresh() {
  if (refreshing_ || state_ == State::kStopped) return;
  // Ask a connected node: a master of the map first (its view is current), else any.
  AsyncClient* ask = nullptr;
  for (auto& [addr, node] : nodes_) {
    if (!node->connected()) continue;
    ask = node.get();
    if (std::find(slot_master_.begin(), slot_master_.end(), addr) != slot_master_.end()) break;
  }
  if (ask == nullptr) return;  // the timer tries again
  refreshing_ = true;
  ++refreshes_;
  const std::string asked = ask->address();
  ask->Command({"CLUSTER", "SLOTS"}, [this, alive = alive_, asked](Result<Value> r) {
    if (!*alive) return;
    refreshing_ = false;
    if (!r) return;
    auto ranges = ParseClusterSlots(*r, asked.substr(0, asked.rfind(':')));
    if (!ranges) {
      log::Warn("redis cluster map refused", {{"node", asked}, {"error", ranges.error().message}});
      return;
    }
    std::array<std::string, keys::kSlots> map;
    for (const auto& range : *ranges) {
      for (int s = range.first; s <= range.last; ++s) map[static_cast<size_t>(s)] = range.master;
    }
    const bool changed = map != slot_master_;
    slot_master_ = std::move(map);
    map_known_ = true;
    for (const auto& range : *ranges) {
      EnsureNode(range.master);
      for (const auto& replica : range.replicas) EnsureNode(replica);
    }
    Recount();
    if (changed) {
      log::Info("redis cluster map", {{"node", asked},
                                      {"ranges", static_cast<int64_t>(ranges->size())},
                                      {"healthy_slots", static_cast<int64_t>(healthy_slots())}});
    }
    UpdateState();
  });
}

AsyncClient* ClusterClient::NodeFor(int slot) {
  if (slot < 0) {
    for (auto& [addr, node] : nodes_) {
      if (node->connected()) return node.get();
    }
    return nullptr;
  }
  const std::string& addr = slot_master_[static_cast<size_t>(slot)];
  if (addr.empty()) return nullptr;
  auto it = nodes_.find(addr);
  return it == nodes_.end() ? nullptr : it->second.get();
}

void ClusterClient::Route(std::shared_ptr<Request> r) {
  AsyncClient* node = NodeFor(r->slot);
  if (node == nullptr || !node->connected()) {
    Refresh();
    // A parked command waits out its retry time: the slot's master may be on its way.
    if (r->last_answer && util::NowMs() < static_cast<int64_t>(r->retry_until_ms)) {
      parked_.push_back(std::move(r));
      ArmRetry();
      return;
    }
    return r->cb(Error{Code::kUnavailable, "redis cluster: no connected master for the slot"});
  }
  Send(std::move(r), node, false);
}

void ClusterClient::Park(std::shared_ptr<Request> r, Result<Value> answer) {
  const auto now = static_cast<uint64_t>(util::NowMs());
  if (!r->last_answer) r->retry_until_ms = now + retry_ms_;
  if (now >= r->retry_until_ms || state_ == State::kStopped) return r->cb(std::move(answer));
  r->last_answer = std::move(answer);
  parked_.push_back(std::move(r));
  ArmRetry();
}

void ClusterClient::ArmRetry() {
  if (!retry_timer_->active()) retry_timer_->Start(refresh_ms_, 0, [this] { RetryParked(); });
}

void ClusterClient::RetryParked() {
  auto parked = std::move(parked_);
  parked_.clear();
  for (auto& r : parked) {
    ++retries_;
    Route(std::move(r));
  }
}

void ClusterClient::Send(std::shared_ptr<Request> r, AsyncClient* node, bool asking) {
  if (asking) node->Command({"ASKING"}, [](const Result<Value>&) {});
  auto on_reply = [this, alive = alive_, r](Result<Value> v) mutable {
    if (!*alive) return;
    if (v) {
      if (auto redirect = ParseRedirect(*v); redirect && r->hops < kMaxHops) {
        ++r->hops;
        ++redirects_;
        AsyncClient& to = EnsureNode(redirect->addr);
        if (!redirect->ask) {
          // The map is stale for this slot: learn it now, and the rest of the map soon.
          slot_master_[static_cast<size_t>(redirect->slot)] = redirect->addr;
          Refresh();
        }
        if (!to.connected()) {
          return r->cb(Error{Code::kUnavailable,
                             "redis cluster: redirected to a node not "
                             "connected yet"});
        }
        return Send(std::move(r), &to, redirect->ask);
      }
      if (v->is_error() &&
          (v->str.rfind("CLUSTERDOWN", 0) == 0 || v->str.rfind("TRYAGAIN", 0) == 0)) {
        // Refused before it ran (the node's cluster state is not ok yet, or a multi-key
        // command met a slot mid-migration): safe to send again, scripts included.
        Refresh();
        return Park(std::move(r), std::move(v));
      }
    }
    r->cb(std::move(v));
  };
  if (r->script != nullptr) {
    node->EvalSha(*r->script, r->keys, r->args, std::move(on_reply));
  } else {
    node->Command(r->argv, std::move(on_reply));
  }
}

void ClusterClient::Command(const std::vector<std::string>& argv, Callback cb) {
  auto r = std::make_shared<Request>();
  r->argv = argv;
  // Every command we send names its key first (none takes keys from several slots).
  r->slot = argv.size() > 1 ? keys::SlotOf(argv[1]) : -1;
  r->cb = std::move(cb);
  Route(std::move(r));
}

void ClusterClient::EvalSha(const Script& script, const std::vector<std::string>& keys,
                            std::vector<std::string> args, Callback cb) {
  auto r = std::make_shared<Request>();
  r->script = &script;
  r->keys = keys;
  r->args = std::move(args);
  r->slot = keys.empty() ? -1 : keys::SlotOf(keys.front());
  r->cb = std::move(cb);
  Route(std::move(r));
}

void ClusterClient::WaitReplicas(const std::string& key, int replicas, uint64_t timeout_ms,
                                 Callback cb) {
  // WAIT counts the writes of one connection: the one to the key's master.
  AsyncClient* node = NodeFor(keys::SlotOf(key));
  if (node == nullptr || !node->connected()) {
    return cb(Error{Code::kUnavailable, "redis cluster: no connected master for the slot"});
  }
  node->Command({"WAIT", std::to_string(replicas), std::to_string(timeout_ms)}, std::move(cb));
}

std::unique_ptr<LiveClient> MakeClient(uv_loop_t* loop, const Config& config) {
  if (config.cluster) return std::make_unique<ClusterClient>(loop, config);
  return std::make_unique<AsyncClient>(loop, config);
}

}  // namespace lambda::redis
