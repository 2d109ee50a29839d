#include "client.h"

#include <curl/curl.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "client_logic.h"
#include "lambda/json/json.h"
#include "lambda/util/util.h"

namespace lambda::ctl {
namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  std::string url;  ///< no trailing slash
  std::string key;
  bool json = false;
  bool tty = false;
  Clock::time_point deadline;
};

struct Answer {
  bool transport_ok = false;
  std::string transport_error;
  long status = 0;
  std::string body;
};

size_t Collect(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

std::unique_ptr<curl_slist, ListDeleter> Headers(const Settings& s,
                                                 const std::vector<std::string>& extra) {
  curl_slist* list = curl_slist_append(nullptr, ("X-API-Key: " + s.key).c_str());
  for (const auto& h : extra) list = curl_slist_append(list, h.c_str());
  return std::unique_ptr<curl_slist, ListDeleter>(list);
}

long LeftMs(const Settings& s) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(s.deadline - Clock::now());
  return std::max<long>(1, static_cast<long>(left.count()));
}

Answer Call(const Settings& s, const std::string& method, const std::string& path,
            const std::string& body = "", const std::string& content_type = "") {
  Answer a;
  std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
  std::vector<std::string> extra;
  if (!content_type.empty()) extra.push_back("Content-Type: " + content_type);
  auto headers = Headers(s, extra);
  std::string url = s.url + path;
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, 30000L);  // the wait's --timeout is not its
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  if (!body.empty() || method == "POST") {
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  CURLcode rc = curl_easy_perform(c.get());
  if (rc != CURLE_OK) {
    a.transport_error = curl_easy_strerror(rc);
    return a;
  }
  a.transport_ok = true;
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &a.status);
  return a;
}

/// The answer was not the wanted one: says why and returns the exit code.
int Fail(const Answer& a) {
  if (!a.transport_ok) {
    std::fprintf(stderr, "lambdactl: the server is unreachable: %s\n", a.transport_error.c_str());
    return kUnreachable;
  }
  std::fprintf(stderr, "lambdactl: %ld: %s\n", a.status, ForTerminal(ErrorText(a.body)).c_str());
  return ExitForHttp(a.status);
}

std::optional<domain::InstanceStatus> StatusOfEvent(const rapidjson::Document& d) {
  if (!d.IsObject() || !d.HasMember("status") || !d["status"].IsObject()) return std::nullopt;
  const auto& st = d["status"];
  if (!st.HasMember("message") || !st["message"].IsString()) return std::nullopt;
  return domain::FromName(st["message"].GetString());
}

/// Follows `id`'s event stream until `done(status)` says stop (returning an exit code), the
/// deadline passes (3), or the server refuses (4) or cannot be reached (5). A dropped stream
/// is resumed after the last event seen.
using EventHandler = std::function<std::optional<int>(
    domain::InstanceStatus, const rapidjson::Document&, const std::string&)>;

int Follow(const Settings& s, const std::string& id, const EventHandler& on_event,
           std::string last_id = {}) {
  bool ever_connected = false;
  for (;;) {
    if (Clock::now() >= s.deadline) return kTimedOut;
    struct Ctx {
      SseParser parser;
      std::optional<int> result;
      std::string error_body;
      long status = 0;
      CURL* curl = nullptr;
      std::string* last_id = nullptr;
      const EventHandler* handler = nullptr;
    } ctx;
    ctx.last_id = &last_id;
    ctx.handler = &on_event;
    std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
    ctx.curl = c.get();
    std::vector<std::string> extra{"Accept: text/event-stream"};
    if (!last_id.empty()) extra.push_back("Last-Event-ID: " + last_id);
    auto headers = Headers(s, extra);
    std::string url = s.url + "/api/lambda-instances/" + id + "/events/";
    curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, LeftMs(s));
    curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &ctx);
    curl_easy_setopt(
        c.get(), CURLOPT_WRITEFUNCTION, +[](char* p, size_t size, size_t n, void* data) -> size_t {
          auto* x = static_cast<Ctx*>(data);
          if (x->status == 0) curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
          if (x->status != 200) {
            x->error_body.append(p, size * n);
            return size * n;
          }
          for (auto& e : x->parser.Feed(std::string_view(p, size * n))) {
            if (!e.id.empty()) *x->last_id = e.id;
            rapidjson::Document d;
            if (!json::Parse(e.data, &d)) continue;
            auto st = StatusOfEvent(d);
            if (!st) continue;
            if (auto r = (*x->handler)(*st, d, e.data)) {
              x->result = *r;
              return 0;  // stops the transfer
            }
          }
          return size * n;
        });
    CURLcode rc = curl_easy_perform(c.get());
    if (ctx.result) return *ctx.result;
    if (ctx.status != 0 && ctx.status != 200) {
      Answer a{true, {}, ctx.status, ctx.error_body};
      return Fail(a);
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) return kTimedOut;
    if (rc == CURLE_COULDNT_CONNECT && !ever_connected) {
      return Fail(Answer{false, curl_easy_strerror(rc), 0, {}});
    }
    ever_connected = ever_connected || ctx.status == 200;
    // The stream ended (the shim restarted, a proxy cut it): resume after the last event.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

