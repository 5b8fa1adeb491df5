// Admin inputs and override matching on a whole node (FuzzNode). The first
// input byte picks the call, the rest is its request in protobuf wire form:
//   0 SetOverride(SetOverrideRequest)   2 GetUsage(UsageRequest)
//   1 DeleteOverride(DeleteOverrideRequest)  3 ResetUsage(UsageRequest)
//   4 GetUsageReport(UsageReportRequest)
// Holds: a refused call is InvalidArgument (NotFound for a delete of
// nothing) with a message and leaves the override list as it was; a set
// override is listed under the id it was given, never with a raw address,
// and a permanent one on an address, prefix, name or integration applies to
// a client it names; usage look-ups of any input answer or refuse cleanly;
// a usage report lists every day of its range once, in order, and its total
// is the sum of its days.
#include <cstddef>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "quotad/admin/override_store.h"
#include "tests/fuzz/fuzz_node.h"

namespace quotad::fuzz {
namespace {

std::string ListDigest(OverrideStore& overrides) {
  auto list = overrides.List("");
  FuzzCheck(list.ok(), absl::StrCat("list: ", list.status().ToString()));
  std::string out;
  for (const v1::Override& o : *list) {
    FuzzCheck(!o.match().has_ip() || o.match().ip().empty(), "a raw address is stored");
    absl::StrAppend(&out, o.SerializeAsString(), "|");
  }
  return out;
}

// A client the match names, when the match names one directly.
std::optional<ClientFacts> ClientOf(const v1::Match& match, std::string* storage) {
  ClientFacts facts;
  facts.ip = *IpAddress::Parse("192.0.2.1");
  switch (match.target_case()) {
    case v1::Match::kIp:
      if (auto ip = IpAddress::Parse(match.ip()); ip.ok()) facts.ip = *ip;
      else return std::nullopt;
      return facts;
    case v1::Match::kCidr:
      if (auto cidr = Cidr::Parse(match.cidr()); cidr.ok()) facts.ip = cidr->network;
      else return std::nullopt;
      return facts;
    case v1::Match::kClientName:
      *storage = match.client_name();
      facts.client_name = *storage;
      return facts;
    case v1::Match::kIntegrationId:
      *storage = match.integration_id();
      facts.integration_id = *storage;
      return facts;
    default:
      return std::nullopt;
  }
}

void SetOverride(FuzzNode& node, const v1::SetOverrideRequest& request) {
  const std::string before = ListDigest(node.overrides());
  auto set = node.admin().DoSetOverride(request, "fuzz");
  if (!set.ok()) {
    FuzzCheckError(set.status(), absl::StatusCode::kInvalidArgument, "refused override");
    FuzzCheck(ListDigest(node.overrides()) == before, "a refused override changed the list");
    return;
  }
  auto id = node.overrides().IdOf(request.match());
  FuzzCheck(id.ok() && *id == set->id(), "the override's id is not its match's id");
  FuzzCheck(ListDigest(node.overrides()).find(set->id()) != std::string::npos, "not listed");
  std::string storage;
  const std::optional<ClientFacts> client = ClientOf(request.match(), &storage);
  if (client && !set->has_expires_at()) {
    auto is_ban = [&](absl::string_view tier) {
      const TierConfig* t = node.policy().FindTier(tier);
      return t != nullptr && t->banned;
    };
    FuzzCheck(node.overrides().Find(*client, node.clock().Now(), is_ban).has_value(),
              absl::StrCat("override ", set->id(), " does not apply to the client it names"));
  }
}

void DeleteOverride(FuzzNode& node, const v1::DeleteOverrideRequest& request) {
  const std::string before = ListDigest(node.overrides());
  auto id = request.id().empty() ? node.overrides().IdOf(request.match())
                                 : absl::StatusOr<std::string>(request.id());
  if (!id.ok()) {
    FuzzCheckError(id.status(), absl::StatusCode::kInvalidArgument, "refused delete");
    return;
  }
  auto deleted = node.overrides().Delete(*id);
  FuzzCheck(deleted.ok(), absl::StrCat("delete: ", deleted.status().ToString()));
  if (!*deleted) FuzzCheck(ListDigest(node.overrides()) == before, "a no-op delete changed");
}

void Usage(FuzzNode& node, const v1::UsageRequest& request, bool reset) {
  const absl::Status status = reset ? node.admin().DoResetUsage(request).status()
                                    : node.admin().DoGetUsage(request).status();
  if (!status.ok()) FuzzCheckError(status, absl::StatusCode::kInvalidArgument, "refused usage");
}

void Report(FuzzNode& node, const v1::UsageReportRequest& request) {
  auto report = node.admin().DoGetUsageReport(request);
  if (!report.ok()) {
    FuzzCheckError(report.status(), absl::StatusCode::kInvalidArgument, "refused report");
    return;
  }
  FuzzCheck(report->days_size() >= 1 && report->days(0).day() == request.from() &&
                report->days(report->days_size() - 1).day() == request.to(),
            "the report's days are not its range");
  int64_t total = 0;
  for (int i = 0; i < report->days_size(); ++i) {
    FuzzCheck(i == 0 || report->days(i - 1).day() < report->days(i).day(), "days out of order");
    FuzzCheck(report->days(i).units() >= 0, "a day below zero");
    total += report->days(i).units();
  }
  FuzzCheck(total == report->total_units(), "the total is not the sum of the days");
}

}  // namespace
}  // namespace quotad::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quotad;
  if (size == 0) return 0;
  fuzz::FuzzNode& node = fuzz::FuzzNode::Get();
  const int body = static_cast<int>(size - 1);
  switch (data[0] % 5) {
    case 0: {
      v1::SetOverrideRequest r;
      if (r.ParseFromArray(data + 1, body)) fuzz::SetOverride(node, r);
      break;
    }
    case 1: {
      v1::DeleteOverrideRequest r;
      if (r.ParseFromArray(data + 1, body)) fuzz::DeleteOverride(node, r);
      break;
    }
    case 4: {
      v1::UsageReportRequest r;
      if (r.ParseFromArray(data + 1, body)) fuzz::Report(node, r);
      break;
    }
    default: {
      v1::UsageRequest r;
      if (r.ParseFromArray(data + 1, body)) fuzz::Usage(node, r, data[0] % 4 == 3);
      break;
    }
  }
  return 0;
}
