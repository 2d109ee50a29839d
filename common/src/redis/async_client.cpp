#include "lambda/redis/async_client.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "lambda/log/log.h"
#include "lambda/redis/resp.h"
#include "lambda/util/util.h"
#include "lambda/uv/handle.h"
#include "redis/reply.h"
#include "redis/uv_adapter.h"

namespace lambda::redis {

int64_t Value::AsInt(int64_t fallback) const {
  if (type == Type::kInteger) return integer;
  if (type == Type::kString || type == Type::kStatus) {
    if (auto v = util::ParseInt(str)) return *v;
  }
  return fallback;
}

namespace {

/// host[:port] of a URL, into `host` and `port` (left as they are when absent).
Result<bool> ParseHostPort(std::string_view rest, std::string* host, int* port) {
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    auto p = util::ParseInt(rest.substr(colon + 1));
    if (!p || *p <= 0 || *p > 65535) return Error{Code::kInvalidArgument, "redis url: bad port"};
    *port = static_cast<int>(*p);
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) *host = std::string(rest);
  return true;
}

}  // namespace

Result<Config> ParseUrl(std::string_view url) {
  Config c;
  constexpr std::string_view kScheme = "redis://";
  constexpr std::string_view kCluster = "redis+cluster://";
  std::string_view rest;
  if (url.substr(0, kScheme.size()) == kScheme) {
    rest = url.substr(kScheme.size());
  } else if (url.substr(0, kCluster.size()) == kCluster) {
    c.cluster = true;
    rest = url.substr(kCluster.size());
  } else {
    return Error{Code::kInvalidArgument, "redis url must start with redis:// or redis+cluster://"};
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    if (auto colon = cred.find(':'); colon != std::string_view::npos) {
      c.user = util::UrlDecode(cred.substr(0, colon), false);
      cred = cred.substr(colon + 1);
    }
    c.password = util::UrlDecode(cred, false);
    rest = rest.substr(at + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    auto db = util::ParseInt(rest.substr(slash + 1));
    if (!rest.substr(slash + 1).empty()) {
      if (!db || *db < 0 || *db > 15) return Error{Code::kInvalidArgument, "redis url: bad db"};
      if (c.cluster && *db != 0) {
        return Error{Code::kInvalidArgument, "redis url: Redis Cluster has database 0 only"};
      }
      c.db = static_cast<int>(*db);
    }
    rest = rest.substr(0, slash);
  }
  if (!c.cluster) {
    if (rest.find(',') != std::string_view::npos) {
      return Error{Code::kInvalidArgument,
                   "redis url: several nodes are a Redis Cluster: use redis+cluster://h1:p1,h2:p2"};
    }
    if (auto ok = ParseHostPort(rest, &c.host, &c.port); !ok) return ok.error();
    return c;
  }
  auto seeds = util::Split(rest, ',');
  if (seeds.empty() || seeds.size() > 64) {
    return Error{Code::kInvalidArgument, "redis url: 1 to 64 cluster seed nodes"};
  }
  for (size_t i = 0; i < seeds.size(); ++i) {
    std::string host = "127.0.0.1";
    int port = 6379;
    if (seeds[i].empty()) return Error{Code::kInvalidArgument, "redis url: an empty seed node"};
    if (auto ok = ParseHostPort(seeds[i], &host, &port); !ok) return ok.error();
    if (i == 0) {
      c.host = host;
      c.port = port;
    } else {
      c.more_nodes.emplace_back(host, port);
    }
  }
  return c;
}

Script MakeScript(std::string_view name, std::string body) {
  std::string sha = util::Sha1Hex(body);
  return Script{name, std::move(body), std::move(sha)};
}

struct AsyncClient::Pending {
  Callback cb;
  AsyncClient* owner = nullptr;
  std::shared_ptr<bool> alive;
  const Script* script = nullptr;  // set for EVALSHA: NOSCRIPT retries once with EVAL
  std::vector<std::string> eval_argv;
};

class AsyncClient::Timer : public uv::Timer {
 public:
  using uv::Timer::Timer;
};

AsyncClient::AsyncClient(uv_loop_t* loop, Config config)
    : loop_(loop),
      config_(std::move(config)),
      reconnect_(std::make_unique<Timer>(loop)),
      connect_timeout_(std::make_unique<Timer>(loop)),
      watchdog_(std::make_unique<Timer>(loop)) {}

AsyncClient::~AsyncClient() {
  state_ = State::kStopped;
  *alive_ = false;
  if (ctx_ != nullptr) {
    redisAsyncContext* c = ctx_;
    ctx_ = nullptr;
    c->data = nullptr;
    redisAsyncFree(c);  // calls every pending callback with a NULL reply
  }
}

void AsyncClient::Start(std::function<void(State)> on_state) {
  on_state_ = std::move(on_state);
  watchdog_->Start(250, 250, [this] {
    if (sent_at_ms_.empty() || ctx_ == nullptr) return;
    if (static_cast<uint64_t>(util::NowMs()) - sent_at_ms_.front() > config_.command_timeout_ms) {
      Abandon("a command went unanswered past the command timeout");
    }
  });
  Connect();
}

void AsyncClient::Abandon(const char* why) {
  log::Warn("redis connection abandoned", {{"reason", why}, {"addr", address()}});
  redisAsyncContext* c = ctx_;
  ctx_ = nullptr;
  c->data = nullptr;
  sent_at_ms_.clear();
  redisAsyncFree(c);  // every pending callback runs now with kUnavailable
  SetState(State::kDisconnected);
  ScheduleReconnect();
}

void AsyncClient::Stop() {
  SetState(State::kStopped);
  reconnect_->Stop();
  connect_timeout_->Stop();
  watchdog_->Stop();
  if (ctx_ != nullptr) {
    redisAsyncContext* c = ctx_;
    ctx_ = nullptr;
    c->data = nullptr;
    redisAsyncFree(c);
  }
}

void AsyncClient::SetState(State s) {
  if (state_ == s) return;
  if (state_ == State::kStopped) return;
  state_ = s;
  if (!channel_.empty()) {
    if (s == State::kConnected) {
      SendSubscribe();
    } else if (subscribed_) {
      subscribed_ = false;
      if (on_subscribed_) on_subscribed_(false);
    }
  }
  static constexpr const char* kNames[] = {"disconnected", "connecting", "connected", "stopped"};
  log::Info("redis state", {{"state", kNames[static_cast<int>(s)]}, {"addr", address()}});
  if (on_state_) on_state_(s);
}

std::string AsyncClient::address() const {
  if (node_ == 0) return config_.host + ":" + std::to_string(config_.port);
  const auto& [host, port] = config_.more_nodes[node_ - 1];
  return host + ":" + std::to_string(port);
}

void AsyncClient::Connect() {
  if (state_ == State::kStopped) return;
  SetState(State::kConnecting);
  const std::string& host = node_ == 0 ? config_.host : config_.more_nodes[node_ - 1].first;
  const int port = node_ == 0 ? config_.port : config_.more_nodes[node_ - 1].second;
  redisAsyncContext* c = redisAsyncConnect(host.c_str(), port);
  if (c == nullptr || c->err) {
    log::Warn("redis connect failed", {{"error", c ? c->errstr : "out of memory"}});
    if (c) redisAsyncFree(c);
    SetState(State::kDisconnected);
    ScheduleReconnect();
    return;
  }
  c->data = this;
  detail::AttachToLoop(c, loop_);
  redisAsyncSetConnectCallback(c, &AsyncClient::OnConnect);
  redisAsyncSetDisconnectCallback(c, &AsyncClient::OnDisconnect);
  ctx_ = c;
  connect_timeout_->Start(config_.connect_timeout_ms, 0, [this] {
    if (state_ != State::kConnecting || ctx_ == nullptr) return;
    log::Warn("redis connect timed out", {{"addr", address()}});
    redisAsyncContext* stuck = ctx_;
    ctx_ = nullptr;
    stuck->data = nullptr;
    redisAsyncFree(stuck);  // never connected: no callbacks are pending
    SetState(State::kDisconnected);
    ScheduleReconnect();
  });
}

void AsyncClient::ScheduleReconnect() {
  if (state_ == State::kStopped) return;
  // Several nodes (a subscriber on Redis Cluster, where every node hears every PUBLISH): the
  // next one is tried.
  node_ = (node_ + 1) % (1 + config_.more_nodes.size());
  uint64_t delay =
      util::BackoffMs(config_.reconnect_min_ms, config_.reconnect_max_ms, ++reconnect_attempt_);
  reconnect_->Start(delay, 0, [this] { Connect(); });
}

void AsyncClient::OnConnect(const redisAsyncContext* c, int status) noexcept {
  auto* self = static_cast<AsyncClient*>(c->data);
  if (self == nullptr) return;
  self->connect_timeout_->Stop();
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback.
    log::Warn("redis connect failed", {{"error", c->errstr}});
    self->ctx_ = nullptr;
    self->SetState(State::kDisconnected);
    self->ScheduleReconnect();
    return;
  }
  self->reconnect_attempt_ = 0;
  self->Handshake();
}

