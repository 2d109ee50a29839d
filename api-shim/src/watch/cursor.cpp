#include "watch/cursor.h"

#include <algorithm>

namespace lambda::watch {
namespace {

std::optional<uint64_t> Digits(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

/// What an id can name: the characters of our instance ids (UUIDs, seeded names), no separator.
bool Nameable(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '_';
  });
}

Error Malformed(std::string_view why) {
  return Error{Code::kInvalidArgument,
               "Last-Event-ID: not an event id of this stream (" + std::string(why) + ")"};
}

}  // namespace

std::optional<EntryId> ParseEntryId(std::string_view text) {
  auto dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto ms = Digits(text.substr(0, dash));
  auto seq = Digits(text.substr(dash + 1));
  if (!ms || !seq) return std::nullopt;
  return EntryId{*ms, *seq};
}

Result<TenantCursor> TenantCursor::Parse(std::string_view text) {
  TenantCursor c;
  auto dot = text.find('.');
  auto ms = Digits(text.substr(0, dot));
  if (!ms) return Malformed("it starts with a millisecond count");
  c.set_ = true;
  c.ms_ = *ms;
  if (dot == std::string_view::npos) return c;
  std::string_view rest = text.substr(dot + 1);
  if (rest == "*") {
    c.overflow_ = true;
    return c;
  }
  while (true) {
    auto next = rest.find('.');
    std::string_view item = rest.substr(0, next);
    auto colon = item.rfind(':');
    if (colon == std::string_view::npos) return Malformed("instance:seq expected after a dot");
    std::string_view instance = item.substr(0, colon);
    auto seq = Digits(item.substr(colon + 1));
    if (!Nameable(instance) || !seq) return Malformed("instance:seq expected after a dot");
    if (!c.ties_.emplace(std::string(instance), *seq).second) {
      return Malformed("an instance named twice");
    }
    if (c.ties_.size() > kMaxCursorTies) return Malformed("too many instances");
    if (next == std::string_view::npos) break;
    rest = rest.substr(next + 1);
  }
  return c;
}

std::string TenantCursor::Text() const {
  std::string out = std::to_string(ms_);
  if (overflow_) return out + ".*";
  for (const auto& [instance, seq] : ties_) {
    out += '.';
    out += instance;
    out += ':';
    out += std::to_string(seq);
  }
  return out;
}

bool TenantCursor::Advance(std::string_view instance, EntryId entry) {
  if (set_ && entry.ms < ms_) return false;
  if (!set_ || entry.ms > ms_) {
    set_ = true;
    ms_ = entry.ms;
    overflow_ = false;
    ties_.clear();
  }
  if (overflow_) return true;
  if (auto it = ties_.find(instance); it != ties_.end()) {
    it->second = std::max(it->second, entry.seq);
    return true;
  }
  if (ties_.size() >= kMaxCursorTies || !Nameable(instance)) {
    overflow_ = true;
    ties_.clear();
    return true;
  }
  ties_.emplace(std::string(instance), entry.seq);
  return true;
}

EntryId TenantCursor::StartFor(std::string_view instance) const {
  if (auto it = ties_.find(instance); it != ties_.end()) return EntryId{ms_, it->second + 1};
  return EntryId{ms_, 0};
}

ResumePlan PlanResume(const TenantCursor& from, const std::vector<InstanceTail>& tails,
                      size_t cap) {
  ResumePlan plan;
  auto reset = [&plan](std::string why) {
    plan.reset = true;
    plan.reason = std::move(why);
    plan.events.clear();
    return plan;
  };
  if (!from.resumable()) {
    return reset("this id cannot be resumed from (too many changes in its millisecond)");
  }
  struct Keyed {
    EntryId id;
    const std::string* instance;
    const HistoryEntry* entry;
  };
  std::vector<Keyed> all;
  for (const auto& tail : tails) {
    const EntryId start = from.StartFor(tail.instance_id);
    // Trimming removes the oldest first: what is gone is older than the first entry kept.
    if (tail.trimmed_before && *tail.trimmed_before > start) {
      return reset("changes after this id were trimmed from an instance's history");
    }
    for (const auto& e : tail.entries) {
      auto id = ParseEntryId(e.entry_id);
      if (!id || *id < start) continue;
      all.push_back(Keyed{*id, &tail.instance_id, &e});
      if (all.size() > cap) {
        return reset("more than " + std::to_string(cap) + " changes were missed");
      }
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const Keyed& a, const Keyed& b) {
    return a.id != b.id ? a.id < b.id : *a.instance < *b.instance;
  });
  plan.events.reserve(all.size());
  for (const auto& k : all) plan.events.emplace_back(*k.instance, *k.entry);
  return plan;
}

}  // namespace lambda::watch
