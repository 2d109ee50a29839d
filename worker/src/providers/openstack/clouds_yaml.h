#pragma once
/// `OS_CLOUD` with a clouds.yaml, as every OpenStack client reads it: the named cloud's `auth`
/// (auth_url, username, password, project_name, user_domain_name, project_domain_name) and
/// `region_name`. Parsed with yaml-cpp; pure, for tests.
#include <string>
#include <vector>

#include "lambda/result.h"
#include "providers/openstack/openstack_provider.h"

namespace lambda::worker::openstack {

/// Fills `into` from cloud `cloud` of the clouds.yaml text; errors name what is missing.
Status ApplyCloudsYaml(const std::string& yaml_text, const std::string& cloud, OsConfig* into);
/// Where clients look, in order: $OS_CLIENT_CONFIG_FILE, ./clouds.yaml,
/// ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml.
std::vector<std::string> CloudsYamlPaths();

}  // namespace lambda::worker::openstack
