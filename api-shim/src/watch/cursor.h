#pragma once
/// The tenant-wide stream's event ids (SPEC §4.4), the pure part: a cursor composed from the
/// instances' own history entry ids, its text form, and the decision a resume takes. No I/O.
///
/// A status change is the entry `<ms>-<seq>` its write appended to its instance's history. On
/// one Redis node the writes (atomic scripts) publish in the order they run and their entry ids
/// do not go down from one to the next, except between streams written in the same millisecond
/// (each stream numbers its own `seq`). So the changes a tenant stream has sent are exactly:
/// every change of a millisecond before `ms`, and of `ms` itself, the entries up to `seq` of the
/// instances named in `ties`. That is the cursor; its text is the SSE `id:`.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lambda/result.h"
#include "watch/events.h"

namespace lambda::watch {

/// A history entry id, `<ms>-<seq>`, ordered as Redis orders them.
struct EntryId {
  uint64_t ms = 0;
  uint64_t seq = 0;
  friend bool operator==(const EntryId& a, const EntryId& b) {
    return a.ms == b.ms && a.seq == b.seq;
  }
  friend bool operator!=(const EntryId& a, const EntryId& b) { return !(a == b); }
  friend bool operator<(const EntryId& a, const EntryId& b) {
    return a.ms != b.ms ? a.ms < b.ms : a.seq < b.seq;
  }
  friend bool operator>(const EntryId& a, const EntryId& b) { return b < a; }
  friend bool operator<=(const EntryId& a, const EntryId& b) { return !(b < a); }
  std::string Text() const { return std::to_string(ms) + "-" + std::to_string(seq); }
};
std::optional<EntryId> ParseEntryId(std::string_view text);

/// Instances of one millisecond an id names at most; past it the id says "cannot resume".
inline constexpr size_t kMaxCursorTies = 16;

class TenantCursor {
 public:
  /// `<ms>`, `<ms>.<instance>:<seq>[.<instance>:<seq>…]` (instances sorted, at most
  /// kMaxCursorTies), or `<ms>.*` (more changes in that millisecond than an id names).
  static Result<TenantCursor> Parse(std::string_view text);
  std::string Text() const;

  /// Whether any change was sent yet (a stream opened without Last-Event-ID has none).
  bool empty() const { return !set_; }
  /// Whether a resume from here can be exact (not an overflowed id).
  bool resumable() const { return set_ && !overflow_; }

  /// Counts `entry` of `instance` as sent. False when it is older than the cursor's millisecond
  /// (a change written on another node with a slower clock): the cursor stays as it was.
  bool Advance(std::string_view instance, EntryId entry);
  /// The first entry of `instance`'s history that a resume from here must send (inclusive).
  EntryId StartFor(std::string_view instance) const;

 private:
  bool set_ = false;
  bool overflow_ = false;
  uint64_t ms_ = 0;
  std::map<std::string, uint64_t, std::less<>> ties_;
};

/// What one instance's history holds from the cursor's start for it on (history_tail.lua).
struct InstanceTail {
  std::string instance_id;
  std::vector<HistoryEntry> entries;
  /// The first retained entry when older ones were trimmed away, else none.
  std::optional<EntryId> trimmed_before;
};

/// A resume's answer: every change after the cursor, oldest first (by entry id, then instance),
/// or a reset (with why) when that cannot be exact.
struct ResumePlan {
  bool reset = false;
  std::string reason;
  std::vector<std::pair<std::string, HistoryEntry>> events;  ///< (instance id, entry)
};
/// `cap`: the most changes a resume sends; more is a reset (the client relists).
ResumePlan PlanResume(const TenantCursor& from, const std::vector<InstanceTail>& tails, size_t cap);

}  // namespace lambda::watch
