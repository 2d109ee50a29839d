#pragma once
/// The Redis key layout, in one place. Every key an instance owns carries its id as the hash tag
/// (`{<id>}`), so on Redis Cluster one instance's keys share a slot and a script may touch all
/// of them at once. The outbox index is bucketed by slot: the bucket of an instance is a key in
/// that instance's own slot, so admission and status scripts keep it exact atomically, and the
/// reconciler walks the buckets one by one. Tenant indexes are tagged by tenant; the counters
/// and the seq map are single keys of their own.
#include <cstdint>
#include <string>
#include <string_view>

namespace lambda::redis::keys {

inline constexpr int kSlots = 16384;

/// The Redis Cluster slot of a key (CRC16/XMODEM of its hash tag, or of the whole key).
int SlotOf(std::string_view key);

/// A short string whose slot is `slot` (0..kSlots-1): the hash tag of that slot's bucket.
const std::string& SlotTag(int slot);

std::string Instance(std::string_view prefix, std::string_view id);
std::string History(std::string_view prefix, std::string_view id);
/// The outbox bucket holding `id` (a ZSET of ids by when to look at them next).
std::string PendingOf(std::string_view prefix, std::string_view id);
/// The outbox bucket of `slot`.
std::string PendingBucket(std::string_view prefix, int slot);
/// A tenant's instance ids by seq (creation order), destroyed ones included.
std::string TenantIds(std::string_view prefix, std::string_view tenant);
/// A tenant's not-destroyed instance ids by seq (quota and the Zenlayer Describe pages).
std::string TenantLive(std::string_view prefix, std::string_view tenant);
/// A tenant's instance tags (HASH id -> the tags' stored JSON, domain::TagsJson), in the tenant's
/// slot so one script replaces an instance's tags and their index entries at once.
std::string TenantTags(std::string_view prefix, std::string_view tenant);
/// A tenant's instances tagged `key`=`value` (ZSET id -> seq: creation order), in the tenant's
/// slot: a selector intersects these (SPEC §4.5). The key never holds a colon, so `key=value`
/// after it is unambiguous.
std::string TenantTagIndex(std::string_view prefix, std::string_view tenant, std::string_view key,
                           std::string_view value);
/// A tenant's quotas and limits (HASH, domain/tenant_limits.h fields), in the tenant's slot so
/// that index_create.lua reads max_instances in the step that counts the live instances.
std::string TenantLimits(std::string_view prefix, std::string_view tenant);
std::string SeqCounter(std::string_view prefix);  ///< INCR: the next instance seq
std::string SeqMap(std::string_view prefix);      ///< HASH seq -> id (the legacy routes)
std::string ReconcilerLease(std::string_view prefix);
/// An access key pair (SPEC §3): HASH tenant, name, created_at, secret (sealed, crypto/sealed.h).
std::string AccessKey(std::string_view prefix, std::string_view id);
/// A tenant's access key ids (SET), for `lambdactl accesskey list`.
std::string TenantAccessKeys(std::string_view prefix, std::string_view tenant);
/// An API key (SPEC §3), by the SHA-256 (hex) of the key: HASH tenant, hash, created_at, and
/// for keys made since scopes exist name, scope, expires_at (ms; absent: never), last_used.
std::string ApiKey(std::string_view prefix, std::string_view hash);
/// A tenant's API key hashes (SET), for `lambdactl apikey list`; keys made before it are not in it.
std::string TenantApiKeys(std::string_view prefix, std::string_view tenant);
/// A tenant's audit trail (SPEC §4.5): a STREAM of its admitted actions, capped (`XADD MAXLEN ~`).
std::string TenantAudit(std::string_view prefix, std::string_view tenant);
/// A ZC2-HMAC-SHA256 signature accepted within its timestamp window: the digest of the request
/// it was accepted for (a STRING with a TTL covering the window), so it is not replayed on another.
std::string SeenSignature(std::string_view prefix, std::string_view signature);

/// An `Idempotency-Key` record of a tenant (`key_hash`: the key's SHA-256, hex): a STRING with a
/// TTL. A tenant's records, their index and their sizes share a slot (tagged by tenant), so one
/// script keeps a record and bounds them all.
std::string IdempotencyRecord(std::string_view prefix, std::string_view tenant,
                              std::string_view key_hash);
/// What IdempotencyRecord puts before `key_hash` (the keep script builds evicted records' keys).
std::string IdempotencyRecordPrefix(std::string_view prefix, std::string_view tenant);
/// A tenant's kept records by when they were kept (ZSET key_hash -> ms): the oldest go first.
std::string IdempotencyIndex(std::string_view prefix, std::string_view tenant);
/// The bytes charged for each of a tenant's kept records, and their sum under "#" (HASH).
std::string IdempotencyBytes(std::string_view prefix, std::string_view tenant);

/// Whether `prefix` can prefix keys: a brace in it would make the prefix the hash tag of every
/// key and put the whole store in one slot.
bool IsValidPrefix(std::string_view prefix);

}  // namespace lambda::redis::keys
