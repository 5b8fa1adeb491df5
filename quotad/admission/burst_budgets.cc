#include "quotad/admission/burst_budgets.h"

#include "absl/strings/str_cat.h"

namespace quotad {
namespace {
// Keys: tier '\0' kind ('p' pool, 'o' overflow, 'i' integration) id.
std::string Key(absl::string_view tier, char kind, absl::string_view id) {
  return absl::StrCat(tier, absl::string_view("\0", 1), absl::string_view(&kind, 1), id);
}
}  // namespace

std::shared_ptr<BurstLimiter> BurstBudgets::For(absl::string_view tier,
                                                absl::string_view integration_id, absl::Time now) {
  const int64_t sec = absl::ToUnixSeconds(now);
  char kind = integration_id.empty() ? 'p' : 'i';
  std::string key = Key(tier, kind, integration_id);
  absl::MutexLock lock(&mu_);
  auto it = budgets_.find(key);
  if (it == budgets_.end() && kind == 'i' && integrations_ >= max_budgets_) {
    EvictIdleLocked(sec);
    if (integrations_ >= max_budgets_) {
      kind = 'o';
      key = Key(tier, kind, "");
    }
    it = budgets_.find(key);
  }
  if (it == budgets_.end()) {
    Entry entry;
    entry.limiter = std::make_shared<BurstLimiter>();
    entry.integration = kind == 'i';
    integrations_ += entry.integration;
    it = budgets_.emplace(std::move(key), std::move(entry)).first;
  }
  it->second.last_used_sec = sec;
  return it->second.limiter;
}

void BurstBudgets::EvictIdleLocked(int64_t now_sec) {
  for (auto it = budgets_.begin(); it != budgets_.end();) {
    const Entry& e = it->second;
    if (e.integration && e.last_used_sec <= now_sec - 60) {
      --integrations_;
      budgets_.erase(it++);
    } else {
      ++it;
    }
  }
}

size_t BurstBudgets::size() const {
  absl::MutexLock lock(&mu_);
  return budgets_.size();
}

}  // namespace quotad
