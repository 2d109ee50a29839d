#include "lambda/redis/keys.h"

#include <array>
#include <vector>

namespace lambda::redis::keys {

namespace {

// Redis Cluster's key hash (CRC16/XMODEM, polynomial 0x1021). Nothing Debian packages for C++
// exports it (hiredis 0.14 has no cluster support), and it is a dozen lines.
// A byte at a time from a table built at compile time: the bit-at-a-time loop was ~1.5k
// instructions per UUID key, hashed for every admission, claim and status write.
constexpr std::array<uint16_t, 256> kCrc16Table = [] {
  std::array<uint16_t, 256> t{};
  for (unsigned b = 0; b < 256; ++b) {
    auto crc = static_cast<uint16_t>(b << 8);
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<uint16_t>(crc << 1);
    }
    t[b] = crc;
  }
  return t;
}();

uint16_t Crc16(std::string_view s) {
  uint16_t crc = 0;
  for (unsigned char c : s) {
    crc = static_cast<uint16_t>((crc << 8) ^ kCrc16Table[((crc >> 8) ^ c) & 0xff]);
  }
  return crc;
}

std::string Tagged(std::string_view prefix, std::string_view kind, std::string_view tag) {
  std::string k;
  k.reserve(prefix.size() + kind.size() + tag.size() + 2);
  k.append(prefix).append(kind).append("{").append(tag).append("}");
  return k;
}

}  // namespace

int SlotOf(std::string_view key) {
  // The hash tag is what lies between the first '{' and the next '}', if not empty.
  if (auto open = key.find('{'); open != std::string_view::npos) {
    if (auto close = key.find('}', open + 1); close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16(key) % kSlots;
}

const std::string& SlotTag(int slot) {
  // The first decimal number of each slot, found once: ~170k hashes, a millisecond or two.
  static const std::vector<std::string> tags = [] {
    std::vector<std::string> t(kSlots);
    int left = kSlots;
    for (uint64_t n = 0; left > 0; ++n) {
      std::string s = std::to_string(n);
      auto& slot_tag = t[Crc16(s) % kSlots];
      if (slot_tag.empty()) {
        slot_tag = std::move(s);
        --left;
      }
    }
    return t;
  }();
  return tags[static_cast<size_t>(slot) % kSlots];
}

std::string Instance(std::string_view prefix, std::string_view id) {
  return Tagged(prefix, "i:", id);
}
std::string History(std::string_view prefix, std::string_view id) {
  return Tagged(prefix, "h:", id);
}
std::string PendingOf(std::string_view prefix, std::string_view id) {
  return PendingBucket(prefix, SlotOf(Instance(prefix, id)));
}
std::string PendingBucket(std::string_view prefix, int slot) {
  return Tagged(prefix, "pending:", SlotTag(slot));
}
std::string TenantIds(std::string_view prefix, std::string_view tenant) {
  return Tagged(prefix, "t:", tenant) + ":ids";
}
std::string TenantLive(std::string_view prefix, std::string_view tenant) {
  return Tagged(prefix, "t:", tenant) + ":live";
}
std::string TenantTags(std::string_view prefix, std::string_view tenant) {
  return Tagged(prefix, "t:", tenant) + ":tags";
}
std::string TenantTagIndex(std::string_view prefix, std::string_view tenant, std::string_view key,
                           std::string_view value) {
  std::string k = Tagged(prefix, "t:", tenant);
  k.append(":tag:").append(key).append("=").append(value);
  return k;
}
std::string IdempotencyRecordPrefix(std::string_view prefix, std::string_view tenant) {
  return Tagged(prefix, "idem:", tenant) + ":";
}
std::string IdempotencyRecord(std::string_view prefix, std::string_view tenant,
                              std::string_view key_hash) {
  return IdempotencyRecordPrefix(prefix, tenant) + std::string(key_hash);
}
std::string IdempotencyIndex(std::string_view prefix, std::string_view tenant) {
  return Tagged(prefix, "idem-index:", tenant);
}
std::string IdempotencyBytes(std::string_view prefix, std::string_view tenant) {
  return Tagged(prefix, "idem-bytes:", tenant);
}
std::string TenantLimits(std::string_view prefix, std::string_view tenant) {
  return Tagged(prefix, "t:", tenant) + ":limits";
}
std::string SeqCounter(std::string_view prefix) { return std::string(prefix) + "seq"; }
std::string AccessKey(std::string_view prefix, std::string_view id) {
  return std::string(prefix) + "ak:" + std::string(id);
}
std::string TenantAccessKeys(std::string_view prefix, std::string_view tenant) {
  return Tagged(prefix, "t:", tenant) + ":aks";
}
std::string ApiKey(std::string_view prefix, std::string_view hash) {
  return std::string(prefix) + "k:" + std::string(hash);
}
std::string TenantApiKeys(std::string_view prefix, std::string_view tenant) {
  return Tagged(prefix, "t:", tenant) + ":keys";
}
std::string TenantAudit(std::string_view prefix, std::string_view tenant) {
  return Tagged(prefix, "t:", tenant) + ":audit";
}
std::string SeenSignature(std::string_view prefix, std::string_view signature) {
  return std::string(prefix) + "zc2sig:" + std::string(signature);
}
std::string SeqMap(std::string_view prefix) { return std::string(prefix) + "seqs"; }
std::string ReconcilerLease(std::string_view prefix) { return std::string(prefix) + "reconciler"; }

bool IsValidPrefix(std::string_view prefix) {
  return prefix.find('{') == std::string_view::npos && prefix.find('}') == std::string_view::npos;
}

}  // namespace lambda::redis::keys
