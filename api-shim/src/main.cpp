// api-shim: the thin HTTP front of the control plane (SPEC §1).
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <memory>

#include "app.h"
#include "lambda/log/log.h"
#include "lambda/uv/handle.h"

int main(int argc, char** argv) {
  using namespace lambda;
  log::SetComponent("api-shim");
  config::Source src(argc, argv);
  auto config = shim::LoadConfig(src);
  if (src.help()) {
    std::fprintf(stdout, "usage: api-shim [--flag=value ...]\n%s", src.Usage().c_str());
    return 0;
  }
  if (!config) {
    std::fprintf(stderr, "api-shim: invalid configuration:\n%s", config.error().message.c_str());
    return 2;
  }
  bool ok = true;
  log::SetMinLevel(log::ParseLevel(config->log_level, &ok));
  std::signal(SIGPIPE, SIG_IGN);

  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    shim::App app(&loop, *config);
    if (auto st = app.Start(); !st) {
      log::Error("api-shim failed to start", {{"error", st.error().message}});
      return 1;
    }
    uv::RunUntilStopped(&loop, [&] { app.Shutdown([&loop] { uv_stop(&loop); }); });
  }
  bool closed = uv::DrainAndClose(&loop);
  return closed ? 0 : 1;
}
