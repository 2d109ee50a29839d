#include "lambda/redis/grouping_client.h"

#include <map>

#include "lambda/redis/keys.h"
#include "lambda/redis/scripts.h"

namespace lambda::redis {

GroupingClient::GroupingClient(uv_loop_t* loop, Client& inner, size_t max_calls, bool per_slot)
    : inner_(inner),
      per_slot_(per_slot),
      turn_(loop, max_calls, [this](std::vector<Call> calls) { Send(std::move(calls)); }) {}

GroupingClient::~GroupingClient() = default;

void GroupingClient::EvalSha(const Script& script, const std::vector<std::string>& keys,
                             std::vector<std::string> args, Callback cb) {
  if (turn_.max() == 1 || !inner_.connected() || !scripts::IsGroupable(script)) {
    return inner_.EvalSha(script, keys, std::move(args), std::move(cb));
  }
  turn_.Add(Call{&script, keys, std::move(args), std::move(cb)});
}

void GroupingClient::WaitReplicas(const std::string& key, int replicas, uint64_t timeout_ms,
                                  Callback cb) {
  // The admission it follows was answered already, so it left this client before: the WAIT
  // goes straight to the key's connection.
  inner_.WaitReplicas(key, replicas, timeout_ms, std::move(cb));
}

void GroupingClient::Send(std::vector<Call> calls) {
  if (!per_slot_ || calls.size() == 1) return SendGroup(std::move(calls));
  std::map<int, std::vector<Call>> by_slot;
  for (auto& c : calls) {
    by_slot[c.keys.empty() ? 0 : keys::SlotOf(c.keys.front())].push_back(std::move(c));
  }
  for (auto& [slot, group] : by_slot) SendGroup(std::move(group));
}

void GroupingClient::SendGroup(std::vector<Call> calls) {
  ++groups_sent_;
  calls_sent_ += calls.size();
  if (calls.size() == 1) {
    auto& c = calls.front();
    return inner_.EvalSha(*c.script, c.keys, std::move(c.args), std::move(c.cb));
  }
  size_t total = 0;
  size_t total_keys = 0;
  for (const auto& c : calls) {
    total += 3 + c.args.size();
    total_keys += c.keys.size();
  }
  std::vector<std::string> argv;
  argv.reserve(total);
  std::vector<std::string> all_keys;
  all_keys.reserve(total_keys);
  std::vector<Callback> cbs;
  cbs.reserve(calls.size());
  for (auto& c : calls) {
    argv.emplace_back(std::string(c.script->name));
    argv.push_back(std::to_string(c.keys.size()));
    argv.push_back(std::to_string(c.args.size()));
    for (auto& k : c.keys) all_keys.push_back(std::move(k));
    for (auto& a : c.args) argv.push_back(std::move(a));
    cbs.push_back(std::move(c.cb));
  }
  inner_.EvalSha(scripts::Group(), all_keys, std::move(argv),
                 [cbs = std::move(cbs)](Result<Value> r) {
                   if (r && r->type == Value::Type::kArray && r->elements.size() == cbs.size()) {
                     for (size_t i = 0; i < cbs.size(); ++i) cbs[i](std::move(r->elements[i]));
                     return;
                   }
                   // The group as a whole failed (not sent, reply lost, the script refused): so did
                   // every call. An answer of the wrong shape means the calls ran but their answers
                   // are unknown: a lost reply to each of them.
                   Result<Value> each = r;
                   if (r && !r->is_error())
                     each = Error{Code::kTimeout, "grouped reply of the wrong shape"};
                   for (const auto& cb : cbs) cb(each);
                 });
}

}  // namespace lambda::redis