void AsyncClient::Handshake() {
  std::vector<std::vector<std::string>> steps;
  if (!config_.password.empty()) {
    if (config_.user.empty()) {
      steps.push_back({"AUTH", config_.password});
    } else {
      steps.push_back({"AUTH", config_.user, config_.password});
    }
  }
  if (config_.db != 0) steps.push_back({"SELECT", std::to_string(config_.db)});
  if (steps.empty()) return SetState(State::kConnected);
  auto left = std::make_shared<size_t>(steps.size());
  auto failed = std::make_shared<bool>(false);
  for (const auto& argv : steps) {
    auto p = std::make_unique<Pending>();
    p->owner = this;
    p->alive = alive_;
    std::string what = argv[0];
    p->cb = [this, left, failed, what, alive = alive_](const Result<Value>& r) {
      if (!*alive || *failed) return;
      if (!r || r->is_error()) {
        *failed = true;
        log::Error("redis refused the connection handshake; retrying",
                   {{"command", what}, {"error", r ? r->str : r.error().message}});
        // Drop this connection: OnDisconnect schedules the next try with back-off.
        if (ctx_ != nullptr && state_ == State::kConnecting) redisAsyncDisconnect(ctx_);
        return;
      }
      if (--*left == 0 && state_ == State::kConnecting) SetState(State::kConnected);
    };
    Send(argv, std::move(p), true);
  }
}

