#include "support.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "lambda/amqp/connection.h"
#include "lambda/amqp/publisher.h"
#include "lambda/domain/status.h"
#include "lambda/redis/async_client.h"
#include "lambda/redis/keys.h"
#include "lambda/uv/handle.h"

namespace lambda::testing {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

std::string UniquePrefix(const std::string& base) {
  static std::mt19937_64 rng{std::random_device{}()};
  return base + std::to_string(getpid()) + "x" + std::to_string(rng() % 1000000);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

int RedisClusterNodes() { return std::atoi(EnvOr("LAMBDA_TEST_REDIS_NODES", "0").c_str()); }

bool RedisClusterIsWhole(std::chrono::milliseconds timeout) {
  return WaitFor(
      [] {
        for (int i = 1; i <= RedisClusterNodes(); ++i) {
          const std::string cli =
              "redis-cli -p " + EnvOr(("LAMBDA_TEST_REDIS_PORT_" + std::to_string(i)).c_str());
          if (RunCommand(cli + " cluster info").out.find("cluster_state:ok") == std::string::npos)
            return false;
          auto repl = RunCommand(cli + " info replication").out;
          if (repl.find("role:slave") != std::string::npos &&
              repl.find("master_link_status:up") == std::string::npos)
            return false;
        }
        return true;
      },
      timeout);
}

bool RunLoopUntil(uv_loop_t* loop, const std::function<bool()>& pred,
                  std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    uv::Timer tick(loop);
    tick.Start(5, 0, [] {});
    uv_run(loop, UV_RUN_ONCE);
  }
  return true;
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

SyncRedis::SyncRedis(const std::string& url) {
  auto cfg = redis::ParseUrl(url);
  if (!cfg) throw std::runtime_error("bad redis url " + url);
  config_ = *cfg;
  Reconnect();
}

SyncRedis::~SyncRedis() = default;

bool SyncRedis::Reconnect() {
  auto c = redis::SyncClient::Connect(config_);
  client_ = c ? std::move(*c) : nullptr;
  return client_ != nullptr;
}

namespace {
std::string Flatten(const redis::Value& v) {
  switch (v.type) {
    case redis::Value::Type::kString:
    case redis::Value::Type::kStatus:
    case redis::Value::Type::kError:
      return v.str;
    case redis::Value::Type::kInteger:
      return std::to_string(v.integer);
    case redis::Value::Type::kArray: {
      std::string out;
      for (size_t i = 0; i < v.elements.size(); ++i) {
        if (i) out += '\n';
        out += Flatten(v.elements[i]);
      }
      return out;
    }
    default:
      return "";
  }
}
}  // namespace

std::optional<redis::Value> SyncRedis::Send(const std::vector<std::string>& argv) {
  if (!client_ && !Reconnect()) return std::nullopt;
  auto r = client_->Command(argv);
  if (!r) {
    Reconnect();
    return std::nullopt;
  }
  return std::move(*r);
}

std::string SyncRedis::Cmd(const std::vector<std::string>& argv) {
  auto r = Send(argv);
  return r ? Flatten(*r) : "";
}

std::vector<std::string> SyncRedis::Array(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  auto r = Send(argv);
  if (!r) return out;
  if (r->type == redis::Value::Type::kArray) {
    for (const auto& e : r->elements) out.push_back(Flatten(e));
  } else {
    out.push_back(Flatten(*r));  // a scalar reply is a one-element list
  }
  return out;
}

long long SyncRedis::Int(const std::vector<std::string>& argv) {
  std::string s = Cmd(argv);
  return s.empty() ? 0 : std::atoll(s.c_str());
}

std::vector<std::string> SyncRedis::PendingIds(const std::string& prefix, size_t limit) {
  std::vector<std::string> ids;
  if (!client_ && !Reconnect()) return ids;
  std::vector<std::vector<std::string>> buckets;
  buckets.reserve(redis::keys::kSlots);
  for (int slot = 0; slot < redis::keys::kSlots; ++slot) {
    buckets.push_back({"ZRANGE", redis::keys::PendingBucket(prefix, slot), "0", "-1"});
  }
  for (auto& r : client_->Pipeline(buckets)) {
    if (!r || r->type != redis::Value::Type::kArray) continue;
    for (auto& id : r->elements) {
      if (ids.size() < limit) ids.push_back(std::move(id.str));
    }
  }
  return ids;
}

Process::Process(std::vector<std::string> argv, std::string log_path,
                 std::vector<std::string> extra_env)
    : log_(std::move(log_path)) {
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    for (auto& e : extra_env) putenv(e.data());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());  // PATH lookup for servers such as redis-server
    _exit(127);
  }
}

