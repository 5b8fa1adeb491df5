// The usage report (AdminService.GetUsageReport, `quotactl report`): what
// one integration or one tier was charged per UTC day, per region and in
// total, read from its usage meter (quotad/admission/meters.h) as this node
// holds it, every region's slots merged. Identity-free by construction: a
// meter names no client. Pure: the service reads the slots and the origin
// records and hands them here.
#ifndef QUOTAD_ADMIN_USAGE_REPORT_H_
#define QUOTAD_ADMIN_USAGE_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "quotad/admin/node_records.h"
#include "quotad/storage/keys.h"
#include "quotad/v1/admin.pb.h"

namespace quotad {

// A checked request: the meter and its day buckets [from_day, to_day].
struct UsageReportQuery {
  CounterId meter;
  uint32_t from_day = 0;  // day buckets (time_buckets.h)
  uint32_t to_day = 0;
};

// Exactly one of integration_id and tier; `from` and `to` UTC days
// "YYYY-MM-DD", from <= to, at most kMaxReportDays days. Errors:
// InvalidArgument naming the field.
absl::StatusOr<UsageReportQuery> CheckUsageReportRequest(const v1::UsageReportRequest& req);
inline constexpr int kMaxReportDays = 1830;  // the longest meter retention

// The report over `slots` (the meter's slots, any days: those outside the
// query are left out), each origin's charges under its node's region
// (`origins` from ListOrigins; an origin no record names yet: "unknown").
// Every day of the range is listed, zeros included, and marked retained
// unless it is older than `oldest_kept` (the store's oldest live day).
v1::UsageReport BuildUsageReport(const v1::UsageReportRequest& req, const UsageReportQuery& query,
                                 absl::Span<const SlotValue> slots,
                                 const std::map<std::string, NodeInfo>& origins,
                                 uint32_t oldest_kept);

// "YYYY-MM-DD" of a day bucket.
std::string DayText(uint32_t day);

}  // namespace quotad

#endif  // QUOTAD_ADMIN_USAGE_REPORT_H_
