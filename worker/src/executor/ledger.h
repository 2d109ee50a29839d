#pragma once
/// The per-instance operations ledger (SPEC §6): one Redis stream per instance,
/// `<prefix>ops:<id>`, each entry what one provider operation did (op, target, outcome, detail)
/// for which request (request id, gen, worker). Appends are fire-and-forget and ordered on the
/// connection; a lost append (Redis away, or the worker killed just after the effect) can only
/// undercount, so "no effect twice" read from it stays a sound check.
#include <string>

#include "lambda/redis/async_client.h"
#include "providers/provider.h"

namespace lambda::worker {

class Ledger {
 public:
  Ledger(redis::Client* redis, std::string prefix, int max_len)
      : redis_(redis), prefix_(std::move(prefix)), max_len_(std::to_string(max_len)) {}
  void Append(const std::string& instance_id, const Operation& op, const LedgerEntry& e);
  std::string KeyOf(const std::string& instance_id) const { return prefix_ + "ops:" + instance_id; }

 private:
  redis::Client* redis_;
  std::string prefix_;
  std::string max_len_;
};

}  // namespace lambda::worker
