#pragma once
/// Typed contracts with the Lua scripts of common/lua/: one struct per script, whose `Argv()` is
/// the only place its positional ARGV list is built. The order here is the order documented at
/// the top of each script; scripts_redistest calls every script through these same structs.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lambda::redis::args {

/// An (instance id, gen) pair as the settle scripts take them; gen "" = whatever admission is
/// current under the token (a lost reply: the gen was never learnt).
using IdGens = std::vector<std::pair<std::string, std::string>>;

/// admit.lua
struct Admit {
  std::string prefix, id, tenant, action;
  int transitional_code = 0;
  std::string allowed;  ///< ",1,9,"
  std::string request_id;
  int64_t now_ms = 0;
  std::string now_rfc3339;
  int history_max = 0;
  std::string mode;  ///< '' = leave as is
  std::string token;
  std::vector<std::string> Argv() const;
};

/// admit_many.lua
struct AdmitMany {
  std::string prefix, tenant, action;
  int transitional_code = 0;
  std::string allowed, request_id;
  int64_t now_ms = 0;
  std::string now_rfc3339;
  int history_max = 0;
  std::string token;
  std::vector<std::string> ids;
  std::vector<std::string> Argv() const;
};

/// admit_create.lua
struct AdmitCreate {
  std::string prefix, id, tenant, name, info_json, request_id;
  int64_t now_ms = 0;
  std::string now_rfc3339;
  int history_max = 0;
  std::string token;
  std::vector<std::string> Argv() const;
};

/// confirm.lua
struct Confirm {
  std::string prefix, token;
  IdGens id_gens;
  std::vector<std::string> Argv() const;
};

/// undo_admission.lua
struct UndoAdmission {
  std::string prefix, token;
  int64_t now_ms = 0;
  std::string now_rfc3339;
  int history_max = 0;
  std::string note;
  IdGens id_gens;
  std::vector<std::string> Argv() const;
};

/// claim.lua
struct Claim {
  std::string prefix, id;
  int64_t gen = 0;
  std::string worker;
  uint64_t lease_ms = 0;
  std::vector<std::string> Argv() const;
};

/// write_status.lua
struct WriteStatus {
  std::string prefix, id;
  int64_t gen = 0;
  std::string worker;
  int status_code = 0;
  std::string failure_message;
  std::string servers_json;  ///< '' = unchanged
  bool final = false;
  int64_t now_ms = 0;
  std::string now_rfc3339, request_id;
  uint64_t lease_ms = 0;
  std::string master_node_id;  ///< '' = unchanged
  int history_max = 0;
  std::vector<std::string> Argv() const;
};

/// renew_lease.lua
struct RenewLease {
  std::string prefix, id, worker;
  uint64_t lease_ms = 0;
  int64_t gen = 0;
  std::vector<std::string> Argv() const;
};

/// release_for_retry.lua
struct ReleaseForRetry {
  std::string prefix, id, worker;
  int64_t gen = 0;
  int64_t due_ms = 0;
  std::vector<std::string> Argv() const;
};

/// reconcile.lua
struct Reconcile {
  std::string prefix;
  int64_t now_ms = 0;
  std::string now_rfc3339;
  uint64_t republish_after_ms = 0, create_timeout_ms = 0, action_timeout_ms = 0;
  std::string create_failures;  ///< ",2:11,10:13," current status -> failure status
  int history_max = 0;
  int limit = 0;
  std::string worker;
  uint64_t leader_lease_ms = 0, unconfirmed_after_ms = 0;
  std::vector<std::string> Argv() const;
};

/// list.lua
struct List {
  std::string prefix, tenant;
  int64_t start = 0, stop = -1;  ///< ZRANGE indexes; stop -1 = to the end
  std::vector<std::string> Argv() const;
};

/// describe.lua
struct Describe {
  std::string prefix, tenant;
  int64_t offset = 0, page_size = 0;
  std::vector<std::string> ids;  ///< empty: the tenant's page
  std::vector<std::string> Argv() const;
};

}  // namespace lambda::redis::args
