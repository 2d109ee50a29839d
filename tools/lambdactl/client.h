#pragma once
// lambdactl's client verbs over HTTP (SPEC §7): create, start, stop, destroy (each with --wait
// and --timeout), status, list, watch, events. Waiting follows the instance's event stream
// (Server-Sent Events), resuming with Last-Event-ID if the connection drops; it never polls.
#include <map>
#include <set>
#include <string>
#include <vector>

namespace lambda::ctl {

bool IsClientVerb(const std::string& verb);
/// `positional` starts with the verb; `flags` are --name value pairs; `switches` are --wait,
/// --json. Returns the process's exit code.
int RunClient(const std::vector<std::string>& positional,
              const std::map<std::string, std::string>& flags,
              const std::set<std::string>& switches);

}  // namespace lambda::ctl
