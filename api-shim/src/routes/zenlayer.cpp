// SPEC §4.3: the Zenlayer VM API (seed document 003): one POST /api/v2/vm, action in X-ZC-Action.
#include <limits>

#include "core.h"
#include "lambda/domain/dialect_rules.h"
#include "lambda/redis/script_args.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"
#include "routes/body.h"
#include "routes/dialects.h"

namespace lambda::shim {
namespace {

constexpr size_t kMaxBatch = 100;

/// (page_num - 1) * page_size without signed overflow: a page past any data is simply empty.
int64_t PageOffset(int64_t page_num, int64_t page_size) {
  if (page_num - 1 > std::numeric_limits<int64_t>::max() / page_size)
    return std::numeric_limits<int64_t>::max();
  return (page_num - 1) * page_size;
}

void Describe(Core& core, const std::shared_ptr<Call>& call, const std::string& rid,
              const routes::ZenlayerBody& body);

}  // namespace

namespace dialects {

void Zenlayer(Core& core, const std::shared_ptr<Call>& call) {
  const std::string& rid = call->request_id;
  auto bad = [&core, call](const std::string& message) {
    core.Reply(*call, 400, routes::ZenlayerError(call->request_id, "INVALID_PARAMETER", message));
  };
  const std::string* action = call->req.Header("x-zc-action");
  if (action == nullptr) return bad("Missing X-ZC-Action header.");
  const bool describe = *action == "DescribeInstancesStatus";
  auto body = routes::DecodeZenlayerBody(call->req.body, describe ? 1000 : kMaxBatch);
  if (!body) return bad(body.error().message);
  if (describe) return Describe(core, call, rid, *body);
  domain::Action act;
  if (*action == "StartInstances") {
    act = domain::Action::kStart;
  } else if (*action == "StopInstances") {
    act = domain::Action::kStop;
  } else {
    return bad("Unsupported X-ZC-Action: " + *action + ".");
  }
  const auto* ids = &body->ids;
  if (ids->empty()) return bad("instanceIds must hold 1 to 100 ids.");
  // Zenlayer starts only STOPPED instances and stops only RUNNING ones.
  std::string allowed = domain::AllowedSet(domain::zenlayer::AllowedFrom(act));
  core.AdmitMany(call, *ids, act, allowed, [&core, call, act, rid](const AdmissionOutcome& a) {
    switch (a.kind) {
      case AdmissionOutcome::Kind::kNotFound:
        return core.Reply(*call, 404,
                          routes::ZenlayerError(rid, "INVALID_INSTANCE_NOT_FOUND",
                                                "Instance " + a.id + " does not exist."));
      case AdmissionOutcome::Kind::kRefused: {
        bool start = act == domain::Action::kStart;
        std::string msg =
            std::string(start ? "Operations on unstopped instances not supported"
                              : "Operations on instances that are not running not supported") +
            ": instance " + a.id + " is " + std::string(domain::zenlayer::StatusName(a.status)) +
            ".";
        return core.Reply(*call, 403,
                          routes::ZenlayerError(rid,
                                                start ? "OPERATION_DENIED_INSTANCE_NOT_STOPPED"
                                                      : "OPERATION_DENIED_INSTANCE_NOT_RUNNING",
                                                msg));
      }
      case AdmissionOutcome::Kind::kOverQuota:
        return core.ReplyLimited(*call, QuotaRefusal(a.limit_kind, a.limit));
      case AdmissionOutcome::Kind::kUnavailable:
        return core.ReplyUnavailable(*call, a.error);
      case AdmissionOutcome::Kind::kUnknown:
        return core.ReplyUnknown(*call, a.error);
      case AdmissionOutcome::Kind::kAccepted:
        return core.Reply(*call, 200, routes::ZenlayerOk(rid));
    }
  });
}

}  // namespace dialects

namespace {

void Describe(Core& core, const std::shared_ptr<Call>& call, const std::string& rid,
              const routes::ZenlayerBody& body) {
  const int64_t offset = PageOffset(body.page_num, body.page_size);
  const int64_t size = body.page_size;
  using Rows = std::vector<std::pair<std::string, domain::InstanceStatus>>;
  auto status_of = [](const redis::Value& v) {
    return domain::FromCode(static_cast<int>(v.AsInt())).value_or(domain::InstanceStatus::kPending);
  };
  if (body.ids.empty()) {
    // The tenant's page of its live index: O(page), not a walk over all it ever had.
    return core.ReadPage(call->tenant, true, offset, offset + size - 1, {"status"},
                         [&core, call, rid, status_of](Result<IndexPage> r) {
                           if (!r) return core.ReplyUnavailable(*call, r.error().message);
                           Rows rows;
                           for (size_t i = 0; i < r->ids.size(); ++i) {
                             const auto& f = r->fields[i].elements;
                             // A destroyed one still listed lost its index removal to a crash: not
                             // shown.
                             if (f.empty() || status_of(f[0]) == domain::InstanceStatus::kDestroyed)
                               continue;
                             rows.emplace_back(r->ids[i], status_of(f[0]));
                           }
                           core.Reply(*call, 200,
                                      routes::ZenlayerDescribeBody(rid, r->total, rows));
                         });
  }
  std::vector<std::string> ids;
  for (const auto& id : body.ids) {
    if (util::IsUuid(id)) ids.push_back(id);
  }
  if (ids.empty()) {
    return core.Reply(*call, 200,
                      routes::ZenlayerDescribeBody(rid, 0, {}));  // none of them can exist
  }
  core.ReadEach(
      ids, {"owner", "status"},
      [&core, call, rid, ids, offset, size, status_of](Result<std::vector<redis::Value>> r) {
        if (!r) return core.ReplyUnavailable(*call, r.error().message);
        Rows rows;
        int64_t total = 0;
        for (size_t i = 0; i < ids.size(); ++i) {
          const auto& f = (*r)[i].elements;
          if (f.size() < 2 || f[0].str != call->tenant ||
              status_of(f[1]) == domain::InstanceStatus::kDestroyed) {
            continue;
          }
          if (total >= offset && total < offset + size) {
            rows.emplace_back(ids[i], status_of(f[1]));
          }
          ++total;
        }
        core.Reply(*call, 200, routes::ZenlayerDescribeBody(rid, total, rows));
      });
}

}  // namespace
}  // namespace lambda::shim
