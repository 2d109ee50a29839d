// SPEC §4.3: the Zenlayer VM API (seed document 003): one POST /api/v2/vm, action in X-ZC-Action.
#include <limits>

#include "app.h"
#include "lambda/domain/dialect_rules.h"
#include "lambda/redis/scripts.h"
#include "lambda/util/util.h"
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

}  // namespace

void App::Zenlayer(const std::shared_ptr<Call>& call) {
  const std::string& rid = call->request_id;
  auto bad = [this, call](const std::string& message) {
    Reply(*call, 400, routes::ZenlayerError(call->request_id, "INVALID_PARAMETER", message));
  };
  const std::string* action = call->req.Header("x-zc-action");
  if (action == nullptr) return bad("Missing X-ZC-Action header.");
  const bool describe = *action == "DescribeInstancesStatus";
  auto body = routes::DecodeZenlayerBody(call->req.body, describe ? 1000 : kMaxBatch);
  if (!body) return bad(body.error().message);
  if (describe) return ZenlayerDescribe(call, rid, *body);
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
  AdmitManyAndPublish(call, *ids, act, allowed, [this, call, act, rid](const AdmissionOutcome& a) {
    switch (a.kind) {
      case AdmissionOutcome::Kind::kNotFound:
        return Reply(*call, 404,
                     routes::ZenlayerError(rid, "INVALID_INSTANCE_NOT_FOUND",
                                           "Instance " + a.id + " does not exist."));
      case AdmissionOutcome::Kind::kRefused: {
        bool start = act == domain::Action::kStart;
        std::string msg =
            std::string(start ? "Operations on unstopped instances not supported"
                              : "Operations on instances that are not running not supported") +
            ": instance " + a.id + " is " + std::string(domain::zenlayer::StatusName(a.status)) +
            ".";
        return Reply(*call, 403,
                     routes::ZenlayerError(rid,
                                           start ? "OPERATION_DENIED_INSTANCE_NOT_STOPPED"
                                                 : "OPERATION_DENIED_INSTANCE_NOT_RUNNING",
                                           msg));
      }
      case AdmissionOutcome::Kind::kUnavailable:
        return ReplyUnavailable(*call, a.error);
      case AdmissionOutcome::Kind::kUnknown:
        return ReplyUnknown(*call, a.error);
      case AdmissionOutcome::Kind::kAccepted:
        return Reply(*call, 200, routes::ZenlayerOk(rid));
    }
  });
}

void App::ZenlayerDescribe(const std::shared_ptr<Call>& call, const std::string& rid,
                           const routes::ZenlayerBody& body) {
  const auto* ids = &body.ids;
  const int64_t page_size = body.page_size, page_num = body.page_num;
  std::vector<std::string> args{config_.redis_prefix, call->tenant,
                                std::to_string(PageOffset(page_num, page_size)),
                                std::to_string(page_size)};
  for (const auto& id : *ids) {
    if (util::IsUuid(id)) args.push_back(id);
  }
  if (!ids->empty() && args.size() == 4) {
    return Reply(*call, 200, routes::ZenlayerDescribeBody(rid, 0, {}));  // none of them can exist
  }
  redis_->EvalSha(redis::scripts::Describe(), {}, args, [this, call, rid](Result<redis::Value> r) {
    if (!r || r->is_error() || r->elements.empty())
      return ReplyUnavailable(*call, r ? r->str : r.error().message);
    const auto& e = r->elements;
    std::vector<std::pair<std::string, domain::InstanceStatus>> rows;
    for (size_t i = 1; i + 1 < e.size(); i += 2) {
      rows.emplace_back(e[i].str, domain::FromCode(static_cast<int>(e[i + 1].AsInt()))
                                      .value_or(domain::InstanceStatus::kPending));
    }
    Reply(*call, 200, routes::ZenlayerDescribeBody(rid, e[0].AsInt(), rows));
  });
}

}  // namespace lambda::shim
