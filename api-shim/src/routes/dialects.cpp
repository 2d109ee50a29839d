#include "routes/dialects.h"

#include "lambda/domain/dialect_rules.h"
#include "lambda/json/json.h"

namespace lambda::routes {
namespace {

using domain::InstanceStatus;
using json::Key;
using json::KV;

std::string Done(const rapidjson::StringBuffer& sb) { return {sb.GetString(), sb.GetSize()}; }

std::string_view DetailsWord(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 401:
      return "unauthorized";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 409:
      return "conflict";
    case 413:
      return "payload too large";
    case 503:
      return "service unavailable";
    default:
      return "error";
  }
}

}  // namespace

std::string LegacyError(int status, std::string_view message) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  Key(w, "errors");
  w.StartArray();
  w.StartObject();
  KV(w, "message", message);
  KV(w, "code", status);
  KV(w, "details", DetailsWord(status));
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return Done(sb);
}

std::string LegacySuccess() { return R"({"result":"Success"})"; }

std::string LegacyStatusBody(const InstanceRecord& r) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  Key(w, "data");
  w.StartObject();
  KV(w, "status", domain::Info(r.status).name);
  KV(w, "id", r.seq);
  KV(w, "name", r.name);
  KV(w, "uuid", r.id);
  if (!r.failure_message.empty()) KV(w, "failure_message", r.failure_message);
  w.EndObject();
  w.EndObject();
  return Done(sb);
}

std::string LegacyDetailsBody(const InstanceRecord& r) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  Key(w, "data");
  w.StartObject();
  KV(w, "uuid", r.id);
  KV(w, "name", r.name);
  KV(w, "id", r.seq);
  Key(w, "instance_info");
  EmbedJson(w, InstanceInfo(r), "{}");
  w.EndObject();
  w.EndObject();
  return Done(sb);
}

std::string LegacyListBody(const std::vector<ListRow>& rows) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  Key(w, "data");
  w.StartArray();
  for (const auto& r : rows) {
    w.StartObject();
    KV(w, "uuid", r.id);
    KV(w, "name", r.name);
    KV(w, "id", r.seq);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Done(sb);
}

std::string LegacyCreated(std::string_view id) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  KV(w, "uuid", id);
  w.EndObject();
  return Done(sb);
}

std::string ZenlayerError(std::string_view request_id, std::string_view code,
                          std::string_view message) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  KV(w, "requestId", request_id);
  KV(w, "code", code);
  KV(w, "message", message);
  w.EndObject();
  return Done(sb);
}

std::string ZenlayerOk(std::string_view request_id) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  KV(w, "requestId", request_id);
  Key(w, "response");
  w.StartObject();
  KV(w, "requestId", request_id);
  w.EndObject();
  w.EndObject();
  return Done(sb);
}

std::string ZenlayerDescribeBody(std::string_view request_id, int64_t total,
                                 const std::vector<std::pair<std::string, InstanceStatus>>& rows) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  KV(w, "requestId", request_id);
  Key(w, "response");
  w.StartObject();
  KV(w, "requestId", request_id);
  KV(w, "totalCount", total);
  Key(w, "dataSet");
  w.StartArray();
  for (const auto& [id, s] : rows) {
    w.StartObject();
    KV(w, "instanceId", id);
    KV(w, "instanceStatus", domain::zenlayer::StatusName(s));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
  return Done(sb);
}

std::string FelderaDesired(std::string_view initial) {
  if (initial == "paused") return "Paused";
  if (initial == "standby") return "Standby";
  return "Running";
}

FelderaState FelderaStateOf(InstanceStatus s, std::string_view mode, std::string_view pending) {
  std::string up = FelderaDesired(mode);
  switch (s) {
    case InstanceStatus::kStarted:
      // A pause or resume is under way: the mode changes when the worker has finished it.
      if (pending == "pause") return {up, "Paused"};
      if (pending == "resume") return {up, "Running"};
      return {up, up};
    case InstanceStatus::kStarting:
      return {"Provisioning", up};
    case InstanceStatus::kStopping:
      return {"Stopping", "Stopped"};
    case InstanceStatus::kStopped:
    case InstanceStatus::kFailed:
      return {"Stopped", "Stopped"};
    case InstanceStatus::kDestroying:
      return {"Stopping", "Stopped"};
    case InstanceStatus::kDestroyed:
      return {"Stopped", "Stopped"};
    case InstanceStatus::kScalingUp:
    case InstanceStatus::kScalingDown:
      return {up, up};
    default:
      if (domain::IsBuildFailure(s)) return {"Stopped", "Stopped"};
      return {s == InstanceStatus::kPending ? "Provisioning" : "Initializing",
              up};  // create in progress
  }
}

std::string FelderaError(std::string_view message, std::string_view error_code,
                         std::string_view details_json) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  KV(w, "message", message);
  KV(w, "error_code", error_code);
  Key(w, "details");
  EmbedJson(w, details_json, "null");
  w.EndObject();
  return Done(sb);
}

std::string FelderaIllegalAction(std::string_view message, const FelderaState& current,
                                 std::string_view new_desired, std::string_view hint) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  KV(w, "message", message);
  KV(w, "error_code", "IllegalPipelineAction");
  Key(w, "details");
  w.StartObject();
  KV(w, "status", current.status);
  KV(w, "current_desired_status", current.desired);
  KV(w, "new_desired_status", new_desired);
  KV(w, "hint", hint);
  w.EndObject();
  w.EndObject();
  return Done(sb);
}

namespace {

void WritePipeline(json::Writer& w, const InstanceRecord& r, std::string_view mode) {
  FelderaState st = FelderaStateOf(r.status, mode, r.pending_action);
  w.StartObject();
  KV(w, "id", r.id);
  KV(w, "name", r.id);
  KV(w, "description", r.name);
  KV(w, "deployment_status", st.status);
  KV(w, "deployment_desired_status", st.desired);
  KV(w, "deployment_status_since", r.updated_at);
  Key(w, "deployment_error");
  if (r.failure_message.empty()) {
    w.Null();
  } else {
    w.StartObject();
    KV(w, "message", r.failure_message);
    KV(w, "error_code", domain::Info(r.status).name);
    w.EndObject();
  }
  KV(w, "lambda_status", domain::Info(r.status).name);
  KV(w, "created_at", r.created_at);
  w.EndObject();
}

}  // namespace

std::string FelderaPipeline(const InstanceRecord& r, std::string_view mode) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  WritePipeline(w, r, mode);
  return Done(sb);
}

std::string FelderaPipelineList(const std::vector<InstanceRecord>& rows) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartArray();
  for (const auto& r : rows) WritePipeline(w, r, r.mode);
  w.EndArray();
  return Done(sb);
}

std::string FelderaConfigBody(std::string_view version) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  KV(w, "edition", "Open source");
  KV(w, "version", version);
  KV(w, "revision", "lambda");
  KV(w, "runtime_revision", "lambda");
  KV(w, "changelog_url", "");
  KV(w, "build_source", "lambda");
  // Empty keys: no telemetry, no onboarding tours (what Feldera sends when they are off).
  KV(w, "posthog", "");
  KV(w, "conceptualhq", "");
  KV(w, "product_fruits", "");
  Key(w, "license_validity");
  w.Null();
  Key(w, "update_info");
  w.Null();
  w.EndObject();
  return Done(sb);
}

}  // namespace lambda::routes
