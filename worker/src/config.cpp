#include "config.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "lambda/config/connections.h"
#include "lambda/redis/keys.h"
#include "lambda/util/util.h"
#include "providers/openstack/clouds_yaml.h"

namespace lambda::worker {

Result<Config> LoadConfig(config::Source& src) {
  Config c;
  char host[128] = "worker";
  gethostname(host, sizeof host - 1);
  c.worker_id = src.String(
      "worker-id", std::string(host) + "-" + std::to_string(getpid()) + "-" + util::RandomToken(3));
  c.redis = config::ReadRedis(src);
  c.redis_prefix = src.String("redis-prefix", c.redis_prefix);
  if (!redis::keys::IsValidPrefix(c.redis_prefix)) {
    src.AddError("--redis-prefix must not hold { or } (they would make it every key's hash tag)");
  }
  amqp::Config base;
  base.prefetch = static_cast<int>(src.Int("prefetch", 200, 1, 65535));
  c.amqp = config::ReadAmqp(src, base);
  c.provider = src.OneOf("provider", c.provider, {"sim", "libvirt", "openstack"});
  c.sim.vm_op_ms = static_cast<uint64_t>(src.Int("sim-vm-op-ms", 20, 0, 600000));
  c.sim.step_ms = static_cast<uint64_t>(src.Int("sim-step-ms", 50, 0, 600000));
  c.sim.seed = static_cast<uint64_t>(src.Int("sim-seed", 1, 0, INT64_MAX));
  c.sim.transient_error_rate =
      static_cast<double>(src.Int("sim-transient-error-permille", 0, 0, 1000)) / 1000.0;
  if (std::string url = src.String("sim-cloud-redis-url", ""); !url.empty()) {
    auto cloud = redis::ParseUrl(url);
    if (cloud) {
      c.sim_cloud_redis = *cloud;
    } else {
      src.AddError("--sim-cloud-redis-url: " + cloud.error().message);
    }
  }
  auto& lv = c.libvirt;
  lv.uri = src.String("libvirt-uri", lv.uri);
  lv.guest.domain_type =
      src.OneOf("libvirt-domain-type", lv.guest.domain_type, {"qemu", "kvm", "test"});
  lv.guest.kernel = src.String("libvirt-kernel", "");
  lv.guest.initrd = src.String("libvirt-initrd", "");
  lv.guest.image = src.String("libvirt-image", "");
  lv.guest.disk_dir = src.String("libvirt-disk-dir", "/var/lib/lambda/disks");
  lv.guest.max_disk_gib = static_cast<int>(src.Int("libvirt-max-disk-gib", 64, 1, 65536));
  lv.guest.cmdline = src.String("libvirt-cmdline", lv.guest.cmdline);
  lv.guest.ssh_host = src.String("libvirt-ssh-host", lv.guest.ssh_host);
  lv.guest.max_vcpus = static_cast<int>(src.Int("libvirt-max-vcpus", 2, 1, 256));
  lv.guest.max_ram_mib = src.Int("libvirt-max-ram-mib", 2048, 64, 4194304);
  lv.stop_timeout_ms = static_cast<uint64_t>(src.Int("vm-stop-timeout-ms", 30000, 100, 3600000));
  lv.shutdown_retry_ms = static_cast<uint64_t>(src.Int("vm-shutdown-retry-ms", 2000, 50, 600000));
  if (std::string key_file = src.String("ssh-public-key-file", ""); !key_file.empty()) {
    std::ifstream in(key_file);
    std::getline(in, lv.guest.ssh_key);
    if (!in && lv.guest.ssh_key.empty())
      src.AddError("--ssh-public-key-file: cannot read " + key_file);
  }
  if (c.provider == "libvirt" && lv.guest.image.empty() &&
      (lv.guest.kernel.empty() || lv.guest.initrd.empty())) {
    src.AddError(
        "--provider=libvirt: needs --libvirt-image, or --libvirt-kernel and --libvirt-initrd "
        "(scripts/guest-image "
        "builds a guest)");
  }
  // OpenStack: the OS_* variables of an openrc file, as every OpenStack client reads them; a
  // flag (--os-auth-url, …) wins over its variable.
  auto& os = c.openstack;
  // OS_CLOUD picks a cloud of a clouds.yaml first; OS_* variables and flags override it.
  if (const char* cloud = std::getenv("OS_CLOUD"); cloud != nullptr && *cloud != '\0') {
    bool found = false;
    for (const auto& path : openstack::CloudsYamlPaths()) {
      std::ifstream in(path);
      if (!in) continue;
      std::stringstream text;
      text << in.rdbuf();
      if (auto st = openstack::ApplyCloudsYaml(text.str(), cloud, &os); !st) {
        src.AddError("OS_CLOUD=" + std::string(cloud) + ": " + path + ": " + st.error().message);
      }
      found = true;
      break;
    }
    if (!found) src.AddError("OS_CLOUD=" + std::string(cloud) + ": no clouds.yaml found");
  }
  auto env = [](const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : fallback;
  };
  os.auth_url = src.String("os-auth-url", env("OS_AUTH_URL", os.auth_url));
  os.username = src.String("os-username", env("OS_USERNAME", os.username));
  os.password = src.String("os-password", env("OS_PASSWORD", os.password));
  os.project_name =
      src.String("os-project-name", env("OS_PROJECT_NAME", env("OS_TENANT_NAME", os.project_name)));
  os.user_domain = src.String("os-user-domain-name", env("OS_USER_DOMAIN_NAME", os.user_domain));
  os.project_domain =
      src.String("os-project-domain-name", env("OS_PROJECT_DOMAIN_NAME", os.project_domain));
  os.region = src.String("os-region-name", env("OS_REGION_NAME", os.region));
  os.image = src.String("os-image", "");
  os.network = src.String("os-network", os.network);
  os.flavor = src.String("os-flavor", "");
  os.mode = src.OneOf("os-mode", os.mode, {"nova", "synnefo"});
  os.poll_ms = static_cast<uint64_t>(src.Int("os-poll-ms", 500, 10, 60000));
  os.poll_max_ms = static_cast<uint64_t>(src.Int("os-poll-max-ms", 5000, 10, 600000));
  os.op_timeout_ms = static_cast<uint64_t>(src.Int("os-op-timeout-ms", 900000, 100, 86400000));
  if (c.provider == "openstack" &&
      (os.auth_url.empty() || os.username.empty() || os.password.empty() || os.image.empty())) {
    src.AddError(
        "--provider=openstack: needs OS_AUTH_URL, OS_USERNAME, OS_PASSWORD and LAMBDA_OS_IMAGE");
  }
  c.hooks.dir = src.String("hooks-dir", "");
  c.hooks.timeout_ms = static_cast<uint64_t>(src.Int("hook-timeout-ms", 600000, 10, 86400000));
  c.ledger_max = static_cast<int>(src.Int("ledger-max", 1000, 10, 1000000));
  c.redis_group_calls = static_cast<size_t>(src.Int("redis-group-calls", 128, 1, 10000));
  c.consumer.retry_delay_ms = static_cast<uint64_t>(src.Int("retry-delay-ms", 1000, 10, 1024000));
  c.consumer.max_attempts = static_cast<int>(src.Int("max-attempts", 600, 1, 1000));
  // Fair dispatch (SPEC §5): slots, one tenant's share of them, what is held per tenant. Every
  // held or running command keeps its message unacked, so they stay under the prefetch window
  // with room to spare: deliveries keep flowing whatever one tenant sends.
  auto& fair = c.consumer.fair;
  const auto window = static_cast<size_t>(c.amqp.prefetch);
  fair.max_held = window - std::max<size_t>(window / 8, 1);
  fair.max_running = static_cast<size_t>(
      src.Int("max-jobs", static_cast<int64_t>(std::max<size_t>(window * 3 / 4, 1)), 1, 100000));
  fair.max_running_per_tenant = static_cast<size_t>(
      src.Int("max-tenant-jobs", static_cast<int64_t>(std::max<size_t>(fair.max_running / 2, 1)), 1,
              100000));
  if (fair.max_running_per_tenant > fair.max_running)
    src.AddError("--max-tenant-jobs: above --max-jobs");
  fair.max_held_per_tenant = static_cast<size_t>(src.Int(
      "max-tenant-held", static_cast<int64_t>(fair.max_running_per_tenant / 2 + 1), 1, 100000));
  c.consumer.defer_max_ms = static_cast<uint64_t>(src.Int("defer-max-ms", 64000, 10, 1024000));
  c.reconciler.interval_ms =
      static_cast<uint64_t>(src.Int("reconcile-interval-ms", 2000, 50, 600000));
  c.reconciler.buckets_per_pass =
      static_cast<int>(src.Int("reconcile-buckets-per-pass", 4096, 1, 16384));
  c.reconciler.republish_after_ms =
      static_cast<uint64_t>(src.Int("republish-after-ms", 30000, 100, 86400000));
  c.consumer.hold_touch_ms = std::max<uint64_t>(c.reconciler.republish_after_ms / 3, 10);
  c.reconciler.unconfirmed_after_ms =
      static_cast<uint64_t>(src.Int("unconfirmed-after-ms", 60000, 100, 86400000));
  c.reconciler.create_timeout_ms =
      static_cast<uint64_t>(src.Int("create-timeout-ms", 3600000, 1000, 604800000));
  c.reconciler.action_timeout_ms =
      static_cast<uint64_t>(src.Int("action-timeout-ms", 1800000, 1000, 604800000));
  c.lease_ms = static_cast<uint64_t>(src.Int("lease-ms", 30000, 100, 3600000));
  c.history_max = static_cast<int>(src.Int("history-max", 256, 1, 100000));
  c.max_op_attempts = static_cast<int>(src.Int("max-op-attempts", 4, 1, 100));
  c.op_backoff_ms = static_cast<uint64_t>(src.Int("op-backoff-ms", 200, 1, 600000));
  c.op_backoff_max_ms = static_cast<uint64_t>(src.Int("op-backoff-max-ms", 60000, 1, 1024000));
  if (c.op_backoff_max_ms < c.op_backoff_ms)
    src.AddError("--op-backoff-max-ms: below --op-backoff-ms");
  // Not "http-port": LAMBDA_HTTP_PORT is the shim's, and both may share one environment.
  c.http_host = src.String("worker-http-host", c.http_host);
  c.http_port = static_cast<int>(src.Int("worker-http-port", 0, 0, 65535));
  c.shutdown_grace_ms = static_cast<uint64_t>(src.Int("shutdown-grace-ms", 20000, 0, 600000));
  c.log_level = src.OneOf("log-level", c.log_level, {"debug", "info", "warn", "error"});
  const auto& errors = src.Finish();
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) all += e + "\n";
    return Error{Code::kInvalidArgument, all};
  }
  return c;
}

}  // namespace lambda::worker
