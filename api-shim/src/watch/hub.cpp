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

Result<uint64_t> Hub::AddWaiter(const std::string& id, std::vector<domain::InstanceStatus> wanted,
                                uint64_t timeout_ms, std::function<void(Wake)> wake) {
  if (auto why = Refusal(); !why.empty()) return Error{Code::kUnavailable, why};
  uint64_t token = next_token_++;
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

void Hub::AddStream(const std::string& id, std::string after,
                    std::shared_ptr<http::Stream> stream) {
  if (auto why = Refusal(); !why.empty()) {
    log::Warn("watch stream refused", {{"instance_id", id}, {"reason", why}});
    stream->End();
    return;
  }
  uint64_t token = next_token_++;
  Streamer& s = streams_[token];
  s.id = id;
  s.last = std::move(after);
  s.stream = std::move(stream);
  by_instance_[id].push_back(token);
  s.stream->OnEnd([this, token, alive = alive_] {
    if (*alive) Forget(token);
  });
  if (streams_.count(token) != 0) CatchUp(token);
}

void Hub::Forget(uint64_t token) {
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
  if (!tenant_streams_.empty()) FanOutToTenant(*n);
  for (uint64_t t : TokensOf(n->instance_id)) {
    if (auto w = waiters_.find(t); w != waiters_.end()) {
      const auto& wanted = w->second.wanted;
      auto status = domain::FromCode(n->status_code);
      if (status && std::find(wanted.begin(), wanted.end(), *status) != wanted.end()) {
        WakeWaiter(t, Wake::kReached);
      }
    } else if (streams_.count(t) != 0) {
      CatchUp(t);
    }
  }
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
  for (uint64_t t : tokens) CatchUp(t);
  CatchUpTenants();
}

void Hub::CatchUp(uint64_t token) {
  auto it = streams_.find(token);
  if (it == streams_.end()) return;
  Streamer& s = it->second;
  if (s.reading) {
    s.dirty = true;
    return;
  }
  s.reading = true;
  s.dirty = false;
  const std::string key = redis::keys::History(prefix_, s.id);
  std::vector<std::string> argv =
      s.last.empty()
          ? std::vector<std::string>{"XREVRANGE", key, "+", "-", "COUNT", "1"}
          : std::vector<std::string>{"XRANGE", key,     "(" + s.last,
                                     "+",      "COUNT", std::to_string(limits_.history_batch)};
  commands_->Command(argv, [this, token, alive = alive_](const Result<redis::Value>& r) {
    if (!*alive) return;
    auto found = streams_.find(token);
    if (found == streams_.end()) return;
    Streamer& st = found->second;
    st.reading = false;
    if (!r || r->is_error()) {
      // Redis went away: the re-subscription that follows its return reads again.
      log::Warn("watch stream read failed",
                {{"instance_id", st.id}, {"error", r ? r->str : r.error().message}});
      return;
    }
    auto entries = EntriesFromReply(*r);
    bool full = static_cast<int>(entries.size()) >= limits_.history_batch;
    for (const auto& e : entries) {
      st.last = e.entry_id;
      auto stream = st.stream;  // a Send that ends the stream forgets `st`
      if (!stream->Send(SseFrame(st.id, e))) return;
    }
    if (full || st.dirty) CatchUp(token);
  });
}

}  // namespace lambda::watch
