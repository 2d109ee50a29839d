#pragma once
/// Answers of the compatible dialects (SPEC §4.2, §4.3); pure functions of plain values.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lambda/domain/status.h"
#include "routes/shape.h"

namespace lambda::routes {

// §4.2 legacy /backend
std::string LegacyError(int status, std::string_view message);  ///< details word from the status
std::string LegacySuccess();                                    ///< {"result":"Success"}
std::string LegacyStatusBody(const InstanceRecord& r);
std::string LegacyDetailsBody(const InstanceRecord& r);
std::string LegacyListBody(const std::vector<ListRow>& rows);
std::string LegacyCreated(std::string_view id);

// §4.3 Zenlayer VM API
std::string ZenlayerError(std::string_view request_id, std::string_view code,
                          std::string_view message);
std::string ZenlayerOk(std::string_view request_id);
std::string ZenlayerDescribeBody(
    std::string_view request_id, int64_t total,
    const std::vector<std::pair<std::string, domain::InstanceStatus>>& rows);

// §4.3 Feldera pipelines
struct FelderaState {
  std::string status;   ///< deployment_status
  std::string desired;  ///< deployment_desired_status
};
/// `mode` is the recorded run mode: running, paused or standby; `pending` the pending command's
/// action ("pause" or "resume" move a STARTED pipeline between Running and Paused).
FelderaState FelderaStateOf(domain::InstanceStatus s, std::string_view mode,
                            std::string_view pending = {});
/// The desired status a start with `initial` asks for ("Running", "Paused", "Standby").
std::string FelderaDesired(std::string_view initial);
std::string FelderaError(std::string_view message, std::string_view error_code,
                         std::string_view details_json = "null");
std::string FelderaIllegalAction(std::string_view message, const FelderaState& current,
                                 std::string_view new_desired, std::string_view hint);
std::string FelderaPipeline(const InstanceRecord& r, std::string_view mode);
/// GET /v0/pipelines: a JSON array of FelderaPipeline objects.
std::string FelderaPipelineList(const std::vector<InstanceRecord>& rows);
/// The Feldera release whose API, and whose official Python client, this dialect follows: the
/// client compares it with its own version (and only warns when they differ).
inline constexpr std::string_view kFelderaApiVersion = "0.337.0";
/// GET /v0/config: the client refuses any edition but "Open source" or "Enterprise".
std::string FelderaConfigBody(std::string_view version);

}  // namespace lambda::routes
