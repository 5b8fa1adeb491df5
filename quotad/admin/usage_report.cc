#include "quotad/admin/usage_report.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "quotad/admission/meters.h"
#include "quotad/common/time_buckets.h"

namespace quotad {

std::string DayText(uint32_t day) {
  return absl::FormatTime("%Y-%m-%d", BucketStart(day), absl::UTCTimeZone());
}

namespace {

// A UTC day "YYYY-MM-DD" as its day bucket.
absl::StatusOr<uint32_t> ParseDay(const char* field, const std::string& text) {
  absl::Time t;
  std::string err;
  if (text.empty())
    return absl::InvalidArgumentError(absl::StrCat(field, ": required (YYYY-MM-DD)"));
  // Canonical text only: what DayText prints back.
  if (text.size() != 10 || !absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &err) ||
      t < absl::UnixEpoch() || DayText(BucketOf(BucketUnit::kDay, t)) != text) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": \"", absl::CHexEscape(text.substr(0, 32)), "\" is not a UTC day YYYY-MM-DD"));
  }
  return BucketOf(BucketUnit::kDay, t);
}

struct RegionSums {
  int64_t charged = 0;
  int64_t refunded = 0;
};

void AddRegions(const std::map<std::string, RegionSums>& sums,
                google::protobuf::RepeatedPtrField<v1::RegionUnits>* out) {
  for (const auto& [region, s] : sums) {
    v1::RegionUnits* r = out->Add();
    r->set_region(region);
    r->set_charged(s.charged);
    r->set_refunded(s.refunded);
  }
}

}  // namespace

absl::StatusOr<UsageReportQuery> CheckUsageReportRequest(const v1::UsageReportRequest& req) {
  UsageReportQuery q;
  if (req.integration_id().empty() == req.tier().empty()) {
    return absl::InvalidArgumentError("integration_id, tier: exactly one is required");
  }
  if (req.integration_id().size() > 256 || req.tier().size() > 256) {
    return absl::InvalidArgumentError("integration_id, tier: longer than 256 bytes");
  }
  q.meter = req.tier().empty() ? MeterId(MeterKind::kIntegration, req.integration_id())
                               : MeterId(MeterKind::kTier, req.tier());
  auto from = ParseDay("from", req.from());
  if (!from.ok()) return from.status();
  auto to = ParseDay("to", req.to());
  if (!to.ok()) return to.status();
  if (*from > *to) return absl::InvalidArgumentError("from: after to");
  if (BucketNumber(*to) - BucketNumber(*from) >= static_cast<uint32_t>(kMaxReportDays)) {
    return absl::InvalidArgumentError(
        absl::StrCat("to: at most ", kMaxReportDays, " days after from"));
  }
  q.from_day = *from;
  q.to_day = *to;
  return q;
}

v1::UsageReport BuildUsageReport(const v1::UsageReportRequest& req, const UsageReportQuery& query,
                                 absl::Span<const SlotValue> slots,
                                 const std::map<std::string, NodeInfo>& origins,
                                 uint32_t oldest_kept) {
  // Per day, per region: charged and refunded, every origin summed.
  std::map<uint32_t, std::map<std::string, RegionSums>> by_day;
  for (const SlotValue& s : slots) {
    if (s.key.id != query.meter || s.key.hour < query.from_day || s.key.hour > query.to_day) {
      continue;
    }
    auto node = origins.find(OriginHex(s.key.origin));
    const std::string& region = node != origins.end() ? node->second.region : "unknown";
    RegionSums& sums = by_day[s.key.hour][region];
    const auto value = static_cast<int64_t>(s.value);
    (s.key.kind == CountKind::kCharged ? sums.charged : sums.refunded) += value;
  }
  v1::UsageReport report;
  report.set_integration_id(req.integration_id());
  report.set_tier(req.tier());
  std::map<std::string, RegionSums> totals;
  for (uint32_t day = query.from_day; day <= query.to_day; ++day) {
    v1::UsageReportDay* row = report.add_days();
    row->set_day(DayText(day));
    row->set_retained(day >= oldest_kept);
    auto it = by_day.find(day);
    if (it == by_day.end()) continue;
    int64_t charged = 0, refunded = 0;
    for (const auto& [region, s] : it->second) {
      charged += s.charged;
      refunded += s.refunded;
      totals[region].charged += s.charged;
      totals[region].refunded += s.refunded;
    }
    // A refund never takes a day below zero (counters are clamped too).
    row->set_units(std::max<int64_t>(0, charged - refunded));
    AddRegions(it->second, row->mutable_regions());
    report.set_total_units(report.total_units() + row->units());
  }
  AddRegions(totals, report.mutable_regions());
  return report;
}

}  // namespace quotad
