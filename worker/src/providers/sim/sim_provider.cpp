#include "providers/sim/sim_provider.h"

#include "lambda/util/util.h"

namespace lambda::worker {

SimProvider::SimProvider(uv_loop_t* loop, SimConfig config)
    : loop_(loop), config_(config), rng_(config.seed) {}

uint64_t SimProvider::Latency(const InstanceSpec& spec, bool is_step) const {
  if (spec.step_ms >= 0) return static_cast<uint64_t>(spec.step_ms);
  return is_step ? config_.step_ms : config_.vm_op_ms;
}

void SimProvider::After(uint64_t ms, Done done, std::function<Status()> fn) {
  bool transient = config_.transient_error_rate > 0 && std::uniform_real_distribution<double>(0, 1)(
                                                           rng_) < config_.transient_error_rate;
  uint64_t id = ++next_timer_;
  auto timer = std::make_unique<uv::Timer>(loop_);
  uv::Timer* raw = timer.get();
  timers_.emplace(id, std::move(timer));
  raw->Start(ms, 0, [this, id, transient, done = std::move(done), fn = std::move(fn)] {
    auto node = timers_.extract(id);  // the timer dies at the end of this callback
    if (transient) return done(Error{Code::kUnavailable, "sim: transient cloud error"});
    done(fn());
  });
}

void SimProvider::CreateCluster(const InstanceSpec& spec, std::vector<ServerInfo>* servers,
                                Done done) {
  After(Latency(spec, false) * static_cast<uint64_t>(spec.slaves + 1), std::move(done),
        [this, spec, servers]() -> Status {
          if (spec.fail_at == "CLUSTER")
            return Error{Code::kInternal, "sim: cluster build failed (simulate.fail_at=CLUSTER)"};
          // Ids and addresses derive from the seed and the instance id only: reruns are identical.
          std::string base = util::Sha256Hex(std::to_string(config_.seed) + ":" + spec.id);
          servers->clear();
          for (int i = 0; i <= spec.slaves; ++i) {
            ServerInfo s;
            s.id = base.substr(0, 8) + "-" + base.substr(8, 4) + "-" + std::to_string(i);
            s.role = i == 0 ? "master" : "slave";
            s.name = i == 0 ? spec.master_name : spec.name + "-slave-" + std::to_string(i);
            s.status = "ACTIVE";
            s.private_ip = "192.168." + std::to_string(std::stoi(base.substr(12, 2), nullptr, 16)) +
                           "." + std::to_string(i + 2);
            if (spec.ip_allocation == "all" || (spec.ip_allocation == "master" && i == 0)) {
              s.public_ip = "203.0." +
                            std::to_string(std::stoi(base.substr(14, 2), nullptr, 16) % 255) + "." +
                            std::to_string(i + 10);
            }
            servers->push_back(std::move(s));
          }
          return OkStatus();
        });
}

void SimProvider::Install(const InstanceSpec& spec, const std::string& step, Done done) {
  After(Latency(spec, true), std::move(done), [spec, step]() -> Status {
    if (spec.fail_at == step) {
      return Error{Code::kInternal,
                   "sim: " + step + " step failed (simulate.fail_at=" + step + ")"};
    }
    return OkStatus();
  });
}

void SimProvider::StartVm(const InstanceSpec& spec, ServerInfo* server, Done done) {
  After(Latency(spec, false), std::move(done), [spec, server]() -> Status {
    if (spec.fail_at == "START" && server->role == "master") {
      return Error{Code::kInternal,
                   "sim: VM " + server->id + " failed to start (simulate.fail_at=START)"};
    }
    server->status = "ACTIVE";
    return OkStatus();
  });
}

void SimProvider::StopVm(const InstanceSpec& spec, ServerInfo* server, Done done) {
  After(Latency(spec, false), std::move(done), [server]() -> Status {
    server->status = "SHUTOFF";
    return OkStatus();
  });
}

void SimProvider::StartServices(const InstanceSpec& spec, Done done) {
  After(Latency(spec, true), std::move(done), [] { return OkStatus(); });
}

void SimProvider::StopServices(const InstanceSpec& spec, Done done) {
  After(Latency(spec, true), std::move(done), [spec]() -> Status {
    if (spec.fail_at == "STOP")
      return Error{Code::kInternal, "sim: services failed to stop (simulate.fail_at=STOP)"};
    return OkStatus();
  });
}

void SimProvider::DestroyCluster(const InstanceSpec& spec, std::vector<ServerInfo>* servers,
                                 Done done) {
  After(Latency(spec, false), std::move(done), [spec, servers]() -> Status {
    if (spec.fail_at == "DESTROY")
      return Error{Code::kInternal, "sim: cluster deletion failed (simulate.fail_at=DESTROY)"};
    for (auto& s : *servers) s.status = "DELETED";
    return OkStatus();
  });
}

}  // namespace lambda::worker
