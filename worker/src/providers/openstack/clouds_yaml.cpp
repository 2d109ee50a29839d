#include "providers/openstack/clouds_yaml.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>

namespace lambda::worker::openstack {

Status ApplyCloudsYaml(const std::string& yaml_text, const std::string& cloud, OsConfig* into) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return Error{Code::kInvalidArgument, std::string("clouds.yaml: ") + e.what()};
  }
  // yaml-cpp reports type mismatches with exceptions: they end here, as values.
  try {
    YAML::Node c = root["clouds"][cloud];
    if (!c || !c.IsMap()) return Error{Code::kInvalidArgument, "clouds.yaml: no cloud " + cloud};
    YAML::Node auth = c["auth"];
    auto take = [](const YAML::Node& n, const char* key, std::string* out) {
      if (n && n[key] && n[key].IsScalar()) *out = n[key].as<std::string>();
    };
    take(auth, "auth_url", &into->auth_url);
    take(auth, "username", &into->username);
    take(auth, "password", &into->password);
    take(auth, "project_name", &into->project_name);
    take(auth, "user_domain_name", &into->user_domain);
    take(auth, "project_domain_name", &into->project_domain);
    take(c, "region_name", &into->region);
  } catch (const YAML::Exception& e) {
    return Error{Code::kInvalidArgument, "clouds.yaml: cloud " + cloud + ": " + e.what()};
  }
  if (into->auth_url.empty())
    return Error{Code::kInvalidArgument, "clouds.yaml: cloud " + cloud + " has no auth.auth_url"};
  return OkStatus();
}

std::vector<std::string> CloudsYamlPaths() {
  std::vector<std::string> out;
  if (const char* f = std::getenv("OS_CLIENT_CONFIG_FILE"); f != nullptr && *f != '\0')
    out.emplace_back(f);
  out.emplace_back("clouds.yaml");
  if (const char* home = std::getenv("HOME"); home != nullptr)
    out.push_back(std::string(home) + "/.config/openstack/clouds.yaml");
  out.emplace_back("/etc/openstack/clouds.yaml");
  return out;
}

}  // namespace lambda::worker::openstack
