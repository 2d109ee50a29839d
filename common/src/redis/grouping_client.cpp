#include "lambda/redis/grouping_client.h"

#include "lambda/redis/scripts.h"

namespace lambda::redis {

GroupingClient::GroupingClient(uv_loop_t* loop, Client& inner, size_t max_calls)
    : inner_(inner),
      turn_(loop, max_calls, [this](std::vector<Call> calls) { Send(std::move(calls)); }) {}

GroupingClient::~GroupingClient() = default;

void GroupingClient::EvalSha(const Script& script, const std::vector<std::string>& keys,
                             std::vector<std::string> args, Callback cb) {
  if (turn_.max() == 1 || !keys.empty() || !inner_.connected() || !scripts::IsGroupable(script)) {
    return inner_.EvalSha(script, keys, std::move(args), std::move(cb));
  }
  turn_.Add(Call{&script, std::move(args), std::move(cb)});
}

void GroupingClient::Send(std::vector<Call> calls) {
  ++groups_sent_;
  calls_sent_ += calls.size();
  if (calls.size() == 1) {
    auto& c = calls.front();
    return inner_.EvalSha(*c.script, {}, std::move(c.args), std::move(c.cb));
  }
  size_t total = 0;
  for (const auto& c : calls) total += 2 + c.args.size();
  std::vector<std::string> argv;
  argv.reserve(total);
  std::vector<Callback> cbs;
  cbs.reserve(calls.size());
  for (auto& c : calls) {
    argv.emplace_back(std::string(c.script->name));
    argv.push_back(std::to_string(c.args.size()));
    for (auto& a : c.args) argv.push_back(std::move(a));
    cbs.push_back(std::move(c.cb));
  }
  inner_.EvalSha(scripts::Group(), {}, std::move(argv), [cbs = std::move(cbs)](Result<Value> r) {
    if (r && r->type == Value::Type::kArray && r->elements.size() == cbs.size()) {
      for (size_t i = 0; i < cbs.size(); ++i) cbs[i](std::move(r->elements[i]));
      return;
    }
    // The group as a whole failed (not sent, reply lost, the script refused): so did every call.
    // An answer of the wrong shape means the calls ran but their answers are unknown: a lost
    // reply to each of them.
    Result<Value> each = r;
    if (r && !r->is_error()) each = Error{Code::kTimeout, "grouped reply of the wrong shape"};
    for (const auto& cb : cbs) cb(each);
  });
}

}  // namespace lambda::redis
