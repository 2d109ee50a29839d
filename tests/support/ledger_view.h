#pragma once
// Reading an operations ledger collected in a test (Operation::record into a vector).
#include <string>
#include <vector>

#include "providers/provider.h"

namespace lambda::testing {

/// The last outcome recorded for (op, target); "" when none.
inline std::string LastOutcome(const std::vector<worker::LedgerEntry>& ledger,
                               const std::string& op, const std::string& target) {
  std::string last;
  for (const auto& e : ledger) {
    if (e.op == op && e.target == target) last = e.outcome;
  }
  return last;
}

/// How many times (op, target) took effect.
inline int EffectCount(const std::vector<worker::LedgerEntry>& ledger, const std::string& op,
                       const std::string& target) {
  int n = 0;
  for (const auto& e : ledger) n += e.op == op && e.target == target && worker::IsEffect(e.outcome);
  return n;
}

}  // namespace lambda::testing
