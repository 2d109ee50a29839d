#include "executor/ledger.h"

#include "lambda/log/log.h"
#include "lambda/util/util.h"

namespace lambda::worker {

void Ledger::Append(const std::string& instance_id, const Operation& op, const LedgerEntry& e) {
  log::Debug("operation", {{"request_id", op.request_id},
                           {"instance_id", instance_id},
                           {"gen", op.gen},
                           {"op", e.op},
                           {"target", e.target},
                           {"outcome", e.outcome},
                           {"detail", e.detail}});
  if (redis_ == nullptr) return;
  redis_->Command({"XADD",       KeyOf(instance_id),
                   "MAXLEN",     "~",
                   max_len_,     "*",
                   "op",         e.op,
                   "target",     e.target,
                   "outcome",    e.outcome,
                   "detail",     e.detail,
                   "request_id", op.request_id,
                   "gen",        std::to_string(op.gen),
                   "worker",     op.worker,
                   "at",         std::to_string(util::NowMs())},
                  [instance_id](Result<redis::Value> r) {
                    if (!r || r->is_error()) {
                      log::Warn("ledger append lost", {{"instance_id", instance_id},
                                                       {"error", r ? r->str : r.error().message}});
                    }
                  });
}

}  // namespace lambda::worker
