#include "watch/hub.h"

#include <algorithm>

#include "lambda/log/log.h"
#include "lambda/redis/keys.h"

namespace lambda::watch {

Hub::Hub(uv_loop_t* loop, redis::Client* commands, const redis::Config& subscriber,
         std::string prefix, HubLimits limits)
    : loop_(loop),
      commands_(commands),
      prefix_(std::move(prefix)),
      limits_(limits),
      subscriber_(std::make_unique<redis::AsyncClient>(loop, subscriber)),
      heartbeat_(std::make_unique<uv::Timer>(loop)) {}

Hub::~Hub() {
  *alive_ = false;
  // Streams outlive the hub only as closed connections: their end callbacks must not call back.
  for (auto& [token, s] : streams_) s.stream->OnEnd([] {});
  for (auto& [token, s] : tenant_streams_) s.stream->OnEnd([] {});
}

void Hub::Start() {
  subscriber_->Subscribe(
      Channel(prefix_), [this](std::string_view payload) { OnMessage(payload); },
      [this](bool subscribed) { OnSubscribed(subscribed); });
  subscriber_->Start();
  heartbeat_->Start(limits_.heartbeat_ms, limits_.heartbeat_ms, [this] {
    std::vector<uint64_t> tokens;
    tokens.reserve(streams_.size());
    std::vector<std::shared_ptr<http::Stream>> all;
    all.reserve(streams_.size() + tenant_streams_.size());
    for (const auto& [token, s] : streams_) all.push_back(s.stream);
    for (const auto& [token, s] : tenant_streams_) all.push_back(s.stream);
    for (const auto& stream : all) stream->Send(kSseHeartbeat);  // a Send may end (forget) one
  });
}

void Hub::Stop() {
  stopped_ = true;
  heartbeat_->Stop();
  std::vector<uint64_t> tokens;
  for (const auto& [token, w] : waiters_) tokens.push_back(token);
  for (uint64_t t : tokens) WakeWaiter(t, Wake::kShutdown);
  std::vector<std::shared_ptr<http::Stream>> all;
  for (const auto& [token, s] : streams_) all.push_back(s.stream);
  for (const auto& [token, s] : tenant_streams_) all.push_back(s.stream);
  for (const auto& stream : all) stream->End();
  subscriber_->Stop();
}

std::string Hub::Refusal() const {
  if (stopped_) return "the server is shutting down";
  if (!ready_) return "the status channel is not subscribed (Redis unavailable)";
  if (waiters_.size() + streams_.size() + tenant_streams_.size() >= limits_.max_watchers) {
    return "too many watchers on this server (" + std::to_string(limits_.max_watchers) + ")";
  }
  return {};
}

bool Hub::TenantFull(const WatchOwner& owner) const {
  return !owner.tenant.empty() && HeldBy(owner.tenant) >= owner.max;
}

size_t Hub::HeldBy(const std::string& tenant) const {
  auto it = per_tenant_.find(tenant);
  return it == per_tenant_.end() ? 0 : it->second;
}

size_t Hub::MostHeld() const {
  size_t most = 0;
  for (const auto& [tenant, n] : per_tenant_) most = std::max(most, n);
  return most;
}

void Hub::Hold(uint64_t token, WatchOwner owner) {
  if (!owner.tenant.empty()) ++per_tenant_[owner.tenant];
  if (!owner.key.empty()) ++per_key_[owner.key];
  held_[token] = std::move(owner);
}

void Hub::Release(uint64_t token) {
  auto it = held_.find(token);
  if (it == held_.end()) return;
  auto drop = [](std::unordered_map<std::string, size_t>& counts, const std::string& name) {
    auto c = counts.find(name);
    if (c != counts.end() && --c->second == 0) counts.erase(c);
  };
  if (!it->second.tenant.empty()) drop(per_tenant_, it->second.tenant);
  if (!it->second.key.empty()) drop(per_key_, it->second.key);
  held_.erase(it);
}

std::vector<std::string> Hub::Keys() const {
  std::vector<std::string> out;
  out.reserve(per_key_.size());
  for (const auto& [key, n] : per_key_) out.push_back(key);
  return out;
}

void Hub::EndKey(const std::string& key) {
  std::vector<uint64_t> tokens;
  for (const auto& [token, owner] : held_) {
    if (owner.key == key) tokens.push_back(token);
  }
  for (uint64_t t : tokens) {
    if (waiters_.count(t) != 0) {
      WakeWaiter(t, Wake::kRevoked);
    } else if (auto s = streams_.find(t); s != streams_.end()) {
      auto stream = s->second.stream;
      stream->End();
    } else if (auto ts = tenant_streams_.find(t); ts != tenant_streams_.end()) {
      auto stream = ts->second.stream;
      stream->End();
    }
  }
  if (!tokens.empty()) {
    log::Info("watches of a revoked key ended",
              {{"count", static_cast<unsigned long>(tokens.size())}});
  }
}

Result<uint64_t> Hub::AddWaiter(const std::string& id, std::vector<domain::InstanceStatus> wanted,
                                uint64_t timeout_ms, std::function<void(Wake)> wake,
                                WatchOwner owner) {
  if (auto why = Refusal(); !why.empty()) return Error{Code::kUnavailable, why};
  if (TenantFull(owner)) return Error{Code::kConflict, "the tenant's watches are at its cap"};
  uint64_t token = next_token_++;
  Hold(token, std::move(owner));
  Waiter& w = waiters_[token];
  w.id = id;
  w.wanted = std::move(wanted);
  w.wake = std::move(wake);
  w.timer = std::make_unique<uv::Timer>(loop_);
  w.timer->Start(timeout_ms, 0, [this, token] { WakeWaiter(token, Wake::kTimeout); });
  by_instance_[id].push_back(token);
  return token;
}

void Hub::Cancel(uint64_t token) { Forget(token); }

void Hub::AddStream(const std::string& id, std::string after, std::shared_ptr<http::Stream> stream,
                    WatchOwner owner) {
  std::string why = Refusal();
  if (why.empty() && TenantFull(owner)) why = "the tenant's watches are at its cap";
  if (!why.empty()) {
    log::Warn("watch stream refused", {{"instance_id", id}, {"reason", why}});
    stream->End();
    return;
  }
  uint64_t token = next_token_++;
  Hold(token, std::move(owner));
  Streamer& s = streams_[token];
  s.id = id;
  s.last = std::move(after);
  s.stream = std::move(stream);
  by_instance_[id].push_back(token);
  s.stream->OnEnd([this, token, alive = alive_] {
    if (*alive) Forget(token);
  });
  if (streams_.count(token) != 0) CatchUp({token});
}

void Hub::Forget(uint64_t token) {
  Release(token);
  std::string id;
  if (auto it = waiters_.find(token); it != waiters_.end()) {
    id = it->second.id;
    waiters_.erase(it);
  } else if (auto st = streams_.find(token); st != streams_.end()) {
    id = st->second.id;
    streams_.erase(st);
  } else {
    return;
  }
  auto list = by_instance_.find(id);
  if (list == by_instance_.end()) return;
  auto& v = list->second;
  v.erase(std::remove(v.begin(), v.end(), token), v.end());
  if (v.empty()) by_instance_.erase(list);
}

std::vector<uint64_t> Hub::TokensOf(const std::string& id) const {
  auto it = by_instance_.find(id);
  return it == by_instance_.end() ? std::vector<uint64_t>{} : it->second;
}

void Hub::WakeWaiter(uint64_t token, Wake why) {
  auto it = waiters_.find(token);
  if (it == waiters_.end()) return;
  auto wake = std::move(it->second.wake);
  Forget(token);  // before waking: the wake may add a new waiter
  try {
    wake(why);
  } catch (const std::exception& e) {
    log::Error("waiter threw", {{"error", e.what()}});
  }
}

void Hub::OnMessage(std::string_view payload) {
  auto n = ParseNotification(payload);
  if (!n) return;
  if (on_change_) on_change_(*n);
  if (!tenant_streams_.empty()) FanOutToTenant(*n);
  std::vector<uint64_t> readers;
  for (uint64_t t : TokensOf(n->instance_id)) {
    if (auto w = waiters_.find(t); w != waiters_.end()) {
      const auto& wanted = w->second.wanted;
      auto status = domain::FromCode(n->status_code);
      if (status && std::find(wanted.begin(), wanted.end(), *status) != wanted.end()) {
        WakeWaiter(t, Wake::kReached);
      }
    } else if (streams_.count(t) != 0) {
      readers.push_back(t);
    }
  }
  if (!readers.empty()) CatchUp(readers);
}

void Hub::OnSubscribed(bool subscribed) {
  ready_ = subscribed;
  log::Info("status channel", {{"subscribed", subscribed ? "true" : "false"}});
  if (!subscribed) return;
  // Whatever was written while the channel was down went unheard: everyone looks again.
  std::vector<uint64_t> tokens;
  for (const auto& [token, w] : waiters_) tokens.push_back(token);
  for (uint64_t t : tokens) WakeWaiter(t, Wake::kRecheck);
  tokens.clear();
  for (const auto& [token, s] : streams_) tokens.push_back(token);
  CatchUp(tokens);
  CatchUpTenants();
}

void Hub::CatchUp(const std::vector<uint64_t>& tokens) {
  std::map<std::pair<std::string, std::string>, std::vector<uint64_t>> groups;
  for (uint64_t t : tokens) {
    auto it = streams_.find(t);
    if (it == streams_.end()) continue;
    Streamer& s = it->second;
    if (s.reading) {
      s.dirty = true;
      continue;
    }
    groups[{s.id, s.last}].push_back(t);
  }
  for (auto& [where, group] : groups) ReadFor(where, std::move(group));
}

void Hub::ReadFor(const std::pair<std::string, std::string>& where, std::vector<uint64_t> group) {
  for (uint64_t t : group) {
    Streamer& s = streams_.at(t);
    s.reading = true;
    s.dirty = false;
  }
  if (auto out = reads_.find(where); out != reads_.end()) {
    // The same read is out already: its answer is exactly what these need too.
    out->second->insert(out->second->end(), group.begin(), group.end());
    return;
  }
  auto readers = std::make_shared<std::vector<uint64_t>>(std::move(group));
  reads_[where] = readers;
  const Streamer& first = streams_.at(readers->front());
  const std::string id = first.id;
  const std::string key = redis::keys::History(prefix_, id);
  std::vector<std::string> argv =
      first.last.empty()
          ? std::vector<std::string>{"XREVRANGE", key, "+", "-", "COUNT", "1"}
          : std::vector<std::string>{"XRANGE", key,     "(" + first.last,
                                     "+",      "COUNT", std::to_string(limits_.history_batch)};
  commands_->Command(
      argv, [this, id, where, readers, alive = alive_](const Result<redis::Value>& r) {
        if (!*alive) return;
        if (auto out = reads_.find(where); out != reads_.end() && out->second == readers) {
          reads_.erase(out);
        }
        std::vector<uint64_t> live;
        for (uint64_t t : *readers) {
          auto found = streams_.find(t);
          if (found == streams_.end()) continue;
          found->second.reading = false;
          live.push_back(t);
        }
        if (!r || r->is_error()) {
          // Redis went away: the re-subscription that follows its return reads again.
          log::Warn("watch stream read failed",
                    {{"instance_id", id}, {"error", r ? r->str : r.error().message}});
          return;
        }
        auto entries = EntriesFromReply(*r);
        const bool full = static_cast<int>(entries.size()) >= limits_.history_batch;
        std::vector<std::string> frames;
        frames.reserve(entries.size());
        for (const auto& e : entries) frames.push_back(SseFrame(id, e));
        std::vector<uint64_t> again;
        for (uint64_t t : live) {
          auto found = streams_.find(t);
          if (found == streams_.end()) continue;
          auto stream = found->second.stream;  // a Send that ends the stream forgets it
          bool open = true;
          for (const auto& f : frames) {
            if (!stream->Send(f)) {
              open = false;
              break;
            }
          }
          if (!open) continue;
          found = streams_.find(t);
          if (found == streams_.end()) continue;
          if (!entries.empty()) found->second.last = entries.back().entry_id;
          if (full || found->second.dirty) again.push_back(t);
        }
        if (!again.empty()) CatchUp(again);
      });
}

}  // namespace lambda::watch
