#pragma once
// schemas/openapi.yaml as a test oracle: the JSON Schema of a documented request or response
// body (its $refs resolved, OpenAPI's `nullable` turned into JSON Schema), and a check of a real
// body against it with RapidJSON's validator.
#include <rapidjson/document.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lambda::testing {

class OpenApi {
 public:
  /// Loads `path` (throws when it cannot be read or parsed).
  explicit OpenApi(const std::string& path);
  /// The schema of `method path`'s answer `status` as application/json; nullopt when the
  /// document has none (the status undocumented, or documented without a schema).
  std::optional<rapidjson::Document> ResponseSchema(const std::string& method,
                                                    const std::string& path, int status) const;
  /// The schema of a request body (application/json).
  std::optional<rapidjson::Document> RequestSchema(const std::string& method,
                                                   const std::string& path) const;
  /// Problems of `body` as the answer `status` of `method path` (empty: it conforms).
  std::vector<std::string> CheckResponse(const std::string& method, const std::string& path,
                                         int status, const std::string& body) const;
  /// Whether `status` is documented for `method path` at all.
  bool Documents(const std::string& method, const std::string& path, int status) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

/// Problems of `body` against `schema` (empty: valid).
std::vector<std::string> Validate(const rapidjson::Document& schema, const std::string& body);

}  // namespace lambda::testing
