#pragma once
/// What a worker does to VMs and services, asynchronously. Every operation calls its callback
/// exactly once, on the loop thread, unless the provider is destroyed first.
#include <functional>
#include <string>
#include <vector>

#include "lambda/result.h"

namespace lambda::worker {

/// The facts of an instance a provider needs (from its stored create spec).
struct InstanceSpec {
  std::string id;
  std::string name;
  std::string master_name;
  int slaves = 0;
  std::string ip_allocation = "master";
  std::string fail_at;   ///< simulate.fail_at (sim provider only)
  int64_t step_ms = -1;  ///< simulate.step_ms; -1 = provider default
};

struct ServerInfo {
  std::string id;
  std::string name;
  std::string role;    ///< master | slave
  std::string status;  ///< ACTIVE | SHUTOFF | DELETED
  std::string private_ip;
  std::string public_ip;  ///< empty = none
};

/// Parses the stored instance_info JSON; errors name the field.
Result<InstanceSpec> SpecFromInfo(const std::string& id, const std::string& info_json);
std::string ServersToJson(const std::vector<ServerInfo>& servers);
std::vector<ServerInfo> ServersFromJson(const std::string& json);

class Provider {
 public:
  using Done = std::function<void(Status)>;
  virtual ~Provider() = default;

  /// Network, public IP and VMs (master first). `servers` is filled on success.
  virtual void CreateCluster(const InstanceSpec& spec, std::vector<ServerInfo>* servers,
                             Done done) = 0;
  /// One install step of create: INIT, COMMONS, HADOOP, KAFKA, FLINK.
  virtual void Install(const InstanceSpec& spec, const std::string& step, Done done) = 0;
  virtual void StartVm(const InstanceSpec& spec, ServerInfo* server, Done done) = 0;
  virtual void StopVm(const InstanceSpec& spec, ServerInfo* server, Done done) = 0;
  virtual void StartServices(const InstanceSpec& spec, Done done) = 0;
  virtual void StopServices(const InstanceSpec& spec, Done done) = 0;
  /// VMs, public IP and private network released.
  virtual void DestroyCluster(const InstanceSpec& spec, std::vector<ServerInfo>* servers,
                              Done done) = 0;
};

}  // namespace lambda::worker
