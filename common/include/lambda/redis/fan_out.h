#pragma once
/// Calls that must go to several slots at once (an index and the instances it names, a batch of
/// instances): each runs on its own, and one callback gets every answer in call order.
/// Thread: loop only.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "lambda/redis/async_client.h"

namespace lambda::redis {

/// Starts `n` calls (`start(i, cb)` makes call i, which answers through `cb` exactly once);
/// `done` runs once, after the last answer, with all of them in order. `n` 0 answers at once.
void All(size_t n, const std::function<void(size_t, Callback)>& start,
         std::function<void(std::vector<Result<Value>>)> done);

/// HMGET of `fields` on each key, at once: `done` gets one array per key (nil fields for a
/// missing key), or the first error.
void HmgetEach(Client& redis, const std::vector<std::string>& keys,
               const std::vector<std::string>& fields,
               std::function<void(Result<std::vector<Value>>)> done);

/// Takes an undone create out of its tenant's indexes and the seq map (they are in other slots
/// than the instance, so undo_admission.lua leaves them). A failure leaves an entry with no
/// instance behind, which readers skip; it is logged. `done`, if given, runs after every
/// answer, so that a caller answers its client only once the entries are gone.
void Unindex(Client& redis, const std::string& prefix, const std::string& tenant,
             const std::string& id, const std::string& seq, std::function<void()> done = {});

/// A destroyed instance leaves its tenant's live index (quota, Describe pages).
void RemoveLive(Client& redis, const std::string& prefix, const std::string& tenant,
                const std::string& id);

}  // namespace lambda::redis
