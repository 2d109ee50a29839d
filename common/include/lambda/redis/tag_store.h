#pragma once
/// Instance tags and the selection of a tenant's instances by selector (SPEC §4.5), over the tag
/// indexes in the tenant's slot: the list filter uses it, and anything acting on a selection (bulk
/// operations) pages through it the same way.
/// Thread: loop only.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lambda/domain/tags.h"
#include "lambda/redis/async_client.h"

namespace lambda::redis {

struct SelectedPage {
  std::vector<std::string> ids;  ///< matching, in creation order
  std::vector<int64_t> seqs;     ///< each id's seq
  int64_t next = 0;              ///< the cursor to go on from
  bool end = true;               ///< nothing after `next`
};

/// Entries of the smallest index one call walks at most (bounds one script's run).
inline constexpr size_t kSelectBudget = 4096;

/// One page of `tenant`'s instances matching `selector`, in creation order after seq `after` (0:
/// from the start), at most `count` ids. The tag conditions are answered by select.lua from the
/// tenant's tag indexes (smallest first, in the tenant's slot); a status condition is then checked
/// on each candidate's own hash (its own slot), which also drops candidates whose instance is gone.
/// Without a status condition the ids come from the indexes alone, and readers skip an id whose
/// instance is gone (an undone create), as for the tenant's index. A page may hold fewer than
/// `count` ids, even none, before the end: go on from `next` until `end`. `done` runs once.
void SelectIds(Client& redis, const std::string& prefix, const std::string& tenant,
               const domain::Selector& selector, int64_t after, size_t count,
               std::function<void(Result<SelectedPage>)> done);

/// Every match, in creation order, paging through SelectIds; at most `max` (then an error).
void SelectAll(Client& redis, const std::string& prefix, const std::string& tenant,
               const domain::Selector& selector, size_t max,
               std::function<void(Result<std::vector<std::string>>)> done);

/// The tags of each of `ids` (in the tenant's tags hash), in order; none for an id without.
void ReadTags(Client& redis, const std::string& prefix, const std::string& tenant,
              const std::vector<std::string>& ids,
              std::function<void(Result<std::vector<domain::Tags>>)> done);

/// Replaces `id`'s tags with `tags` and moves its index entries, atomically (tags_replace.lua,
/// one slot). The script replaces only the tags it was told to expect (their index keys must be
/// its KEYS), so a replace that races another is tried again with what it found, a few times.
/// `done` gets false when the id is not in the tenant's index (the caller checked the owner).
void ReplaceTags(Client& redis, const std::string& prefix, const std::string& tenant,
                 const std::string& id, const domain::Tags& tags,
                 std::function<void(Result<bool>)> done);

}  // namespace lambda::redis
