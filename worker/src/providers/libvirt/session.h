#pragma once
/// A libvirt connection shared by the worker's blocking calls (SPEC §6 `libvirt`). Every method
/// blocks and may run on any thread (libvirt connections are thread-safe); the provider runs them
/// on libuv's thread pool, never on the loop. The connection opens on first use and reopens when
/// libvirtd went away; lifecycle events go to an `EventSink` that wakes the loop.
#include <libvirt/libvirt.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "lambda/result.h"
#include "providers/libvirt/domain_xml.h"

namespace lambda::worker::libvirt {

/// Registers libvirt's default event loop (once per process, before the first connection) and
/// runs it on a thread of its own, which libvirt's callbacks then run on.
void EnsureEventThread();

/// Lifecycle events handed from libvirt's event thread to the loop: `Push` on that thread,
/// `Drain` on the loop. `wake` (set and cleared by the loop's owner) is called under the lock.
class EventSink {
 public:
  struct Event {
    std::string domain;
    int type;          ///< virDomainEventType
    uint64_t seq = 0;  ///< its place among every event pushed (1, 2, …; set by Push)
  };
  void Push(Event e);
  std::deque<Event> Drain();
  void SetWake(std::function<void()> wake);
  /// How many events were pushed so far: an event with a higher seq came after this call.
  uint64_t Pushed();

 private:
  std::mutex mu_;
  uint64_t pushed_ = 0;
  std::deque<Event> events_;
  std::function<void()> wake_;
};

/// Where a VM's qcow2 overlay and NoCloud seed live (`disk_dir`/`<name>.qcow2`, `-seed.iso`).
std::string DiskPath(const GuestConfig& guest, const std::string& vm);
std::string SeedPath(const GuestConfig& guest, const std::string& vm);

/// What a blocking call found or did.
struct VmState {
  std::string outcome;  ///< a ledger outcome (created, reused, started, …)
  std::string uuid;
  int ssh_port = 0;
  bool active = false;
  bool started = false;  ///< Ensure: it was not running and was started
};

class Session {
 public:
  Session(std::string uri, std::shared_ptr<EventSink> sink);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Looks the domain up by name and defines it if absent (then picks its SSH port), then starts
  /// it unless it runs.
  Result<VmState> Ensure(const GuestConfig& guest, VmFacts vm);
  /// Starts the named domain unless it runs; absent is an error.
  Result<VmState> Start(const std::string& name);
  /// Sends an ACPI shutdown if it runs (`outcome` shutdown_sent); `active` tells whether it
  /// still runs.
  Result<VmState> Shutdown(const std::string& name);
  /// Powers it off at once (the end of a shutdown that timed out).
  Result<VmState> PowerOff(const std::string& name);
  /// Powers it off if it runs, undefines it and deletes its overlay and seed; `outcome`
  /// destroyed or absent.
  Result<VmState> Remove(const std::string& name, const GuestConfig& guest);
  /// The domain's XML as libvirt holds it (for tests and diagnostics).
  Result<std::string> XmlOf(const std::string& name);
  /// Whether a domain of that name is defined (for tests and `lambdactl`).
  Result<bool> Exists(const std::string& name);

 private:
  class ConnRef;
  class DomainRef;
  Result<ConnRef> Conn();
  Result<DomainRef> Lookup(const ConnRef& conn, const std::string& name, bool absent_ok);
  Result<DomainRef> Find(const std::string& name, bool absent_ok);

  std::string uri_;
  std::shared_ptr<EventSink> sink_;
  std::mutex mu_;
  virConnectPtr conn_ = nullptr;
  int callback_id_ = -1;
};

}  // namespace lambda::worker::libvirt