void AsyncClient::OnDisconnect(const redisAsyncContext* c, int status) noexcept {
  auto* self = static_cast<AsyncClient*>(c->data);
  if (self == nullptr) return;
  // hiredis frees the context after this callback; never touch it again.
  self->ctx_ = nullptr;
  self->sent_at_ms_.clear();
  if (status != REDIS_OK) log::Warn("redis disconnected", {{"error", c->errstr}});
  self->SetState(State::kDisconnected);
  self->ScheduleReconnect();
}

void AsyncClient::OnReply(redisAsyncContext* /*c*/, void* reply, void* privdata) noexcept {
  std::unique_ptr<Pending> p(static_cast<Pending*>(privdata));
  // The client is being destroyed (redisAsyncFree calls back every pending command): its owners
  // may be gone already, so destruction cancels the callbacks instead of running them.
  if (!*p->alive) return;
  const bool alive = true;
  --p->owner->pending_;
  if (!p->owner->sent_at_ms_.empty()) p->owner->sent_at_ms_.pop_front();
  try {
    if (reply == nullptr) {
      // The connection is going away: hiredis runs these callbacks before its disconnect
      // callback, so say so now, or a callback's follow-up command would be refused and retried
      // against a context that is being freed.
      if (alive) p->owner->SetState(State::kDisconnected);
      // Sent, but no reply: the server may or may not have run it.
      p->cb(Error{Code::kTimeout, "redis connection lost before the reply (outcome unknown)"});
      return;
    }
    Value v = detail::Copy(static_cast<redisReply*>(reply));
    if (v.is_error() && p->script != nullptr && v.str.rfind("NOSCRIPT", 0) == 0 && alive &&
        p->owner->connected()) {
      // The server lost its script cache (restart, SCRIPT FLUSH): send the body once.
      AsyncClient* owner = p->owner;
      auto argv = std::move(p->eval_argv);
      argv[0] = "EVAL";
      argv[1] = std::string(p->script->body);
      p->script = nullptr;
      owner->Send(argv, std::move(p));
      return;
    }
    p->cb(std::move(v));
  } catch (const std::exception& e) {
    log::Error("redis callback threw", {{"error", e.what()}});
  }
}

