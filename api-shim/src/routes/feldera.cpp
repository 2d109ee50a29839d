// SPEC §4.3: the Feldera pipeline API (seed document 004): start/stop are idempotent, stop is
// always admitted and supersedes a pending start or create (a new gen fences the old command).
#include "core.h"
#include "lambda/domain/dialect_rules.h"
#include "lambda/util/util.h"
#include "routes/body.h"
#include "routes/dialects.h"

namespace lambda::shim {
namespace {

using domain::InstanceStatus;

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
  return "Wait for the current transition to finish.";
}

/// The 400 for a desired state that cannot be set from the current status.
std::string IllegalChange(InstanceStatus s, const std::string& mode, const std::string& desired) {
  auto state = routes::FelderaStateOf(s, mode);
  std::string hint = Hint(s);
  return routes::FelderaIllegalAction(
      "Deployment status (current: '" + state.status + "', desired: '" + state.desired +
          "') cannot have desired changed to '" + desired + "'. " + hint,
      state, desired, hint);
}

}  // namespace

namespace dialects {

void Feldera(Core& core, const std::shared_ptr<Call>& call) {
  using routes::Route;
  const std::string id = call->match.id;
  auto unknown = [&core, call, id] {
    core.Reply(*call, 404,
               routes::FelderaError("Unknown pipeline name '" + id + "'", "UnknownPipelineName",
                                    "{\"pipeline_name\":\"" + util::JsonEscape(id) + "\"}"));
  };
  // Feldera's answer to an admission: 202 when admitted or when the pipeline already is where it
  // was asked to go (`already`), 404 when there is none, else 400 naming the illegal change.
  auto answer = [&core, call, unknown](bool (*already)(InstanceStatus), std::string mode,
                                       std::string desired) {
    return [&core, call, unknown, already, mode = std::move(mode),
            desired = std::move(desired)](const AdmissionOutcome& a) {
      switch (a.kind) {
        case AdmissionOutcome::Kind::kNotFound:
          return unknown();
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
      if (a.status == InstanceStatus::kDestroyed) return unknown();
      core.Reply(*call, 400, IllegalChange(a.status, mode, desired));
    };
  };
  if (call->match.route == Route::kFelderaGet) {
    return core.Read(
        call, id,
        [&core, call, unknown](Result<std::optional<routes::InstanceRecord>> r) {
          if (!r) return core.ReplyUnavailable(*call, r.error().message);
          if (!*r || (*r)->status == InstanceStatus::kDestroyed) return unknown();
          core.Reply(*call, 200, routes::FelderaPipeline(**r, (*r)->mode));
        },
        /*status_only=*/false);
  }
  if (call->match.route == Route::kFelderaStart) {
    std::string initial = "running";
    call->req.QueryParam("initial", &initial);
    if (initial != "running" && initial != "paused" && initial != "standby") {
      return core.Reply(*call, 405,
                        routes::FelderaError("Unsupported value of initial: '" + initial +
                                                 "' (use running, paused or standby)",
                                             "UnsupportedPipelineAction"));
    }
    // Starting one that is started or on its way is fine (idempotent).
    return core.Admit(
        call, id, domain::Action::kStart, core.AllowedFrom(domain::Action::kStart), initial,
        answer(domain::feldera::BecomingStarted, initial, routes::FelderaDesired(initial)));
  }
  // Stopping one that is stopped, stopping, or a failed build (nothing runs) is fine.
  auto at_rest = [](InstanceStatus s) {
    return s == InstanceStatus::kStopped || s == InstanceStatus::kStopping ||
           domain::IsBuildFailure(s);
  };
  core.Admit(call, id, domain::Action::kStop, domain::AllowedSet(domain::feldera::StopFrom()), "",
             answer(at_rest, "running", "Stopped"));
}

}  // namespace dialects
}  // namespace lambda::shim
