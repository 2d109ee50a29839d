#pragma once
/// The life of a service binary, the same for the shim and the worker: read the settings (exit 2
/// on bad ones, 0 after --help), start the App on one loop (exit 1 if it cannot), run until
/// SIGINT/SIGTERM lets App::Shutdown finish, then drain the loop (exit 1 if handles were left).
/// Under systemd (Type=notify) it tells systemd when the App is ready, feeds the watchdog from the
/// loop, and says when it stops.
#include <uv.h>

#include <csignal>
#include <cstdio>

#include "lambda/app/systemd_notify.h"
#include "lambda/config/source.h"
#include "lambda/log/log.h"
#include "lambda/uv/handle.h"

namespace lambda::app {

/// `load(config::Source&)` returns a Result<Config>; `App(uv_loop_t*, const Config&)` has
/// `Status Start()`, `bool Ready() const` (what /readyz says) and
/// `void Shutdown(std::function<void()> done)`.
template <typename App, typename Load>
int Run(const char* name, int argc, char** argv, Load load) {
  log::SetComponent(name);
  config::Source src(argc, argv);
  auto config = load(src);
  if (src.help()) {
    std::fprintf(stdout, "usage: %s [--flag=value ...]\n%s", name, src.Usage().c_str());
    return 0;
  }
  if (!config) {
    std::fprintf(stderr, "%s: invalid configuration:\n%s", name, config.error().message.c_str());
    return 2;
  }
  bool ok = true;
  log::SetMinLevel(log::ParseLevel(config->log_level, &ok));
  std::signal(SIGPIPE, SIG_IGN);
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    App app(&loop, *config);
    SystemdNotifier systemd(&loop, [&app] { return app.Ready(); });
    // Before Start: a SIGTERM while the service starts becomes a shutdown once the loop runs.
    uv::StopSignals stop(&loop, [&] {
      systemd.Stopping();
      app.Shutdown([&loop] { uv_stop(&loop); });
    });
    if (auto st = app.Start(); !st) {
      log::Error(std::string(name) + " failed to start", {{"error", st.error().message}});
      return 1;
    }
    systemd.Start();
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  return uv::DrainAndClose(&loop) ? 0 : 1;
}

}  // namespace lambda::app
