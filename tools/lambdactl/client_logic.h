#pragma once
// lambdactl's client verbs, the pure part: settings from the environment and the state file,
// exit codes, what a verb waits for, the SSE parser and the progress line. No I/O.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lambda/domain/status.h"

namespace lambda::ctl {

/// The exit codes of SPEC §7.
enum Exit : int {
  kReached = 0,
  kFailedStatus = 1,
  kUsage = 2,
  kTimedOut = 3,
  kRefused = 4,
  kUnreachable = 5,
};

/// KEY=VALUE lines (as scripts/up writes `$LAMBDA_STATE_DIR/env`); comments and blanks skipped,
/// one level of quotes removed.
std::map<std::string, std::string> ParseEnvFile(std::string_view text);

/// The exit code for an HTTP answer that is not the one wanted: 4xx refused, else unreachable.
Exit ExitForHttp(long status);
/// The server's error text from any dialect's error body (or the body itself, trimmed).
std::string ErrorText(std::string_view body);

/// What a verb waits for with --wait.
struct Goal {
  domain::InstanceStatus reached;
  bool create = false;  ///< the build steps count as progress, *_FAILED as failure
};
std::optional<Goal> GoalOf(std::string_view verb);
/// Where a cancel ends, from the status its admission wrote (or the rollback reached already):
/// DESTROYING → DESTROYED, STOPPING → STOPPED, STARTING → STARTED; nullopt otherwise.
std::optional<Goal> GoalOfCancel(domain::InstanceStatus s);
/// Failed for this goal: FAILED, or one of the build's *_FAILED during a create.
bool IsFailure(const Goal& g, domain::InstanceStatus s);

/// Create's steps, in order (PENDING … STARTED): the progress bar's positions.
const std::vector<domain::InstanceStatus>& CreateSteps();
/// "[####----] 4/8 COMMONS_INSTALLED  12.3 s" (create) or "STOPPING  1.2 s" (others).
std::string ProgressLine(const Goal& g, domain::InstanceStatus s, double seconds);

/// Incremental Server-Sent Events parser.
class SseParser {
 public:
  struct Event {
    std::string id;
    std::string event;
    std::string data;
  };
  /// Feeds bytes; returns the events completed by them.
  std::vector<Event> Feed(std::string_view bytes);

 private:
  std::string buf_;
};

/// A create body from flags; every field has a default (SPEC §4.1 fields).
std::string CreateBodyFromFlags(const std::map<std::string, std::string>& flags,
                                std::string* error);

/// `text` safe to print on a terminal (SPEC §8): C0 controls (tab and newline too), DEL and
/// bytes that are not UTF-8 become `\xNN`, C1 controls (U+0080..U+009F, e.g. U+009B, a CSI
/// that starts an escape sequence on many terminals) `\u00NN`, and a backslash `\\`, so what
/// is shown is unambiguous. Everything else (UTF-8 text) is kept.
std::string ForTerminal(std::string_view text);
/// A JSON document safe to print on a terminal and still the same JSON: DEL and C1 controls (which
/// JSON allows raw in strings) become `\u00NN` escapes.
std::string JsonForTerminal(std::string_view json);

/// A tenant name the admin verbs take: 1..64 of [A-Za-z0-9._-].
bool ValidTenant(std::string_view t);

/// The limit flags among `all` as (hash field, value) pairs: --max-instances, --rate, --burst,
/// --max-watchers (value "default": back to the shim's default). Pure; an error text when a flag
/// has no value, is unknown, or a value is out of range.
std::pair<std::vector<std::pair<std::string, std::string>>, std::string> LimitFlags(
    const std::vector<std::string>& all);

}  // namespace lambda::ctl
