#include "providers/openstack/openstack_provider.h"

#include "lambda/json/json.h"
#include "lambda/log/log.h"
#include "lambda/util/util.h"
#include "providers/openstack/cloud_text.h"

namespace lambda::worker::openstack {

OpenStackProvider::OpenStackProvider(uv_loop_t* loop, OsConfig config)
    : loop_(loop), config_(std::move(config)), http_(loop, config_.http_timeout_ms) {}

OpenStackProvider::~OpenStackProvider() { *alive_ = false; }

void OpenStackProvider::After(uint64_t ms, const std::shared_ptr<Cancellation>& cancel,
                              std::function<void()> fn) {
  uint64_t id = ++next_timer_;
  auto timer = std::make_unique<uv::Timer>(loop_);
  uv::Timer* raw = timer.get();
  timers_.emplace(id, std::move(timer));
  // A superseded command stops waiting at once: `fn` runs now and sees the cancellation.
  auto shared = std::make_shared<std::function<void()>>(std::move(fn));
  std::weak_ptr<bool> alive = alive_;
  // Weak, as in SimProvider::After: only the timer owns `fn` (which may own the job).
  std::weak_ptr<std::function<void()>> weak = shared;
  uint64_t reg = cancel->OnCancel([this, alive, id, weak] {
    auto held = weak.lock();
    if (alive.expired() || !held || !*held) return;
    timers_.erase(id);
    auto f = std::move(*held);
    *held = nullptr;
    f();
  });
  if (reg == 0) return;
  raw->Start(ms, 0, [this, id, reg, cancel, shared] {
    cancel->Forget(reg);
    auto node = timers_.extract(id);  // the timer dies at the end of this callback
    auto f = std::move(*shared);
    *shared = nullptr;
    if (f) f();
  });
}

// ----- Compute ---------------------------------------------------------------------------------

void OpenStackProvider::Compute(const std::string& method, const std::string& path,
                                const std::string& body, Reply done, int attempt, bool reauthed) {
  std::weak_ptr<bool> alive = alive_;
  WithToken([this, alive, method, path, body, attempt, reauthed,
             done = std::move(done)](const Status& st) mutable {
    if (alive.expired()) return;
    if (!st) return done(st.error());
    std::vector<std::string> h{"X-Auth-Token: " + token_, "Accept: application/json",
                               "Content-Type: application/json"};
    if (config_.mode != "synnefo") {
      h.emplace_back("OpenStack-API-Version: compute 2.37");
      h.emplace_back("X-OpenStack-Nova-API-Version: 2.37");
    }
    std::string url = path.starts_with("http") ? path : compute_url_ + path;
    http_.Request(
        method, url, h, body,
        [this, alive, method, path, body, attempt, reauthed,
         done = std::move(done)](Result<HttpReply> r) mutable {
          if (alive.expired()) return;
          if (!r) return done(r.error());
          if (r->status == 401 && !reauthed) {
            token_.clear();  // revoked or expired early: one fresh token, one retry
            return Compute(method, path, body, std::move(done), attempt, true);
          }
          bool busy = r->status == 409 || r->status == 429 || r->status == 503;
          if (busy && attempt < config_.busy_retries) {
            uint64_t wait = util::BackoffMs(config_.poll_ms, config_.poll_max_ms, attempt + 1);
            if (auto ra = r->headers.find("retry-after"); ra != r->headers.end()) {
              if (auto secs = util::ParseInt(ra->second); secs && *secs >= 0)
                wait = static_cast<uint64_t>(std::min<int64_t>(*secs, 120)) * 1000;
            }
            log::Info("cloud busy; retrying", {{"status", static_cast<int64_t>(r->status)},
                                               {"path", path},
                                               {"wait_ms", static_cast<int64_t>(wait)}});
            return After(
                wait, [this, alive, method, path, body, attempt, done = std::move(done)]() mutable {
                  if (!alive.expired()) Compute(method, path, body, std::move(done), attempt + 1);
                });
          }
          if (busy || r->status >= 500) {
            return done(Error{Code::kUnavailable,
                              "compute: " + std::to_string(r->status) + " " + ErrorText(*r)});
          }
          done(std::move(*r));
        });
  });
}

void OpenStackProvider::CreateOne(const Operation& op, const InstanceSpec& spec,
                                  const ServerInfo& planned, bool master, Viewed done) {
  std::weak_ptr<bool> alive = alive_;
  std::string name = planned.name;
  int64_t deadline = util::NowMs() + static_cast<int64_t>(config_.op_timeout_ms);
  FindByName(name, [this, alive, &op, &spec, name, master, deadline,
                    done = std::move(done)](Result<std::optional<View>> found) mutable {
    if (alive.expired()) return;
    if (!found) return done(found.error());
    if (*found) {
      op.record({"create_vm", name, "reused", (*found)->id});
      return WaitFor((*found)->id, "ACTIVE", deadline, config_.poll_ms, op.cancel, std::move(done));
    }
    Flavors([this, alive, &op, &spec, name, master, deadline,
             done = std::move(done)](Result<std::vector<Flavor>> flavors) mutable {
      if (alive.expired()) return;
      if (!flavors) return done(flavors.error());
      std::optional<Flavor> flavor;
      if (!config_.flavor.empty()) {
        for (const auto& f : *flavors) {
          if (f.id == config_.flavor || f.name == config_.flavor) flavor = f;
        }
        if (!flavor)
          return done(Error{Code::kInternal, "openstack: flavor " + config_.flavor + " not found"});
      } else {
        flavor = SmallestFitting(*flavors, spec.vcpus(master), spec.ram_mib(master),
                                 spec.disk_gib(master));
        if (!flavor) {
          return done(Error{Code::kInternal,
                            "openstack: no flavor fits " + std::to_string(spec.vcpus(master)) +
                                " vCPUs, " + std::to_string(spec.ram_mib(master)) + " MiB RAM, " +
                                std::to_string(spec.disk_gib(master)) + " GB disk"});
        }
      }
      ImageId([this, alive, &op, &spec, name, flavor = *flavor, deadline,
               done = std::move(done)](Result<std::string> image) mutable {
        if (alive.expired()) return;
        if (!image) return done(image.error());
        rapidjson::StringBuffer sb;
        json::Writer w(sb);
        w.StartObject();
        json::Key(w, "server");
        w.StartObject();
        json::KV(w, "name", name);
        json::KV(w, "imageRef", *image);
        json::KV(w, "flavorRef", flavor.id);
        if (config_.mode == "synnefo" || (config_.network != "auto" && config_.network != "none")) {
          if (config_.network != "auto" && config_.network != "none") {
            json::Key(w, "networks");
            w.StartArray();
            w.StartObject();
            json::KV(w, "uuid", config_.network);
            w.EndObject();
            w.EndArray();
          }
        } else {
          json::KV(w, "networks", config_.network);  // "auto" or "none" (microversion 2.37)
        }
        if (!spec.public_key_name.empty()) json::KV(w, "key_name", spec.public_key_name);
        json::Key(w, "metadata");
        w.StartObject();
        json::KV(w, "lambda_instance_id", spec.id);
        json::KV(w, "lambda_instance_name", spec.name);
        w.EndObject();
        w.EndObject();
        w.EndObject();
        Compute("POST", "/servers", std::string(json::View(sb)),
                [this, alive, &op, name, deadline,
                 done = std::move(done)](Result<HttpReply> r) mutable {
                  if (alive.expired()) return;
                  if (!r) return done(r.error());
                  if (r->status != 202 && r->status != 200) {
                    op.record({"create_vm", name, "failed", ErrorText(*r)});
                    return done(Error{Code::kInternal, "compute refused to create " + name + ": " +
                                                           std::to_string(r->status) + " " +
                                                           ErrorText(*r)});
                  }
                  auto v = ParseServer(r->body);
                  if (!v) return done(v.error());
                  op.record({"create_vm", name, "created", v->id});
                  WaitFor(v->id, "ACTIVE", deadline, config_.poll_ms, op.cancel, std::move(done));
                });
      });
    });
  });
}

void OpenStackProvider::CreateCluster(const Operation& op, const InstanceSpec& spec,
                                      std::vector<ServerInfo>* servers, Done done) {
  CreateFrom(op, spec, std::make_shared<std::vector<ServerInfo>>(PlannedServers(spec)), 0, servers,
             std::move(done));
}

void OpenStackProvider::CreateFrom(const Operation& op, const InstanceSpec& spec,
                                   const std::shared_ptr<std::vector<ServerInfo>>& planned,
                                   size_t index, std::vector<ServerInfo>* servers, Done done) {
  if (index >= planned->size()) {
    *servers = std::move(*planned);
    return done(OkStatus());
  }
  CreateOne(
      op, spec, (*planned)[index], index == 0,
      [this, &op, &spec, planned, index, servers, done = std::move(done)](Result<View> v) mutable {
        if (!v) return done(v.error());
        ServerInfo& s = (*planned)[index];
        s.id = v->id;
        s.status = "ACTIVE";
        s.private_ip = v->private_ip;
        if (spec.ip_allocation == "all" || (spec.ip_allocation == "master" && index == 0))
          s.public_ip = v->public_ip;
        CreateFrom(op, spec, planned, index + 1, servers, std::move(done));
      });
}

void OpenStackProvider::Power(const Operation& op, ServerInfo* server, bool start, Done done) {
  std::weak_ptr<bool> alive = alive_;
  std::string want = start ? "ACTIVE" : ShutoffName();
  std::string op_name = start ? "start_vm" : "stop_vm";
  int64_t deadline = util::NowMs() + static_cast<int64_t>(config_.op_timeout_ms);
  FindByName(server->name, [this, alive, &op, server, start, want, op_name, deadline,
                            done = std::move(done)](Result<std::optional<View>> found) mutable {
    if (alive.expired()) return;
    if (!found) return done(found.error());
    if (!*found) {
      op.record({op_name, server->name, "failed", "no such server"});
      return done(Error{Code::kInternal, "openstack: no server named " + server->name});
    }
    View v = **found;
    auto finish = [&op, server, want, op_name, start, done = std::move(done)](
                      Result<View> r, const std::string& outcome) mutable {
      if (!r) {
        op.record({op_name, server->name, "failed", r.error().message});
        return done(r.error());
      }
      op.record({op_name, server->name, outcome, r->id});
      server->id = r->id;
      server->status = start ? "ACTIVE" : "SHUTOFF";
      if (!r->private_ip.empty()) server->private_ip = r->private_ip;
      done(OkStatus());
    };
    if (v.status == want && v.task_state.empty())
      return finish(v, start ? "already_running" : "already_stopped");
    if (!v.task_state.empty()) {
      // A task of someone else's is under way (e.g. powering-on after a lost answer): wait it out.
      return WaitFor(v.id, want, deadline, config_.poll_ms, op.cancel,
                     [finish = std::move(finish), start](Result<View> r) mutable {
                       finish(std::move(r), start ? "started" : "stopped");
                     });
    }
    std::string body = config_.mode == "synnefo"
                           ? (start ? R"({"start":{}})" : R"({"shutdown":{}})")
                           : (start ? R"({"os-start":null})" : R"({"os-stop":null})");
    Compute("POST", "/servers/" + v.id + "/action", body,
            [this, alive, v, want, deadline, start, cancel = op.cancel,
             finish = std::move(finish)](Result<HttpReply> r) mutable {
              if (alive.expired()) return;
              if (!r) return finish(r.error(), "");
              if (r->status != 202 && r->status != 200 && r->status != 204) {
                return finish(
                    Error{Code::kInternal,
                          "compute refused to " + std::string(start ? "start " : "stop ") + v.name +
                              ": " + std::to_string(r->status) + " " + ErrorText(*r)},
                    "");
              }
              WaitFor(v.id, want, deadline, config_.poll_ms, cancel,
                      [finish = std::move(finish), start](Result<View> w) mutable {
                        finish(std::move(w), start ? "started" : "stopped");
                      });
            });
  });
}

void OpenStackProvider::StartVm(const Operation& op, const InstanceSpec&, ServerInfo* server,
                                Done done) {
  Power(op, server, true, std::move(done));
}

void OpenStackProvider::StopVm(const Operation& op, const InstanceSpec&, ServerInfo* server,
                               Done done) {
  Power(op, server, false, std::move(done));
}

void OpenStackProvider::Install(const Operation&, const InstanceSpec&,
                                const std::vector<ServerInfo>&, const std::string&, Done done) {
  done(OkStatus());  // software is installed by the service hooks (LAMBDA_HOOKS_DIR)
}

void OpenStackProvider::StartServices(const Operation&, const InstanceSpec&,
                                      const std::vector<ServerInfo>&, Done done) {
  done(OkStatus());
}

void OpenStackProvider::StopServices(const Operation&, const InstanceSpec&,
                                     const std::vector<ServerInfo>&, Done done) {
  done(OkStatus());
}

void OpenStackProvider::DestroyCluster(const Operation& op, const InstanceSpec& spec,
                                       std::vector<ServerInfo>* servers, Done done) {
  DestroyFrom(op, std::make_shared<std::vector<ServerInfo>>(PlannedServers(spec)), 0, servers,
              std::move(done));
}

void OpenStackProvider::DestroyFrom(const Operation& op,
                                    const std::shared_ptr<std::vector<ServerInfo>>& planned,
                                    size_t index, std::vector<ServerInfo>* servers, Done done) {
  if (index >= planned->size()) {
    for (auto& s : *servers) s.status = "DELETED";
    return done(OkStatus());
  }
  std::weak_ptr<bool> alive = alive_;
  std::string name = (*planned)[index].name;
  int64_t deadline = util::NowMs() + static_cast<int64_t>(config_.op_timeout_ms);
  auto next = [this, &op, planned, index, servers, name](Done d, Result<View> r,
                                                         const std::string& outcome) {
    if (!r) {
      op.record({"destroy_vm", name, "failed", r.error().message});
      return d(r.error());
    }
    op.record({"destroy_vm", name, outcome, r->id});
    DestroyFrom(op, planned, index + 1, servers, std::move(d));
  };
  FindByName(name, [this, alive, deadline, next, cancel = op.cancel,
                    done = std::move(done)](Result<std::optional<View>> found) mutable {
    if (alive.expired()) return;
    if (!found) return next(std::move(done), found.error(), "");
    if (!*found) return next(std::move(done), View{}, "absent");
    std::string id = (*found)->id;
    Compute("DELETE", "/servers/" + id, "",
            [this, alive, id, deadline, next, cancel,
             done = std::move(done)](Result<HttpReply> r) mutable {
              if (alive.expired()) return;
              if (!r) return next(std::move(done), r.error(), "");
              if (r->status != 204 && r->status != 202 && r->status != 404) {
                return next(
                    std::move(done),
                    Error{Code::kInternal, "compute refused to delete " + id + ": " +
                                               std::to_string(r->status) + " " + ErrorText(*r)},
                    "");
              }
              WaitFor(id, "DELETED", deadline, config_.poll_ms, cancel,
                      [next, done = std::move(done)](Result<View> w) mutable {
                        next(std::move(done), std::move(w), "destroyed");
                      });
            });
  });
}

}  // namespace lambda::worker::openstack
