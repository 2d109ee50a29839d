// Redis's own floor per start, for scripts/bench: every start takes four steps in Redis (admit,
// confirm, claim, the final status write). This one process runs them, one after the other per
// instance and many instances at once, through the scripts and the grouping client that the shim
// and the workers use, with no HTTP, broker or provider in between. What Redis spends then is
// what a start costs it at the least, and its rate is the most starts Redis alone completes.
//   redis_floor --redis-url URL --ids FILE [--in-flight 64] [--prefix lambda:] [--tenant T]
// FILE: one STOPPED instance id per line (lambdactl seed). Prints: starts N, seconds S,
// starts_per_s X, redis_cpu_us_per_start Y (the process, user+system, its reaped forked
// children included), redis_main_thread_us_per_start M, aof_rewrites R (begun meanwhile),
// redis_evalsha_per_start E, redis_commands_per_start C.
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "lambda/domain/status.h"
#include "lambda/log/log.h"
#include "lambda/redis/async_client.h"
#include "lambda/redis/grouping_client.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/redis/sync_client.h"
#include "lambda/util/util.h"
#include "lambda/uv/handle.h"

namespace {

using lambda::Result;
using lambda::redis::Value;
namespace args = lambda::redis::args;
namespace domain = lambda::domain;
namespace scripts = lambda::redis::scripts;

constexpr uint64_t kLeaseMs = 30000;
constexpr int kHistoryMax = 256;  // the shim's and the workers' default
const char* const kWorker = "redis-floor";

struct Options {
  std::string url, ids_file, prefix = "lambda:", tenant = "default";
  size_t in_flight = 64;
};

/// What Redis reports of itself: CPU seconds (the process and its reaped forked children) and
/// calls, from INFO.
struct RedisCounters {
  double cpu_s = 0;
  double main_thread_s = 0;  ///< the main thread alone (scripts, commands, sockets, AOF)
  double rewrites = 0;       ///< AOF rewrites begun
  double evalsha = 0;
  double commands = 0;  ///< every command but EVALSHA/EVAL and this tool's INFO
};

double Field(const std::string& info, const std::string& name) {
  auto at = info.find("\n" + name + ":");
  if (at == std::string::npos) return 0;
  return std::strtod(info.c_str() + at + name.size() + 2, nullptr);
}

Result<RedisCounters> ReadCounters(lambda::redis::SyncClient& redis) {
  auto cpu = redis.Command({"INFO", "cpu"});
  auto stats = redis.Command({"INFO", "commandstats"});
  if (!cpu || !stats) return lambda::Error{lambda::Code::kUnavailable, "INFO failed"};
  RedisCounters c;
  const std::string text = "\n" + cpu->str;
  c.cpu_s = Field(text, "used_cpu_user") + Field(text, "used_cpu_sys") +
            Field(text, "used_cpu_user_children") + Field(text, "used_cpu_sys_children");
  c.main_thread_s =
      Field(text, "used_cpu_user_main_thread") + Field(text, "used_cpu_sys_main_thread");
  auto persistence = redis.Command({"INFO", "persistence"});
  if (persistence) c.rewrites = Field("\n" + persistence->str, "aof_rewrites");
  // cmdstat_<name>:calls=N,...
  const std::string& s = stats->str;
  for (size_t at = s.find("cmdstat_"); at != std::string::npos; at = s.find("cmdstat_", at + 1)) {
    auto colon = s.find(':', at);
    auto calls = s.find("calls=", at);
    if (colon == std::string::npos || calls == std::string::npos) break;
    const std::string name = s.substr(at + 8, colon - at - 8);
    const double n = std::strtod(s.c_str() + calls + 6, nullptr);
    if (name == "evalsha" || name == "eval") {
      c.evalsha += n;
    } else if (name != "info") {
      c.commands += n;
    }
  }
  return c;
}

std::string AllowedFromStart() {
  std::string set = ",";
  for (auto s : domain::AllowedFrom(domain::Action::kStart)) {
    set += std::to_string(domain::CodeOf(s)) + ",";
  }
  return set;
}

/// Runs every id's start, `in_flight` at a time; each step's answer is checked, and the first
/// wrong one ends the run (a floor measured over failing steps would be no floor).
class Driver {
 public:
  Driver(uv_loop_t* loop, lambda::redis::Client& redis, const Options& o,
         std::vector<std::string> ids)
      : loop_(loop), redis_(redis), o_(o), ids_(std::move(ids)), allowed_(AllowedFromStart()) {}

