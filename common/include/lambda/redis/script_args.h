#pragma once
/// Typed contracts with the Lua scripts of common/lua/: one struct per script, whose `Keys()` and
/// `Argv()` are the only places its KEYS (keys.h: all in one slot) and positional ARGV are built.
/// The order here is the order documented at the top of each script; scripts_redistest calls every
/// script through these same structs.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lambda::redis::args {

/// An (instance id, gen) pair as the settle scripts take them; gen "" = whatever admission is
/// current under the token (a lost reply: the gen was never learnt).
using IdGens = std::vector<std::pair<std::string, std::string>>;

/// Who admitted an action (SPEC §4.5 Audit), written into the history entry the admission adds
/// (fields key_id, key_name, client, dialect) when `key_id` is not empty.
struct Audit {
  std::string key_id, key_name, client, dialect;
};

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
  Audit audit = {};
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// admit_cancel.lua
struct AdmitCancel {
  std::string prefix, id, tenant;
  std::string moves;  ///< ",2:5,3:4,4:3,…": from which status a cancel goes where (CancelTo)
  std::string request_id;
  int64_t now_ms = 0;
  std::string now_rfc3339;
  int history_max = 0;
  std::string token;
  Audit audit = {};
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// admit_create.lua
struct AdmitCreate {
  std::string prefix, id, tenant, name, info_json, request_id;
  int64_t now_ms = 0;
  std::string now_rfc3339;
  int history_max = 0;
  std::string token;
  int64_t seq = 0;  ///< taken from the counter and indexed under the tenant first
  Audit audit = {};
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// confirm.lua
struct Confirm {
  std::string prefix, token;
  IdGens id_gens;
  std::vector<std::string> Keys() const;
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
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// claim.lua
struct Claim {
  std::string prefix, id;
  int64_t gen = 0;
  std::string worker;
  uint64_t lease_ms = 0;
  std::vector<std::string> Keys() const;
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
  std::string mode;  ///< '' = unchanged; running|paused (the end of a pause or resume)
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// renew_lease.lua
struct RenewLease {
  std::string prefix, id, worker;
  uint64_t lease_ms = 0;
  int64_t gen = 0;
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// release_for_retry.lua
struct ReleaseForRetry {
  std::string prefix, id, worker;
  int64_t gen = 0;
  int64_t due_ms = 0;
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// peek.lua
struct Peek {
  std::string prefix, id;
  int64_t gen = 0;
  int64_t seen_ms = 0;  ///< the outbox entry's due time moves on to this (0: left alone)
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// reconcile_one.lua
struct ReconcileOne {
  std::string prefix, id;
  int64_t now_ms = 0;
  std::string now_rfc3339;
  uint64_t republish_after_ms = 0, create_timeout_ms = 0, action_timeout_ms = 0;
  std::string create_failures;  ///< ",2:11,10:13," current status -> failure status
  int history_max = 0;
  uint64_t unconfirmed_after_ms = 0;
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// reconciler_lease.lua
struct ReconcilerLease {
  std::string prefix, worker;
  uint64_t lease_ms = 0;
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// index_create.lua
struct IndexCreate {
  std::string prefix, tenant, id;
  int64_t seq = 0;
  /// The shim's default, when the tenant's limits hash has none; -1: not checked (a seed).
  int64_t max_instances = -1;
  std::map<std::string, std::string> tags = {};  ///< stored and indexed with the create (§4.5)
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// dismiss_error.lua: clears a failure_message (Feldera's `dismiss_error`, SPEC §4.3).
struct DismissError {
  std::string prefix, id, tenant;
  std::string allowed;  ///< ",1,9,": the statuses it may be cleared in
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// page.lua: a page of a tenant's ids (`live` false) or of its live ids.
struct Page {
  std::string prefix, tenant;
  bool live = false;
  int64_t start = 0, stop = -1;  ///< ZRANGE indexes; stop -1 = to the end
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// history_tail.lua: `id`'s history from `start` (an entry id, inclusive), at most `count`.
struct HistoryTail {
  std::string prefix, id, start;
  size_t count = 0;
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// touch_key.lua: an API key's last_used, if the key still exists (never recreates a revoked one).
struct TouchKey {
  std::string prefix, hash, at_rfc3339;
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// tags_replace.lua: an instance's tags, replaced if they still are `old_tags` (SPEC §4.5).
struct TagsReplace {
  std::string prefix, tenant, id;
  std::map<std::string, std::string> old_tags, new_tags;
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// select.lua: a page of the tenant's ids carrying every one of `tags`, after seq `after`.
struct Select {
  std::string prefix, tenant;
  std::map<std::string, std::string> tags;
  /// Bound by the tenant's live ids (no DESTROYED one is wanted); otherwise, with no tags, by
  /// all its ids.
  bool live_only = false;
  int64_t after = 0;
  size_t count = 0, budget = 0;
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

/// idempotency_keep.lua
struct IdempotencyKeep {
  std::string prefix, tenant, key_hash;
  std::string record;
  uint64_t keep_ms = 0;
  int64_t max_records = 0;
  int64_t max_bytes = 0;
  int64_t overhead_bytes = 0;  ///< charged per record beyond its length (Redis's own cost)
  std::vector<std::string> Keys() const;
  std::vector<std::string> Argv() const;
};

}  // namespace lambda::redis::args
