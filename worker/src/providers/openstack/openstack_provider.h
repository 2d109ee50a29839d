#pragma once
/// The openstack provider (SPEC §6): the OpenStack Compute API over libcurl multi on the loop.
/// Keystone v3 password auth with the service catalog (a Keystone v2.0 `POST /tokens` in
/// `synnefo` mode, for ~okeanos), the token renewed a minute before it expires and after a 401.
/// VMs are found by their deterministic name before anything is made; 409, 429 and 503 are
/// retried after `Retry-After` (a few times, then transient for the retry queues); a server in
/// ERROR fails the step with its `fault.message`.
/// Thread: loop only.
#include <uv.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>

#include "lambda/uv/handle.h"
#include "providers/openstack/http_client.h"
#include "providers/provider.h"

namespace lambda::worker::openstack {

struct OsConfig {
  std::string auth_url;  ///< OS_AUTH_URL
  std::string username;  ///< OS_USERNAME
  std::string password;  ///< OS_PASSWORD
  std::string project_name;
  std::string user_domain = "Default";
  std::string project_domain = "Default";
  std::string region;  ///< OS_REGION_NAME; empty = the first public compute endpoint
  std::string image;   ///< LAMBDA_OS_IMAGE: an id, or a name looked up in the image service
  std::string network = "auto";  ///< LAMBDA_OS_NETWORK: an id, auto or none
  std::string flavor;            ///< LAMBDA_OS_FLAVOR: id or name; empty = the smallest that fits
  std::string mode = "nova";     ///< nova | synnefo
  uint64_t poll_ms = 500;        ///< first status poll; doubles up to poll_max_ms
  uint64_t poll_max_ms = 5000;
  uint64_t op_timeout_ms = 900000;  ///< a server that never reaches the status: transient
  long http_timeout_ms = 30000;
  int busy_retries = 4;  ///< 409/429/503 answers retried in place before giving up
};

/// The smallest flavor (by RAM, then vCPUs, then disk) that fits; pure, for tests.
struct Flavor {
  std::string id, name;
  int vcpus = 0;
  int64_t ram_mib = 0;
  int disk_gib = 0;
};
std::optional<Flavor> SmallestFitting(const std::vector<Flavor>& flavors, int vcpus,
                                      int64_t ram_mib, int disk_gib);
/// RFC 3339 / ISO 8601 UTC time ("2026-12-01T12:00:00.000000Z", "…Z" or "+00:00") to unix ms.
std::optional<int64_t> ParseUtcMs(const std::string& text);

class OpenStackProvider : public Provider {
 public:
  OpenStackProvider(uv_loop_t* loop, OsConfig config);
  ~OpenStackProvider() override;
  OpenStackProvider(const OpenStackProvider&) = delete;
  OpenStackProvider& operator=(const OpenStackProvider&) = delete;

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

  int authentications() const { return authentications_; }

 private:
  struct View {  ///< what a GET of one server says
    std::string id, name, status, task_state, fault, private_ip, public_ip;
  };
  using Reply = std::function<void(Result<HttpReply>)>;
  using Found = std::function<void(Result<std::optional<View>>)>;
  using Viewed = std::function<void(Result<View>)>;

  /// A compute call with the token, renewal on expiry and 401, and in-place retries of
  /// 409/429/503 after Retry-After.
  void Compute(const std::string& method, const std::string& path, const std::string& body,
               Reply done, int attempt = 0, bool reauthed = false);
  void WithToken(std::function<void(Status)> then);
  void Authenticate();
  void FindByName(const std::string& name, Found done);
  /// Polls until the server's status is `want` with no task in progress (want DELETED: 404).
  /// A cancelled `cancel` (the command was superseded) ends the wait at once with kConflict.
  void WaitFor(const std::string& id, const std::string& want, int64_t deadline_ms,
               uint64_t delay_ms, const std::shared_ptr<Cancellation>& cancel, Viewed done);
  void Flavors(std::function<void(Result<std::vector<Flavor>>)> done);
  void ImageId(std::function<void(Result<std::string>)> done);
  void CreateOne(const Operation& op, const InstanceSpec& spec, const ServerInfo& planned,
                 bool master, Viewed done);
  void CreateFrom(const Operation& op, const InstanceSpec& spec,
                  const std::shared_ptr<std::vector<ServerInfo>>& planned, size_t index,
                  std::vector<ServerInfo>* servers, Done done);
  void DestroyFrom(const Operation& op, const std::shared_ptr<std::vector<ServerInfo>>& planned,
                   size_t index, std::vector<ServerInfo>* servers, Done done);
  void Power(const Operation& op, ServerInfo* server, bool start, Done done);
  void After(uint64_t ms, std::function<void()> fn) {
    After(ms, std::make_shared<Cancellation>(), std::move(fn));
  }
  /// Runs `fn` after `ms`, or at once when `cancel` is cancelled meanwhile.
  void After(uint64_t ms, const std::shared_ptr<Cancellation>& cancel, std::function<void()> fn);
  static Result<View> ParseServer(const std::string& body);
  std::string ShutoffName() const { return config_.mode == "synnefo" ? "STOPPED" : "SHUTOFF"; }

  uv_loop_t* loop_;
  OsConfig config_;
  HttpClient http_;
  std::string token_;
  int64_t token_expires_ms_ = 0;
  std::string compute_url_;
  std::string image_url_;
  bool authenticating_ = false;
  std::deque<std::function<void(Status)>> waiting_for_token_;
  int authentications_ = 0;
  std::optional<std::vector<Flavor>> flavors_;
  std::string image_id_;
  uint64_t next_timer_ = 0;
  std::map<uint64_t, std::unique_ptr<uv::Timer>> timers_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lambda::worker::openstack
