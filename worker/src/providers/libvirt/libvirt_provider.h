#pragma once
/// The libvirt provider (SPEC §6): one domain per VM, named `lambda-<id>-master` and
/// `lambda-<id>-slave-<n>`, with the instance's facts in its metadata. Blocking libvirt calls
/// run on libuv's thread pool; lifecycle events arrive from libvirt's event thread through an
/// `EventSink` and a uv_async. Stop is an ACPI shutdown, repeated every `shutdown_retry_ms`
/// (a shutdown sent before the guest's acpid runs is lost), and a power-off at
/// `stop_timeout_ms`; it ends on the domain's STOPPED event.
/// Interruptible (SPEC §5): a cancelled operation (`Operation::cancel`: superseded or cancelled)
/// answers kConflict at once while it waits between shutdowns, and as soon as the blocking call
/// under way returns otherwise (a call on the pool cannot be interrupted); it starts no further
/// call (a create's next VM, a destroy's next VM, the next shutdown).
/// Thread: loop only. Calls in flight when the provider is destroyed finish on the pool, and
/// their callbacks are dropped.
#include <uv.h>

#include <functional>
#include <map>
#include <memory>

#include "lambda/uv/handle.h"
#include "providers/libvirt/domain_xml.h"
#include "providers/libvirt/session.h"
#include "providers/provider.h"

namespace lambda::worker::libvirt {

struct LibvirtConfig {
  std::string uri = "qemu:///system";
  GuestConfig guest;
  uint64_t stop_timeout_ms = 30000;
  uint64_t shutdown_retry_ms = 2000;
  /// The blocking call of one stop tick (ACPI shutdown, or power-off when `force`); empty: the
  /// session's Shutdown / PowerOff. Tests put a guest that ignores ACPI here.
  std::function<Result<VmState>(Session&, const std::string& name, bool force)> stop_call;
};

class LibvirtProvider : public Provider {
 public:
  LibvirtProvider(uv_loop_t* loop, LibvirtConfig config);
  ~LibvirtProvider() override;
  LibvirtProvider(const LibvirtProvider&) = delete;
  LibvirtProvider& operator=(const LibvirtProvider&) = delete;

  void CreateCluster(const Operation& op, const InstanceSpec& spec,
                     std::vector<ServerInfo>* servers, Done done) override;
  void Install(const Operation& op, const InstanceSpec& spec,
               const std::vector<ServerInfo>& servers, const std::string& step, Done done) override;
  void StartVm(const Operation& op, const InstanceSpec& spec, ServerInfo* server,
               Done done) override;
  void StopVm(const Operation& op, const InstanceSpec& spec, ServerInfo* server,
              Done done) override;
  void StartServices(const Operation& op, const InstanceSpec& spec,
                     const std::vector<ServerInfo>& servers, Done done) override;
  void StopServices(const Operation& op, const InstanceSpec& spec,
                    const std::vector<ServerInfo>& servers, Done done) override;
  void DestroyCluster(const Operation& op, const InstanceSpec& spec,
                      std::vector<ServerInfo>* servers, Done done) override;

  Session& session() { return *session_; }

 private:
  struct Stop;
  /// Runs `blocking` on the thread pool, then `then` with its result on the loop (unless the
  /// provider is gone by then).
  void OffLoop(std::function<Result<VmState>(Session&)> blocking,
               std::function<void(Result<VmState>)> then);
  void CreateFrom(const Operation& op, const InstanceSpec& spec,
                  const std::shared_ptr<std::vector<ServerInfo>>& planned, size_t index,
                  std::vector<ServerInfo>* servers, Done done);
  void DestroyFrom(const Operation& op, const std::shared_ptr<std::vector<ServerInfo>>& planned,
                   size_t index, std::vector<ServerInfo>* servers, Done done);
  void ShutdownTick(uint64_t id);
  /// The stop's command was cancelled: answered now while it waits, else when its call returns.
  void InterruptStop(uint64_t id);
  void FinishStop(uint64_t id, Status st, const std::string& outcome, const std::string& detail);
  void OnEvents();

  uv_loop_t* loop_;
  LibvirtConfig config_;
  std::shared_ptr<EventSink> sink_;
  std::shared_ptr<Session> session_;
  uv::Async wake_;
  uint64_t next_stop_ = 0;
  std::map<uint64_t, std::unique_ptr<Stop>> stops_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lambda::worker::libvirt
