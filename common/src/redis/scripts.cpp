#include "lambda/redis/scripts.h"

namespace lambda::lua {
extern const std::string_view k_admit_create;
extern const std::string_view k_admit;
extern const std::string_view k_undo_admission;
extern const std::string_view k_claim;
extern const std::string_view k_write_status;
extern const std::string_view k_list;
extern const std::string_view k_renew_lease;
extern const std::string_view k_release_for_retry;
extern const std::string_view k_admit_many;
extern const std::string_view k_describe;
extern const std::string_view k_reconcile;
extern const std::string_view k_confirm;
}  // namespace lambda::lua

namespace lambda::redis::scripts {

#define LAMBDA_SCRIPT(fn, var, name)                    \
  const Script& fn() {                                  \
    static const Script s = MakeScript(name, lua::var); \
    return s;                                           \
  }

LAMBDA_SCRIPT(AdmitCreate, k_admit_create, "admit_create")
LAMBDA_SCRIPT(Admit, k_admit, "admit")
LAMBDA_SCRIPT(UndoAdmission, k_undo_admission, "undo_admission")
LAMBDA_SCRIPT(Claim, k_claim, "claim")
LAMBDA_SCRIPT(WriteStatus, k_write_status, "write_status")
LAMBDA_SCRIPT(List, k_list, "list")
LAMBDA_SCRIPT(RenewLease, k_renew_lease, "renew_lease")
LAMBDA_SCRIPT(ReleaseForRetry, k_release_for_retry, "release_for_retry")
LAMBDA_SCRIPT(AdmitMany, k_admit_many, "admit_many")
LAMBDA_SCRIPT(Describe, k_describe, "describe")
LAMBDA_SCRIPT(Reconcile, k_reconcile, "reconcile")
LAMBDA_SCRIPT(Confirm, k_confirm, "confirm")

#undef LAMBDA_SCRIPT

}  // namespace lambda::redis::scripts
