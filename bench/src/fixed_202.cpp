// The HTTP ceiling for scripts/bench: our own libuv HTTP server (lambda_http) answering a fixed
// 202 with the body of an accepted action, doing nothing else.
//   fixed_202 --port P
#include <uv.h>

#include <csignal>
#include <cstdlib>
#include <string>

#include "lambda/http/server.h"
#include "lambda/uv/handle.h"

int main(int argc, char** argv) {
  int port = argc > 2 ? std::atoi(argv[2]) : 8099;
  std::signal(SIGPIPE, SIG_IGN);
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    lambda::http::Server server(
        &loop, {}, [](lambda::http::Request, lambda::http::Responder respond) {
          lambda::http::Response r;
          r.status = 202;
          r.body =
              R"({"status":{"code":202,"short-description":"Your request has been accepted"}})";
          respond(std::move(r));
        });
    if (!server.Listen("127.0.0.1", port)) return 1;
    lambda::uv::UvHandle<uv_signal_t> sig([&](uv_signal_t* s) { return uv_signal_init(&loop, s); });
    uv_signal_start(
        sig.get(), [](uv_signal_t* s, int) { uv_stop(s->loop); }, SIGTERM);
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  lambda::uv::DrainAndClose(&loop);
  return 0;
}
