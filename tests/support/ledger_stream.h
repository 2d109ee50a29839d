#pragma once
// Reading the operations ledger stream (`<prefix>ops:<id>`) back in the end-to-end tests: each
// stream entry holds request_id, gen, worker, at, then op, target, outcome, detail once per
// operation, in order.
#include <sstream>
#include <string>
#include <vector>

namespace lambda::testing {

struct LedgerOp {
  std::string request_id;
  std::string op;
  std::string target;
  std::string outcome;
  std::string detail;
};

/// The operations of one stream entry as the test Redis client returns it (its id, then field
/// and value lines).
inline std::vector<LedgerOp> ParseLedgerEntry(const std::string& entry) {
  std::vector<LedgerOp> out;
  std::istringstream lines(entry);
  std::string entry_id, k, v, request_id;
  std::getline(lines, entry_id);
  while (std::getline(lines, k) && std::getline(lines, v)) {
    if (k == "request_id") request_id = v;
    if (k == "op") out.push_back(LedgerOp{"", v, "", "", ""});
    if (out.empty()) continue;
    if (k == "target") out.back().target = v;
    if (k == "outcome") out.back().outcome = v;
    if (k == "detail") out.back().detail = v;
  }
  for (auto& o : out) o.request_id = request_id;
  return out;
}

}  // namespace lambda::testing
