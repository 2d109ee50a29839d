#include "providers/libvirt/libvirt_provider.h"

#include "lambda/util/util.h"

namespace lambda::worker::libvirt {

struct LibvirtProvider::Stop {
  Stop(uv_loop_t* loop, const Operation& for_op, ServerInfo* vm, Done then)
      : op(for_op), server(vm), done(std::move(then)), timer(loop) {}
  const Operation& op;
  ServerInfo* server;
  Done done;
  uv::Timer timer;
  int64_t started_ms = util::NowMs();
  int shutdowns = 0;
  bool in_call = false;  ///< a pool call is under way
  uint64_t reg = 0;      ///< its registration with op.cancel
  /// Events pushed before the stop began: a late STOPPED of an earlier stop is not this one's.
  uint64_t events_before = 0;
};

namespace {

const Error kInterrupted{Code::kConflict, "libvirt: interrupted: the command was superseded"};

/// One blocking call on libuv's pool; the request owns itself until its after-callback.
struct PoolCall {
  uv_work_t req{};
  std::shared_ptr<Session> session;
  std::function<Result<VmState>(Session&)> blocking;
  std::function<void(Result<VmState>)> then;
  Result<VmState> result = Error{Code::kInternal, "not run"};
};

}  // namespace

LibvirtProvider::LibvirtProvider(uv_loop_t* loop, LibvirtConfig config)
    : loop_(loop),
      config_(std::move(config)),
      sink_(std::make_shared<EventSink>()),
      session_(std::make_shared<Session>(config_.uri, sink_)),
      wake_(loop, [this] { OnEvents(); }) {
  wake_.Unref();
  sink_->SetWake([this] { wake_.Send(); });
}

LibvirtProvider::~LibvirtProvider() {
  *alive_ = false;
  sink_->SetWake(nullptr);  // before wake_ goes: libvirt's thread may be pushing right now
}

void LibvirtProvider::OffLoop(std::function<Result<VmState>(Session&)> blocking,
                              std::function<void(Result<VmState>)> then) {
  auto call = std::make_unique<PoolCall>();
  call->session = session_;
  call->blocking = std::move(blocking);
  std::weak_ptr<bool> alive = alive_;
  call->then = [alive, then = std::move(then)](Result<VmState> r) {
    if (!alive.expired()) then(std::move(r));
  };
  call->req.data = call.get();
  int rc = uv_queue_work(
      loop_, &call->req,
      [](uv_work_t* req) {
        auto* c = static_cast<PoolCall*>(req->data);
        c->result = c->blocking(*c->session);
      },
      [](uv_work_t* req, int) {
        std::unique_ptr<PoolCall> c(static_cast<PoolCall*>(req->data));
        c->then(std::move(c->result));
      });
  if (rc != 0) {
    return call->then(Error{Code::kUnavailable, std::string("thread pool: ") + uv_strerror(rc)});
  }
  static_cast<void>(call.release());  // reclaimed by the after-callback
}

void LibvirtProvider::CreateCluster(const Operation& op, const InstanceSpec& spec,
                                    std::vector<ServerInfo>* servers, Done done) {
  if ((config_.guest.kernel.empty() || config_.guest.initrd.empty()) &&
      config_.guest.image.empty()) {
    return done(Error{Code::kInternal,
                      "libvirt: no guest configured (--libvirt-image, or --libvirt-kernel and "
                      "--libvirt-initrd)"});
  }
  CreateFrom(op, spec, std::make_shared<std::vector<ServerInfo>>(PlannedServers(spec)), 0, servers,
             std::move(done));
}

void LibvirtProvider::CreateFrom(const Operation& op, const InstanceSpec& spec,
                                 const std::shared_ptr<std::vector<ServerInfo>>& planned,
                                 size_t index, std::vector<ServerInfo>* servers, Done done) {
  if (index >= planned->size()) {
    *servers = std::move(*planned);
    return done(OkStatus());
  }
  // Cancelled: the VMs made so far are the rollback's to remove (it goes by their names).
  if (op.cancel->cancelled()) return done(kInterrupted);
  const ServerInfo& planned_vm = (*planned)[index];
  VmFacts vm;
  vm.name = planned_vm.name;
  vm.instance_id = spec.id;
  vm.instance_name = spec.name;
  vm.role = planned_vm.role;
  vm.index = static_cast<int>(index);
  vm.request_id = op.request_id;
  vm.gen = op.gen;
  vm.vcpus = spec.vcpus(index == 0);
  vm.ram_mib = spec.ram_mib(index == 0);
  vm.disk_gib = spec.disk_gib(index == 0);
  GuestConfig guest = config_.guest;
  OffLoop([guest, vm](Session& session) { return session.Ensure(guest, vm); },
          [this, &op, &spec, planned, index, servers,
           done = std::move(done)](Result<VmState> r) mutable {
            ServerInfo& s = (*planned)[index];
            if (!r) {
              op.record({"create_vm", s.name, "failed", r.error().message});
              return done(r.error());
            }
            op.record({"create_vm", s.name, r->outcome, r->uuid});
            op.record({"start_vm", s.name, r->started ? "started" : "already_running", r->uuid});
            s.id = r->uuid;
            s.status = "ACTIVE";
            s.private_ip = config_.guest.ssh_host;
            s.ssh_port = r->ssh_port;
            CreateFrom(op, spec, planned, index + 1, servers, std::move(done));
          });
}

void LibvirtProvider::Install(const Operation&, const InstanceSpec&, const std::vector<ServerInfo>&,
                              const std::string&, Done done) {
  done(OkStatus());  // software is installed by the service hooks (LAMBDA_HOOKS_DIR)
}

void LibvirtProvider::StartServices(const Operation&, const InstanceSpec&,
                                    const std::vector<ServerInfo>&, Done done) {
  done(OkStatus());  // the start-services hook
}

void LibvirtProvider::StopServices(const Operation&, const InstanceSpec&,
                                   const std::vector<ServerInfo>&, Done done) {
  done(OkStatus());  // the stop-services hook
}

void LibvirtProvider::StartVm(const Operation& op, const InstanceSpec&, ServerInfo* server,
                              Done done) {
  std::string name = server->name;
  OffLoop([name](Session& s) { return s.Start(name); },
          [this, &op, server, done = std::move(done)](Result<VmState> r) {
            if (!r) {
              op.record({"start_vm", server->name, "failed", r.error().message});
              return done(r.error());
            }
            op.record({"start_vm", server->name, r->outcome, r->uuid});
            server->status = "ACTIVE";
            if (r->ssh_port != 0) server->ssh_port = r->ssh_port;
            if (server->id.empty()) server->id = r->uuid;
            if (server->private_ip.empty()) server->private_ip = config_.guest.ssh_host;
            done(OkStatus());
          });
}

void LibvirtProvider::StopVm(const Operation& op, const InstanceSpec&, ServerInfo* server,
                             Done done) {
  if (op.cancel->cancelled()) return done(kInterrupted);
  uint64_t id = ++next_stop_;
  auto& stop =
      *stops_.emplace(id, std::make_unique<Stop>(loop_, op, server, std::move(done))).first->second;
  stop.events_before = sink_->Pushed();
  // By id only: the stop (which holds `done`, which holds the job, which holds the
  // cancellation) is found in stops_, so the registration owns nothing of it.
  std::weak_ptr<bool> alive = alive_;
  stop.reg = op.cancel->OnCancel([this, alive, id] {
    if (!alive.expired()) InterruptStop(id);
  });
  ShutdownTick(id);
}

void LibvirtProvider::InterruptStop(uint64_t id) {
  auto it = stops_.find(id);
  if (it == stops_.end()) return;
  it->second->reg = 0;  // Cancel ran it: nothing left to forget
  // A call under way cannot be interrupted: its answer ends the stop (ShutdownTick's callback).
  if (it->second->in_call) return;
  FinishStop(id, kInterrupted, "interrupted", "the command was superseded");
}

void LibvirtProvider::ShutdownTick(uint64_t id) {
  auto it = stops_.find(id);
  if (it == stops_.end()) return;
  int64_t waited = util::NowMs() - it->second->started_ms;
  bool force = waited >= static_cast<int64_t>(config_.stop_timeout_ms);
  std::string name = it->second->server->name;
  it->second->in_call = true;
  auto call = config_.stop_call;
  OffLoop(
      [name, force, call](Session& s) {
        if (call) return call(s, name, force);
        return force ? s.PowerOff(name) : s.Shutdown(name);
      },
      [this, id, force, waited](Result<VmState> r) {
        auto found = stops_.find(id);
        if (found == stops_.end()) return;  // the STOPPED event came first
        Stop& stop = *found->second;
        stop.in_call = false;
        if (!r) return FinishStop(id, r.error(), "failed", r.error().message);
        if (stop.op.cancel->cancelled()) {
          return FinishStop(id, kInterrupted, "interrupted", "the command was superseded");
        }
        if (force) {
          return FinishStop(id, OkStatus(), "stopped",
                            "powered off after " + std::to_string(waited) + " ms");
        }
        if (r->outcome == "shutdown_sent") ++stop.shutdowns;
        if (!r->active) {
          bool never_ran = stop.shutdowns == 0;
          return FinishStop(id, OkStatus(), never_ran ? "already_stopped" : "stopped",
                            never_ran ? "" : "acpi shutdown");
        }
        stop.timer.Start(config_.shutdown_retry_ms, 0, [this, id] { ShutdownTick(id); });
      });
}

void LibvirtProvider::FinishStop(uint64_t id, Status st, const std::string& outcome,
                                 const std::string& detail) {
  auto node = stops_.extract(id);
  if (node.empty()) return;
  Stop& stop = *node.mapped();
  if (stop.reg != 0) stop.op.cancel->Forget(stop.reg);
  stop.reg = 0;
  stop.timer.Stop();
  stop.op.record({"stop_vm", stop.server->name, outcome, detail});
  if (st) stop.server->status = "SHUTOFF";
  auto done = std::move(stop.done);
  done(std::move(st));
}

void LibvirtProvider::OnEvents() {
  for (const auto& e : sink_->Drain()) {
    if (e.type != VIR_DOMAIN_EVENT_STOPPED) continue;
    std::vector<uint64_t> ids;
    for (const auto& [id, stop] : stops_) {
      // Only a stop that has sent a shutdown waits for the guest: before that, its call's own
      // answer says whether the VM runs, and a STOPPED may be an earlier stop's, late.
      if (stop->server->name == e.domain && e.seq > stop->events_before && stop->shutdowns > 0)
        ids.push_back(id);
    }
    for (uint64_t id : ids) FinishStop(id, OkStatus(), "stopped", "acpi shutdown");
  }
}

void LibvirtProvider::DestroyCluster(const Operation& op, const InstanceSpec& spec,
                                     std::vector<ServerInfo>* servers, Done done) {
  DestroyFrom(op, std::make_shared<std::vector<ServerInfo>>(PlannedServers(spec)), 0, servers,
              std::move(done));
}

void LibvirtProvider::DestroyFrom(const Operation& op,
                                  const std::shared_ptr<std::vector<ServerInfo>>& planned,
                                  size_t index, std::vector<ServerInfo>* servers, Done done) {
  if (index >= planned->size()) {
    for (auto& s : *servers) s.status = "DELETED";
    return done(OkStatus());
  }
  if (op.cancel->cancelled()) return done(kInterrupted);
  std::string name = (*planned)[index].name;
  GuestConfig guest = config_.guest;
  OffLoop([name, guest](Session& s) { return s.Remove(name, guest); },
          [this, &op, planned, index, servers, name,
           done = std::move(done)](Result<VmState> r) mutable {
            if (!r) {
              op.record({"destroy_vm", name, "failed", r.error().message});
              return done(r.error());
            }
            op.record({"destroy_vm", name, r->outcome, r->uuid});
            DestroyFrom(op, planned, index + 1, servers, std::move(done));
          });
}

}  // namespace lambda::worker::libvirt
