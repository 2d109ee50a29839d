#include "providers/openstack/openstack_provider.h"

#include <algorithm>
#include <ctime>

#include "lambda/json/json.h"
#include "lambda/log/log.h"
#include "lambda/util/util.h"

namespace lambda::worker::openstack {

namespace {

std::string Get(const rapidjson::Value& v, const char* k) {
  if (!v.IsObject()) return "";
  auto it = v.FindMember(k);
  if (it == v.MemberEnd() || !it->value.IsString()) return "";
  return {it->value.GetString(), it->value.GetStringLength()};
}

/// The message of an OpenStack error body ({"itemNotFound":{"message":…}} and the like).
std::string ErrorText(const HttpReply& r) {
  rapidjson::Document d;
  if (json::Parse(r.body, &d, "cloud answer") && d.IsObject()) {
    for (auto& m : d.GetObject()) {
      std::string msg = Get(m.value, "message");
      if (!msg.empty()) return msg;
    }
    std::string msg = Get(d, "message");
    if (!msg.empty()) return msg;
  }
  return r.body.substr(0, 200);
}

bool LooksLikeUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : std::isxdigit(static_cast<unsigned char>(s[i])) == 0) return false;
  }
  return true;
}

std::string UrlEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::optional<Flavor> SmallestFitting(const std::vector<Flavor>& flavors, int vcpus,
                                      int64_t ram_mib, int disk_gib) {
  std::optional<Flavor> best;
  for (const auto& f : flavors) {
    if (f.vcpus < vcpus || f.ram_mib < ram_mib || f.disk_gib < disk_gib) continue;
    if (!best || std::tie(f.ram_mib, f.vcpus, f.disk_gib) <
                     std::tie(best->ram_mib, best->vcpus, best->disk_gib))
      best = f;
  }
  return best;
}

