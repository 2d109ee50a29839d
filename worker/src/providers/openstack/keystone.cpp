// The Keystone half of the OpenStack provider: one token at a time, asked for again when it
// nears its expiry or the cloud refuses it, with the catalog's compute endpoint.
#include "lambda/json/json.h"
#include "lambda/log/log.h"
#include "lambda/util/util.h"
#include "providers/openstack/cloud_text.h"
#include "providers/openstack/openstack_provider.h"

namespace lambda::worker::openstack {

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

}  // namespace lambda::worker::openstack
