#include "providers/hooks/hook_runner.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lambda/uv/handle.h"

namespace lambda::worker {

/// One running hook: the process handle, two pipes and the timeout timer, each closed through
/// its close callback. It reports once the process has exited and both pipes reached EOF (or
/// shortly after the exit, when a grandchild keeps a pipe open).
class HookRunner::Process {
 public:
  Process(HookRunner* runner, uint64_t id, Done done)
      : runner_(runner),
        id_(id),
        done_(std::move(done)),
        out_([this](uv_pipe_t* p) { return uv_pipe_init(runner_->loop_, p, 0); }),
        err_([this](uv_pipe_t* p) { return uv_pipe_init(runner_->loop_, p, 0); }),
        timer_(runner->loop_),
        drain_(runner->loop_) {
    out_.get()->data = this;
    err_.get()->data = this;
  }
  ~Process() {
    if (spawned_ && !exited_) kill(-pid_, SIGKILL);
    if (process_ != nullptr) {
      process_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(process_), [](uv_handle_t* h) {
        std::unique_ptr<uv_process_t> reclaim(reinterpret_cast<uv_process_t*>(h));
      });
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  void Start(const std::string& path, const std::vector<std::string>& env) {
    result_.ran = true;
    std::vector<char*> args{const_cast<char*>(path.c_str()), nullptr};
    std::vector<char*> envp;
    envp.reserve(env.size() + 1);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[1].data.stream = out_.stream();
    stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[2].data.stream = err_.stream();
    uv_process_options_t opts{};
    opts.exit_cb = &OnExit;
    opts.file = path.c_str();
    opts.args = args.data();
    opts.env = envp.data();
    opts.stdio_count = 3;
    opts.stdio = stdio;
    // A session of its own makes the hook the leader of its process group: the timeout kills
    // the group, so an ssh or ansible it started goes too.
    opts.flags = UV_PROCESS_DETACHED;
    process_ = new uv_process_t{};  // NOLINT(cppcoreguidelines-owning-memory): closed in ~Process
    process_->data = this;
    if (int rc = uv_spawn(runner_->loop_, process_, &opts); rc != 0) {
      result_.spawn_error = std::string("could not start: ") + uv_strerror(rc);
      out_eof_ = err_eof_ = exited_ = true;
      return Report();
    }
    spawned_ = true;
    pid_ = process_->pid;
    uv_read_start(out_.stream(), &Alloc, &OnRead);
    uv_read_start(err_.stream(), &Alloc, &OnRead);
    timer_.Start(runner_->config_.timeout_ms, 0, [this] { Timeout(); });
  }
  void Interrupt() {
    if (!spawned_ || exited_ || result_.interrupted) return;
    result_.interrupted = true;
    kill(-pid_, SIGTERM);
    timer_.Start(runner_->config_.interrupt_grace_ms, 0, [this] { kill(-pid_, SIGKILL); });
  }

 private:
  static void Alloc(uv_handle_t*, size_t, uv_buf_t* buf) noexcept {
    static thread_local char chunk[16384];
    *buf = uv_buf_init(chunk, sizeof chunk);
  }
  static void OnRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) noexcept {
    auto* self = static_cast<Process*>(s->data);
    if (self == nullptr) return;
    bool is_out = s == self->out_.stream();
    if (n > 0) {
      std::string& tail = is_out ? self->result_.stdout_tail : self->result_.stderr_tail;
      tail.append(buf->base, static_cast<size_t>(n));
      size_t max = self->runner_->config_.tail_bytes;
      if (tail.size() > max) tail.erase(0, tail.size() - max);
      return;
    }
    if (n < 0) {
      uv_read_stop(s);
      (is_out ? self->out_eof_ : self->err_eof_) = true;
      self->MaybeReport();
    }
  }
  static void OnExit(uv_process_t* p, int64_t status, int signal) noexcept {
    auto* self = static_cast<Process*>(p->data);
    if (self == nullptr) return;
    self->exited_ = true;
    self->result_.exit_status = status;
    self->result_.term_signal = signal;
    self->timer_.Stop();
    // Pipes usually close with the process; a backgrounded grandchild may hold them open.
    self->drain_.Start(200, 0, [self] {
      self->out_eof_ = self->err_eof_ = true;
      self->MaybeReport();
    });
    self->MaybeReport();
  }
  void Timeout() {
    result_.timed_out = true;
    kill(-pid_, SIGTERM);
    timer_.Start(runner_->config_.kill_grace_ms, 0, [this] { kill(-pid_, SIGKILL); });
  }
  void MaybeReport() {
    if (exited_ && out_eof_ && err_eof_) Report();
  }
  void Report() {
    if (reported_) return;
    reported_ = true;
    auto done = std::move(done_);
    auto result = std::move(result_);
    HookRunner* runner = runner_;
    uint64_t id = id_;
    done(std::move(result));
    runner->Finished(id);  // destroys this
  }

  HookRunner* runner_;
  uint64_t id_;
  Done done_;
  HookResult result_;
  uv_process_t* process_ = nullptr;
  uv::UvHandle<uv_pipe_t> out_;
  uv::UvHandle<uv_pipe_t> err_;
  uv::Timer timer_;
  uv::Timer drain_;
  int pid_ = 0;
  bool spawned_ = false;
  bool exited_ = false;
  bool out_eof_ = false;
  bool err_eof_ = false;
  bool reported_ = false;
};

HookRunner::HookRunner(uv_loop_t* loop, HookConfig config)
    : loop_(loop), config_(std::move(config)) {}

HookRunner::~HookRunner() = default;

void HookRunner::Finished(uint64_t id) { running_.erase(id); }

uint64_t HookRunner::Run(const std::string& name, const std::vector<std::string>& env, Done done) {
  HookResult none;
  if (config_.dir.empty()) {
    done(none);
    return 0;
  }
  std::string path = config_.dir + "/" + name;
  struct stat st {};
  // A hook is a regular file; anything else under that name (absent, a directory) is no hook.
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    done(none);
    return 0;
  }
  uint64_t id = ++next_id_;
  auto proc = std::make_unique<Process>(this, id, std::move(done));
  Process* raw = proc.get();
  running_.emplace(id, std::move(proc));
  raw->Start(path, env);
  return running_.count(id) != 0 ? id : 0;  // a failed spawn has reported already
}

void HookRunner::Interrupt(uint64_t id) {
  if (auto it = running_.find(id); it != running_.end()) it->second->Interrupt();
}

}  // namespace lambda::worker
