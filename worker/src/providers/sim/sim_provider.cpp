#include "providers/sim/sim_provider.h"

#include "lambda/json/json.h"
#include "lambda/util/util.h"

namespace lambda::worker {

SimOptions SimOptionsFromInfo(const std::string& info_json) {
  SimOptions o;
  // Most specs have no `simulate`: skip the parse for them.
  if (info_json.find("\"simulate\"") == std::string::npos) return o;
  json::Document d;
  if (!json::Parse(info_json, &d, "instance_info") || !d.IsObject()) return o;
  auto it = d.FindMember("simulate");
  if (it == d.MemberEnd() || !it->value.IsObject()) return o;
  const auto& sim = it->value;
  if (auto f = sim.FindMember("fail_at"); f != sim.MemberEnd() && f->value.IsString())
    o.fail_at.assign(f->value.GetString(), f->value.GetStringLength());
  if (auto m = sim.FindMember("step_ms"); m != sim.MemberEnd() && m->value.IsInt64())
    o.step_ms = m->value.GetInt64();
  return o;
}

SimProvider::SimProvider(uv_loop_t* loop, SimConfig config, redis::Client* redis,
                         std::string prefix)
    : loop_(loop), config_(config), redis_(redis), prefix_(std::move(prefix)), rng_(config.seed) {}

uint64_t SimProvider::Latency(const SimOptions& sim, bool is_step) const {
  if (sim.step_ms >= 0) return static_cast<uint64_t>(sim.step_ms);
  return is_step ? config_.step_ms : config_.vm_op_ms;
}

void SimProvider::After(const Operation& op, uint64_t ms, Done done, std::function<void(Done)> fn) {
  bool transient = config_.transient_error_rate > 0 && std::uniform_real_distribution<double>(0, 1)(
                                                           rng_) < config_.transient_error_rate;
  uint64_t id = ++next_timer_;
  auto timer = std::make_unique<uv::Timer>(loop_);
  uv::Timer* raw = timer.get();
  timers_.emplace(id, std::move(timer));
  // The wait and its cancellation share `done`: whichever comes first takes it.
  auto shared = std::make_shared<Done>(std::move(done));
  std::weak_ptr<bool> alive = alive_;
  std::shared_ptr<Cancellation> cancel = op.cancel;
  // Weak: the job owns `cancel`, and `done` owns the job; only the timer holds `done` strongly,
  // so a timer dropped at shutdown frees the job instead of closing a cycle.
  std::weak_ptr<Done> weak = shared;
  uint64_t reg = cancel->OnCancel([this, alive, id, weak] {
    auto held = weak.lock();
    if (alive.expired() || !held || !*held) return;
    timers_.erase(id);  // stops the timer
    auto d = std::move(*held);
    *held = nullptr;
    d(Error{Code::kConflict, "sim: interrupted: the command was superseded"});
  });
  if (reg == 0) return;  // already cancelled: answered
  raw->Start(ms, 0, [this, id, reg, cancel, transient, shared, fn = std::move(fn)]() mutable {
    cancel->Forget(reg);
    auto node = timers_.extract(id);  // the timer dies at the end of this callback
    auto d = std::move(*shared);
    *shared = nullptr;
    if (transient) return d(Error{Code::kUnavailable, "sim: transient cloud error"});
    fn(std::move(d));
  });
}

void SimProvider::Swap(const std::string& vm, Exchange how, Previous then) {
  static constexpr const char* kState[] = {"ACTIVE", "ACTIVE", "SHUTOFF", ""};
  const char* state = kState[static_cast<int>(how)];
  if (redis_ == nullptr) {
    std::optional<std::string> prev;
    if (auto it = local_vms_.find(vm); it != local_vms_.end()) prev = it->second;
    if (how == Exchange::kDelete) {
      local_vms_.erase(vm);
    } else if (how != Exchange::kCreate || !prev) {
      local_vms_[vm] = state;
    }
    return then(prev);
  }
  std::string key = prefix_ + "sim:vm:" + vm;
  std::vector<std::string> argv;
  if (how == Exchange::kDelete) {
    argv = {"GETDEL", key};
  } else if (how == Exchange::kCreate) {
    argv = {"SET", key, state, "NX", "GET"};
  } else {
    argv = {"SET", key, state, "GET"};
  }
  std::weak_ptr<bool> alive = alive_;
  redis_->Command(argv, [alive, then = std::move(then)](Result<redis::Value> r) {
    if (alive.expired()) return;
    if (!r) return then(Error{Code::kUnavailable, "sim: cloud unreachable: " + r.error().message});
    if (r->is_error()) return then(Error{Code::kUnavailable, "sim: cloud refused: " + r->str});
    if (r->is_nil()) return then(std::optional<std::string>{});
    then(std::optional<std::string>{r->str});
  });
}

void SimProvider::CreateCluster(const Operation& op, const InstanceSpec& spec,
                                std::vector<ServerInfo>* servers, Done done) {
  SimOptions sim = SimOptionsFromInfo(spec.info_json);
  After(op, Latency(sim, false) * static_cast<uint64_t>(spec.slaves + 1), std::move(done),
        [this, &op, spec, sim, servers](Done finish) {
          if (sim.fail_at == "CLUSTER") {
            return finish(
                Error{Code::kInternal, "sim: cluster build failed (simulate.fail_at=CLUSTER)"});
          }
          // Ids and addresses derive from the seed and the instance id only: reruns are identical.
          std::string base = util::Sha256Hex(std::to_string(config_.seed) + ":" + spec.id);
          auto planned = std::make_shared<std::vector<ServerInfo>>(PlannedServers(spec));
          for (size_t i = 0; i < planned->size(); ++i) {
            ServerInfo& s = (*planned)[i];
            s.id = base.substr(0, 8) + "-" + base.substr(8, 4) + "-" + std::to_string(i);
            s.status = "ACTIVE";
            s.private_ip = "192.168." + std::to_string(std::stoi(base.substr(12, 2), nullptr, 16)) +
                           "." + std::to_string(i + 2);
            if (spec.ip_allocation == "all" || (spec.ip_allocation == "master" && i == 0)) {
              s.public_ip = "203.0." +
                            std::to_string(std::stoi(base.substr(14, 2), nullptr, 16) % 255) + "." +
                            std::to_string(i + 10);
            }
          }
          CreateFrom(op, planned, 0, servers, std::move(finish));
        });
}

void SimProvider::CreateFrom(const Operation& op,
                             const std::shared_ptr<std::vector<ServerInfo>>& planned, size_t index,
                             std::vector<ServerInfo>* servers, Done done) {
  if (index >= planned->size()) {
    *servers = std::move(*planned);
    return done(OkStatus());
  }
  const std::string name = (*planned)[index].name;
  Swap(name, Exchange::kCreate,
       [this, &op, planned, index, servers, name,
        done = std::move(done)](Result<std::optional<std::string>> prev) mutable {
         if (!prev) return done(prev.error());
         op.record(
             {"create_vm", name, prev->has_value() ? "reused" : "created", (*planned)[index].id});
         CreateFrom(op, planned, index + 1, servers, std::move(done));
       });
}

void SimProvider::Install(const Operation& op, const InstanceSpec& spec,
                          const std::vector<ServerInfo>&, const std::string& step, Done done) {
  SimOptions sim = SimOptionsFromInfo(spec.info_json);
  After(op, Latency(sim, true), std::move(done), [sim, step](const Done& finish) {
    if (sim.fail_at == step) {
      return finish(
          Error{Code::kInternal, "sim: " + step + " step failed (simulate.fail_at=" + step + ")"});
    }
    finish(OkStatus());
  });
}

// An instance seeded by `lambdactl seed` has no VM records: its VMs count as shut off.
void SimProvider::StartVm(const Operation& op, const InstanceSpec& spec, ServerInfo* server,
                          Done done) {
  SimOptions sim = SimOptionsFromInfo(spec.info_json);
  After(op, Latency(sim, false), std::move(done), [this, &op, sim, server](Done finish) {
    if (sim.fail_at == "START" && server->role == "master") {
      return finish(Error{Code::kInternal,
                          "sim: VM " + server->id + " failed to start (simulate.fail_at=START)"});
    }
    Swap(server->name, Exchange::kSetActive,
         [&op, server, finish = std::move(finish)](Result<std::optional<std::string>> prev) {
           if (!prev) return finish(prev.error());
           bool was = prev->has_value() && **prev == "ACTIVE";
           op.record({"start_vm", server->name, was ? "already_running" : "started", server->id});
           server->status = "ACTIVE";
           finish(OkStatus());
         });
  });
}

void SimProvider::StopVm(const Operation& op, const InstanceSpec& spec, ServerInfo* server,
                         Done done) {
  SimOptions sim = SimOptionsFromInfo(spec.info_json);
  After(op, Latency(sim, false), std::move(done), [this, &op, server](Done finish) {
    Swap(server->name, Exchange::kSetShutoff,
         [&op, server, finish = std::move(finish)](Result<std::optional<std::string>> prev) {
           if (!prev) return finish(prev.error());
           bool was = prev->has_value() && **prev == "ACTIVE";
           op.record({"stop_vm", server->name, was ? "stopped" : "already_stopped", server->id});
           server->status = "SHUTOFF";
           finish(OkStatus());
         });
  });
}

void SimProvider::StartServices(const Operation& op, const InstanceSpec& spec,
                                const std::vector<ServerInfo>&, Done done) {
  SimOptions sim = SimOptionsFromInfo(spec.info_json);
  After(op, Latency(sim, true), std::move(done), [](const Done& finish) { finish(OkStatus()); });
}

void SimProvider::StopServices(const Operation& op, const InstanceSpec& spec,
                               const std::vector<ServerInfo>&, Done done) {
  SimOptions sim = SimOptionsFromInfo(spec.info_json);
  After(op, Latency(sim, true), std::move(done), [sim](const Done& finish) {
    if (sim.fail_at == "STOP")
      return finish(Error{Code::kInternal, "sim: services failed to stop (simulate.fail_at=STOP)"});
    finish(OkStatus());
  });
}

void SimProvider::DestroyCluster(const Operation& op, const InstanceSpec& spec,
                                 std::vector<ServerInfo>* servers, Done done) {
  SimOptions sim = SimOptionsFromInfo(spec.info_json);
  After(op, Latency(sim, false), std::move(done), [this, &op, spec, sim, servers](Done finish) {
    if (sim.fail_at == "DESTROY") {
      return finish(
          Error{Code::kInternal, "sim: cluster deletion failed (simulate.fail_at=DESTROY)"});
    }
    DestroyFrom(op, std::make_shared<std::vector<ServerInfo>>(PlannedServers(spec)), 0, servers,
                std::move(finish));
  });
}

void SimProvider::DestroyFrom(const Operation& op,
                              const std::shared_ptr<std::vector<ServerInfo>>& planned, size_t index,
                              std::vector<ServerInfo>* servers, Done done) {
  if (index >= planned->size()) {
    for (auto& s : *servers) s.status = "DELETED";
    return done(OkStatus());
  }
  const std::string name = (*planned)[index].name;
  Swap(name, Exchange::kDelete,
       [this, &op, planned, index, servers, name,
        done = std::move(done)](Result<std::optional<std::string>> prev) mutable {
         if (!prev) return done(prev.error());
         op.record({"destroy_vm", name, prev->has_value() ? "destroyed" : "absent", ""});
         DestroyFrom(op, planned, index + 1, servers, std::move(done));
       });
}

}  // namespace lambda::worker
