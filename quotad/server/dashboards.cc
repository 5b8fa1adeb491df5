#include "quotad/server/dashboards.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "quotad/common/logging.h"

namespace quotad {

Dashboards::~Dashboards() {
  stop_.Notify();
  if (advancer_.joinable()) advancer_.join();
}

absl::Status Dashboards::Attach(CounterStore* store, AdmissionController* admission) {
  const absl::Time start = absl::Now();
  if (absl::Status s = usage_.Seed(store); !s.ok()) return s;
  QUOTAD_LOG(INFO) << "usage distribution seeded: " << usage_.Read().clients
                   << " clients active in the last 24 h, in " << absl::Now() - start;
  admission->AddUsageObserver(&usage_);
  admission->AddUsageObserver(&near_limit_);
  advancer_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(absl::Seconds(1))) usage_.Advance();
  });
  return absl::OkStatus();
}

void Dashboards::AddGauges(Metrics* metrics, PolicyHolder* policy) {
  metrics->AddGauge(
      "quotad_active_clients",
      "Clients with usage in the last 24 h (every region's charges merged)", [this] {
        return std::vector<Metrics::Sample>{{{}, static_cast<double>(usage_.Read().clients)}};
      });
  metrics->AddGauge(
      "quotad_usage_tracker_bytes",
      "Memory of the usage distribution's tables (per client and hour)", [this] {
        return std::vector<Metrics::Sample>{{{}, static_cast<double>(usage_.MemoryBytes())}};
      });
  metrics->AddGauge(
      "quotad_near_limit",
      "Clients or integrations whose latest decision here, within the hour, reached 80% of a limit",
      [this, policy] {
        std::map<std::pair<std::string, std::string>, int64_t> counts;
        using Subject = NearLimitTracker::Subject;
        for (const auto& t : policy->Current()->tiers()) {
          for (Subject s : {Subject::kClient, Subject::kIntegration}) {
            counts[{t.name, NearLimitTracker::SubjectName(s)}] = 0;
          }
        }
        for (const auto& c : near_limit_.Counts()) {
          counts[{c.tier, NearLimitTracker::SubjectName(c.subject)}] = c.count;
        }
        std::vector<Metrics::Sample> out;
        for (const auto& [key, count] : counts) {
          out.push_back(
              {{{"tier", key.first}, {"subject", key.second}}, static_cast<double>(count)});
        }
        return out;
      });
}

}  // namespace quotad
