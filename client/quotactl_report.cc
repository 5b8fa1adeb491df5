#include "client/quotactl_report.h"

#include <iomanip>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

ABSL_FLAG(std::string, integration, "", "report: the integration id (same as --integration-id)");
ABSL_FLAG(std::string, from, "", "report: first UTC day YYYY-MM-DD (default: 29 days before --to)");
ABSL_FLAG(std::string, to, "", "report: last UTC day YYYY-MM-DD (default: today)");
ABSL_FLAG(bool, csv, false, "report: print CSV (day,region,units,charged,refunded,retained)");

namespace quotad::quotactl {
namespace {

std::string Regions(const google::protobuf::RepeatedPtrField<v1::RegionUnits>& regions) {
  return absl::StrJoin(regions, ", ", [](std::string* out, const v1::RegionUnits& r) {
    absl::StrAppend(out, r.region(), " ", r.charged());
    if (r.refunded() != 0) absl::StrAppend(out, "-", r.refunded());
  });
}

// RFC 4180: a field with a comma, quote or line break is quoted, quotes
// doubled (region names come from each node's --region).
std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void PrintReportTable(const v1::UsageReport& report, std::ostream& out) {
  const std::string subject = report.tier().empty()
                                  ? absl::StrCat("integration \"", report.integration_id(), "\"")
                                  : absl::StrCat("tier \"", report.tier(), "\"");
  out << "units charged to " << subject << " per UTC day, every region (from node "
      << report.node_id() << ", " << report.region() << ")\n"
      << std::left << std::setw(13) << "DAY" << std::setw(10) << "UNITS"
      << "BY REGION (charged-refunded)\n";
  for (const v1::UsageReportDay& d : report.days()) {
    out << std::setw(13) << d.day() << std::setw(10) << d.units()
        << (d.retained() ? Regions(d.regions()) : "(past retention: not kept)") << "\n";
  }
  out << std::setw(13) << "TOTAL" << std::setw(10) << report.total_units()
      << Regions(report.regions()) << "\n";
}

void PrintReportCsv(const v1::UsageReport& report, std::ostream& out) {
  out << "day,region,units,charged,refunded,retained\n";
  for (const v1::UsageReportDay& d : report.days()) {
    int64_t charged = 0, refunded = 0;
    for (const v1::RegionUnits& r : d.regions()) {
      charged += r.charged();
      refunded += r.refunded();
    }
    const char* retained = d.retained() ? "true" : "false";
    out << d.day() << ",all," << d.units() << "," << charged << "," << refunded << "," << retained
        << "\n";
    for (const v1::RegionUnits& r : d.regions()) {
      out << d.day() << "," << CsvField(r.region()) << "," << r.charged() - r.refunded() << ","
          << r.charged() << "," << r.refunded() << "," << retained << "\n";
    }
  }
}

}  // namespace quotad::quotactl
