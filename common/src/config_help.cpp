// One sentence for every setting of both binaries, printed by --help and gathered into
// docs/configuration.md by scripts/gen-config-docs (which fails on a setting without one).
#include <map>
#include <string>
#include <string_view>

namespace lambda::config {

std::string_view SettingHelp(std::string_view name) {
  static const std::map<std::string_view, std::string_view> kHelp{
      // both binaries
      {"redis-url",
       "Redis to use: redis://[[user]:password@]host[:port][/db], or a Redis Cluster: "
       "redis+cluster://[[user]:password@]host1:port1,host2:port2,... (seed nodes)."},
      {"redis-command-timeout-ms",
       "A Redis command unanswered this long drops the connection (it is remade with back-off)."},
      {"redis-wait-replicas",
       "Replicas that must hold an admission (WAIT) before its command is published; "
       "default 1 on Redis Cluster, 0 on one server."},
      {"redis-wait-timeout-ms",
       "How long an admission waits for its replicas; past it the admission is undone (503)."},
      {"redis-prefix", "Prefix of every Redis key; stacks sharing a Redis need distinct ones."},
      {"amqp-url",
       "RabbitMQ to use: amqp://user:password@host[:port]/[vhost]; for a cluster, its nodes as "
       "a comma-separated list of such URLs, tried in order (a lost or failed connection moves "
       "to the next)."},
      {"amqp-prefix", "Prefix of the exchanges and queues (actions, retry, dead letters)."},
      {"queue-type",
       "Type of every queue (actions, delayed-retry tiers, dead letters) when first declared: "
       "quorum (replicated on a cluster's nodes, the default) or classic."},
      {"publish-timeout-ms",
       "A publish the broker has not confirmed this long fails (the shim undoes the admission "
       "and answers 503) and the connection is remade."},
      {"history-max",
       "Status changes kept per instance in its history stream (the shim: also the most a "
       "tenant stream's resume sends before it answers event: reset)."},
      {"shutdown-grace-ms",
       "On SIGTERM, time given to in-flight work before the process stops (the worker's "
       "unfinished commands go back to the queue)."},
      {"log-level", "Lowest level logged (one JSON object per line on stderr)."},
      {"provider", "Where VMs are made: sim (simulated), libvirt (QEMU/KVM), openstack (Nova)."},
      // api-shim
      {"host", "Address the HTTP API listens on."},
      {"http-port", "Port the HTTP API listens on (0: any free port)."},
      {"reuse-port",
       "Listen with SO_REUSEPORT: several shims on one host share --http-port and the kernel "
       "spreads new connections over them (a shim that stops leaves the others serving)."},
      {"public-url",
       "Base of the links in answers (e.g. https://lambda.example.com); empty: from the Host "
       "header."},
      {"max-pending-redis", "Redis commands awaiting replies; beyond it requests answer 503."},
      {"max-in-flight-publishes",
       "Publishes awaiting the broker's confirm; beyond it actions answer 503."},
      {"max-header-bytes", "Largest request head accepted (431 beyond)."},
      {"max-body-bytes", "Largest request body accepted (413 beyond)."},
      {"request-timeout-ms", "Time a client has to send a whole request (408 beyond)."},
      {"idle-timeout-ms", "An idle keep-alive connection is closed after this long."},
      {"max-connections", "Open client connections; new ones beyond it are closed at once."},
      {"key-cache-ms",
       "How long a checked API key is trusted without asking Redis: the delay before a revoked "
       "key stops working."},
      {"key-stale-ms",
       "While Redis cannot answer for an API key, one it vouched for this recently is still "
       "trusted (0: never)."},
      {"server-key-file",
       "File of 32 random bytes, readable only by the service (mode 0600), under which access "
       "key secrets are sealed (AES-256-GCM); lambdactl accesskey needs the same file. Empty: "
       "signed (ZC2-HMAC-SHA256) requests are refused."},
      {"settle-budget-ms",
       "Time an admission whose publish answered may take to be confirmed or undone in Redis "
       "(retried while Redis is away); past it the answer is 504, outcome unknown."},
      {"max-commands-per-message",
       "Commands admitted in the same loop iteration travel as one message of up to this many "
       "(RabbitMQ's cost is per message); 1 sends each on its own."},
      {"max-watchers",
       "Held status waits and event streams this shim serves at once; beyond it they answer "
       "503 with Retry-After."},
      {"max-stream-backlog-bytes",
       "Bytes an event stream's client may leave unread before it is cut off."},
      {"max-unsent-bytes",
       "Answers a client may leave unread before its connection is paused (nothing more is "
       "read or answered until it reads)."},
      {"send-timeout-ms",
       "A paused connection, or one closing after its last answer, whose unread answers do not "
       "shrink for this long is cut off."},
      {"sse-heartbeat-ms", "A comment line is sent on every event stream this often."},
      {"rate-limit-per-s",
       "Default request rate of a tenant, shared by all its keys (token bucket refill per "
       "second, per shim; 0: no limit); beyond: 429. lambdactl tenant set --rate overrides it."},
      {"rate-limit-burst",
       "Default request burst of a tenant (its token bucket's size; a batch of N costs N); "
       "lambdactl tenant set --burst overrides it per tenant."},
      {"tenant-max-instances",
       "Default quota of live (not DESTROYED) instances per tenant; a create past it is a 429 "
       "that changes nothing (lambdactl tenant set --max-instances overrides it)."},
      {"tenant-max-inflight",
       "Default cap of actions in flight per tenant (its instances in a transitional status, "
       "as the status channel tells every shim); an action past it is a 429 that changes "
       "nothing (lambdactl tenant set --max-inflight overrides it)."},
      {"tenant-max-watchers",
       "Default cap of held waits (wait_for) and event streams one tenant may hold on a shim; "
       "past it a 429, while other tenants are still served (lambdactl tenant set "
       "--max-watchers overrides it)."},
      {"address-rate-limit-per-s",
       "Requests per second allowed per client address on the routes without a key (health, "
       "metrics, the dashboard's files, not-found; 0: no limit); beyond: 429."},
      {"address-rate-limit-burst",
       "Requests a client address may make at once on the routes without a key."},
      {"enable-test-faults", "Allows the test-only fault switches; never set it in production."},
      {"fault-crash-after-admit-permille",
       "Test only: the shim kills itself between admission and publish this often (per 1000)."},
      // worker
      {"worker-id", "This worker's name in leases, history and the ledger (unique per process)."},
      {"prefetch", "Commands the broker may deliver to this worker before it acks any."},
      {"sim-vm-op-ms", "sim: time one VM operation takes."},
      {"sim-step-ms", "sim: time one install step takes (a create's simulate.step_ms wins)."},
      {"sim-cloud-redis-url",
       "sim: a Redis of its own for the simulated cloud's VM state (empty: the worker's Redis)."},
      {"sim-seed", "sim: seed of the simulated cloud's randomness (ids, injected errors)."},
      {"sim-transient-error-permille",
       "sim: transient errors injected per 1000 VM operations (to exercise the retries)."},
      {"libvirt-uri", "libvirt: the hypervisor connection (qemu:///system, qemu:///session)."},
      {"libvirt-domain-type", "libvirt: domain type (kvm, qemu without acceleration, test)."},
      {"libvirt-kernel", "libvirt: a kernel to boot (with --libvirt-initrd) instead of a disk."},
      {"libvirt-initrd", "libvirt: the initramfs booted with --libvirt-kernel."},
      {"libvirt-image",
       "libvirt: base disk image; each VM gets a qcow2 overlay of it and a cloud-init seed."},
      {"libvirt-disk-dir", "libvirt: where the VMs' overlays and seeds are written."},
      {"libvirt-max-disk-gib", "libvirt: largest disk a create may ask for."},
      {"libvirt-cmdline", "libvirt: kernel command line with --libvirt-kernel."},
      {"libvirt-ssh-host", "libvirt: address the VMs' forwarded SSH ports are reached on."},
      {"libvirt-max-vcpus",
       "libvirt: vCPUs given to a VM at most (a create's larger ask is capped)."},
      {"libvirt-max-ram-mib",
       "libvirt: RAM given to a VM at most, in MiB (larger asks are capped)."},
      {"vm-stop-timeout-ms", "libvirt: a VM not off this long after ACPI shutdown is destroyed."},
      {"vm-shutdown-retry-ms", "libvirt: ACPI shutdown is sent again this often while waiting."},
      {"ssh-public-key-file", "A public key installed in every VM (cloud-init, or the guest's)."},
      {"os-auth-url", "openstack: Keystone v3 URL (default $OS_AUTH_URL)."},
      {"os-username", "openstack: user (default $OS_USERNAME)."},
      {"os-password", "openstack: password (default $OS_PASSWORD)."},
      {"os-project-name", "openstack: project (default $OS_PROJECT_NAME)."},
      {"os-user-domain-name", "openstack: the user's domain (default $OS_USER_DOMAIN_NAME)."},
      {"os-project-domain-name",
       "openstack: the project's domain (default $OS_PROJECT_DOMAIN_NAME)."},
      {"os-region-name", "openstack: region of the compute endpoint (default $OS_REGION_NAME)."},
      {"os-image", "openstack: image id or name the VMs boot."},
      {"os-network", "openstack: network id, auto or none."},
      {"os-flavor", "openstack: flavor id or name; empty: the smallest that fits the request."},
      {"os-mode", "openstack: nova, or synnefo for ~okeanos's differences."},
      {"os-poll-ms", "openstack: first wait between reads of a server in transition."},
      {"os-poll-max-ms", "openstack: longest wait between those reads (back-off)."},
      {"os-op-timeout-ms", "openstack: a server not in the wanted state this long fails the step."},
      {"hooks-dir",
       "Executables run for the service steps (init, commons, hadoop, kafka, flink, "
       "start-services, stop-services); a missing one is a step with nothing to do."},
      {"hook-timeout-ms", "A hook running longer fails its step (its process group is killed)."},
      {"ledger-max",
       "Entries kept per instance in the operations ledger (one per step, most often)."},
      {"redis-group-calls",
       "Calls of the per-instance scripts made in the same loop iteration go to Redis as one "
       "EVALSHA of up to this many (group commit); 1 sends each on its own."},
      {"retry-delay-ms",
       "Delay before a command whose instance was busy (or Redis away) is tried again."},
      {"max-attempts", "Tries of one command before it is dead-lettered."},
      {"max-jobs",
       "Commands one worker carries out at once (its slots; default three quarters of "
       "--prefetch)."},
      {"max-tenant-jobs",
       "Of those slots, the most one tenant holds, so another tenant's command always finds one "
       "(fair dispatch; default half of --max-jobs)."},
      {"max-tenant-held",
       "Commands of one tenant a worker holds, delivered but waiting for a slot; more are "
       "deferred through the retry queue so one tenant never fills the prefetch window."},
      {"defer-max-ms",
       "Longest back-off of a deferred command (it doubles from --retry-delay-ms)."},
      {"reconcile-interval-ms", "How often the reconciler runs (one worker at a time, by lease)."},
      {"reconcile-buckets-per-pass",
       "Outbox buckets (one per Redis Cluster slot, 16384 in all) the reconciler looks into per "
       "pass."},
      {"republish-after-ms",
       "A confirmed command still pending this long, that no worker holds or has deferred, is "
       "published again by the reconciler; each later republish waits twice as long (up to 32 "
       "times this)."},
      {"unconfirmed-after-ms",
       "An admission neither confirmed by its shim nor claimed this long is undone."},
      {"create-timeout-ms", "A create not finished this long fails its instance."},
      {"action-timeout-ms", "A start, stop or destroy not finished this long fails its instance."},
      {"lease-ms", "A worker's lease on the instance it works on; renewed while it works."},
      {"max-op-attempts", "Tries of one provider operation on transient errors before it fails."},
      {"op-backoff-ms", "First back-off between those tries (exponential, with jitter)."},
      {"op-backoff-max-ms", "Longest back-off between those tries."},
      {"worker-http-host", "Address of the worker's /healthz, /readyz and /metrics."},
      {"worker-http-port", "Port of the worker's /healthz, /readyz and /metrics (0: any free)."},
  };
  auto it = kHelp.find(name);
  return it == kHelp.end() ? std::string_view{} : it->second;
}

}  // namespace lambda::config