Process::~Process() {
  if (!reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
}

bool Process::Alive() {
  if (reaped_) return false;
  pid_t r = waitpid(pid_, &status_, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    return false;
  }
  return true;
}

void Process::Signal(int sig) {
  if (!reaped_) kill(pid_, sig);
}

int Process::Wait(std::chrono::milliseconds timeout) {
  WaitFor([&] { return !Alive(); }, timeout);
  if (!reaped_) return -1;
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

std::string Process::UnexpectedEnd() {
  if (Alive() || !reaped_) return "";
  if (WIFSIGNALED(status_)) {
    int sig = WTERMSIG(status_);
    return sig == SIGKILL || sig == SIGTERM ? "" : "signal " + std::to_string(sig);
  }
  return WIFEXITED(status_) && WEXITSTATUS(status_) != 0
             ? "exit " + std::to_string(WEXITSTATUS(status_))
             : "";
}

std::string Process::Log() const {
  std::ifstream f(log_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

namespace {
size_t CollectBody(char* p, size_t size, size_t n, void* ud) {
  static_cast<std::string*>(ud)->append(p, size * n);
  return size * n;
}
size_t CollectHeader(char* p, size_t size, size_t n, void* ud) {
  std::string line(p, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string k = line.substr(0, colon);
    for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ')) v.erase(0, 1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(ud))[k] = v;
  }
  return size * n;
}
}  // namespace

HttpResponse Http(const std::string& method, const std::string& url,
                  const std::vector<std::string>& headers, const std::string& body,
                  bool multipart_action) {
  HttpResponse out;
  CURL* c = curl_easy_init();
  curl_slist* hs = nullptr;
  for (const auto& h : headers) hs = curl_slist_append(hs, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &CollectBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &CollectHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &out.headers);
  curl_mime* mime = nullptr;
  if (multipart_action) {
    mime = curl_mime_init(c);
    curl_mimepart* part = curl_mime_addpart(mime);
    curl_mime_name(part, "action");
    curl_mime_data(part, body.c_str(), CURL_ZERO_TERMINATED);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
  } else if (!body.empty() || method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  if (mime) curl_mime_free(mime);
  curl_slist_free_all(hs);
  curl_easy_cleanup(c);
  return out;
}

namespace {
// Complete responses at the start of `s` (by Content-Length).
int CompleteResponses(const std::string& s) {
  int n = 0;
  size_t pos = 0;
  while (true) {
    size_t end = s.find("\r\n\r\n", pos);
    if (end == std::string::npos) return n;
    size_t cl = s.find("Content-Length: ", pos);
    size_t len = cl != std::string::npos && cl < end ? std::stoul(s.substr(cl + 16)) : 0;
    if (s.size() < end + 4 + len) return n;
    ++n;
    pos = end + 4 + len;
  }
}
}  // namespace

CommandResult RunCommand(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

int ConnectLoopback(int port, int rcvbuf) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string RawHttp(int port, const std::string& bytes, std::chrono::milliseconds timeout,
                    int responses) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return "";
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (poll(&p, 1, std::max(left, 1)) <= 0) break;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (CompleteResponses(out) >= responses) break;
  }
  close(fd);
  return out;
}

Stack::Stack(Options options) : Stack(std::move(options), EnvOr("LAMBDA_TEST_REDIS_URL")) {}

Stack::Stack(Options options, std::string redis_url)
    : options_(std::move(options)),
      redis_url_(std::move(redis_url)),
      redis_prefix_(UniquePrefix("t") + ":"),
      amqp_prefix_(UniquePrefix("t")) {
  logs_ = "/tmp/lambda-test-logs/" + amqp_prefix_;
  // The server key, as scripts/up makes it: random bytes only this user may read.
  std::string cmd =
      "mkdir -p " + logs_ + " && (umask 077 && head -c 32 /dev/urandom >" + server_key_file() + ")";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("mkdir or server key failed");
  redis_ = std::make_unique<SyncRedis>(redis_url_);
  if (!StartShim()) throw std::runtime_error("api-shim did not become ready; log: " + shim_->Log());
  for (int i = 0; i < options_.workers; ++i) StartWorker();
}

Stack::~Stack() {
  // Stop gracefully, then read every log: a sanitizer report in any child fails the test.
  std::vector<Process*> all;
  if (shim_) all.push_back(shim_.get());
  for (auto& w : workers_) all.push_back(w.get());
  for (auto* p : all) {
    // A process that ended on its own before teardown must have ended the way a test ended it.
    if (std::string how = p->UnexpectedEnd(); !how.empty()) {
      ADD_FAILURE() << p->log_path() << " died during the test (" << how << ")";
    }
  }
  for (auto* p : all) p->Signal(SIGTERM);
  for (auto* p : all) {
    bool was_alive = p->Alive();
    int code = p->Wait(std::chrono::seconds(15));
    std::string log = p->Log();
    for (const char* marker :
         {"ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"}) {
      if (log.find(marker) != std::string::npos) {
        ADD_FAILURE() << "sanitizer report in " << p->log_path() << ":\n"
                      << log.substr(log.find(marker), 4000);
      }
    }
    if (was_alive && code != 0)
      ADD_FAILURE() << p->log_path() << " exited with " << code << " on SIGTERM";
  }
}

std::vector<std::string> Stack::Argv(const char* binary_env) const {
  // What both binaries get: this stack's servers and names, and a short grace at SIGTERM.
  return {EnvOr(binary_env),
          "--redis-url",
          redis_url_,
          "--amqp-url",
          EnvOr("LAMBDA_TEST_AMQP_URL"),
          "--redis-prefix",
          redis_prefix_,
          "--amqp-prefix",
          amqp_prefix_,
          "--shutdown-grace-ms",
          "3000"};
}

namespace {
/// The tenant limits (SPEC §3) raised out of reach for the stacks that do not test them: the
/// defaults are sized for one tenant of a shared service, and a test loading one tenant (chaos,
/// 1,000-id batches, scale-out) would measure them instead of what it is about.
const std::vector<std::string> kHarnessLimitFlags{
    "--rate-limit-per-s",     "1000000", "--rate-limit-burst",         "1000000",
    "--tenant-max-instances", "1000000", "--tenant-max-watchers",      "1000000",
    "--tenant-max-inflight",  "1000000", "--address-rate-limit-per-s", "0"};
}  // namespace

std::vector<std::string> Stack::ShimArgv() const {
  auto argv = Argv("LAMBDA_SHIM_BIN");
  argv.insert(argv.end(), {"--key-cache-ms", "0", "--server-key-file", server_key_file()});
  if (!options_.production_limits) {
    argv.insert(argv.end(), kHarnessLimitFlags.begin(), kHarnessLimitFlags.end());
  }
  return argv;
}

bool Stack::StartShim() {
  port_ = FreePort();
  auto argv = Argv("LAMBDA_SHIM_BIN");
  argv.insert(argv.end(), {"--http-port", std::to_string(port_), "--key-cache-ms", "0",
                           "--server-key-file", server_key_file()});
  if (!options_.production_limits) {
    argv.insert(argv.end(), kHarnessLimitFlags.begin(), kHarnessLimitFlags.end());
  }
  argv.insert(argv.end(), options_.shim_flags.begin(), options_.shim_flags.end());
  shim_ = std::make_unique<Process>(argv, logs_ + "/api-shim.log");
  bool ready = false;
  testing::WaitFor(
      [&] {
        if (!shim_->Alive()) return true;  // died on its own (fault injection): the caller decides
        ready = Http("GET", url() + "/readyz").status == 200;
        return ready;
      },
      std::chrono::seconds(30));
  return ready;
}

bool Stack::RestartShim() {
  shim_.reset();
  return StartShim();
}

void Stack::StartWorker(const std::vector<std::string>& extra_flags) {
  size_t n = workers_.size() + 1;
  auto argv = Argv("LAMBDA_WORKER_BIN");
  argv.insert(argv.end(), {"--worker-id", "w" + std::to_string(n) + "-" + amqp_prefix_,
                           "--sim-vm-op-ms", "5", "--sim-step-ms", "5", "--retry-delay-ms", "200"});
  argv.insert(argv.end(), options_.worker_flags.begin(), options_.worker_flags.end());
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  workers_.push_back(
      std::make_unique<Process>(argv, logs_ + "/worker-" + std::to_string(n) + ".log"));
  // Up (its signal handlers installed) before the test goes on: a case that ends at once must
  // not SIGTERM a worker that is still loading.
  auto& worker = *workers_.back();
  if (!testing::WaitFor(
          [&] {
            return !worker.Alive() || worker.Log().find("worker started") != std::string::npos;
          },
          std::chrono::seconds(20))) {
    ADD_FAILURE() << worker.log_path() << " did not start within 20 s";
  }
}

std::string Stack::NewKey(const std::string& tenant) {
  std::string cmd = EnvOr("LAMBDA_CTL_BIN") + " --redis-url '" + redis_url_ + "' --redis-prefix " +
                    redis_prefix_ + " apikey create --scope admin --tenant " + tenant;
  std::string key = RunCommand(cmd).out;
  while (!key.empty() && (key.back() == '\n')) key.pop_back();
  if (key.empty()) throw std::runtime_error("lambdactl apikey create failed");
  return key;
}

std::vector<std::string> Stack::Seed(int count, const std::string& status,
                                     const std::string& tenant) {
  std::string cmd = EnvOr("LAMBDA_CTL_BIN") + " --redis-url '" + redis_url_ + "' --redis-prefix " +
                    redis_prefix_ + " seed --count " + std::to_string(count) + " --status " +
                    status + " --tenant " + tenant;
  std::vector<std::string> ids;
  std::istringstream lines(RunCommand(cmd).out);
  for (std::string id; std::getline(lines, id);) {
    if (!id.empty()) ids.push_back(id);
  }
  return ids;
}

std::string Stack::StatusOf(const std::string& id) {
  std::string code = redis_->Cmd({"HGET", redis::keys::Instance(redis_prefix_, id), "status"});
  if (code.empty()) return "";
  auto s = domain::FromCode(std::atoi(code.c_str()));
  return s ? std::string(domain::Info(*s).name) : "?";
}

bool Stack::WaitStatus(const std::string& id, const std::string& name,
                       std::chrono::milliseconds timeout) {
  return testing::WaitFor([&] { return StatusOf(id) == name; }, timeout);
}

std::vector<std::string> Stack::History(const std::string& id) {
  auto entries = redis_->Array({"XRANGE", redis::keys::History(redis_prefix_, id), "-", "+"});
  std::vector<std::string> out;
  for (const auto& e : entries) {
    // Each entry flattens to "id\nfield\nvalue..."; the status follows the "status" field.
    std::istringstream ss(e);
    std::string line, prev;
    while (std::getline(ss, line)) {
      if (prev == "status") {
        auto s = domain::FromCode(std::atoi(line.c_str()));
        out.push_back(s ? std::string(domain::Info(*s).name) : line);
        break;
      }
      prev = line;
    }
  }
  return out;
}

rapidjson::Document Json(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  EXPECT_FALSE(d.HasParseError()) << body;
  return d;
}

std::string CreateBody(const std::string& name, const std::string& extra) {
  std::string body =
      R"({"instance_name":")" + name +
      R"(","master_name":"m1","slaves":2,"vcpus_master":2,"vcpus_slave":1,"ram_master":1024,)"
      R"("ram_slave":1024,"disk_master":10,"disk_slave":10,"ip_allocation":"master",)"
      R"("network_request":1,"project_name":"p")";
  if (!extra.empty()) body += "," + extra;
  return body + "}";
}

std::string CreatedId(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  if (!d.IsObject() || !d.HasMember("data") || !d["data"].IsArray() || d["data"].Empty() ||
      !d["data"][0].IsObject() || !d["data"][0].HasMember("id") || !d["data"][0]["id"].IsString())
    return "";
  return d["data"][0]["id"].GetString();
}

std::string CreateAs(Stack& stack, const std::string& key, const std::string& name,
                     const std::string& extra) {
  auto r = Http("POST", stack.url() + "/api/lambda-instances/", {"X-API-Key: " + key},
                CreateBody(name, extra));
  EXPECT_EQ(r.status, 202) << r.body;
  return CreatedId(r.body);
}

int PublishActions(const Stack& stack, const std::vector<std::string>& bodies,
                   const std::string& message_id) {
  auto cfg = amqp::ParseUrl(EnvOr("LAMBDA_TEST_AMQP_URL"));
  if (!cfg) return 0;
  cfg->prefix = stack.amqp_prefix();
  uv_loop_t loop;
  uv_loop_init(&loop);
  size_t done = 0;
  int confirmed = 0;
  {
    amqp::Connection conn(&loop, *cfg, {});
    amqp::ConfirmingPublisher publisher(conn);
    conn.Start();
    uv::Timer give_up(&loop);
    bool late = false;
    give_up.Start(10000, 0, [&] { late = true; });
    while (!conn.connected() && !late) uv_run(&loop, UV_RUN_ONCE);
    give_up.Stop();
    amqp::PublishOptions options;
    options.message_id = message_id;
    for (const auto& body : bodies) {
      publisher.Publish(conn.topology().actions_exchange, amqp::Topology::kActionKey, body, options,
                        [&](const Status& st) {
                          ++done;
                          confirmed += st.ok();
                        });
    }
    while (done < bodies.size()) uv_run(&loop, UV_RUN_ONCE);
    conn.Stop();
  }
  uv::DrainAndClose(&loop);
  return confirmed;
}

}  // namespace lambda::testing
