#include "executor/ledger.h"

#include "lambda/log/log.h"
#include "lambda/util/util.h"

namespace lambda::worker {

void Ledger::Append(const std::string& instance_id, const Operation& op,
                    const std::vector<LedgerEntry>& entries) {
  if (log::Enabled(log::Level::kDebug)) {
    for (const auto& e : entries) {
      log::Debug("operation", {{"request_id", op.request_id},
                               {"instance_id", instance_id},
                               {"gen", op.gen},
                               {"op", e.op},
                               {"target", e.target},
                               {"outcome", e.outcome},
                               {"detail", e.detail}});
    }
  }
  if (redis_ == nullptr || entries.empty()) return;
  std::vector<std::string> argv = {"XADD",       KeyOf(instance_id),
                                   "MAXLEN",     "~",
                                   max_len_,     "*",
                                   "request_id", op.request_id,
                                   "gen",        std::to_string(op.gen),
                                   "worker",     op.worker,
                                   "at",         std::to_string(util::NowMs())};
  argv.reserve(argv.size() + 8 * entries.size());
  for (const auto& e : entries) {
    argv.insert(argv.end(),
                {"op", e.op, "target", e.target, "outcome", e.outcome, "detail", e.detail});
  }
  redis_->Command(argv, [instance_id](Result<redis::Value> r) {
    if (!r || r->is_error()) {
      log::Warn("ledger append lost",
                {{"instance_id", instance_id}, {"error", r ? r->str : r.error().message}});
    }
  });
}

void LedgerBatch::Add(const LedgerEntry& e) {
  entries_.push_back(e);
  if (entries_.size() == 1) timer_.Start(window_ms_, 0, [this] { Flush(); });
}

void LedgerBatch::Flush() {
  if (entries_.empty()) return;
  timer_.Stop();
  ledger_->Append(instance_id_, *op_, entries_);
  entries_.clear();
}

}  // namespace lambda::worker
