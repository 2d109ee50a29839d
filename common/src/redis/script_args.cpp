#include "lambda/redis/script_args.h"

#include "lambda/domain/tags.h"
#include "lambda/redis/keys.h"

namespace lambda::redis::args {
namespace {

std::string S(int64_t v) { return std::to_string(v); }
std::string U(uint64_t v) { return std::to_string(v); }

void Append(std::vector<std::string>* argv, const IdGens& id_gens) {
  for (const auto& [id, gen] : id_gens) {
    argv->push_back(id);
    argv->push_back(gen);
  }
}

}  // namespace

std::vector<std::string> Admit::Argv() const {
  return {prefix,       id,         tenant,       action,         S(transitional_code),
          allowed,      request_id, S(now_ms),    now_rfc3339,    S(history_max),
          mode,         token,      audit.key_id, audit.key_name, audit.client,
          audit.dialect};
}

std::vector<std::string> AdmitCancel::Argv() const {
  return {prefix,         id,           tenant,         moves, request_id,
          S(now_ms),      now_rfc3339,  S(history_max), token, audit.key_id,
          audit.key_name, audit.client, audit.dialect};
}

std::vector<std::string> AdmitCreate::Argv() const {
  return {prefix,     id,           tenant,         name,           info_json,
          request_id, S(now_ms),    now_rfc3339,    S(history_max), token,
          S(seq),     audit.key_id, audit.key_name, audit.client,   audit.dialect};
}

std::vector<std::string> TouchKey::Keys() const { return {keys::ApiKey(prefix, hash)}; }
std::vector<std::string> TouchKey::Argv() const { return {at_rfc3339}; }

std::vector<std::string> Confirm::Argv() const {
  std::vector<std::string> argv{prefix, token};
  Append(&argv, id_gens);
  return argv;
}

std::vector<std::string> UndoAdmission::Argv() const {
  std::vector<std::string> argv{prefix, token, S(now_ms), now_rfc3339, S(history_max), note};
  Append(&argv, id_gens);
  return argv;
}

std::vector<std::string> Claim::Argv() const { return {prefix, id, S(gen), worker, U(lease_ms)}; }

std::vector<std::string> WriteStatus::Argv() const {
  return {prefix,
          id,
          S(gen),
          worker,
          S(status_code),
          failure_message,
          servers_json,
          final ? "1" : "0",
          S(now_ms),
          now_rfc3339,
          request_id,
          U(lease_ms),
          master_node_id,
          S(history_max),
          mode};
}

std::vector<std::string> DismissError::Argv() const { return {tenant, allowed}; }

std::vector<std::string> RenewLease::Argv() const {
  return {prefix, id, worker, U(lease_ms), S(gen)};
}

std::vector<std::string> ReleaseForRetry::Argv() const {
  return {prefix, id, worker, S(gen), S(due_ms)};
}

std::vector<std::string> Peek::Argv() const { return {prefix, id, S(gen), S(seen_ms)}; }

std::vector<std::string> ReconcileOne::Argv() const {
  return {prefix,
          id,
          S(now_ms),
          now_rfc3339,
          U(republish_after_ms),
          U(create_timeout_ms),
          U(action_timeout_ms),
          create_failures,
          S(history_max),
          U(unconfirmed_after_ms)};
}

std::vector<std::string> ReconcilerLease::Argv() const { return {worker, U(lease_ms)}; }

std::vector<std::string> IndexCreate::Argv() const {
  if (tags.empty()) return {S(seq), id, S(max_instances)};
  return {S(seq), id, S(max_instances), domain::TagsJson(tags)};
}

std::vector<std::string> Page::Argv() const { return {S(start), S(stop)}; }
std::vector<std::string> HistoryTail::Argv() const { return {start, std::to_string(count)}; }

// KEYS: the order documented at the top of each script.

std::vector<std::string> Admit::Keys() const {
  return {keys::Instance(prefix, id), keys::History(prefix, id), keys::PendingOf(prefix, id)};
}

std::vector<std::string> AdmitCancel::Keys() const {
  return {keys::Instance(prefix, id), keys::History(prefix, id), keys::PendingOf(prefix, id)};
}

std::vector<std::string> AdmitCreate::Keys() const {
  return {keys::Instance(prefix, id), keys::History(prefix, id), keys::PendingOf(prefix, id)};
}

std::vector<std::string> Confirm::Keys() const {
  std::vector<std::string> k;
  for (const auto& [id, gen] : id_gens) k.push_back(keys::Instance(prefix, id));
  return k;
}

std::vector<std::string> UndoAdmission::Keys() const {
  std::vector<std::string> k;
  for (const auto& [id, gen] : id_gens) {
    k.push_back(keys::Instance(prefix, id));
    k.push_back(keys::History(prefix, id));
    k.push_back(keys::PendingOf(prefix, id));
  }
  return k;
}

std::vector<std::string> Claim::Keys() const { return {keys::Instance(prefix, id)}; }

std::vector<std::string> WriteStatus::Keys() const {
  return {keys::Instance(prefix, id), keys::History(prefix, id), keys::PendingOf(prefix, id)};
}

std::vector<std::string> RenewLease::Keys() const { return {keys::Instance(prefix, id)}; }

std::vector<std::string> DismissError::Keys() const { return {keys::Instance(prefix, id)}; }

std::vector<std::string> ReleaseForRetry::Keys() const {
  return {keys::Instance(prefix, id), keys::PendingOf(prefix, id)};
}

std::vector<std::string> Peek::Keys() const {
  return {keys::Instance(prefix, id), keys::PendingOf(prefix, id)};
}

std::vector<std::string> ReconcileOne::Keys() const {
  return {keys::Instance(prefix, id), keys::History(prefix, id), keys::PendingOf(prefix, id)};
}

std::vector<std::string> ReconcilerLease::Keys() const { return {keys::ReconcilerLease(prefix)}; }

std::vector<std::string> IndexCreate::Keys() const {
  std::vector<std::string> k{keys::TenantIds(prefix, tenant), keys::TenantLive(prefix, tenant),
                             keys::TenantLimits(prefix, tenant)};
  if (tags.empty()) return k;
  k.push_back(keys::TenantTags(prefix, tenant));
  for (const auto& [key, value] : tags)
    k.push_back(keys::TenantTagIndex(prefix, tenant, key, value));
  return k;
}

std::vector<std::string> TagsReplace::Keys() const {
  std::vector<std::string> k{keys::TenantIds(prefix, tenant), keys::TenantTags(prefix, tenant)};
  for (const auto& [key, value] : old_tags) {
    k.push_back(keys::TenantTagIndex(prefix, tenant, key, value));
  }
  for (const auto& [key, value] : new_tags) {
    k.push_back(keys::TenantTagIndex(prefix, tenant, key, value));
  }
  return k;
}
std::vector<std::string> TagsReplace::Argv() const {
  return {id, domain::TagsJson(old_tags), domain::TagsJson(new_tags), U(old_tags.size())};
}

std::vector<std::string> Select::Keys() const {
  std::vector<std::string> k;
  if (live_only) {
    k.push_back(keys::TenantLive(prefix, tenant));
  } else if (tags.empty()) {
    k.push_back(keys::TenantIds(prefix, tenant));
  }
  for (const auto& [key, value] : tags)
    k.push_back(keys::TenantTagIndex(prefix, tenant, key, value));
  return k;
}
std::vector<std::string> Select::Argv() const { return {S(after), U(count), U(budget)}; }

std::vector<std::string> Page::Keys() const {
  return {live ? keys::TenantLive(prefix, tenant) : keys::TenantIds(prefix, tenant)};
}
std::vector<std::string> HistoryTail::Keys() const { return {keys::History(prefix, id)}; }

std::vector<std::string> IdempotencyKeep::Keys() const {
  return {keys::IdempotencyRecord(prefix, tenant, key_hash), keys::IdempotencyIndex(prefix, tenant),
          keys::IdempotencyBytes(prefix, tenant)};
}
std::vector<std::string> IdempotencyKeep::Argv() const {
  return {record,
          key_hash,
          std::to_string(keep_ms),
          std::to_string(max_records),
          std::to_string(max_bytes),
          std::to_string(overhead_bytes),
          keys::IdempotencyRecordPrefix(prefix, tenant)};
}

}  // namespace lambda::redis::args
