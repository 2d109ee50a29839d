#include "lambda/redis/tag_store.h"

#include <memory>
#include <utility>

#include "lambda/redis/fan_out.h"
#include "lambda/redis/keys.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"

namespace lambda::redis {

void SelectIds(Client& redis, const std::string& prefix, const std::string& tenant,
               const domain::Selector& selector, int64_t after, size_t count,
               std::function<void(Result<SelectedPage>)> done) {
  args::Select a;
  a.prefix = prefix;
  a.tenant = tenant;
  a.tags = selector.tags;
  a.live_only = !selector.MayMatchDestroyed();
  a.after = after;
  a.count = count;
  a.budget = kSelectBudget;
  redis.EvalSha(
      scripts::Select(), a.Keys(), a.Argv(),
      [&redis, prefix, tenant, statuses = selector.statuses,
       done = std::move(done)](Result<Value> r) mutable {
        if (!r) return done(r.error());
        if (r->is_error() || r->elements.empty()) {
          return done(Error{Code::kUnavailable, r->is_error() ? r->str : "select: empty reply"});
        }
        auto page = std::make_shared<SelectedPage>();
        const auto& e = r->elements;
        page->end = e[0].str.empty();
        page->next = page->end ? 0 : e[0].AsInt();
        for (size_t i = 1; i + 1 < e.size(); i += 2) {
          page->ids.push_back(e[i].str);
          page->seqs.push_back(e[i + 1].AsInt());
        }
        if (!page->end && page->next == 0 && !page->seqs.empty()) page->next = page->seqs.back();
        if (statuses.empty() || page->ids.empty()) return done(std::move(*page));
        std::vector<std::string> keys;
        keys.reserve(page->ids.size());
        for (const auto& id : page->ids) keys.push_back(keys::Instance(prefix, id));
        HmgetEach(redis, keys, {"owner", "status"},
                  [page, tenant, statuses, done](Result<std::vector<Value>> rows) {
                    if (!rows) return done(rows.error());
                    SelectedPage kept{{}, {}, page->next, page->end};
                    for (size_t i = 0; i < rows->size(); ++i) {
                      const auto& f = (*rows)[i].elements;
                      if (f.size() < 2 || f[0].is_nil() || f[0].str != tenant) continue;
                      const int code = static_cast<int>(f[1].AsInt(-1));
                      bool wanted = false;
                      for (auto s : statuses) wanted = wanted || domain::CodeOf(s) == code;
                      if (!wanted) continue;
                      kept.ids.push_back(page->ids[i]);
                      kept.seqs.push_back(page->seqs[i]);
                    }
                    done(std::move(kept));
                  });
      });
}

namespace {

struct SelectAllState {
  Client* redis;
  std::string prefix, tenant;
  domain::Selector selector;
  size_t max;
  std::vector<std::string> ids;
  std::function<void(Result<std::vector<std::string>>)> done;
};

void Next(const std::shared_ptr<SelectAllState>& s, int64_t after) {
  SelectIds(*s->redis, s->prefix, s->tenant, s->selector, after, kSelectBudget,
            [s](Result<SelectedPage> page) {
              if (!page) return s->done(page.error());
              for (auto& id : page->ids) s->ids.push_back(std::move(id));
              if (s->ids.size() > s->max) {
                return s->done(Error{Code::kInvalidArgument,
                                     "more than " + std::to_string(s->max) + " instances match"});
              }
              if (page->end) return s->done(std::move(s->ids));
              Next(s, page->next);
            });
}

}  // namespace

void SelectAll(Client& redis, const std::string& prefix, const std::string& tenant,
               const domain::Selector& selector, size_t max,
               std::function<void(Result<std::vector<std::string>>)> done) {
  auto s = std::make_shared<SelectAllState>(
      SelectAllState{&redis, prefix, tenant, selector, max, {}, std::move(done)});
  Next(s, 0);
}

}  // namespace lambda::redis

namespace lambda::redis {

void ReadTags(Client& redis, const std::string& prefix, const std::string& tenant,
              const std::vector<std::string>& ids,
              std::function<void(Result<std::vector<domain::Tags>>)> done) {
  if (ids.empty()) return done(std::vector<domain::Tags>{});
  std::vector<std::string> argv{"HMGET", keys::TenantTags(prefix, tenant)};
  argv.insert(argv.end(), ids.begin(), ids.end());
  redis.Command(argv, [n = ids.size(), done = std::move(done)](Result<Value> r) {
    if (!r) return done(r.error());
    if (r->is_error()) return done(Error{Code::kUnavailable, r->str});
    std::vector<domain::Tags> out(n);
    for (size_t i = 0; i < n && i < r->elements.size(); ++i) {
      if (!r->elements[i].is_nil()) out[i] = domain::TagsFromJson(r->elements[i].str);
    }
    done(std::move(out));
  });
}

namespace {

constexpr int kReplaceTries = 5;

void TryReplace(Client& redis, args::TagsReplace a, int tries_left,
                std::function<void(Result<bool>)> done) {
  auto keys = a.Keys();
  auto argv = a.Argv();
  redis.EvalSha(
      scripts::TagsReplace(), keys, std::move(argv),
      [&redis, a = std::move(a), tries_left, done = std::move(done)](Result<Value> r) mutable {
        if (!r) return done(r.error());
        if (r->is_error() || r->elements.empty()) {
          return done(Error{Code::kUnavailable, r->is_error() ? r->str : "tags: empty"});
        }
        const std::string& what = r->elements[0].str;
        if (what == "ok") return done(true);
        if (what == "notfound") return done(false);
        if (what == "changed" && r->elements.size() > 1 && tries_left > 1) {
          a.old_tags = domain::TagsFromJson(r->elements[1].str);
          return TryReplace(redis, std::move(a), tries_left - 1, std::move(done));
        }
        done(Error{Code::kUnavailable, "tags: replaced concurrently, try again"});
      });
}

}  // namespace

void ReplaceTags(Client& redis, const std::string& prefix, const std::string& tenant,
                 const std::string& id, const domain::Tags& tags,
                 std::function<void(Result<bool>)> done) {
  redis.Command({"HGET", keys::TenantTags(prefix, tenant), id},
                [&redis, a = args::TagsReplace{prefix, tenant, id, {}, tags},
                 done = std::move(done)](Result<Value> r) mutable {
                  if (!r) return done(r.error());
                  if (r->is_error()) return done(Error{Code::kUnavailable, r->str});
                  if (!r->is_nil()) a.old_tags = domain::TagsFromJson(r->str);
                  TryReplace(redis, std::move(a), kReplaceTries, std::move(done));
                });
}

}  // namespace lambda::redis