  void Begin() {
    for (size_t i = 0; i < o_.in_flight && next_ < ids_.size(); ++i) StartNext();
  }
  size_t done() const { return done_; }
  const std::string& failure() const { return failure_; }

 private:
  struct Start {
    std::string id, request_id, token;
    int64_t gen = 0;
  };

  void StartNext() {
    auto s = std::make_shared<Start>();
    s->id = ids_[next_];
    s->request_id = "floor-" + std::to_string(next_);
    s->token = "floor-tok-" + std::to_string(next_);
    ++next_;
    const int64_t now = lambda::util::NowMs();
    const args::Admit a{o_.prefix,
                        s->id,
                        o_.tenant,
                        "start",
                        domain::CodeOf(domain::TransitionalStatus(domain::Action::kStart)),
                        allowed_,
                        s->request_id,
                        now,
                        lambda::util::Rfc3339(now),
                        kHistoryMax,
                        "",
                        s->token};
    redis_.EvalSha(scripts::Admit(), a.Keys(), a.Argv(), [this, s](Result<Value> r) {
      if (!Expect(r, "ok", "admit")) return;
      s->gen = r->elements.size() > 1 ? r->elements[1].AsInt() : 0;
      Confirm(s);
    });
  }
  void Confirm(const std::shared_ptr<Start>& s) {
    const args::Confirm c{o_.prefix, s->token, {{s->id, std::to_string(s->gen)}}};
    redis_.EvalSha(scripts::Confirm(), c.Keys(), c.Argv(), [this, s](Result<Value> r) {
      if (Expect(r, "confirmed", "confirm")) Claim(s);
    });
  }
  void Claim(const std::shared_ptr<Start>& s) {
    const args::Claim c{o_.prefix, s->id, s->gen, kWorker, kLeaseMs};
    redis_.EvalSha(scripts::Claim(), c.Keys(), c.Argv(), [this, s](Result<Value> r) {
      if (Expect(r, "ok", "claim")) Final(s);
    });
  }
  void Final(const std::shared_ptr<Start>& s) {
    const int64_t now = lambda::util::NowMs();
    const args::WriteStatus w{o_.prefix,
                              s->id,
                              s->gen,
                              kWorker,
                              domain::CodeOf(domain::InstanceStatus::kStarted),
                              "",
                              "",
                              true,
                              now,
                              lambda::util::Rfc3339(now),
                              s->request_id,
                              kLeaseMs,
                              "",
                              kHistoryMax,
                              ""};
    redis_.EvalSha(scripts::WriteStatus(), w.Keys(), w.Argv(), [this](Result<Value> r) {
      if (!Expect(r, "ok", "final write")) return;
      ++done_;
      if (next_ < ids_.size()) return StartNext();
      if (done_ == next_) uv_stop(loop_);
    });
  }
  /// The answer (a status, or an array whose first element is it) is `want`.
  bool Expect(const Result<Value>& r, const char* want, const char* step) {
    if (!failure_.empty()) return false;
    std::string got;
    if (!r) {
      got = r.error().message;
    } else if (r->type == Value::Type::kArray) {
      got = r->elements.empty() ? "[]" : r->elements[0].str;
    } else {
      got = r->str;
    }
    if (got == want) return true;
    failure_ = std::string(step) + " answered '" + got + "'";
    uv_stop(loop_);
    return false;
  }

