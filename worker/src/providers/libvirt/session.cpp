#include "providers/libvirt/session.h"

#include <arpa/inet.h>
#include <libvirt/virterror.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

extern char** environ;

namespace lambda::worker::libvirt {

namespace {

/// libvirt's error of the calling thread as a value: connection trouble is transient (the retry
/// queues take it), anything else is the step's failure with libvirt's own words.
Error LastError(const std::string& what) {
  virErrorPtr e = virGetLastError();
  std::string msg = "libvirt: " + what + ": " +
                    (e != nullptr && e->message != nullptr ? e->message : "unknown error");
  bool transient = e == nullptr || e->code == VIR_ERR_NO_CONNECT ||
                   e->code == VIR_ERR_SYSTEM_ERROR || e->code == VIR_ERR_RPC ||
                   e->code == VIR_ERR_OPERATION_TIMEOUT || e->code == VIR_ERR_AUTH_UNAVAILABLE ||
                   e->domain == VIR_FROM_RPC || e->domain == VIR_FROM_REMOTE;
  return Error{transient ? Code::kUnavailable : Code::kInternal, msg};
}

bool LastErrorIs(int code) {
  virErrorPtr e = virGetLastError();
  return e != nullptr && e->code == code;
}

/// A free TCP port on `host`, for a VM's forwarded SSH port. The kernel picks it; it stays free
/// until QEMU binds it a moment later unless something else takes it first (then the start
/// fails with QEMU's message).
Result<int> FreePort(const std::string& host) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Error{Code::kUnavailable, "socket() for an SSH port failed"};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    close(fd);
    return Error{Code::kInvalidArgument, "ssh host is not an IPv4 address: " + host};
  }
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return Error{Code::kUnavailable, "no free port for SSH on " + host};
  }
  close(fd);
  return static_cast<int>(ntohs(a.sin_port));
}

/// Runs a tool (qemu-img, genisoimage) to completion on this pool thread; its output is the
/// error's text when it fails.
Status RunTool(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe(fds) != 0) return Error{Code::kUnavailable, "pipe() failed"};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  std::string out;
  char buf[1024];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  if (rc != 0) return Error{Code::kInternal, argv[0] + ": cannot run it (is it installed?)"};
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return Error{Code::kInternal, argv[0] + ": " + (out.empty() ? "failed" : out)};
  }
  return OkStatus();
}

bool FileExists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

/// The VM's overlay of the base image and its NoCloud seed, made once (written under a
/// temporary name and renamed, so a worker that died half-way leaves no half-made disk).
Status EnsureDisks(const GuestConfig& g, const VmFacts& vm) {
  if (mkdir(g.disk_dir.c_str(), 0755) != 0 && errno != EEXIST)
    return Error{Code::kInternal, "cannot make the disk directory " + g.disk_dir};
  if (!FileExists(vm.disk)) {
    std::string tmp = vm.disk + ".part";
    int gib = std::clamp(vm.disk_gib, 1, std::max(1, g.max_disk_gib));
    if (auto st = RunTool({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", g.image,
                           tmp, std::to_string(gib) + "G"});
        !st) {
      return st;
    }
    if (rename(tmp.c_str(), vm.disk.c_str()) != 0)
      return Error{Code::kInternal, "cannot rename " + tmp};
  }
  if (!FileExists(vm.seed)) {
    std::string dir = vm.seed + ".d";
    mkdir(dir.c_str(), 0755);
    std::ofstream(dir + "/meta-data") << SeedMetaData(vm);
    std::ofstream(dir + "/user-data") << SeedUserData(g, vm);
    std::string tmp = vm.seed + ".part";
    auto st = RunTool({"genisoimage", "-quiet", "-output", tmp, "-volid", "cidata", "-joliet",
                       "-rock", dir + "/user-data", dir + "/meta-data"});
    unlink((dir + "/meta-data").c_str());
    unlink((dir + "/user-data").c_str());
    rmdir(dir.c_str());
    if (!st) return st;
    if (rename(tmp.c_str(), vm.seed.c_str()) != 0)
      return Error{Code::kInternal, "cannot rename " + tmp};
  }
  return OkStatus();
}

void Silence(void*, virErrorPtr) {}  // errors are read with virGetLastError, not printed

