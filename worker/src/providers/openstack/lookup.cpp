// What the OpenStack provider reads from the cloud before and while it acts: a server's view,
// a server by name, waiting for a server's status, flavors and the image.
#include <algorithm>
#include <ctime>

#include "lambda/json/json.h"
#include "lambda/log/log.h"
#include "lambda/util/util.h"
#include "providers/openstack/cloud_text.h"
#include "providers/openstack/openstack_provider.h"

namespace lambda::worker::openstack {

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

}  // namespace lambda::worker::openstack
