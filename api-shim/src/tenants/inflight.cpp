#include "tenants/inflight.h"

namespace lambda::shim {

void InFlight::OnStatus(const std::string& owner, const std::string& id, bool settled) {
  if (settled) {
    auto it = by_tenant_.find(owner);
    if (it == by_tenant_.end()) return;
    total_ -= it->second.erase(id);
    if (it->second.empty()) by_tenant_.erase(it);
    return;
  }
  if (total_ >= max_ids_) {
    by_tenant_.clear();
    total_ = 0;
  }
  total_ += by_tenant_[owner].insert(id).second ? 1 : 0;
}

size_t InFlight::Count(const std::string& tenant) const {
  auto it = by_tenant_.find(tenant);
  return it == by_tenant_.end() ? 0 : it->second.size();
}

}  // namespace lambda::shim
