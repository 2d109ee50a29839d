#include "harness.h"

#include <cstdio>
#include <sstream>

#include "lambda/redis/keys.h"
#include "ledger_stream.h"

namespace lambda::chaos {

using testing::EnvOr;
using testing::Http;

int EnvInt(const char* name, int fallback) {
  std::string v = EnvOr(name);
  return v.empty() ? fallback : std::stoi(v);
}

int Shell(const std::string& script) {
  std::string cmd = "bash -c 'source \"" + EnvOr("LAMBDA_SOURCE_DIR") +
                    "/scripts/lib/common.sh\"; " + script + "' >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

void Drive(const Stack& stack, const std::string& key, const std::vector<std::string>& ids,
           int threads, std::atomic<bool>& stop, Figures& f) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::map<std::string, std::string> next;  // the action each instance should get next
      uint64_t n = 0;
      while (!stop) {
        for (size_t i = static_cast<size_t>(t); i < ids.size() && !stop;
             i += static_cast<size_t>(threads)) {
          const std::string& id = ids[i];
          std::string action = next.count(id) ? next[id] : "start";
          std::string rid = "chaos-" + std::to_string(t) + "-" + std::to_string(++n);
          auto r = Http("POST", stack.url() + "/api/lambda-instances/" + id + "/",
                        {"X-API-Key: " + key, "X-Request-Id: " + rid}, "action=" + action);
          ++f.sent;
          if (r.status == 202) {
            ++f.accepted;
            next[id] = action == "start" ? "stop" : "start";
            std::lock_guard<std::mutex> lock(f.mu);
            f.accepted_actions.push_back({rid, id, action});
            f.accepted_at_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now().time_since_epoch())
                                           .count());
          } else if (r.status == 503) {
            ++f.refused;
            std::lock_guard<std::mutex> lock(f.mu);
            f.refused_actions.push_back({rid, id, action});
            f.refused_at_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
          } else if (r.status == 409) {
            ++f.conflict;
            if (r.body.find("already started") != std::string::npos) next[id] = "stop";
            if (r.body.find("already stopped") != std::string::npos) next[id] = "start";
            if (r.body.find("status is FAILED") != std::string::npos) next[id] = "stop";
          } else {
            ++f.errors;  // the shim was killed under us: no answer, no promise
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
        }
      }
    });
  }
  for (auto& th : pool) th.join();
}

std::map<std::string, Outcome> Outcomes(Stack& stack, const std::vector<std::string>& ids) {
  std::map<std::string, Outcome> out;
  for (const auto& id : ids) {
    auto entries =
        stack.redis().Array({"XRANGE", redis::keys::History(stack.redis_prefix(), id), "-", "+"});
    for (const auto& e : entries) {
      std::map<std::string, std::string> f;
      std::istringstream ss(e);
      std::string entry_id, k, v;
      std::getline(ss, entry_id);
      while (std::getline(ss, k) && std::getline(ss, v)) f[k] = v;
      if (f["worker"].empty()) continue;  // the admission (or undo) entry
      auto& o = out[f["request_id"]];
      ++o.worker_writes;
      int code = std::atoi(f["status"].c_str());
      if (code == 0 || code == 1 || code == 9) o.final = true;
      if (f["worker"] == "reconciler") o.timed_out = true;
    }
  }
  return out;
}

void JudgeLedger(Stack& stack, const std::vector<std::string>& ids, Verdict* v) {
  for (const auto& id : ids) {
    std::map<std::string, int> effects;
    for (const auto& e :
         stack.redis().Array({"XRANGE", stack.redis_prefix() + "ops:" + id, "-", "+"})) {
      for (const auto& op : testing::ParseLedgerEntry(e)) {
        ++v->ledger_entries;
        const std::string& o = op.outcome;
        if (o == "created" || o == "started" || o == "stopped" || o == "destroyed") {
          ++v->ledger_effects;
          if (++effects[op.request_id + " " + op.op + " " + op.target] == 2) {
            ++v->ledger_twice;
            std::printf("applied twice by the ledger: %s %s %s %s\n", id.c_str(),
                        op.request_id.c_str(), op.op.c_str(), op.target.c_str());
          }
        }
      }
    }
  }
}

