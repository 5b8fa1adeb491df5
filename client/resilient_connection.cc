#include "client/resilient_connection.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/random/bit_gen_ref.h"
#include "absl/random/distributions.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/adaptive_throttle.h"

namespace quotad::client {
namespace {

// One node's circuit breaker and throttle. Thread-safe.
class NodeHealth {
 public:
  explicit NodeHealth(const ResilienceOptions& options)
      : options_(options),
        throttle_(options.throttle_k, options.throttle_window, options.clock) {}

  // Whether a call may be sent now: false while the breaker is open (or a
  // half-open probe is out), or when the throttle refuses it.
  bool Admit(absl::BitGenRef gen) {
    absl::MutexLock lock(&mu_);
    if (failures_ >= options_.breaker_failures) {
      if (options_.clock->Now() < open_until_ || probing_) return false;
      probing_ = true;  // half open: this call is the probe
    }
    if (options_.throttle_k > 0 && !throttle_.Admit(gen)) {
      probing_ = false;
      return false;
    }
    return true;
  }

  // The outcome of a call Admit let through: answered, or failed retryably.
  void Record(bool answered) {
    throttle_.Record(answered);
    absl::MutexLock lock(&mu_);
    probing_ = false;
    if (answered) {
      failures_ = 0;
    } else if (++failures_ >= options_.breaker_failures) {
      open_until_ = options_.clock->Now() + options_.breaker_cooldown;
    }
  }

 private:
  const ResilienceOptions& options_;
  AdaptiveThrottle throttle_;
  absl::Mutex mu_;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;  // in a row
  absl::Time open_until_ ABSL_GUARDED_BY(mu_);
  bool probing_ ABSL_GUARDED_BY(mu_) = false;
};

class ResilientConnection final : public QuotaConnection {
 public:
  ResilientConnection(std::vector<std::shared_ptr<QuotaConnection>> nodes,
                      ResilienceOptions options)
      : nodes_(std::move(nodes)), options_(options) {
    for (size_t i = 0; i < nodes_.size(); ++i) health_.push_back(std::make_unique<NodeHealth>(options_));
  }

  absl::StatusOr<v1::AcquireResponse> Acquire(const v1::AcquireRequest& request) override {
    if (!options_.assign_request_ids || !request.request_id().empty()) {
      return Call([&](QuotaConnection& c) { return c.Acquire(request); });
    }
    v1::AcquireRequest with_id = request;
    with_id.set_request_id(NewRequestId());
    return Call([&](QuotaConnection& c) { return c.Acquire(with_id); });
  }
  absl::StatusOr<v1::AcquireResponse> Check(const v1::AcquireRequest& request) override {
    return Call([&](QuotaConnection& c) { return c.Check(request); });
  }
  absl::StatusOr<v1::RefundResponse> Refund(const v1::RefundRequest& request) override {
    return Call([&](QuotaConnection& c) { return c.Refund(request); });
  }

 private:
  std::string NewRequestId() {
    absl::MutexLock lock(&gen_mu_);
    return absl::StrCat("qc-", absl::Hex(absl::Uniform<uint64_t>(gen_), absl::kZeroPad16),
                        absl::Hex(absl::Uniform<uint64_t>(gen_), absl::kZeroPad16));
  }

  // `attempt(connection)` on node after node, as the header says.
  template <typename Attempt>
  auto Call(const Attempt& attempt) -> decltype(attempt(std::declval<QuotaConnection&>())) {
    const absl::Time deadline = absl::Now() + options_.budget;
    absl::Status last = absl::UnavailableError("no quotad node available (all skipped)");
    absl::Duration backoff = options_.initial_backoff;
    size_t next = 0;
    for (int attempts = 0; attempts < options_.max_attempts;) {
      const std::optional<size_t> node = NextAdmitted(next);
      if (!node) break;
      next = *node + 1;
      if (attempts > 0) {
        const absl::Duration pause = Jitter(backoff);
        if (absl::Now() + pause > deadline) break;
        absl::SleepFor(pause);
        backoff = std::min(backoff * 2, options_.max_backoff);
      }
      ++attempts;
      auto result = attempt(*nodes_[*node]);
      const bool answered = result.ok() || !NoNodeAnswered(result.status());
      health_[*node]->Record(answered);
      if (answered) return result;
      last = result.status();
    }
    return last;
  }

  // The first node from `from` on (wrapping around, each node once) whose
  // breaker and throttle admit a call.
  std::optional<size_t> NextAdmitted(size_t from) {
    absl::MutexLock lock(&gen_mu_);
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const size_t node = (from + i) % nodes_.size();
      if (health_[node]->Admit(gen_)) return node;
    }
    return std::nullopt;
  }

  absl::Duration Jitter(absl::Duration up_to) {
    absl::MutexLock lock(&gen_mu_);
    const int64_t us = std::max<int64_t>(1, absl::ToInt64Microseconds(up_to));
    return absl::Microseconds(absl::Uniform<int64_t>(absl::IntervalClosed, gen_, 0, us));
  }

  const std::vector<std::shared_ptr<QuotaConnection>> nodes_;
  const ResilienceOptions options_;
  std::vector<std::unique_ptr<NodeHealth>> health_;
  absl::Mutex gen_mu_;
  absl::BitGen gen_ ABSL_GUARDED_BY(gen_mu_);
};

}  // namespace

std::shared_ptr<QuotaConnection> MakeResilientConnection(
    std::vector<std::shared_ptr<QuotaConnection>> nodes, ResilienceOptions options) {
  return std::make_shared<ResilientConnection>(std::move(nodes), options);
}

}  // namespace quotad::client
