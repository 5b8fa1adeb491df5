// Aggregate decision counts for dashboards: per tier x reason x shadow over
// the last minute / hour / day (a ring of 1440 one-minute slots), and tests
// and denials per integration (client_name or integration id, which are not
// personal) over the last day (24 hour slots, at most 10,000 names each).
// No client identity ever enters. Thread-safe.
#ifndef QUOTAD_OBSERVABILITY_DECISION_STATS_H_
#define QUOTAD_OBSERVABILITY_DECISION_STATS_H_

#include <array>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "quotad/common/clock.h"
#include "quotad/v1/admin.pb.h"

namespace quotad {

class DecisionStats {
 public:
  explicit DecisionStats(Clock* clock) : clock_(clock) {}

  void Record(const std::string& tier, v1::Reason reason, bool shadow, bool allowed,
              const std::string& integration);

  std::vector<v1::DecisionCount> Decisions() const;
  // The `n` integrations with the most tests (or denials) in the last day.
  std::vector<v1::IntegrationCount> TopIntegrations(size_t n, bool by_denials) const;

 private:
  using Key = std::tuple<std::string, int, bool>;  // tier, reason, shadow
  struct Minute {
    int64_t index = -1;  // minutes since the epoch
    absl::flat_hash_map<Key, int64_t> counts;
  };
  struct Hour {
    int64_t index = -1;
    absl::flat_hash_map<std::string, std::pair<int64_t, int64_t>> integrations;  // tests, denials
  };
  static constexpr int kMinutes = 1440;
  static constexpr size_t kMaxIntegrationsPerHour = 10000;

  Clock* clock_;
  mutable absl::Mutex mu_;
  std::array<Minute, kMinutes> minutes_ ABSL_GUARDED_BY(mu_);
  std::array<Hour, 24> hours_ ABSL_GUARDED_BY(mu_);
};

// The `n` integrations with the most tests (or, by_denials, denials; those
// with none left out) from name -> (tests, denials), ties by name.
std::vector<v1::IntegrationCount> RankIntegrations(
    const absl::flat_hash_map<std::string, std::pair<int64_t, int64_t>>& totals, bool by_denials,
    size_t n);

}  // namespace quotad

#endif  // QUOTAD_OBSERVABILITY_DECISION_STATS_H_
