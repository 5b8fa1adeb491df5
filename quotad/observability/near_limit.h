// Near-limit signals for dashboards and alerts: per tier, how many clients
// and how many integrations stand at or above 80% of a limit, so operators
// see a fleet approaching its cap before it is refused.
//
// What counts: a subject (a client key, or an integration's pool counter)
// whose most recent decision on this node, within the last 60 minutes, put
// it at or above 80% of a limit row counting it (its usage including that
// request's own amount: a refused request counts as near). A later decision
// below 80% takes it out at once; one with no decision for 60 minutes drops
// out. Fed by the AdmissionController (UsageObserver::OnDecision); holds
// only the first 8 bytes of the subjects' keyed hashes, only while near, in
// memory. Reading costs O(tiers) plus a sweep of entries older than the
// hour at most once a minute; a decision costs one hash lookup.
// Thread-safe.
#ifndef QUOTAD_OBSERVABILITY_NEAR_LIMIT_H_
#define QUOTAD_OBSERVABILITY_NEAR_LIMIT_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "quotad/admission/usage_observer.h"
#include "quotad/common/clock.h"

namespace quotad {

class NearLimitTracker final : public UsageObserver {
 public:
  enum class Subject : uint8_t { kClient = 0, kIntegration = 1 };
  static constexpr int64_t kWindowMinutes = 60;

  explicit NearLimitTracker(Clock* clock) : clock_(clock) {}

  void OnUsageChanged(const CounterId&, uint32_t, int64_t) override {}
  void OnDecision(const DecisionNote& note) override;

  // "client" or "integration" (metric label and StatsResponse.near_limit).
  static const char* SubjectName(Subject subject) {
    return subject == Subject::kClient ? "client" : "integration";
  }

  // The latest decision for one subject: near its limit or not.
  void Note(Subject subject, absl::string_view tier, uint64_t id, bool near);

  struct Count {
    std::string tier;
    Subject subject = Subject::kClient;
    int64_t count = 0;
  };
  // Every (tier, subject) seen near a limit since start, counts of now
  // (0 included, so a series drops to 0 rather than vanishing), ordered by
  // tier then subject.
  std::vector<Count> Counts();

 private:
  static constexpr size_t kShards = 16;
  // Near subjects by their last decision's minute, for one (tier, subject).
  struct Ring {
    std::array<int64_t, kWindowMinutes> minute{};
    std::array<int64_t, kWindowMinutes> count{};
    void Add(int64_t at, int64_t delta);
    int64_t Sum(int64_t now) const;
  };
  struct Entry {
    int64_t minute = 0;
    std::string tier;
    Subject subject = Subject::kClient;
  };
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<uint64_t, Entry> near ABSL_GUARDED_BY(mu);  // near subjects
    // Key: tier name + '\0' + subject.
    absl::flat_hash_map<std::string, Ring> rings ABSL_GUARDED_BY(mu);
    int64_t swept_minute ABSL_GUARDED_BY(mu) = 0;
  };
  static std::string RingKey(absl::string_view tier, Subject subject);

  Clock* clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace quotad

#endif  // QUOTAD_OBSERVABILITY_NEAR_LIMIT_H_
