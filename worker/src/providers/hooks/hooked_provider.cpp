#include "providers/hooks/hooked_provider.h"

#include <algorithm>
#include <cctype>

extern char** environ;

namespace lambda::worker {

namespace {

std::string Trim(std::string s) {
  auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && space(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && space(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::vector<std::string> HookEnvironment(const Operation& op, const InstanceSpec& spec,
                                         const std::vector<ServerInfo>& servers,
                                         const std::string& step, char** inherited) {
  std::vector<std::string> env;
  // The worker's own settings (Redis and broker URLs with their passwords) stay out; an
  // operator passes a hook what it needs as HOOK_* variables.
  for (char** e = inherited; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("PATH=") || kv.starts_with("HOME=") || kv.starts_with("LANG=") ||
        kv.starts_with("TMPDIR=") || kv.starts_with("HOOK_"))
      env.emplace_back(kv);
  }
  std::string master_ip, master_port, slave_ips, slave_ports;
  for (const auto& s : servers) {
    const std::string& ip = s.public_ip.empty() ? s.private_ip : s.public_ip;
    if (s.role == "master") {
      master_ip = ip;
      master_port = std::to_string(s.ssh_port == 0 ? 22 : s.ssh_port);
    } else {
      slave_ips += (slave_ips.empty() ? "" : ",") + ip;
      slave_ports +=
          (slave_ports.empty() ? "" : ",") + std::to_string(s.ssh_port == 0 ? 22 : s.ssh_port);
    }
  }
  env.push_back("LAMBDA_INSTANCE_ID=" + spec.id);
  env.push_back("LAMBDA_INSTANCE_NAME=" + spec.name);
  env.push_back("LAMBDA_STEP=" + step);
  env.push_back("LAMBDA_REQUEST_ID=" + op.request_id);
  env.push_back("LAMBDA_GEN=" + std::to_string(op.gen));
  env.push_back("LAMBDA_MASTER_IP=" + master_ip);
  env.push_back("LAMBDA_MASTER_SSH_PORT=" + master_port);
  env.push_back("LAMBDA_SLAVE_IPS=" + slave_ips);
  env.push_back("LAMBDA_SLAVE_SSH_PORTS=" + slave_ports);
  env.push_back("LAMBDA_SERVERS=" + ServersToJson(servers));
  return env;
}

std::string HookFailure(const std::string& name, const HookResult& r, uint64_t timeout_ms) {
  if (!r.spawn_error.empty()) return "hook " + name + ": " + r.spawn_error;
  if (r.timed_out) return "hook " + name + " timed out after " + std::to_string(timeout_ms) + " ms";
  std::string tail = Trim(r.stderr_tail);
  if (tail.empty()) tail = Trim(r.stdout_tail);
  if (!tail.empty()) return tail;
  if (r.term_signal != 0)
    return "hook " + name + " killed by signal " + std::to_string(r.term_signal);
  return "hook " + name + " exited with status " + std::to_string(r.exit_status);
}

void HookedProvider::RunHook(const Operation& op, const InstanceSpec& spec,
                             const std::vector<ServerInfo>& servers, const std::string& name,
                             const std::string& step, Done done) {
  // No hook directory: no hook runs, so build no environment for one (it is per operation).
  if (hooks_->config().dir.empty()) return done(OkStatus());
  std::weak_ptr<bool> alive = alive_;
  uint64_t timeout = hooks_->config().timeout_ms;
  // A superseded command kills the hook's process group (SPEC §5): registered for the run only.
  auto reg = std::make_shared<uint64_t>(0);
  std::shared_ptr<Cancellation> cancel = op.cancel;
  if (cancel->cancelled()) return done(Error{Code::kConflict, "hook " + name + ": interrupted"});
  uint64_t id = hooks_->Run(
      name, HookEnvironment(op, spec, servers, step, environ),
      [alive, &op, name, timeout, reg, cancel, done = std::move(done)](const HookResult& r) {
        if (*reg != 0) cancel->Forget(*reg);
        *reg = 0;
        if (alive.expired()) return;
        if (!r.ran) return done(OkStatus());
        std::string outcome = r.ok()          ? "ran"
                              : r.interrupted ? "interrupted"
                              : r.timed_out   ? "timed_out"
                                              : "failed";
        std::string detail = r.ok()          ? "exit 0"
                             : r.interrupted ? "hook " + name + " interrupted: superseded"
                                             : HookFailure(name, r, timeout);
        op.record({"hook", name, outcome, detail});
        if (r.ok()) return done(OkStatus());
        done(Error{r.interrupted ? Code::kConflict : Code::kInternal, detail});
      });
  if (id != 0) {
    HookRunner* hooks = hooks_;
    *reg = cancel->OnCancel([alive, hooks, id] {
      if (!alive.expired()) hooks->Interrupt(id);
    });
  }
}

void HookedProvider::Install(const Operation& op, const InstanceSpec& spec,
                             const std::vector<ServerInfo>& servers, const std::string& step,
                             Done done) {
  std::weak_ptr<bool> alive = alive_;
  inner_->Install(
      op, spec, servers, step,
      [this, alive, &op, &spec, &servers, step, done = std::move(done)](Status st) mutable {
        if (alive.expired()) return;
        if (!st) return done(std::move(st));
        RunHook(op, spec, servers, Lower(step), step, std::move(done));
      });
}

void HookedProvider::StartServices(const Operation& op, const InstanceSpec& spec,
                                   const std::vector<ServerInfo>& servers, Done done) {
  std::weak_ptr<bool> alive = alive_;
  inner_->StartServices(
      op, spec, servers,
      [this, alive, &op, &spec, &servers, done = std::move(done)](Status st) mutable {
        if (alive.expired()) return;
        if (!st) return done(std::move(st));
        RunHook(op, spec, servers, "start-services", "START_SERVICES", std::move(done));
      });
}

void HookedProvider::StopServices(const Operation& op, const InstanceSpec& spec,
                                  const std::vector<ServerInfo>& servers, Done done) {
  std::weak_ptr<bool> alive = alive_;
  RunHook(op, spec, servers, "stop-services", "STOP_SERVICES",
          [this, alive, &op, &spec, &servers, done = std::move(done)](Status st) mutable {
            if (alive.expired()) return;
            if (!st) return done(std::move(st));
            inner_->StopServices(op, spec, servers, std::move(done));
          });
}

}  // namespace lambda::worker
