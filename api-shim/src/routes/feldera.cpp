// SPEC §4.3: the Feldera pipeline API (seed document 004): start/stop are idempotent, stop is
// always admitted and supersedes a pending start or create (a new gen fences the old command).
// Beside them, what the official Python client sends with its defaults: GET /v0/config (its
// constructor), GET /v0/pipelines, dismiss_error (before every default start), pause and resume.
#include "core.h"
#include "lambda/domain/dialect_rules.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"
#include "routes/body.h"
#include "routes/dialects.h"

namespace lambda::shim {
namespace {

using domain::InstanceStatus;
using routes::Route;

std::string Hint(InstanceStatus s) {
  if (s == InstanceStatus::kStopping) {
    return "Cannot restart the pipeline while it is stopping. Wait for it to stop before starting "
           "a new instance "
           "of the pipeline.";
  }
  if (s == InstanceStatus::kDestroying || s == InstanceStatus::kDestroyed)
    return "The pipeline is being deleted or was deleted.";
  if (domain::IsBuildFailure(s))
    return "The pipeline failed to provision; delete it and create it again.";
  if (s == InstanceStatus::kStopped || s == InstanceStatus::kFailed)
    return "The pipeline is stopped: start it first.";
  return "Wait for the current transition to finish.";
}

/// The 400 for a desired state that cannot be set from the current state.
std::string IllegalChange(const routes::FelderaState& state, InstanceStatus s,
                          const std::string& desired) {
  std::string hint = Hint(s);
  return routes::FelderaIllegalAction(
      "Deployment status (current: '" + state.status + "', desired: '" + state.desired +
          "') cannot have desired changed to '" + desired + "'. " + hint,
      state, desired, hint);
}

std::string IllegalChange(InstanceStatus s, const std::string& mode, const std::string& desired) {
  return IllegalChange(routes::FelderaStateOf(s, mode), s, desired);
}

void ReplyUnknownPipeline(Core& core, Call& call) {
  const std::string& id = call.match.id;
  core.Reply(call, 404,
             routes::FelderaError("Unknown pipeline name '" + id + "'", "UnknownPipelineName",
                                  "{\"pipeline_name\":\"" + util::JsonEscape(id) + "\"}"));
}

/// Feldera's answer to an admission: 202 when admitted or when the pipeline already is where it
/// was asked to go (`already`), 404 when there is none, else 400 naming the illegal change.
std::function<void(const AdmissionOutcome&)> Answer(Core& core, const std::shared_ptr<Call>& call,
                                                    bool (*already)(InstanceStatus),
                                                    std::string mode, std::string desired) {
  return [&core, call, already, mode = std::move(mode),
          desired = std::move(desired)](const AdmissionOutcome& a) {
    switch (a.kind) {
      case AdmissionOutcome::Kind::kNotFound:
        return ReplyUnknownPipeline(core, *call);
      case AdmissionOutcome::Kind::kOverQuota:
        return core.ReplyLimited(*call, QuotaRefusal(a.limit_kind, a.limit));
      case AdmissionOutcome::Kind::kUnavailable:
        return core.ReplyUnavailable(*call, a.error);
      case AdmissionOutcome::Kind::kUnknown:
        return core.ReplyUnknown(*call, a.error);
      case AdmissionOutcome::Kind::kAccepted:
        return core.Reply(*call, 202, "{}");
      case AdmissionOutcome::Kind::kRefused:
        break;
    }
    if (already(a.status)) return core.Reply(*call, 202, "{}");
    if (a.status == InstanceStatus::kDestroyed) return ReplyUnknownPipeline(core, *call);
    core.Reply(*call, 400, IllegalChange(a.status, mode, desired));
  };
}

bool Never(InstanceStatus) { return false; }

/// Reads the caller's pipeline, then `then` with it; 404 when missing, another tenant's or
/// destroyed.
void WithPipeline(Core& core, const std::shared_ptr<Call>& call,
                  std::function<void(const routes::InstanceRecord&)> then) {
  core.Read(
      call, call->match.id,
      [&core, call, then = std::move(then)](Result<std::optional<routes::InstanceRecord>> r) {
        if (!r) return core.ReplyUnavailable(*call, r.error().message);
        if (!*r || (*r)->status == InstanceStatus::kDestroyed)
          return ReplyUnknownPipeline(core, *call);
        then(**r);
      },
      /*status_only=*/false);
}

/// Pause (Running → Paused) or resume (Paused or Standby → Running) a STARTED pipeline: the
/// worker stops or starts its services and keeps its VMs. Already there, or on the way: 202
/// with nothing admitted (the read is the moment it was so). Otherwise admitted from STARTED
/// only, atomically; a pause or resume pending in the other direction is superseded.
void PauseOrResume(Core& core, const std::shared_ptr<Call>& call, bool pause) {
  WithPipeline(core, call, [&core, call, pause](const routes::InstanceRecord& r) {
    const std::string desired = pause ? "Paused" : "Running";
    const std::string pending = pause ? "pause" : "resume";
    auto state = routes::FelderaStateOf(r.status, r.mode, r.pending_action);
    if (state.desired == desired && domain::feldera::BecomingStarted(r.status))
      return core.Reply(*call, 202, "{}");
    if (r.status != InstanceStatus::kStarted)
      return core.Reply(*call, 400, IllegalChange(state, r.status, desired));
    auto action = pause ? domain::Action::kPause : domain::Action::kResume;
    core.Admit(call, r.id, action, core.AllowedFrom(action), "",
               Answer(core, call, Never, r.mode, desired));
  });
}

void DismissError(Core& core, const std::shared_ptr<Call>& call) {
  static const std::string kFrom = domain::AllowedSet(domain::feldera::DismissFrom());
  if (!util::IsUuid(call->match.id)) return ReplyUnknownPipeline(core, *call);
  const redis::args::DismissError args{core.redis_prefix(), call->match.id, call->tenant, kFrom};
  core.RunScript(
      redis::scripts::DismissError(), args.Keys(), args.Argv(),
      [&core, call](Result<redis::Value> r) {
        if (!r || r->is_error() || r->elements.empty())
          return core.ReplyUnavailable(*call, r ? r->str : r.error().message);
        const std::string& outcome = r->elements[0].str;
        if (outcome == "ok") return core.Reply(*call, 200, "{}");
        if (outcome == "refused" && r->elements.size() > 1) {
          return core.Reply(
              *call, 400,
              routes::FelderaError("The pipeline must have both status `Stopped` and desired "
                                   "status `Stopped` to dismiss the `deployment_error` if it is "
                                   "set.",
                                   "DismissErrorRestrictedToFullyStopped"));
        }
        ReplyUnknownPipeline(core, *call);
      });
}

void List(Core& core, const std::shared_ptr<Call>& call) {
  std::string selector = "all";
  call->req.QueryParam("selector", &selector);
  // Every selector gets the same (small) object: it holds every status field the client reads.
  if (selector != "all" && selector != "status" && selector != "status_with_connectors") {
    return core.Reply(*call, 400,
                      routes::FelderaError("Unknown value of selector: '" + selector +
                                               "' (use all, status or status_with_connectors)",
                                           "InvalidSelector"));
  }
  static const std::vector<std::string> kFields{
      "id", "name", "status", "failure_message", "created_at", "updated_at", "mode", "p_action"};
  core.ReadPage(call->tenant, /*live=*/true, 0, -1, kFields, [&core, call](Result<IndexPage> r) {
    if (!r) return core.ReplyUnavailable(*call, r.error().message);
    std::vector<routes::InstanceRecord> rows;
    rows.reserve(r->ids.size());
    for (const auto& row : r->fields) {
      std::vector<std::pair<std::string, std::string>> kv;
      for (size_t i = 0; i < kFields.size() && i < row.elements.size(); ++i) {
        if (!row.elements[i].is_nil()) kv.emplace_back(kFields[i], row.elements[i].str);
      }
      auto rec = routes::RecordFromHash(kv);
      if (rec && rec->status != InstanceStatus::kDestroyed) rows.push_back(std::move(*rec));
    }
    core.Reply(*call, 200, routes::FelderaPipelineList(rows));
  });
}

}  // namespace

namespace dialects {

void Feldera(Core& core, const std::shared_ptr<Call>& call) {
  const std::string id = call->match.id;
  switch (call->match.route) {
    case Route::kFelderaConfig:
      return core.Reply(*call, 200, routes::FelderaConfigBody(routes::kFelderaApiVersion));
    case Route::kFelderaList:
      return List(core, call);
    case Route::kFelderaGet:
      return WithPipeline(core, call, [&core, call](const routes::InstanceRecord& r) {
        core.Reply(*call, 200, routes::FelderaPipeline(r, r.mode));
      });
    case Route::kFelderaDismissError:
      return DismissError(core, call);
    case Route::kFelderaPause:
      return PauseOrResume(core, call, /*pause=*/true);
    case Route::kFelderaResume:
      return PauseOrResume(core, call, /*pause=*/false);
    case Route::kFelderaStart: {
      std::string initial = "running";
      call->req.QueryParam("initial", &initial);
      if (initial != "running" && initial != "paused" && initial != "standby") {
        return core.Reply(*call, 405,
                          routes::FelderaError("Unsupported value of initial: '" + initial +
                                                   "' (use running, paused or standby)",
                                               "UnsupportedPipelineAction"));
      }
      // Starting one that is started or on its way is fine (idempotent).
      return core.Admit(call, id, domain::Action::kStart, core.AllowedFrom(domain::Action::kStart),
                        initial,
                        Answer(core, call, domain::feldera::BecomingStarted, initial,
                               routes::FelderaDesired(initial)));
    }
    default:
      break;
  }
  // Stop. Stopping one that is stopped, stopping, or a failed build (nothing runs) is fine.
  auto at_rest = [](InstanceStatus s) {
    return s == InstanceStatus::kStopped || s == InstanceStatus::kStopping ||
           domain::IsBuildFailure(s);
  };
  core.Admit(call, id, domain::Action::kStop, domain::AllowedSet(domain::feldera::StopFrom()), "",
             Answer(core, call, at_rest, "running", "Stopped"));
}

}  // namespace dialects
}  // namespace lambda::shim
