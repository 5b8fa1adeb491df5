// quotactl report: how a usage report (AdminService.GetUsageReport) is
// printed — a table for people, CSV for spreadsheets and billing scripts
// (--json prints the response itself). Pure: writes to the stream given.
#ifndef QUOTAD_CLIENT_QUOTACTL_REPORT_H_
#define QUOTAD_CLIENT_QUOTACTL_REPORT_H_

#include <ostream>

#include "absl/flags/declare.h"
#include "quotad/v1/admin.pb.h"

ABSL_DECLARE_FLAG(std::string, integration);
ABSL_DECLARE_FLAG(std::string, from);
ABSL_DECLARE_FLAG(std::string, to);
ABSL_DECLARE_FLAG(bool, csv);

namespace quotad::quotactl {

// One line per day: its units (charged less refunded, every region) and
// each region's charged (and refunded, if any); then the totals.
void PrintReportTable(const v1::UsageReport& report, std::ostream& out);

// Long form, one row per day and region, header first:
//   day,region,units,charged,refunded,retained
// Each day has a row for region "all" (units: the day's, never below 0),
// then one per region with charges or refunds that day (units: charged less
// refunded there). retained is false for a day past the node's retention.
void PrintReportCsv(const v1::UsageReport& report, std::ostream& out);

}  // namespace quotad::quotactl

#endif  // QUOTAD_CLIENT_QUOTACTL_REPORT_H_
