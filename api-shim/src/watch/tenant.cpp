// The hub's tenant-wide streams (SPEC §4.4): live fan-out with a cursor id on every frame, and
// the resume that a reconnect's Last-Event-ID (or a re-subscription) asks for. Why the id is a
// cursor over the instances' own histories: docs/architecture.md, "Watching".
#include <utility>

#include "lambda/log/log.h"
#include "lambda/redis/keys.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "watch/hub.h"

namespace lambda::watch {
namespace {
constexpr std::string_view kResyncFrame = "event: resync\ndata: {}\n\n";
}  // namespace

/// One resume in progress: the tenant's instances, read a window at a time.
struct Hub::Replay {
  uint64_t token = 0;
  TenantCursor from;
  std::vector<std::string> ids;
  size_t next = 0;
  size_t outstanding = 0;
  std::vector<InstanceTail> tails;
  size_t collected = 0;    ///< entries in `tails`: past replay_max no more reads, a reset
  uint64_t newest_ms = 0;  ///< the newest entry's millisecond seen (the reset's id)
  std::string failed;      ///< why a read failed (then the resume is a reset)
  bool finished = false;   ///< FinishReplay ran (a read may answer inside EvalSha itself)
};

void Hub::AddTenantStream(const std::string& tenant, const std::shared_ptr<http::Stream>& stream,
                          std::optional<TenantCursor> from, WatchOwner owner) {
  std::string why = Refusal();
  if (why.empty() && TenantFull(owner)) why = "the tenant's watches are at its cap";
  if (!why.empty()) {
    log::Warn("tenant stream refused", {{"reason", why}});
    stream->End();
    return;
  }
  uint64_t token = next_token_++;
  Hold(token, std::move(owner));
  TenantStreamer& s = tenant_streams_[token];
  s.tenant = tenant;
  s.stream = stream;
  stream->OnEnd([this, token, alive = alive_] {
    if (!*alive) return;
    tenant_streams_.erase(token);
    Release(token);
  });
  // Live from here (held while a resume reads): a client lists after this line and misses
  // nothing.
  if (tenant_streams_.count(token) == 0 || !stream->Send(": subscribed\n\n")) return;
  if (!from) return;
  if (auto it = tenant_streams_.find(token); it != tenant_streams_.end()) {
    it->second.cursor = *from;
    StartReplay(token);
  }
}

void Hub::FanOutToTenant(const Notification& n) {
  if (!n.owner.empty()) return SendToTenant(n.owner, n);
  // A message from a script of an older release names no owner.
  if (auto it = owners_.find(n.instance_id); it != owners_.end()) {
    return SendToTenant(it->second, n);
  }
  commands_->Command({"HGET", redis::keys::Instance(prefix_, n.instance_id), "owner"},
                     [this, n, alive = alive_](const Result<redis::Value>& r) {
                       if (!*alive || !r || r->is_error() || r->is_nil()) return;
                       if (owners_.size() >= limits_.owner_cache) owners_.clear();
                       owners_[n.instance_id] = r->str;
                       SendToTenant(r->str, n);
                     });
}

void Hub::SendToTenant(const std::string& owner, const Notification& n) {
  std::vector<uint64_t> to;
  for (const auto& [token, s] : tenant_streams_) {
    if (s.tenant == owner) to.push_back(token);
  }
  for (uint64_t t : to) DeliverTenant(t, n);  // a Send may end (erase) a stream
}

void Hub::DeliverTenant(uint64_t token, const Notification& n) {
  auto it = tenant_streams_.find(token);
  if (it == tenant_streams_.end()) return;
  TenantStreamer& s = it->second;
  if (s.replaying) {
    // Bounded: a resume that falls this far behind ends in a reset anyway.
    if (s.held.size() < limits_.replay_max * 4 + 1024) {
      s.held.push_back(n);
    } else {
      s.held_lost = true;
    }
    return;
  }
  std::string id;
  if (auto e = ParseEntryId(n.entry_id)) {
    if (auto r = s.replayed.find(n.instance_id); r != s.replayed.end() && *e <= r->second) {
      return;  // the resume sent it already
    }
    // A change older than the cursor's millisecond (another node's slower clock) is sent without
    // moving it.
    s.cursor.Advance(n.instance_id, *e);
    id = s.cursor.Text();
  }
  auto stream = s.stream;
  stream->Send(TenantFrame(n, id));
}

void Hub::StartReplay(uint64_t token) {
  auto it = tenant_streams_.find(token);
  if (it == tenant_streams_.end()) return;
  it->second.replaying = true;
  auto r = std::make_shared<Replay>();
  r->token = token;
  r->from = it->second.cursor;
  commands_->Command({"ZRANGE", redis::keys::TenantIds(prefix_, it->second.tenant), "0", "-1"},
                     [this, r, alive = alive_](const Result<redis::Value>& v) {
                       if (!*alive || tenant_streams_.count(r->token) == 0) return;
                       if (!v || v->is_error()) {
                         r->failed = v ? v->str : v.error().message;
                         r->finished = true;
                         return FinishReplay(r);
                       }
                       r->ids.reserve(v->elements.size());
                       for (const auto& e : v->elements) r->ids.push_back(e.str);
                       ReadTails(r);
                     });
}

void Hub::ReadTails(const std::shared_ptr<Replay>& r) {
  if (tenant_streams_.count(r->token) == 0) return;  // the client left: reads end here
  // Past replay_max entries the answer is a reset whatever the rest holds: no more reads, and
  // each read asks only for what could still fit, so a resume holds at most about that many.
  while (r->failed.empty() && r->collected <= limits_.replay_max &&
         r->outstanding < limits_.replay_reads && r->next < r->ids.size()) {
    const std::string& id = r->ids[r->next++];
    ++r->outstanding;
    const redis::args::HistoryTail call{prefix_, id, r->from.StartFor(id).Text(),
                                        limits_.replay_max + 1 - r->collected};
    commands_->EvalSha(
        redis::scripts::HistoryTail(), call.Keys(), call.Argv(),
        [this, r, id, alive = alive_](const Result<redis::Value>& v) {
          if (!*alive) return;
          --r->outstanding;
          if (!v || v->is_error() || v->elements.size() != 2) {
            if (r->failed.empty()) r->failed = !v ? v.error().message : v->str;
          } else if (auto entries = EntriesFromReply(v->elements[1]); !entries.empty()) {
            r->collected += entries.size();
            for (const auto& e : entries) {
              if (auto eid = ParseEntryId(e.entry_id))
                r->newest_ms = std::max(r->newest_ms, eid->ms);
            }
            r->tails.push_back(
                InstanceTail{id, std::move(entries), ParseEntryId(v->elements[0].str)});
          }
          ReadTails(r);
        });
  }
  // Nothing in flight: every read has answered, or none was needed (a tenant with no
  // instances), or the rest is not worth reading.
  if (r->outstanding == 0 && !std::exchange(r->finished, true)) FinishReplay(r);
}

void Hub::FinishReplay(const std::shared_ptr<Replay>& r) {
  auto it = tenant_streams_.find(r->token);
  if (it == tenant_streams_.end()) return;
  ResumePlan plan;
  if (!r->failed.empty()) {
    plan.reset = true;
    plan.reason = "the history could not be read (" + r->failed + ")";
  } else if (it->second.held_lost) {
    plan.reset = true;
    plan.reason = "more changes came during the resume than it holds";
  } else {
    plan = PlanResume(r->from, r->tails, limits_.replay_max);
  }
  const uint64_t token = r->token;
  auto stream = it->second.stream;
  const std::string tenant = it->second.tenant;
  if (plan.reset) {
    log::Info("tenant stream reset", {{"reason", plan.reason}});
    // The reset carries an id: the newest millisecond the resume saw (read or held). The client
    // lists again after it, so a reconnect from there loses nothing, and does not reset again
    // for the same old id. With nothing seen it carries none, as before.
    uint64_t newest = r->newest_ms;
    for (const auto& n : it->second.held) {
      if (auto e = ParseEntryId(n.entry_id)) newest = std::max(newest, e->ms);
    }
    std::string reset_id;
    it->second.cursor = TenantCursor{};
    if (newest > 0) {
      if (auto at = TenantCursor::Parse(std::to_string(newest))) {
        it->second.cursor = *at;
        reset_id = at->Text();
      }
    }
    it->second.replayed.clear();
    // What came live during the reads was written before the reset goes out, so the list the
    // client makes after it shows that already: sent after the list, it could only be stale.
    it->second.held.clear();
    if (!stream->Send(ResetFrame(plan.reason, reset_id))) return;
  }
  for (const auto& [instance, e] : plan.events) {
    it = tenant_streams_.find(token);
    if (it == tenant_streams_.end()) return;
    TenantStreamer& s = it->second;
    Notification n{instance, domain::CodeOf(e.status), e.gen, e.entry_id, tenant};
    auto id = ParseEntryId(e.entry_id);  // PlanResume kept only entries with an id
    s.replayed[instance] = *id;
    s.cursor.Advance(instance, *id);
    if (!stream->Send(TenantFrame(n, s.cursor.Text()))) return;
  }
  it = tenant_streams_.find(token);
  if (it == tenant_streams_.end()) return;
  it->second.replaying = false;
  it->second.held_lost = false;
  auto held = std::move(it->second.held);
  it->second.held.clear();
  const bool again = std::exchange(it->second.again, false);
  for (const auto& n : held) DeliverTenant(token, n);
  // The subscription came back during the resume: what it missed may be after the reads.
  if (again && tenant_streams_.count(token) != 0) {
    if (tenant_streams_[token].cursor.resumable()) return StartReplay(token);
    stream->Send(kResyncFrame);
  }
}

void Hub::CatchUpTenants() {
  std::vector<uint64_t> tokens;
  for (const auto& [token, s] : tenant_streams_) tokens.push_back(token);
  for (uint64_t t : tokens) {
    auto it = tenant_streams_.find(t);
    if (it == tenant_streams_.end()) continue;
    if (it->second.replaying) {
      it->second.again = true;
    } else if (it->second.cursor.resumable()) {
      StartReplay(t);  // what was written while the channel was down, from the histories
    } else {
      // Nothing sent yet (no cursor): its client lists again.
      auto stream = it->second.stream;
      stream->Send(kResyncFrame);
    }
  }
}

}  // namespace lambda::watch
