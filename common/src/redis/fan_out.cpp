#include "lambda/redis/fan_out.h"

#include <memory>

#include "lambda/log/log.h"
#include "lambda/redis/keys.h"

namespace lambda::redis {

void All(size_t n, const std::function<void(size_t, Callback)>& start,
         std::function<void(std::vector<Result<Value>>)> done) {
  if (n == 0) return done({});
  struct Gather {
    std::vector<Result<Value>> answers;
    size_t left;
    std::function<void(std::vector<Result<Value>>)> done;
  };
  auto g = std::make_shared<Gather>(Gather{
      std::vector<Result<Value>>(n, Error{Code::kInternal, "unanswered"}), n, std::move(done)});
  for (size_t i = 0; i < n; ++i) {
    start(i, [g, i](Result<Value> r) {
      g->answers[i] = std::move(r);
      if (--g->left == 0) g->done(std::move(g->answers));
    });
  }
}

void HmgetEach(Client& redis, const std::vector<std::string>& keys,
               const std::vector<std::string>& fields,
               std::function<void(Result<std::vector<Value>>)> done) {
  All(
      keys.size(),
      [&redis, &keys, &fields](size_t i, Callback cb) {
        std::vector<std::string> argv{"HMGET", keys[i]};
        argv.insert(argv.end(), fields.begin(), fields.end());
        redis.Command(argv, std::move(cb));
      },
      [done = std::move(done)](std::vector<Result<Value>> answers) {
        std::vector<Value> out;
        out.reserve(answers.size());
        for (auto& a : answers) {
          if (!a) return done(a.error());
          if (a->is_error()) return done(Error{Code::kUnavailable, a->str});
          out.push_back(std::move(*a));
        }
        done(std::move(out));
      });
}

namespace {

void Logged(const char* what, const std::string& id, const Result<Value>& r) {
  if (r && !r->is_error()) return;
  log::Warn(what, {{"instance_id", id}, {"error", r ? r->str : r.error().message}});
}

}  // namespace

void Unindex(Client& redis, const std::string& prefix, const std::string& tenant,
             const std::string& id, const std::string& seq, std::function<void()> done) {
  std::vector<std::vector<std::string>> calls{{"ZREM", keys::TenantIds(prefix, tenant), id},
                                              {"ZREM", keys::TenantLive(prefix, tenant), id}};
  if (!seq.empty()) calls.push_back({"HDEL", keys::SeqMap(prefix), seq});
  All(
      calls.size(),
      [&redis, &calls](size_t i, Callback cb) { redis.Command(calls[i], std::move(cb)); },
      [id, done = std::move(done)](const std::vector<Result<Value>>& answers) {
        for (const auto& r : answers) {
          Logged("an undone create stays in its tenant index (readers skip it)", id, r);
        }
        if (done) done();
      });
}

void RemoveLive(Client& redis, const std::string& prefix, const std::string& tenant,
                const std::string& id) {
  redis.Command({"ZREM", keys::TenantLive(prefix, tenant), id}, [id](const Result<Value>& r) {
    Logged("a destroyed instance stays in its tenant's live index", id, r);
  });
}

}  // namespace lambda::redis
