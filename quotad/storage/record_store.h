// The storage seam for replicated last-writer-wins records (operator
// overrides and bans). Conflict resolution lives in the replication layer;
// the store only persists and lists.
#ifndef QUOTAD_STORAGE_RECORD_STORE_H_
#define QUOTAD_STORAGE_RECORD_STORE_H_

#include <functional>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "quotad/v1/gossip.pb.h"

namespace quotad {

class RecordStore {
 public:
  virtual ~RecordStore() = default;
  // The stored record (tombstones included), or nullopt. Errors: Unavailable.
  [[nodiscard]] virtual absl::StatusOr<std::optional<v1::ReplicatedRecord>> GetRecord(
      absl::string_view key) = 0;
  // Stores `record` under record.key(), replacing any previous version, in
  // the WAL before returning. Errors: Unavailable.
  [[nodiscard]] virtual absl::Status PutRecord(const v1::ReplicatedRecord& record) = 0;
  // Visits every stored record whose key starts with `prefix`, in key order,
  // until `fn` returns false. Errors: Unavailable.
  [[nodiscard]] virtual absl::Status ScanRecords(
      absl::string_view prefix, const std::function<bool(const v1::ReplicatedRecord&)>& fn) = 0;
};

}  // namespace quotad

#endif  // QUOTAD_STORAGE_RECORD_STORE_H_
