#include "lambda/redis/script_args.h"

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
  return {prefix,  id,         tenant,    action,      S(transitional_code),
          allowed, request_id, S(now_ms), now_rfc3339, S(history_max),
          mode,    token};
}

std::vector<std::string> AdmitMany::Argv() const {
  std::vector<std::string> argv{prefix,     tenant,    action,      S(transitional_code), allowed,
                                request_id, S(now_ms), now_rfc3339, S(history_max),       token};
  argv.insert(argv.end(), ids.begin(), ids.end());
  return argv;
}

std::vector<std::string> AdmitCreate::Argv() const {
  return {prefix,     id,        tenant,      name,           info_json,
          request_id, S(now_ms), now_rfc3339, S(history_max), token};
}

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
  return {prefix,         id,
          S(gen),         worker,
          S(status_code), failure_message,
          servers_json,   final ? "1" : "0",
          S(now_ms),      now_rfc3339,
          request_id,     U(lease_ms),
          master_node_id, S(history_max)};
}

std::vector<std::string> RenewLease::Argv() const {
  return {prefix, id, worker, U(lease_ms), S(gen)};
}

std::vector<std::string> ReleaseForRetry::Argv() const {
  return {prefix, id, worker, S(gen), S(due_ms)};
}

std::vector<std::string> Reconcile::Argv() const {
  return {prefix,
          S(now_ms),
          now_rfc3339,
          U(republish_after_ms),
          U(create_timeout_ms),
          U(action_timeout_ms),
          create_failures,
          S(history_max),
          S(limit),
          worker,
          U(leader_lease_ms),
          U(unconfirmed_after_ms)};
}

std::vector<std::string> List::Argv() const { return {prefix, tenant, S(start), S(stop)}; }

std::vector<std::string> Describe::Argv() const {
  std::vector<std::string> argv{prefix, tenant, S(offset), S(page_size)};
  argv.insert(argv.end(), ids.begin(), ids.end());
  return argv;
}

}  // namespace lambda::redis::args
