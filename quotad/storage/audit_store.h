// The storage seam for the node-local audit log of admin calls.
#ifndef QUOTAD_STORAGE_AUDIT_STORE_H_
#define QUOTAD_STORAGE_AUDIT_STORE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "quotad/v1/admin.pb.h"

namespace quotad {

class AuditStore {
 public:
  virtual ~AuditStore() = default;
  // Appends an entry (durable in the WAL on return). Errors: Unavailable.
  [[nodiscard]] virtual absl::Status AppendAudit(const v1::AuditEntry& entry) = 0;
  // Up to `limit` entries, newest first. Entries older than the audit
  // retention are never returned. Errors: Unavailable.
  [[nodiscard]] virtual absl::StatusOr<std::vector<v1::AuditEntry>> ListAudit(size_t limit) = 0;
};

}  // namespace quotad

#endif  // QUOTAD_STORAGE_AUDIT_STORE_H_