void AsyncClient::Send(const std::vector<std::string>& argv, std::unique_ptr<Pending> p,
                       bool handshake) {
  const State ready = handshake ? State::kConnecting : State::kConnected;
  if (ctx_ == nullptr || state_ != ready) {
    p->cb(Error{Code::kUnavailable, "redis is not connected"});
    return;
  }
  if (pending_ >= config_.max_pending) {
    p->cb(Error{Code::kUnavailable, "too many pending redis commands"});
    return;
  }
  const std::string command = FormatCommand(argv);
  Pending* raw = p.release();
  if (redisAsyncFormattedCommand(ctx_, &AsyncClient::OnReply, raw, command.data(),
                                 command.size()) != REDIS_OK) {
    // Refused synchronously (disconnecting): hiredis will not call back, so we do.
    std::unique_ptr<Pending> reclaim(raw);
    reclaim->cb(Error{Code::kUnavailable, "redis is disconnecting"});
    return;
  }
  ++pending_;
  sent_at_ms_.push_back(static_cast<uint64_t>(util::NowMs()));
}

void AsyncClient::Subscribe(std::string channel, std::function<void(std::string_view)> on_message,
                            std::function<void(bool)> on_subscribed) {
  channel_ = std::move(channel);
  on_message_ = std::move(on_message);
  on_subscribed_ = std::move(on_subscribed);
}

void AsyncClient::SendSubscribe() {
  if (ctx_ == nullptr) return;
  // No Pending: hiredis keeps this callback for the channel and calls it for every message
  // (and once with a NULL reply when the context goes away).
  const char* argv[] = {"SUBSCRIBE", channel_.c_str()};
  const size_t lens[] = {9, channel_.size()};
  if (redisAsyncCommandArgv(ctx_, &AsyncClient::OnSubscription, this, 2, argv, lens) != REDIS_OK) {
    log::Warn("redis subscribe refused", {{"channel", channel_}});
  }
}

void AsyncClient::OnSubscription(redisAsyncContext* c, void* reply, void* privdata) noexcept {
  // data is cleared before every free: a NULL reply on a context being freed is not ours to read.
  if (c->data == nullptr || reply == nullptr) return;
  auto* self = static_cast<AsyncClient*>(privdata);
  const auto* r = static_cast<redisReply*>(reply);
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
      r->element[0]->type != REDIS_REPLY_STRING) {
    return;
  }
  std::string_view kind(r->element[0]->str, r->element[0]->len);
  try {
    if (kind == "message" && r->element[2]->type == REDIS_REPLY_STRING) {
      if (self->on_message_) self->on_message_({r->element[2]->str, r->element[2]->len});
    } else if (kind == "subscribe" && !self->subscribed_) {
      self->subscribed_ = true;
      if (self->on_subscribed_) self->on_subscribed_(true);
    }
  } catch (const std::exception& e) {
    log::Error("redis subscription callback threw", {{"error", e.what()}});
  }
}

void AsyncClient::Command(const std::vector<std::string>& argv, Callback cb) {
  auto p = std::make_unique<Pending>();
  p->cb = std::move(cb);
  p->owner = this;
  p->alive = alive_;
  Send(argv, std::move(p));
}

void AsyncClient::EvalSha(const Script& script, const std::vector<std::string>& keys,
                          std::vector<std::string> args, Callback cb) {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.emplace_back("EVALSHA");
  argv.push_back(script.sha);
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), std::make_move_iterator(args.begin()),
              std::make_move_iterator(args.end()));
  auto p = std::make_unique<Pending>();
  p->cb = std::move(cb);
  p->owner = this;
  p->alive = alive_;
  p->script = &script;
  // Kept (not copied) for a NOSCRIPT resend; Send formats it before anything can free it.
  p->eval_argv = std::move(argv);
  const auto& kept = p->eval_argv;
  Send(kept, std::move(p));
}

}  // namespace lambda::redis