std::optional<int64_t> ParseUtcMs(const std::string& text) {
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  int64_t ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  if (*rest == '.') {
    int64_t frac = 0, scale = 100;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest, scale /= 10) frac += (*rest - '0') * scale;
    ms += frac;
  }
  std::string zone(rest);
  if (zone != "Z" && zone != "+00:00" && !zone.empty()) return std::nullopt;
  return ms;
}

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
  uint64_t reg = cancel->OnCancel([this, alive, id, shared] {
    if (alive.expired() || !*shared) return;
    timers_.erase(id);
    auto f = std::move(*shared);
    *shared = nullptr;
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

// ----- Keystone --------------------------------------------------------------------------------

void OpenStackProvider::WithToken(std::function<void(Status)> then) {
  // Renewed a minute before it expires, so no call goes out with a token about to lapse.
  if (!token_.empty() && util::NowMs() < token_expires_ms_ - 60000) return then(OkStatus());
  waiting_for_token_.push_back(std::move(then));
  if (!authenticating_) Authenticate();
}

void OpenStackProvider::Authenticate() {
  authenticating_ = true;
  ++authentications_;
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  std::string url = config_.auth_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  bool v2 = config_.mode == "synnefo";
  w.StartObject();
  json::Key(w, "auth");
  w.StartObject();
  if (v2) {
    url += "/tokens";
    json::Key(w, "passwordCredentials");
    w.StartObject();
    json::KV(w, "username", config_.username);
    json::KV(w, "password", config_.password);
    w.EndObject();
    json::KV(w, "tenantName", config_.project_name);
  } else {
    url += url.ends_with("/v3") ? "/auth/tokens" : "/v3/auth/tokens";
    json::Key(w, "identity");
    w.StartObject();
    json::Key(w, "methods");
    w.StartArray();
    w.String("password");
    w.EndArray();
    json::Key(w, "password");
    w.StartObject();
    json::Key(w, "user");
    w.StartObject();
    json::KV(w, "name", config_.username);
    json::Key(w, "domain");
    w.StartObject();
    json::KV(w, "name", config_.user_domain);
    w.EndObject();
    json::KV(w, "password", config_.password);
    w.EndObject();
    w.EndObject();
    w.EndObject();
    json::Key(w, "scope");
    w.StartObject();
    json::Key(w, "project");
    w.StartObject();
    json::KV(w, "name", config_.project_name);
    json::Key(w, "domain");
    w.StartObject();
    json::KV(w, "name", config_.project_domain);
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  std::weak_ptr<bool> alive = alive_;
  http_.Request(
      "POST", url, {"Content-Type: application/json", "Accept: application/json"},
      std::string(json::View(sb)), [this, alive, v2](Result<HttpReply> r) {
        if (alive.expired()) return;
        authenticating_ = false;
        Status st = OkStatus();
        if (!r) {
          st = Error{Code::kUnavailable, "keystone: " + r.error().message};
        } else if (r->status == 401 || r->status == 403) {
          st = Error{Code::kInternal, "keystone refused the credentials: " + ErrorText(*r)};
        } else if (r->status >= 500 || r->status == 429) {
          st = Error{Code::kUnavailable,
                     "keystone: " + std::to_string(r->status) + " " + ErrorText(*r)};
        } else if (r->status != 200 && r->status != 201) {
          st = Error{Code::kInternal,
                     "keystone: " + std::to_string(r->status) + " " + ErrorText(*r)};
        } else {
          rapidjson::Document d;
          std::string compute, image, expires, token;
          if (json::Parse(r->body, &d, "keystone answer") && d.IsObject()) {
            const rapidjson::Value* catalog = nullptr;
            if (v2 && d.HasMember("access")) {
              const auto& access = d["access"];
              if (access.HasMember("token")) {
                token = Get(access["token"], "id");
                expires = Get(access["token"], "expires");
              }
              if (access.HasMember("serviceCatalog")) catalog = &access["serviceCatalog"];
            } else if (!v2 && d.HasMember("token")) {
              token = r->headers["x-subject-token"];
              expires = Get(d["token"], "expires_at");
              if (d["token"].HasMember("catalog")) catalog = &d["token"]["catalog"];
            }
            if (catalog != nullptr && catalog->IsArray()) {
              for (const auto& svc : catalog->GetArray()) {
                std::string type = Get(svc, "type");
                if ((type != "compute" && type != "image") || !svc.HasMember("endpoints") ||
                    !svc["endpoints"].IsArray())
                  continue;
                for (const auto& ep : svc["endpoints"].GetArray()) {
                  std::string region = Get(ep, "region");
                  if (!config_.region.empty() && region != config_.region &&
                      Get(ep, "region_id") != config_.region)
                    continue;
                  std::string u = v2 ? Get(ep, "publicURL") : Get(ep, "url");
                  if (!v2 && Get(ep, "interface") != "public") continue;
                  std::string& slot = type == "compute" ? compute : image;
                  if (slot.empty()) slot = u;
                }
              }
            }
          }
          auto exp = ParseUtcMs(expires);
          if (token.empty() || compute.empty() || !exp) {
            st = Error{Code::kInternal,
                       "keystone: no token, expiry or compute endpoint" +
                           (config_.region.empty() ? "" : " in region " + config_.region)};
          } else {
            token_ = token;
            token_expires_ms_ = *exp;
            while (!compute.empty() && compute.back() == '/') compute.pop_back();
            while (!image.empty() && image.back() == '/') image.pop_back();
            compute_url_ = compute;
            image_url_ = image;
          }
        }
        auto waiting = std::exchange(waiting_for_token_, {});
        for (auto& w8 : waiting) w8(st);
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

Result<OpenStackProvider::View> OpenStackProvider::ParseServer(const std::string& body) {
  rapidjson::Document d;
  if (auto st = json::Parse(body, &d, "server"); !st) return st.error();
  if (!d.IsObject() || !d.HasMember("server") || !d["server"].IsObject())
    return Error{Code::kInternal, "compute: no server in the answer"};
  const auto& s = d["server"];
  View v;
  v.id = Get(s, "id");
  v.name = Get(s, "name");
  v.status = Get(s, "status");
  v.task_state = Get(s, "OS-EXT-STS:task_state");
  if (s.HasMember("fault")) v.fault = Get(s["fault"], "message");
  if (s.HasMember("addresses") && s["addresses"].IsObject()) {
    for (const auto& net : s["addresses"].GetObject()) {
      if (!net.value.IsArray()) continue;
      for (const auto& a : net.value.GetArray()) {
        std::string addr = Get(a, "addr"), type = Get(a, "OS-EXT-IPS:type");
        if (type == "floating") {
          if (v.public_ip.empty()) v.public_ip = addr;
        } else if (v.private_ip.empty()) {
          v.private_ip = addr;
        }
      }
    }
  }
  return v;
}

void OpenStackProvider::FindByName(const std::string& name, Found done) {
  // Nova's name filter is a regular expression; the answer is still checked for the exact name.
  Compute("GET", "/servers/detail?name=" + UrlEncode("^" + name + "$"), "",
          [name, done = std::move(done)](Result<HttpReply> r) {
            if (!r) return done(r.error());
            if (r->status != 200) {
              return done(Error{
                  Code::kInternal,
                  "compute: listing servers: " + std::to_string(r->status) + " " + ErrorText(*r)});
            }
            rapidjson::Document d;
            if (auto st = json::Parse(r->body, &d, "servers"); !st) return done(st.error());
            if (!d.IsObject() || !d.HasMember("servers") || !d["servers"].IsArray())
              return done(Error{Code::kInternal, "compute: no servers in the answer"});
            for (const auto& s : d["servers"].GetArray()) {
              if (Get(s, "name") != name || Get(s, "status") == "DELETED") continue;
              rapidjson::StringBuffer sb;
              json::Writer w(sb);
              w.StartObject();
              json::Key(w, "server");
              s.Accept(w);
              w.EndObject();
              auto v = ParseServer(std::string(json::View(sb)));
              if (!v) return done(v.error());
              return done(std::optional<View>(*v));
            }
            done(std::optional<View>{});
          });
}

void OpenStackProvider::WaitFor(const std::string& id, const std::string& want, int64_t deadline_ms,
                                uint64_t delay_ms, const std::shared_ptr<Cancellation>& cancel,
                                Viewed done) {
  if (cancel->cancelled()) {
    return done(Error{Code::kConflict, "openstack: wait for " + id + " interrupted: superseded"});
  }
  std::weak_ptr<bool> alive = alive_;
  Compute(
      "GET", "/servers/" + id, "",
      [this, alive, id, want, deadline_ms, delay_ms, cancel,
       done = std::move(done)](Result<HttpReply> r) mutable {
        if (alive.expired()) return;
        if (!r) return done(r.error());
        if (r->status == 404) {
          if (want == "DELETED") return done(View{id, "", "DELETED", "", "", "", ""});
          return done(Error{Code::kInternal, "compute: server " + id + " disappeared"});
        }
        if (r->status != 200) {
          return done(Error{Code::kInternal, "compute: server " + id + ": " +
                                                 std::to_string(r->status) + " " + ErrorText(*r)});
        }
        auto v = ParseServer(r->body);
        if (!v) return done(v.error());
        if (v->status == "ERROR") {
          return done(Error{Code::kInternal,
                            "server " + v->name + " is in ERROR: " +
                                (v->fault.empty() ? std::string("no fault given") : v->fault)});
        }
        if (v->status == want && v->task_state.empty()) return done(std::move(*v));
        if (util::NowMs() >= deadline_ms) {
          return done(Error{Code::kUnavailable, "server " + v->name + " still " + v->status +
                                                    " (task " + v->task_state + "), not " + want});
        }
        uint64_t next = std::min(delay_ms * 2, config_.poll_max_ms);
        After(delay_ms, cancel,
              [this, alive, id, want, deadline_ms, next, cancel, done = std::move(done)]() mutable {
                if (!alive.expired()) WaitFor(id, want, deadline_ms, next, cancel, std::move(done));
              });
      });
}

void OpenStackProvider::Flavors(std::function<void(Result<std::vector<Flavor>>)> done) {
  if (flavors_) return done(*flavors_);
  std::weak_ptr<bool> alive = alive_;
  Compute("GET", "/flavors/detail", "", [this, alive, done = std::move(done)](Result<HttpReply> r) {
    if (alive.expired()) return;
    if (!r) return done(r.error());
    if (r->status != 200)
      return done(Error{Code::kInternal, "compute: flavors: " + std::to_string(r->status)});
    rapidjson::Document d;
    if (auto st = json::Parse(r->body, &d, "flavors"); !st) return done(st.error());
    std::vector<Flavor> out;
    if (d.IsObject() && d.HasMember("flavors") && d["flavors"].IsArray()) {
      for (const auto& f : d["flavors"].GetArray()) {
        Flavor x;
        x.id = Get(f, "id");
        x.name = Get(f, "name");
        if (f.HasMember("vcpus") && f["vcpus"].IsInt()) x.vcpus = f["vcpus"].GetInt();
        if (f.HasMember("ram") && f["ram"].IsInt64()) x.ram_mib = f["ram"].GetInt64();
        if (f.HasMember("disk") && f["disk"].IsInt()) x.disk_gib = f["disk"].GetInt();
        out.push_back(std::move(x));
      }
    }
    flavors_ = out;
    done(std::move(out));
  });
}

void OpenStackProvider::ImageId(std::function<void(Result<std::string>)> done) {
  if (!image_id_.empty()) return done(image_id_);
  if (config_.image.empty())
    return done(Error{Code::kInternal, "openstack: no image configured (LAMBDA_OS_IMAGE)"});
  if (LooksLikeUuid(config_.image)) return done(config_.image);
  std::weak_ptr<bool> alive = alive_;
  // By name: Glance v2 where the catalog has an image service; ~okeanos lists images in compute.
  auto lookup = [this, alive, done = std::move(done)](const Status& st) mutable {
    if (alive.expired()) return;
    if (!st) return done(st.error());
    bool glance = config_.mode != "synnefo" && !image_url_.empty();
    std::string url = glance ? image_url_ + "/v2/images?name=" + UrlEncode(config_.image)
                             : compute_url_ + "/images/detail";
    Compute("GET", url, "", [this, alive, glance, done = std::move(done)](Result<HttpReply> r) {
      if (alive.expired()) return;
      if (!r) return done(r.error());
      rapidjson::Document d;
      if (r->status == 200 && json::Parse(r->body, &d, "images") && d.IsObject() &&
          d.HasMember("images") && d["images"].IsArray()) {
        for (const auto& i : d["images"].GetArray()) {
          if (!glance && Get(i, "name") != config_.image) continue;
          image_id_ = Get(i, "id");
          return done(image_id_);
        }
      }
      done(Error{Code::kInternal, "openstack: image " + config_.image + " not found"});
    });
  };
  WithToken(std::move(lookup));
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
