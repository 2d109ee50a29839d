#include "lambda/redis/scripts.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "lambda/domain/status.h"

namespace lambda::lua {
extern const std::string_view k_admit_create;
extern const std::string_view k_admit;
extern const std::string_view k_admit_cancel;
extern const std::string_view k_undo_admission;
extern const std::string_view k_claim;
extern const std::string_view k_write_status;
extern const std::string_view k_page;
extern const std::string_view k_renew_lease;
extern const std::string_view k_release_for_retry;
extern const std::string_view k_peek;
extern const std::string_view k_index_create;
extern const std::string_view k_reconciler_lease;
extern const std::string_view k_reconcile_one;
extern const std::string_view k_confirm;
extern const std::string_view k_dismiss_error;
extern const std::string_view k_history_tail;
extern const std::string_view k_idempotency_keep;
extern const std::string_view k_touch_key;
extern const std::string_view k_tags_replace;
extern const std::string_view k_select;
}  // namespace lambda::lua

namespace lambda::redis::scripts {

namespace {

/// The script with its status constants (S_<NAME>) defined from the C++ status table in front of
/// it: no status code is ever written as a literal in Lua. A name the table lacks is a bug of
/// the script, caught the first time it is used (every script runs in the unit and Lua tests).
Script WithStatusConstants(std::string_view name, std::string_view body) {
  auto constants = domain::LuaStatusConstants(body);
  if (!constants) {
    throw std::logic_error(std::string(name) + ".lua: " + constants.error().message);
  }
  return MakeScript(name, *constants + std::string(body));
}

}  // namespace

#define LAMBDA_SCRIPT(fn, var, name)                             \
  const Script& fn() {                                           \
    static const Script s = WithStatusConstants(name, lua::var); \
    return s;                                                    \
  }

LAMBDA_SCRIPT(AdmitCreate, k_admit_create, "admit_create")
LAMBDA_SCRIPT(Admit, k_admit, "admit")
LAMBDA_SCRIPT(AdmitCancel, k_admit_cancel, "admit_cancel")
LAMBDA_SCRIPT(UndoAdmission, k_undo_admission, "undo_admission")
LAMBDA_SCRIPT(Claim, k_claim, "claim")
LAMBDA_SCRIPT(WriteStatus, k_write_status, "write_status")
LAMBDA_SCRIPT(Page, k_page, "page")
LAMBDA_SCRIPT(RenewLease, k_renew_lease, "renew_lease")
LAMBDA_SCRIPT(ReleaseForRetry, k_release_for_retry, "release_for_retry")
LAMBDA_SCRIPT(Peek, k_peek, "peek")
LAMBDA_SCRIPT(IndexCreate, k_index_create, "index_create")
LAMBDA_SCRIPT(ReconcilerLease, k_reconciler_lease, "reconciler_lease")
LAMBDA_SCRIPT(ReconcileOne, k_reconcile_one, "reconcile_one")
LAMBDA_SCRIPT(Confirm, k_confirm, "confirm")
LAMBDA_SCRIPT(DismissError, k_dismiss_error, "dismiss_error")
LAMBDA_SCRIPT(HistoryTail, k_history_tail, "history_tail")
LAMBDA_SCRIPT(IdempotencyKeep, k_idempotency_keep, "idempotency_keep")
LAMBDA_SCRIPT(TouchKey, k_touch_key, "touch_key")
LAMBDA_SCRIPT(TagsReplace, k_tags_replace, "tags_replace")
LAMBDA_SCRIPT(Select, k_select, "select")

#undef LAMBDA_SCRIPT

const std::vector<const Script*>& Groupable() {
  static const std::vector<const Script*> all = {
      &Admit(),       &AdmitCreate(), &Confirm(),         &UndoAdmission(), &Claim(),
      &WriteStatus(), &RenewLease(),  &ReleaseForRetry(), &ReconcileOne(),  &Peek()};
  return all;
}

bool IsGroupable(const Script& script) {
  // Scripts are the singletons above: identity, not a comparison of 40-character digests.
  const auto& all = Groupable();
  return std::find(all.begin(), all.end(), &script) != all.end();
}

const Script& Group() {
  static const Script s = [] {
    // Each script becomes a function of its own KEYS and ARGV (the names shadow the globals), so
    // its text runs unchanged; pcall keeps one call's error (a WRONGTYPE, say) to that call's
    // answer. The group's KEYS are every call's keys in call order (all declared).
    std::string text = "local F = {}\n";
    for (const Script* g : Groupable()) {
      text += "F['" + std::string(g->name) + "'] = function(KEYS, ARGV)\n" + g->body + "\nend\n";
    }
    text += R"(local out, i, k = {}, 1, 0
while i <= #ARGV do
  local f, nk, n = F[ARGV[i]], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local ks, a = {}, {}
  for j = 1, nk do ks[j] = KEYS[k + j] end
  for j = 1, n do a[j] = ARGV[i + 2 + j] end
  local ok, r = pcall(f, ks, a)
  if not ok then r = {err = tostring(r)} elseif r == nil then r = false end
  out[#out + 1] = r
  i, k = i + 3 + n, k + nk
end
return out
)";
    return MakeScript("group", std::move(text));
  }();
  return s;
}

}  // namespace lambda::redis::scripts
