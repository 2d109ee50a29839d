// SPEC §4.4: waiting for a status and the history of an instance, as JSON or Server-Sent Events.
// The watchers themselves (the subscription, fan-out, heartbeats, bounds) are watch::Hub's.
#include <algorithm>

#include "core.h"
#include "lambda/util/util.h"
#include "routes/body.h"
#include "routes/shape.h"
#include "watch/cursor.h"
#include "watch/events.h"

namespace lambda::shim {
namespace {

constexpr std::string_view kNotFound = "The specified lambda instance doesn't exist.";
constexpr uint64_t kDefaultWaitSeconds = 30;

void Error(Core& core, Call& call, int status, std::string_view detail) {
  core.Reply(call, status, routes::ErrorBody(status, detail));
}

/// The tenant and key a watch of `call` is held for.
watch::WatchOwner OwnerOf(const Call& call) {
  return {call.tenant, routes::ExtractApiKey(call.req),
          static_cast<size_t>(std::max<int64_t>(0, call.limits.max_watchers))};
}

/// A watch refused by the tenant's cap (429) or by the hub itself (503).
void ReplyRefused(Core& core, Call& call) {
  if (core.watchers().TenantFull(OwnerOf(call))) {
    return core.ReplyLimited(call,
                             QuotaRefusal(LimitRefusal::Kind::kWatchers, call.limits.max_watchers));
  }
  core.ReplyBusy(call, core.watchers().Refusal());
}

bool Wanted(const std::vector<domain::InstanceStatus>& wanted, domain::InstanceStatus s) {
  return std::find(wanted.begin(), wanted.end(), s) != wanted.end();
}

/// One held status request: registered with the hub before the first read (so no change falls
/// between the read and the wait), then woken by it. A wake after a re-subscription is only a
/// "look again": when the status is not there yet, it registers again for the time left.
class StatusWait : public std::enable_shared_from_this<StatusWait> {
 public:
  StatusWait(Core& core, std::shared_ptr<Call> call, std::vector<domain::InstanceStatus> wanted,
             uint64_t deadline_ms)
      : core_(core),
        call_(std::move(call)),
        wanted_(std::move(wanted)),
        deadline_ms_(deadline_ms) {}

  void Begin() {
    if (!Register()) return ReplyRefused(core_, *call_);
    if (call_->req.on_client_gone) {
      std::weak_ptr<StatusWait> weak = weak_from_this();
      call_->req.on_client_gone([weak] {
        if (auto self = weak.lock()) self->Finish();  // nobody to answer: give the slot back
      });
    }
    Read(/*final_answer=*/false);
  }

 private:
  uint64_t Left() const {
    auto now = static_cast<uint64_t>(util::NowMs());
    return now >= deadline_ms_ ? 0 : deadline_ms_ - now;
  }

  bool Register() {
    auto self = shared_from_this();
    auto t = core_.watchers().AddWaiter(
        call_->match.id, wanted_, Left(),
        [self](watch::Wake why) {
          self->registered_ = false;  // every wake ends the waiter
          if (self->answered_) return;
          if (why == watch::Wake::kRevoked) {
            self->answered_ = true;
            return self->core_.ReplyUnauthorized(*self->call_);
          }
          self->Read(why != watch::Wake::kRecheck);
        },
        OwnerOf(*call_));
    if (!t) return false;
    token_ = *t;
    registered_ = true;
    return true;
  }

  void Finish() {
    answered_ = true;
    if (registered_) core_.watchers().Cancel(token_);
    registered_ = false;
  }

  void Answer(const routes::InstanceRecord& r, bool reached) {
    Finish();
    core_.Reply(*call_, 200, routes::DetailsBody(r, routes::DetailsFilter::kStatus),
                {{"X-Wait-Reached", reached ? "true" : "false"}});
  }

  /// Answers when the status is wanted, or `final_answer`, or the time is up; else waits on.
  void Read(bool final_answer) {
    auto self = shared_from_this();
    core_.Read(
        call_, call_->match.id,
        [self, final_answer](Result<std::optional<routes::InstanceRecord>> r) {
          if (self->answered_) return;
          if (!r) {
            self->Finish();
            return self->core_.ReplyUnavailable(*self->call_, r.error().message);
          }
          if (!*r) {
            self->Finish();
            return Error(self->core_, *self->call_, 404, kNotFound);
          }
          bool reached = Wanted(self->wanted_, (*r)->status);
          if (reached || final_answer || self->Left() == 0) return self->Answer(**r, reached);
          if (!self->registered_ && !self->Register()) self->Answer(**r, false);
        },
        /*status_only=*/true);
  }