void Progress(const Settings& s, const std::string& line, bool last) {
  if (s.json) return;
  if (s.tty) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), last ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

std::string FailureMessage(const Settings& s, const std::string& id) {
  auto a = Call(s, "GET", "/api/lambda-instances/" + id + "/status/");
  rapidjson::Document d;
  if (!a.transport_ok || !json::Parse(a.body, &d) || !d.IsObject() || !d.HasMember("data") ||
      !d["data"].IsArray() || d["data"].Empty()) {
    return {};
  }
  const auto& st = d["data"][0]["status"];
  if (st.IsObject() && st.HasMember("failure_message") && st["failure_message"].IsString())
    return st["failure_message"].GetString();
  return {};
}

/// `from_start`: the instance is new, so its whole history is this wait's (a create): every step
/// is shown even when the worker was faster than the stream's opening. Any other wait starts at
/// the latest event, since older ones may name the goal from before the action.
int WaitFor(const Settings& s, const std::string& id, const Goal& goal, bool from_start = false) {
  auto start = Clock::now();
  int rc = Follow(
      s, id,
      [&](domain::InstanceStatus st, const rapidjson::Document&,
          const std::string& raw) -> std::optional<int> {
        double secs = std::chrono::duration<double>(Clock::now() - start).count();
        bool reached = st == goal.reached, failed = IsFailure(goal, st);
        if (s.json) std::printf("%s\n", JsonForTerminal(raw).c_str());
        Progress(s, ProgressLine(goal, st, secs), reached || failed);
        if (reached) return kReached;
        if (failed) return kFailedStatus;
        return std::nullopt;
      },
      from_start ? "0-0" : "");
  if (rc == kTimedOut) {
    if (s.tty && !s.json) std::fprintf(stderr, "\n");
    std::fprintf(stderr, "lambdactl: timed out waiting for %s\n",
                 std::string(domain::Info(goal.reached).name).c_str());
  }
  if (rc == kFailedStatus) {
    std::string why = FailureMessage(s, id);
    std::fprintf(stderr, "lambdactl: instance %s failed%s%s\n", ForTerminal(id).c_str(),
                 why.empty() ? "" : ": ", ForTerminal(why).c_str());
  }
  return rc;
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path == "-" ? "/dev/stdin" : path);
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// GETs `path` and prints its `data` with `print` (or, with --json, the whole answer).
int Show(const Settings& s, const std::string& path, bool one_item,
         const std::function<void(const rapidjson::Value& data)>& print) {
  auto a = Call(s, "GET", path);
  if (!a.transport_ok || a.status != 200) return Fail(a);
  if (s.json) {
    std::printf("%s\n", JsonForTerminal(a.body).c_str());
    return kReached;
  }
  rapidjson::Document d;
  bool understood = json::Parse(a.body, &d) && d.IsObject() && d.HasMember("data") &&
                    d["data"].IsArray() && !(one_item && d["data"].Empty());
  if (!understood) {
    std::fprintf(stderr, "lambdactl: an answer this client does not understand: %s\n",
                 ForTerminal(a.body.substr(0, 300)).c_str());
    return kUnreachable;
  }
  print(d["data"]);
  return kReached;
}