Verdict Judge(Stack& stack, const std::vector<std::string>& ids, Figures& f,
              std::chrono::seconds settle) {
  Verdict v;
  // Wait until every accepted action reached a final status (or the settle time passes).
  testing::WaitFor(
      [&] {
        auto o = Outcomes(stack, ids);
        for (const auto& a : f.accepted_actions) {
          if (!o[a.request_id].final) return false;
        }
        return true;
      },
      settle);
  auto o = Outcomes(stack, ids);
  for (const auto& a : f.accepted_actions) {
    const auto& x = o[a.request_id];
    if (!x.final) ++v.lost;
    if (x.final) ++v.reached;
    if (x.worker_writes > 1) ++v.twice;  // start and stop each write exactly one status
    if (x.timed_out) ++v.timed_out;
  }
  for (const auto& r : f.refused_actions) {
    if (o.count(r.request_id) && o[r.request_id].worker_writes > 0) ++v.refused_changed;
  }
  JudgeLedger(stack, ids, &v);
  return v;
}

void Report(const std::string& scenario, Figures& f, const Verdict& v) {
  std::printf(
      "chaos %-28s sent %6llu  accepted %6llu  refused(503) %5llu  conflict(409) %5llu  no-answer "
      "%4llu  "
      "final %6llu  lost %llu  twice %llu  refused-changed %llu  timed-out %llu  "
      "ledger %llu entries, %llu effects, %llu twice\n",
      scenario.c_str(), (unsigned long long)f.sent, (unsigned long long)f.accepted,
      (unsigned long long)f.refused, (unsigned long long)f.conflict, (unsigned long long)f.errors,
      (unsigned long long)v.reached, (unsigned long long)v.lost, (unsigned long long)v.twice,
      (unsigned long long)v.refused_changed, (unsigned long long)v.timed_out,
      (unsigned long long)v.ledger_entries, (unsigned long long)v.ledger_effects,
      (unsigned long long)v.ledger_twice);
  std::fflush(stdout);
}

size_t UndoneByReconciler(Stack& stack, const std::vector<std::string>& ids) {
  size_t n = 0;
  for (const auto& id : ids) {
    for (const auto& e :
         stack.redis().Array({"XRANGE", redis::keys::History(stack.redis_prefix(), id), "-", "+"}))
      n += e.find("undone by the reconciler") != std::string::npos;
  }
  return n;
}

RunResult Chaos::Run(const std::string& name, Stack& stack, int threads,
                     const std::function<void(std::atomic<bool>&)>& chaos) {
  std::string key = stack.NewKey("chaos");
  auto ids = stack.Seed(EnvInt("LAMBDA_CHAOS_INSTANCES", 200), "STOPPED", "chaos");
  Figures f;
  std::atomic<bool> stop{false};
  std::thread driver([&] { Drive(stack, key, ids, threads, stop, f); });
  std::thread monkey([&] { chaos(stop); });
  std::this_thread::sleep_for(std::chrono::seconds(seconds_));
  stop = true;
  driver.join();
  monkey.join();
  Judge(stack, ids, f, std::chrono::seconds(90));
  // Judged once everything settled: nothing pending, so no late republish can change a 503.
  testing::WaitFor([&] { return stack.redis().PendingIds(stack.redis_prefix(), 1).empty(); },
                   std::chrono::seconds(60));
  if (!EnvOr("LAMBDA_CHAOS_DEBUG").empty()) {
    for (const auto& id : stack.redis().PendingIds(stack.redis_prefix(), 6))
      std::printf(
          "still pending %s: %s\n", id.c_str(),
          stack.redis().Cmd({"HGETALL", redis::keys::Instance(stack.redis_prefix(), id)}).c_str());
  }
  Verdict v = Judge(stack, ids, f, std::chrono::seconds(1));
  Report(name, f, v);
  EXPECT_GT(f.accepted, 0u);
  EXPECT_EQ(v.lost, 0u);
  EXPECT_EQ(v.twice, 0u);
  EXPECT_EQ(v.refused_changed, 0u);
  EXPECT_EQ(v.ledger_twice, 0u);
  last_verdict_ = v;
  return RunResult{ids, f.accepted, f.refused, f.errors, f.accepted_at_ms, f.refused_at_ms};
}

Stack::Options Options(int workers, std::vector<std::string> shim,
                       std::vector<std::string> worker) {
  worker.insert(worker.end(),
                {"--lease-ms", "2000", "--reconcile-interval-ms", "500", "--republish-after-ms",
                 "3000", "--action-timeout-ms", "600000", "--unconfirmed-after-ms", "8000"});
  return Stack::Options{workers, std::move(shim), std::move(worker)};
}

bool ShimLogHas(Stack& stack, const std::string& text) {
  return stack.shim().Log().find(text) != std::string::npos;
}

}  // namespace lambda::chaos
