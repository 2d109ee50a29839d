#include "lambda/redis/grouping_client.h"

#include <algorithm>

#include "lambda/redis/scripts.h"

namespace lambda::redis {

GroupingClient::GroupingClient(uv_loop_t* loop, Client& inner, size_t max_calls)
    : inner_(inner),
      max_calls_(std::max<size_t>(max_calls, 1)),
      check_(loop != nullptr ? std::make_unique<uv::Check>(loop) : nullptr),
      no_block_(loop != nullptr ? std::make_unique<uv::NoBlock>(loop) : nullptr) {}

GroupingClient::~GroupingClient() = default;

void GroupingClient::EvalSha(const Script& script, const std::vector<std::string>& keys,
                             std::vector<std::string> args, Callback cb) {
  if (max_calls_ == 1 || !keys.empty() || !inner_.connected() || !scripts::IsGroupable(script)) {
    return inner_.EvalSha(script, keys, std::move(args), std::move(cb));
  }
  held_.push_back(Call{&script, std::move(args), std::move(cb)});
  if (held_.size() >= max_calls_) return Flush();
  if (check_ && !check_->active()) {
    check_->Start([this] { Flush(); });
    no_block_->Start();  // a call held from a timer's callback must not wait for I/O
  }
}

void GroupingClient::Flush() {
  if (check_) {
    check_->Stop();
    no_block_->Stop();
  }
  while (!held_.empty()) {
    size_t n = std::min(held_.size(), max_calls_);
    std::vector<Call> calls(std::make_move_iterator(held_.begin()),
                            std::make_move_iterator(held_.begin() + static_cast<long>(n)));
    held_.erase(held_.begin(), held_.begin() + static_cast<long>(n));
    Send(std::move(calls));
  }
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