int Usage(const char* why) {
  std::fprintf(stderr, "lambdactl: %s\n", why);
  return kUsage;
}

bool LoadSettings(const std::map<std::string, std::string>& flags, Settings* s) {
  std::map<std::string, std::string> file;
  const char* state = std::getenv("LAMBDA_STATE_DIR");
  std::string path = std::string(state != nullptr && *state != '\0' ? state : ".stack") + "/env";
  if (auto text = ReadFile(path)) file = ParseEnvFile(*text);
  auto pick = [&](const char* flag, const char* env) -> std::string {
    if (auto it = flags.find(flag); it != flags.end()) return it->second;
    if (const char* v = std::getenv(env); v != nullptr && *v != '\0') return v;
    if (auto it = file.find(env); it != file.end()) return it->second;
    return {};
  };
  s->url = pick("url", "LAMBDA_URL");
  s->key = pick("api-key", "LAMBDA_API_KEY");
  while (!s->url.empty() && s->url.back() == '/') s->url.pop_back();
  return !s->url.empty() && !s->key.empty();
}

}  // namespace

bool IsClientVerb(const std::string& verb) {
  for (const char* v :
       {"create", "start", "stop", "destroy", "cancel", "status", "list", "watch", "events"}) {
    if (verb == v) return true;
  }
  return false;
}

