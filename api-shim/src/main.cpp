// api-shim: the thin HTTP front of the control plane (SPEC §1).
#include "app.h"
#include "lambda/app/run.h"

int main(int argc, char** argv) {
  return lambda::app::Run<lambda::shim::App>("api-shim", argc, argv, lambda::shim::LoadConfig);
}
