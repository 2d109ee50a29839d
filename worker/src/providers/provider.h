#pragma once
/// What a worker does to VMs and services, asynchronously (SPEC §6). Every operation calls its
/// callback exactly once, on the loop thread, unless the provider is destroyed first.
///
/// Every mutating operation is idempotent: it looks its resource up by its deterministic name
/// (`VmName`) first, so a VM made by a worker that died before writing its status is found and
/// reused, never made twice. Each operation's effect (or its absence) is reported through
/// `Operation::record`, which the job appends to the instance's operations ledger.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lambda/result.h"

namespace lambda::worker {

/// The validated create spec of an instance (from its stored instance_info).
struct InstanceSpec {
  std::string id;
  std::string name;
  std::string master_name;
  std::string project_name;
  int slaves = 0;
  int vcpus_master = 1;
  int vcpus_slave = 1;
  int64_t ram_master_mib = 512;
  int64_t ram_slave_mib = 512;
  int disk_master_gib = 5;
  int disk_slave_gib = 5;
  int network_request = 1;
  std::string ip_allocation = "master";  ///< none | master | all
  std::string public_key_name;           ///< empty = none
  /// The stored create body itself, for options one provider alone reads (sim's `simulate`).
  std::string info_json;

  int vcpus(bool master) const { return master ? vcpus_master : vcpus_slave; }
  int64_t ram_mib(bool master) const { return master ? ram_master_mib : ram_slave_mib; }
  int disk_gib(bool master) const { return master ? disk_master_gib : disk_slave_gib; }
};

struct ServerInfo {
  std::string id;
  std::string name;
  std::string role;    ///< master | slave
  std::string status;  ///< ACTIVE | SHUTOFF | DELETED
  std::string private_ip;
  std::string public_ip;  ///< empty = none
  int ssh_port = 0;       ///< where private_ip's sshd answers when not 22 (forwarded ports)
};

/// The deterministic VM names of SPEC §6: `lambda-<id>-master`, `lambda-<id>-slave-<n>`.
std::string VmName(const std::string& instance_id, int index);
/// The VMs an instance's spec asks for, master first, with names and roles set.
std::vector<ServerInfo> PlannedServers(const InstanceSpec& spec);

/// One line of the operations ledger: what an operation did to one resource.
struct LedgerEntry {
  std::string op;       ///< create_vm, start_vm, stop_vm, destroy_vm, hook, …
  std::string target;   ///< the resource: a VM name, a hook name
  std::string outcome;  ///< an effect on a VM (created, started, stopped, destroyed) or none
                        ///< (reused, already_running, already_stopped, absent); hooks: ran,
                        ///< failed, timed_out (a hook reruns when its worker died mid-step, so
                        ///< hooks must be idempotent, as ansible playbooks are)
  std::string detail;   ///< free text: the cloud's id, an error
};
/// Outcomes that changed a VM; the chaos suite counts these per request, operation and target.
bool IsEffect(const std::string& outcome);

/// A job's request that its provider operations stop now (its command was superseded; SPEC §5:
/// the slot frees within a second). A provider that can interrupt what it waits on (a timer, a
/// hook's process group) registers here for the time it waits and, once interrupted, calls its
/// `done` with an error; the job knows the cause from `cancelled()`. Thread: loop only.
class Cancellation {
 public:
  bool cancelled() const { return cancelled_; }
  /// Runs `fn` on Cancel (at once when already cancelled: then returns 0). Forget the id once
  /// the wait it guards is over.
  uint64_t OnCancel(std::function<void()> fn) {
    if (cancelled_) {
      fn();
      return 0;
    }
    uint64_t id = ++next_;
    fns_.emplace(id, std::move(fn));
    return id;
  }
  void Forget(uint64_t id) { fns_.erase(id); }
  void Cancel() {
    if (cancelled_) return;
    cancelled_ = true;
    auto fns = std::move(fns_);
    fns_.clear();
    for (auto& [id, fn] : fns) fn();
  }

 private:
  bool cancelled_ = false;
  uint64_t next_ = 0;
  std::map<uint64_t, std::function<void()>> fns_;
};

/// The request an operation runs for, and where it reports.
struct Operation {
  std::string request_id;
  int64_t gen = 0;
  std::string worker;
  std::function<void(LedgerEntry)> record;  ///< appends to the ledger (never null)
  /// Set by the job when its command is superseded (never null).
  std::shared_ptr<Cancellation> cancel = std::make_shared<Cancellation>();
};

/// Parses the stored instance_info JSON; errors name the field.
Result<InstanceSpec> SpecFromInfo(const std::string& id, const std::string& info_json);
std::string ServersToJson(const std::vector<ServerInfo>& servers);
std::vector<ServerInfo> ServersFromJson(const std::string& json);

class Provider {
 public:
  using Done = std::function<void(Status)>;
  virtual ~Provider() = default;

  /// Network, public IP and VMs (master first), each running. `servers` is filled on success.
  /// The pointers stay valid until `done` runs.
  virtual void CreateCluster(const Operation& op, const InstanceSpec& spec,
                             std::vector<ServerInfo>* servers, Done done) = 0;
  /// One install step of create: INIT, COMMONS, HADOOP, KAFKA, FLINK.
  virtual void Install(const Operation& op, const InstanceSpec& spec,
                       const std::vector<ServerInfo>& servers, const std::string& step,
                       Done done) = 0;
  virtual void StartVm(const Operation& op, const InstanceSpec& spec, ServerInfo* server,
                       Done done) = 0;
  virtual void StopVm(const Operation& op, const InstanceSpec& spec, ServerInfo* server,
                      Done done) = 0;
  virtual void StartServices(const Operation& op, const InstanceSpec& spec,
                             const std::vector<ServerInfo>& servers, Done done) = 0;
  virtual void StopServices(const Operation& op, const InstanceSpec& spec,
                            const std::vector<ServerInfo>& servers, Done done) = 0;
  /// VMs, public IP and private network released; every VM the spec names, whether or not
  /// `servers` lists it (a create that died half-way leaves VMs nobody recorded).
  virtual void DestroyCluster(const Operation& op, const InstanceSpec& spec,
                              std::vector<ServerInfo>* servers, Done done) = 0;
};

}  // namespace lambda::worker