int RunClient(const std::vector<std::string>& pos, const std::map<std::string, std::string>& flags,
              const std::set<std::string>& switches) {
  Settings s;
  if (!LoadSettings(flags, &s)) {
    return Usage(
        "no server: set LAMBDA_URL and LAMBDA_API_KEY (or --url, --api-key), or run "
        "scripts/up, which writes them to $LAMBDA_STATE_DIR/env");
  }
  s.json = switches.count("json") != 0;
  s.tty = isatty(STDERR_FILENO) != 0;
  uint64_t timeout_s = 900;
  if (auto it = flags.find("timeout"); it != flags.end()) {
    auto t = util::ParseInt(it->second);
    if (!t || *t < 0 || *t > 86400) return Usage("--timeout: seconds from 0 to 86400");
    timeout_s = static_cast<uint64_t>(*t);
  }
  s.deadline = Clock::now() + std::chrono::seconds(timeout_s);
  const std::string& verb = pos[0];
  const bool wait = switches.count("wait") != 0;
  curl_global_init(CURL_GLOBAL_DEFAULT);

  if (verb == "create") {
    std::string body;
    if (auto f = flags.find("f"); f != flags.end()) {
      auto text = ReadFile(f->second);
      if (!text) return Usage(("cannot read " + f->second).c_str());
      body = *text;
    } else {
      std::string error;
      body = CreateBodyFromFlags(flags, &error);
      if (body.empty()) return Usage(error.c_str());
    }
    auto a = Call(s, "POST", "/api/lambda-instances/", body, "application/json");
    if (!a.transport_ok || a.status != 202) return Fail(a);
    rapidjson::Document d;
    if (!json::Parse(a.body, &d) || !d.IsObject() || !d.HasMember("data")) return Fail(a);
    std::string id = d["data"][0]["id"].GetString();
    std::printf("%s\n", s.json ? JsonForTerminal(a.body).c_str() : ForTerminal(id).c_str());
    std::fflush(stdout);
    return wait ? WaitFor(s, id, *GoalOf("create"), /*from_start=*/true) : kReached;
  }
  if (pos.size() != 2 && verb != "list") return Usage((verb + " needs an instance ID").c_str());
  if (verb == "start" || verb == "stop" || verb == "destroy") {
    const std::string& id = pos[1];
    Answer a = verb == "destroy" ? Call(s, "DELETE", "/api/lambda-instances/" + id + "/")
                                 : Call(s, "POST", "/api/lambda-instances/" + id + "/",
                                        R"({"action":")" + verb + "\"}", "application/json");
    if (!a.transport_ok || a.status != 202) return Fail(a);
    if (s.json) std::printf("%s\n", JsonForTerminal(a.body).c_str());
    return wait ? WaitFor(s, id, *GoalOf(verb)) : kReached;
  }
  if (verb == "cancel") {
    const std::string& id = pos[1];
    Answer a = Call(s, "POST", "/api/lambda-instances/" + id + "/", R"({"action":"cancel"})",
                    "application/json");
    if (!a.transport_ok || a.status != 202) return Fail(a);
    if (s.json) std::printf("%s\n", JsonForTerminal(a.body).c_str());
    if (!wait) return kReached;
    // Where the rollback ends depends on where the instance was: its status now says.
    Answer st = Call(s, "GET", "/api/lambda-instances/" + id + "/status/");
    rapidjson::Document d;
    if (!st.transport_ok || st.status != 200 || !json::Parse(st.body, &d) || !d.IsObject() ||
        !d.HasMember("data") || !d["data"].IsArray() || d["data"].Empty() ||
        !d["data"][0].IsObject() || !d["data"][0].HasMember("status") ||
        !d["data"][0]["status"].IsObject() || !d["data"][0]["status"].HasMember("message") ||
        !d["data"][0]["status"]["message"].IsString()) {
      return Fail(st);
    }
    auto now = domain::FromName(d["data"][0]["status"]["message"].GetString());
    auto goal = now ? GoalOfCancel(*now) : std::nullopt;
    if (!goal) return Fail(st);
    return WaitFor(s, id, *goal);
  }
  if (verb == "status") {
    return Show(s, "/api/lambda-instances/" + pos[1] + "/status/", true,
                [](const rapidjson::Value& data) {
                  const auto& st = data[0]["status"];
                  bool failed = st.HasMember("failure_message");
                  std::printf("%s%s%s\n", ForTerminal(st["message"].GetString()).c_str(),
                              failed ? "\t" : "",
                              failed ? ForTerminal(st["failure_message"].GetString()).c_str() : "");
                });
  }
  if (verb == "list") {
    std::string path = "/api/lambda-instances/";
    if (auto it = flags.find("limit"); it != flags.end()) {
      auto n = util::ParseInt(it->second);
      if (!n || *n < 0) return Usage("--limit: a number of instances");
      path += "?limit=" + std::to_string(*n);
    }
    return Show(s, path, false, [](const rapidjson::Value& data) {
      for (const auto& row : data.GetArray()) {
        std::printf("%s\t%s\t%s\n", ForTerminal(row["id"].GetString()).c_str(),
                    ForTerminal(row["name"].GetString()).c_str(),
                    ForTerminal(row["status"]["message"].GetString()).c_str());
      }
    });
  }
  if (verb == "events") {
    return Show(
        s, "/api/lambda-instances/" + pos[1] + "/events/", false, [](const rapidjson::Value& data) {
          for (const auto& e : data.GetArray()) {
            std::printf(
                "%s\t%-18s\tgen %lld\t%s\t%s\n", ForTerminal(e["at"].GetString()).c_str(),
                ForTerminal(e["status"]["message"].GetString()).c_str(),
                static_cast<long long>(e["gen"].GetInt64()),
                ForTerminal(e["worker"].IsString() ? e["worker"].GetString() : "api-shim").c_str(),
                ForTerminal(e["request_id"].GetString()).c_str());
          }
        });
  }
  if (verb == "watch") {
    // Every change until the instance settles (at once if it is settled already).
    int rc = Follow(s, pos[1],
                    [&](domain::InstanceStatus st, const rapidjson::Document& d,
                        const std::string& raw) -> std::optional<int> {
                      if (s.json) {
                        std::printf("%s\n", JsonForTerminal(raw).c_str());
                      } else {
                        std::printf("%s\t%s\n", ForTerminal(d["at"].GetString()).c_str(),
                                    std::string(domain::Info(st).name).c_str());
                      }
                      std::fflush(stdout);
                      if (!domain::IsSettled(st)) return std::nullopt;
                      return st == domain::InstanceStatus::kFailed || domain::IsBuildFailure(st)
                                 ? kFailedStatus
                                 : kReached;
                    });
    if (rc == kTimedOut) std::fprintf(stderr, "lambdactl: timed out watching %s\n", pos[1].c_str());
    return rc;
  }
  return Usage(("unknown verb " + verb).c_str());
}

}  // namespace lambda::ctl
