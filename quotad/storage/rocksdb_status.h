// The one place rocksdb::Status becomes absl::Status (storage internal).
#ifndef QUOTAD_STORAGE_ROCKSDB_STATUS_H_
#define QUOTAD_STORAGE_ROCKSDB_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "rocksdb/status.h"

namespace quotad {

// "<what>: <RocksDB's message>"; InvalidArgument and NotFound keep their
// codes, everything else (I/O errors, no space, corruption) is UNAVAILABLE.
inline absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat(what, ": ", s.ToString());
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  return absl::UnavailableError(msg);
}

}  // namespace quotad

#endif  // QUOTAD_STORAGE_ROCKSDB_STATUS_H_
