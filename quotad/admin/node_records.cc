#include "quotad/admin/node_records.h"

#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "quotad/common/logging.h"
#include "quotad/common/status_macros.h"

namespace quotad {
namespace {

// The four fields of a node or origin record's value, or an error.
absl::StatusOr<std::vector<std::string>> NodeInfoFields(const v1::ReplicatedRecord& record) {
  std::vector<std::string> fields = absl::StrSplit(record.value(), '|');
  if (fields.size() != 4 || fields[0].empty() || fields[3].size() != 16) {
    return absl::InvalidArgumentError("value: not node_id|region|version|origin_hex");
  }
  return fields;
}

absl::Status CheckNodeRecord(const v1::ReplicatedRecord& record) {
  const absl::string_view id = absl::string_view(record.key()).substr(strlen("node/"));
  if (id.empty()) return absl::InvalidArgumentError("key: the node id is empty");
  if (record.deleted()) return absl::OkStatus();
  QUOTAD_ASSIGN_OR_RETURN(const auto fields, NodeInfoFields(record));
  if (fields[0] != id || record.node_id() != id) {
    return absl::InvalidArgumentError(absl::StrCat("key: names node '", id, "', written by '",
                                                   record.node_id(), "' for '", fields[0], "'"));
  }
  return absl::OkStatus();
}

absl::Status CheckOriginRecord(const v1::ReplicatedRecord& record) {
  const absl::string_view hex = absl::string_view(record.key()).substr(strlen("origin/"));
  if (hex.size() != 16 || hex.find_first_not_of("0123456789abcdef") != absl::string_view::npos) {
    return absl::InvalidArgumentError("key: origin must be 16 lowercase hex digits");
  }
  if (record.deleted()) return absl::OkStatus();
  QUOTAD_ASSIGN_OR_RETURN(const auto fields, NodeInfoFields(record));
  if (fields[3] != hex || record.node_id() != fields[0]) {
    return absl::InvalidArgumentError("key: does not match the origin and writer in the value");
  }
  return absl::OkStatus();
}

}  // namespace

void AddNodeRecordKinds(Replicator* replicator) {
  replicator->AddRecordKind("node/", CheckNodeRecord);
  replicator->AddRecordKind("origin/", CheckOriginRecord);
}

absl::Status AnnounceNode(Replicator* replicator, uint64_t origin, const std::string& node_id,
                          const std::string& region, const std::string& version,
                          absl::Duration origin_ttl) {
  const std::string info = absl::StrCat(node_id, "|", region, "|", version, "|", OriginHex(origin));
  QUOTAD_RETURN_IF_ERROR(
      replicator->PutRecord(absl::StrCat("node/", node_id), info, absl::InfiniteFuture()).status());
  return replicator
      ->PutRecord(absl::StrCat("origin/", OriginHex(origin)), info, absl::Now() + origin_ttl)
      .status();
}

absl::Status NodeAnnouncer::Announce() {
  const absl::Duration ttl = absl::Hours(24 * (policy_->Current()->meter_retention_days() + 2));
  return AnnounceNode(replicator_, origin_, self_.node_id, self_.region, self_.version, ttl);
}

absl::Status NodeAnnouncer::Start() {
  QUOTAD_RETURN_IF_ERROR(Announce());
  thread_ = std::thread([this] {
    absl::Duration wait = absl::Hours(24);
    while (!stop_.WaitForNotificationWithTimeout(wait)) {
      const absl::Status s = Announce();
      wait = s.ok() ? absl::Hours(24) : absl::Hours(1);
      if (!s.ok()) {
        QUOTAD_LOG(WARNING) << "cannot renew this node's origin record (next try in an hour): "
                            << s.message();
      }
    }
  });
  return absl::OkStatus();
}

NodeAnnouncer::~NodeAnnouncer() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

namespace {

absl::StatusOr<std::map<std::string, NodeInfo>> List(Replicator* replicator, const char* prefix,
                                                     bool by_origin) {
  std::map<std::string, NodeInfo> out;
  QUOTAD_RETURN_IF_ERROR(replicator->ListRecords(prefix, [&](const v1::ReplicatedRecord& r) {
    auto fields = NodeInfoFields(r);  // checked on every write; skip what is not
    if (fields.ok())
      out[by_origin ? (*fields)[3] : (*fields)[0]] = {(*fields)[0], (*fields)[1], (*fields)[2]};
    return true;
  }));
  return out;
}

}  // namespace

absl::StatusOr<std::map<std::string, NodeInfo>> ListNodes(Replicator* replicator) {
  return List(replicator, "node/", false);
}

absl::StatusOr<std::map<std::string, NodeInfo>> ListOrigins(Replicator* replicator) {
  return List(replicator, "origin/", true);
}

std::string OriginHex(uint64_t origin) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(origin));
  return buf;
}

}  // namespace quotad
