#include "lambda/app/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>

#include "lambda/log/log.h"

namespace lambda::app {

uint64_t WatchdogIntervalMs(uint64_t usec) {
  if (usec == 0) return 0;
  uint64_t ms = usec / 2000;
  return ms > 0 ? ms : 1;
}

SystemdNotifier::SystemdNotifier(uv_loop_t* loop, std::function<bool()> ready, uint64_t poll_ms)
    : ready_(std::move(ready)), poll_ms_(poll_ms) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  if (socket == nullptr || *socket == '\0') return;
  ready_timer_ = std::make_unique<uv::Timer>(loop);
  ready_timer_->Unref();
  uint64_t usec = 0;
  // > 0: this process is the one systemd watches (WATCHDOG_PID, when set, names it).
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_ms_ = WatchdogIntervalMs(usec);
  if (watchdog_ms_ > 0) {
    watchdog_timer_ = std::make_unique<uv::Timer>(loop);
    watchdog_timer_->Unref();
  }
}

void SystemdNotifier::Start() {
  if (!enabled()) return;
  if (watchdog_timer_) {
    sd_notify(0, "WATCHDOG=1");
    watchdog_timer_->Start(watchdog_ms_, watchdog_ms_, [] { sd_notify(0, "WATCHDOG=1"); });
  }
  ready_timer_->Start(0, poll_ms_, [this] {
    if (!ready_()) return;
    ready_timer_->Stop();
    int rc = sd_notify(0, "READY=1\nSTATUS=ready");
    log::Info("told systemd: ready", {{"sent", rc > 0 ? "yes" : "no"},
                                      {"watchdog_ms", static_cast<unsigned long>(watchdog_ms_)}});
  });
}

void SystemdNotifier::Stopping() {
  if (!enabled()) return;
  ready_timer_->Stop();
  sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

}  // namespace lambda::app