  uv_loop_t* loop_;
  lambda::redis::Client& redis_;
  const Options& o_;
  std::vector<std::string> ids_;
  std::string allowed_;
  size_t next_ = 0;
  size_t done_ = 0;
  std::string failure_;
};

int Usage() {
  std::fprintf(stderr,
               "usage: redis_floor --redis-url URL --ids FILE [--in-flight N] [--prefix P] "
               "[--tenant T]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  lambda::log::SetComponent("redis_floor");
  lambda::log::SetMinLevel(lambda::log::Level::kWarn);  // stderr: its failures only
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--redis-url") {
      o.url = v;
    } else if (k == "--ids") {
      o.ids_file = v;
    } else if (k == "--in-flight") {
      o.in_flight = std::strtoul(v.c_str(), nullptr, 10);
    } else if (k == "--prefix") {
      o.prefix = v;
    } else if (k == "--tenant") {
      o.tenant = v;
    } else {
      return Usage();
    }
  }
  if (o.url.empty() || o.ids_file.empty() || o.in_flight == 0 || argc % 2 == 0) return Usage();
  auto config = lambda::redis::ParseUrl(o.url);
  if (!config || config->cluster) {
    std::fprintf(stderr, "redis_floor: one Redis server's URL is needed\n");
    return 2;
  }
  std::vector<std::string> ids;
  std::ifstream in(o.ids_file);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) ids.push_back(line);
  }
  if (ids.empty()) {
    std::fprintf(stderr, "redis_floor: no ids in %s\n", o.ids_file.c_str());
    return 2;
  }
  auto sync = lambda::redis::SyncClient::Connect(*config);
  if (!sync) {
    std::fprintf(stderr, "redis_floor: %s\n", sync.error().message.c_str());
    return 1;
  }

  uv_loop_t loop;
  uv_loop_init(&loop);
  std::string failure;
  size_t done = 0;
  RedisCounters before, after;
  uint64_t t0 = 0, t1 = 0;
  {
    lambda::redis::AsyncClient client(&loop, *config);
    lambda::redis::GroupingClient grouping(&loop, client);
    Driver driver(&loop, grouping, o, std::move(ids));
    bool begun = false;
    client.Start([&](lambda::redis::LiveClient::State s) {
      if (s != lambda::redis::LiveClient::State::kConnected || begun) return;
      begun = true;
      auto c = ReadCounters(**sync);
      if (!c) {
        failure = c.error().message;
        return uv_stop(&loop);
      }
      before = *c;
      t0 = uv_hrtime();
      driver.Begin();
    });
    uv_run(&loop, UV_RUN_DEFAULT);
    t1 = uv_hrtime();
    if (failure.empty()) failure = driver.failure();
    done = driver.done();
    client.Stop();
  }
  lambda::uv::DrainAndClose(&loop);
  if (failure.empty()) {
    auto c = ReadCounters(**sync);
    if (!c) failure = c.error().message;
    if (c) after = *c;
  }
  if (!failure.empty() || done == 0) {
    std::fprintf(stderr, "redis_floor: %s after %zu starts\n", failure.c_str(), done);
    return 1;
  }
  const double seconds = static_cast<double>(t1 - t0) / 1e9;
  const auto n = static_cast<double>(done);
  std::printf("starts %zu\nseconds %.2f\nstarts_per_s %.0f\n", done, seconds, n / seconds);
  std::printf("redis_cpu_us_per_start %.1f\n", (after.cpu_s - before.cpu_s) * 1e6 / n);
  std::printf("redis_main_thread_us_per_start %.1f\n",
              (after.main_thread_s - before.main_thread_s) * 1e6 / n);
  std::printf("aof_rewrites %.0f\n", after.rewrites - before.rewrites);
  std::printf("redis_evalsha_per_start %.2f\n", (after.evalsha - before.evalsha) / n);
  std::printf("redis_commands_per_start %.1f\n", (after.commands - before.commands) / n);
  return 0;
}