class EventThread {
 public:
  EventThread() {
    virSetErrorFunc(nullptr, &Silence);
    virInitialize();
    virEventRegisterDefaultImpl();
    // A periodic timeout makes the loop come round, so the thread sees `stop_`.
    virEventAddTimeout(
        200, [](int, void*) {}, nullptr, nullptr);
    thread_ = std::thread([this] {
      while (!stop_.load()) virEventRunDefaultImpl();
    });
  }
  ~EventThread() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  EventThread(const EventThread&) = delete;
  EventThread& operator=(const EventThread&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void OnLifecycle(virConnectPtr, virDomainPtr dom, int event, int, void* opaque) {
  auto* sink = static_cast<std::shared_ptr<EventSink>*>(opaque);
  const char* name = virDomainGetName(dom);
  if (name != nullptr) (*sink)->Push({name, event});
}

void FreeSink(void* opaque) {
  std::unique_ptr<std::shared_ptr<EventSink>> reclaim(
      static_cast<std::shared_ptr<EventSink>*>(opaque));
}

}  // namespace

void EnsureEventThread() { static EventThread thread; }

void EventSink::Push(Event e) {
  std::lock_guard lock(mu_);
  e.seq = ++pushed_;
  events_.push_back(std::move(e));
  if (wake_) wake_();
}

uint64_t EventSink::Pushed() {
  std::lock_guard lock(mu_);
  return pushed_;
}

std::deque<EventSink::Event> EventSink::Drain() {
  std::lock_guard lock(mu_);
  return std::exchange(events_, {});
}

void EventSink::SetWake(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  wake_ = std::move(wake);
}

/// A counted reference to the connection: a call in flight keeps it open even if another thread
/// replaces it.
class Session::ConnRef {
 public:
  explicit ConnRef(virConnectPtr c) : c_(c) { virConnectRef(c_); }
  ConnRef(ConnRef&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  ConnRef(const ConnRef&) = delete;
  ConnRef& operator=(const ConnRef&) = delete;
  ConnRef& operator=(ConnRef&&) = delete;
  ~ConnRef() {
    if (c_ != nullptr) virConnectClose(c_);
  }
  virConnectPtr get() const { return c_; }

 private:
  virConnectPtr c_;
};

class Session::DomainRef {
 public:
  explicit DomainRef(virDomainPtr d) : d_(d) {}
  DomainRef(DomainRef&& o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
  DomainRef(const DomainRef&) = delete;
  DomainRef& operator=(const DomainRef&) = delete;
  DomainRef& operator=(DomainRef&& o) noexcept {
    std::swap(d_, o.d_);
    return *this;
  }
  ~DomainRef() {
    if (d_ != nullptr) virDomainFree(d_);
  }
  virDomainPtr get() const { return d_; }
  explicit operator bool() const { return d_ != nullptr; }

  std::string Uuid() const {
    char buf[VIR_UUID_STRING_BUFLEN] = {};
    return virDomainGetUUIDString(d_, buf) == 0 ? std::string(buf) : std::string();
  }
  int SshPort() const {
    char* md = virDomainGetMetadata(d_, VIR_DOMAIN_METADATA_ELEMENT, kMetadataUri, 0);
    if (md == nullptr) return 0;
    auto port = SshPortFromMetadata(md);
    free(md);  // NOLINT(cppcoreguidelines-no-malloc): libvirt allocated it with malloc
    return port.value_or(0);
  }
  bool Active() const { return virDomainIsActive(d_) == 1; }

 private:
  virDomainPtr d_;
};

Session::Session(std::string uri, std::shared_ptr<EventSink> sink)
    : uri_(std::move(uri)), sink_(std::move(sink)) {
  EnsureEventThread();
}

Session::~Session() {
  std::lock_guard lock(mu_);
  if (conn_ == nullptr) return;
  if (callback_id_ >= 0) virConnectDomainEventDeregisterAny(conn_, callback_id_);
  virConnectClose(conn_);
}

Result<Session::ConnRef> Session::Conn() {
  std::lock_guard lock(mu_);
  if (conn_ != nullptr && virConnectIsAlive(conn_) == 1) return ConnRef(conn_);
  if (conn_ != nullptr) {
    if (callback_id_ >= 0) virConnectDomainEventDeregisterAny(conn_, callback_id_);
    virConnectClose(conn_);
    conn_ = nullptr;
    callback_id_ = -1;
  }
  virConnectPtr c = virConnectOpen(uri_.c_str());
  if (c == nullptr) {
    Error e = LastError("cannot connect to " + uri_);
    e.code = Code::kUnavailable;  // libvirtd down or restarting: the retry queues wait for it
    return e;
  }
  auto opaque = std::make_unique<std::shared_ptr<EventSink>>(sink_);
  int id = virConnectDomainEventRegisterAny(c, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                            VIR_DOMAIN_EVENT_CALLBACK(&OnLifecycle), opaque.get(),
                                            &FreeSink);
  if (id < 0) {
    Error e = LastError("cannot register for lifecycle events on " + uri_);
    virConnectClose(c);
    return e;
  }
  static_cast<void>(opaque.release());  // libvirt owns it now and frees it through FreeSink
  conn_ = c;
  callback_id_ = id;
  return ConnRef(conn_);
}

Result<Session::DomainRef> Session::Lookup(const ConnRef& conn, const std::string& name,
                                           bool absent_ok) {
  virDomainPtr d = virDomainLookupByName(conn.get(), name.c_str());
  if (d != nullptr) return DomainRef(d);
  if (LastErrorIs(VIR_ERR_NO_DOMAIN)) {
    if (absent_ok) return DomainRef(nullptr);
    return Error{Code::kNotFound, "libvirt: no domain named " + name};
  }
  return LastError("looking up " + name);
}

Result<Session::DomainRef> Session::Find(const std::string& name, bool absent_ok) {
  // A domain holds a reference to its connection: the connection's own may go at once.
  auto conn = Conn();
  if (!conn) return conn.error();
  return Lookup(*conn, name, absent_ok);
}

Result<VmState> Session::Ensure(const GuestConfig& guest, VmFacts vm) {
  auto conn = Conn();
  if (!conn) return conn.error();
  auto dom = Lookup(*conn, vm.name, true);
  if (!dom) return dom.error();
  VmState st;
  if (*dom) {
    st.outcome = "reused";
  } else {
    auto port = FreePort(guest.ssh_host);
    if (!port) return port.error();
    vm.ssh_port = *port;
    if (!guest.image.empty()) {
      vm.disk = DiskPath(guest, vm.name);
      vm.seed = SeedPath(guest, vm.name);
      if (auto made = EnsureDisks(guest, vm); !made) return made.error();
    }
    std::string xml = DomainXml(guest, vm);
    virDomainPtr d = virDomainDefineXML(conn->get(), xml.c_str());
    if (d == nullptr) return LastError("defining " + vm.name);
    *dom = DomainRef(d);
    st.outcome = "created";
  }
  st.uuid = dom->Uuid();
  st.ssh_port = dom->SshPort();
  if (!dom->Active()) {
    if (virDomainCreate(dom->get()) != 0) return LastError("starting " + vm.name);
    st.started = true;
  }
  st.active = true;
  return st;
}

Result<VmState> Session::Start(const std::string& name) {
  auto dom = Find(name, false);
  if (!dom) return dom.error();
  VmState st;
  st.uuid = dom->Uuid();
  st.ssh_port = dom->SshPort();
  st.outcome = "already_running";
  if (!dom->Active()) {
    if (virDomainCreate(dom->get()) != 0) return LastError("starting " + name);
    st.outcome = "started";
  }
  st.active = true;
  return st;
}

Result<VmState> Session::Shutdown(const std::string& name) {
  auto dom = Find(name, false);
  if (!dom) return dom.error();
  VmState st;
  st.uuid = dom->Uuid();
  if (!dom->Active()) return st;
  if (virDomainShutdown(dom->get()) != 0) {
    if (!dom->Active()) return st;  // it went down between the look and the request
    return LastError("shutting down " + name);
  }
  st.outcome = "shutdown_sent";
  st.active = dom->Active();
  return st;
}

Result<VmState> Session::PowerOff(const std::string& name) {
  auto dom = Find(name, false);
  if (!dom) return dom.error();
  VmState st;
  if (dom->Active() && virDomainDestroy(dom->get()) != 0 && dom->Active())
    return LastError("powering off " + name);
  return st;
}

std::string DiskPath(const GuestConfig& g, const std::string& vm) {
  return g.disk_dir + "/" + vm + ".qcow2";
}
std::string SeedPath(const GuestConfig& g, const std::string& vm) {
  return g.disk_dir + "/" + vm + "-seed.iso";
}

Result<VmState> Session::Remove(const std::string& name, const GuestConfig& guest) {
  auto dom = Find(name, true);
  if (!dom) return dom.error();
  VmState st;
  auto remove_disks = [&] {
    if (guest.image.empty()) return;
    unlink(DiskPath(guest, name).c_str());
    unlink(SeedPath(guest, name).c_str());
  };
  if (!*dom) {
    remove_disks();  // a create that died between its disks and its define
    st.outcome = "absent";
    return st;
  }
  st.uuid = dom->Uuid();
  if (dom->Active() && virDomainDestroy(dom->get()) != 0 && dom->Active())
    return LastError("powering off " + name);
  unsigned flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                   VIR_DOMAIN_UNDEFINE_NVRAM;
  if (virDomainUndefineFlags(dom->get(), flags) != 0) {
    if (!LastErrorIs(VIR_ERR_NO_SUPPORT) && !LastErrorIs(VIR_ERR_INVALID_ARG))
      return LastError("undefining " + name);
    if (virDomainUndefine(dom->get()) != 0) return LastError("undefining " + name);
  }
  remove_disks();
  st.outcome = "destroyed";
  return st;
}

Result<std::string> Session::XmlOf(const std::string& name) {
  auto dom = Find(name, false);
  if (!dom) return dom.error();
  char* xml = virDomainGetXMLDesc(dom->get(), 0);
  if (xml == nullptr) return LastError("reading the XML of " + name);
  std::string out(xml);
  free(xml);  // NOLINT(cppcoreguidelines-no-malloc): libvirt allocated it with malloc
  return out;
}

Result<bool> Session::Exists(const std::string& name) {
  auto dom = Find(name, true);
  if (!dom) return dom.error();
  return static_cast<bool>(*dom);
}

}  // namespace lambda::worker::libvirt