  Core& core_;
  std::shared_ptr<Call> call_;
  std::vector<domain::InstanceStatus> wanted_;
  uint64_t deadline_ms_;
  uint64_t token_ = 0;
  bool registered_ = false;
  bool answered_ = false;
};

}  // namespace

namespace dialects {

void WaitForStatus(Core& core, const std::shared_ptr<Call>& call) {
  std::string text;
  call->req.QueryParam("wait_for", &text);
  auto wanted = watch::ParseWaitFor(text);
  if (!wanted) return Error(core, *call, 400, wanted.error().message);
  uint64_t seconds = kDefaultWaitSeconds;
  if (std::string t; call->req.QueryParam("timeout", &t)) {
    auto parsed = watch::ParseTimeoutSeconds(t);
    if (!parsed) return Error(core, *call, 400, parsed.error().message);
    seconds = *parsed;
  }
  auto wait = std::make_shared<StatusWait>(core, call, std::move(*wanted),
                                           static_cast<uint64_t>(util::NowMs()) + seconds * 1000);
  wait->Begin();
}

void Events(Core& core, const std::shared_ptr<Call>& call) {
  std::string since;
  bool has_since = call->req.QueryParam("since", &since);
  if (has_since && !watch::IsEntryId(since)) {
    return Error(core, *call, 400, "since: not an event id (an event_id such as 1712345678901-0)");
  }
  const auto* accept = call->req.Header("accept");
  const bool sse = accept != nullptr && accept->find("text/event-stream") != std::string::npos;
  // Last-Event-ID is what a reconnecting EventSource sends: it resumes after that event.
  std::string after = has_since ? since : std::string();
  if (const auto* last = call->req.Header("last-event-id"); sse && last && !last->empty()) {
    if (!watch::IsEntryId(*last)) {
      return Error(core, *call, 400,
                   "Last-Event-ID: not an event id of this stream (an event_id such as "
                   "1712345678901-0)");
    }
    after = *last;
  }
  core.Read(
      call, call->match.id,
      [&core, call, sse, after, has_since](Result<std::optional<routes::InstanceRecord>> r) {
        if (!r) return core.ReplyUnavailable(*call, r.error().message);
        if (!*r) return Error(core, *call, 404, kNotFound);
        if (sse) {
          if (!core.watchers().Refusal().empty() || core.watchers().TenantFull(OwnerOf(*call))) {
            return ReplyRefused(core, *call);
          }
          http::Response res;
          res.status = 200;
          res.content_type = "text/event-stream";
          res.headers.emplace_back("X-Request-Id", call->request_id);
          const std::string id = call->match.id;
          res.on_stream = [&core, id, after,
                           owner = OwnerOf(*call)](std::shared_ptr<http::Stream> stream) {
            core.watchers().AddStream(id, after, std::move(stream), owner);
          };
          return call->respond(std::move(res));
        }
        auto list = [&core, call](const std::string& from) {
          core.ReadHistory(
              call->match.id, false, {from, "+"}, [&core, call](Result<redis::Value> h) {
                if (!h || h->is_error()) {
                  return core.ReplyUnavailable(*call, h ? h->str : h.error().message);
                }
                core.Reply(*call, 200,
                           watch::HistoryBody(call->match.id, watch::EntriesFromReply(*h)));
              });
        };
        if (!has_since) return list("-");
        // `since` must name an event still in the history: a client must not take a trimmed or
        // mistyped id for "nothing happened".
        core.ReadHistory(call->match.id, false, {after, after},
                         [&core, call, list, after](Result<redis::Value> h) {
                           if (!h || h->is_error()) {
                             return core.ReplyUnavailable(*call, h ? h->str : h.error().message);
                           }
                           if (h->elements.empty()) {
                             return Error(core, *call, 400,
                                          "since: no such event in this instance's history "
                                          "(unknown, or trimmed: read the history without since)");
                           }
                           list("(" + after);
                         });
      },
      /*status_only=*/true);
}

void TenantEvents(Core& core, const std::shared_ptr<Call>& call) {
  const auto* accept = call->req.Header("accept");
  if (accept == nullptr || accept->find("text/event-stream") == std::string::npos) {
    return Error(core, *call, 406,
                 "This route streams Server-Sent Events: send Accept: text/event-stream.");
  }
  // A reconnecting EventSource sends the last id it saw: the stream resumes after it.
  std::optional<watch::TenantCursor> from;
  if (const auto* last = call->req.Header("last-event-id"); last && !last->empty()) {
    auto cursor = watch::TenantCursor::Parse(*last);
    if (!cursor) return Error(core, *call, 400, cursor.error().message);
    from = std::move(*cursor);
  }
  if (!core.watchers().Refusal().empty() || core.watchers().TenantFull(OwnerOf(*call))) {
    return ReplyRefused(core, *call);
  }
  http::Response res;
  res.status = 200;
  res.content_type = "text/event-stream";
  res.headers.emplace_back("X-Request-Id", call->request_id);
  res.on_stream = [&core, tenant = call->tenant, from = std::move(from),
                   owner = OwnerOf(*call)](const std::shared_ptr<http::Stream>& stream) {
    core.watchers().AddTenantStream(tenant, stream, from, owner);
  };
  call->respond(std::move(res));
}

}  // namespace dialects
}  // namespace lambda::shim
