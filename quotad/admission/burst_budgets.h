// Fair burst budgets: one sliding one-minute budget (BurstLimiter) per
// automated tier and, inside a tier, per integration. The fairness rule: a
// request spends only its own budget — its integration's (by the
// authenticated integration_id) or, without one, its tier's shared pool for
// unregistered clients — so a fleet firing at once can exhaust only the
// budget it belongs to, never a registered tier's or another integration's.
//
// In memory, per node (it protects this node's servers). Bounded: at most
// `max_budgets` integration budgets are tracked (plus one pool and one
// overflow budget per tier); when full, the budgets idle for a whole minute
// are dropped, and while none is idle a new integration shares its tier's
// overflow budget. Thread-safe.
#ifndef QUOTAD_ADMISSION_BURST_BUDGETS_H_
#define QUOTAD_ADMISSION_BURST_BUDGETS_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "quotad/admission/burst_limiter.h"

namespace quotad {

class BurstBudgets {
 public:
  explicit BurstBudgets(size_t max_budgets = 4096) : max_budgets_(max_budgets) {}

  // The budget of `tier` and `integration_id` ("" = the tier's unregistered
  // pool). Never null; a caller may keep it after the budget was dropped.
  std::shared_ptr<BurstLimiter> For(absl::string_view tier, absl::string_view integration_id,
                                    absl::Time now);

  // Budgets tracked (tests and metrics).
  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<BurstLimiter> limiter;
    int64_t last_used_sec = 0;
    bool integration = false;  // counts against max_budgets
  };
  // Drops the integration budgets idle for a whole minute.
  void EvictIdleLocked(int64_t now_sec) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_budgets_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> budgets_ ABSL_GUARDED_BY(mu_);
  size_t integrations_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_BURST_BUDGETS_H_
