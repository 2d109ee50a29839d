#pragma once
/// The service's side of systemd's notify protocol (sd_notify(3)): READY=1 once the service
/// answers, WATCHDOG=1 from a timer on the service's own loop (a wedged loop stops feeding it, and
/// systemd restarts the unit), STOPPING=1 when a graceful stop begins. Without NOTIFY_SOCKET in the
/// environment (not started by systemd with Type=notify) it does nothing and holds no handle.
/// Thread: loop only.
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "lambda/uv/handle.h"

namespace lambda::app {

/// Half the watchdog period in milliseconds (systemd's advice: notify at half of WATCHDOG_USEC),
/// at least 1; 0 when there is no watchdog (`usec` 0).
uint64_t WatchdogIntervalMs(uint64_t usec);

class SystemdNotifier {
 public:
  /// `ready` is asked every `poll_ms` until it first says true; then READY=1 is sent once.
  SystemdNotifier(uv_loop_t* loop, std::function<bool()> ready, uint64_t poll_ms = 50);
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  /// Starts polling readiness and, when systemd asked for one, feeding the watchdog.
  void Start();
  /// Sends STOPPING=1 and stops polling readiness; the watchdog goes on until destruction (a
  /// graceful stop that wedges is still caught).
  void Stopping();
  bool enabled() const { return ready_timer_ != nullptr; }

 private:
  std::function<bool()> ready_;
  uint64_t poll_ms_;
  uint64_t watchdog_ms_ = 0;
  std::unique_ptr<uv::Timer> ready_timer_;     ///< null when NOTIFY_SOCKET is unset
  std::unique_ptr<uv::Timer> watchdog_timer_;  ///< null without a watchdog
};

}  // namespace lambda::app
