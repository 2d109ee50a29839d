#pragma once
// The contract-faithful fake Keystone + Nova (tests/fakes/openstack_fake.py) as a child process
// on a free port, with its control endpoints (/_fake/*).
#include <rapidjson/document.h>

#include <memory>
#include <string>
#include <vector>

#include "support.h"

namespace lambda::testing {

/// One fake cloud process on a free port, for the fixture's lifetime.
class FakeCloud {
 public:
  explicit FakeCloud(std::vector<std::string> extra = {}) : port_(FreePort()) {
    std::vector<std::string> argv{"python3",
                                  EnvOr("LAMBDA_SOURCE_DIR") + "/tests/fakes/openstack_fake.py",
                                  std::to_string(port_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc_ =
        std::make_unique<Process>(argv, "/tmp/openstack-fake-" + std::to_string(port_) + ".log");
    ready_ = WaitFor([&] { return Http("GET", Url("/_fake/state")).status == 200; },
                     std::chrono::seconds(20));
  }
  bool ready() const { return ready_; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  rapidjson::Document State() const { return Json(Http("GET", Url("/_fake/state")).body); }
  void Inject(const std::string& json) {
    EXPECT_EQ(Http("POST", Url("/_fake/inject"), {"Content-Type: application/json"}, json).status,
              204);
  }
  void ExpireTokens() { Http("POST", Url("/_fake/expire_tokens"), {}, "{}"); }
  /// Servers of that name the cloud holds (not deleted).
  int Count(const std::string& name) const {
    auto s = State();
    int n = 0;
    for (const auto& v : s["servers"].GetArray())
      n += v["name"].GetString() == name && std::string(v["status"].GetString()) != "DELETED";
    return n;
  }

 private:
  int port_;
  std::unique_ptr<Process> proc_;
  bool ready_ = false;
};

}  // namespace lambda::testing
