// A CounterStore decorator that fails on demand, to test that storage
// failures become UNAVAILABLE and charge nothing.
#ifndef QUOTAD_TESTS_TESTING_FAULT_INJECTING_STORE_H_
#define QUOTAD_TESTS_TESTING_FAULT_INJECTING_STORE_H_

#include <atomic>

#include "quotad/storage/counter_store.h"

namespace quotad::testing {

class FaultInjectingStore final : public CounterStore {
 public:
  explicit FaultInjectingStore(CounterStore* inner) : inner_(inner) {}

  void FailReads(bool fail) { fail_reads_ = fail; }
  void FailCommits(bool fail) { fail_commits_ = fail; }
  int commits() const { return commits_; }

  absl::StatusOr<std::vector<HourCount>> ReadBuckets(const CounterId& id,
                                                     uint32_t min_hour) override {
    if (fail_reads_) return absl::UnavailableError("injected read failure");
    return inner_->ReadBuckets(id, min_hour);
  }
  absl::Status Commit(absl::Span<const CounterDelta> deltas,
                      const IdempotencyPut* idempotency) override {
    if (fail_commits_) return absl::UnavailableError("injected commit failure");
    ++commits_;
    return inner_->Commit(deltas, idempotency);
  }
  absl::StatusOr<std::optional<std::string>> GetIdempotency(const IdentityHash& key,
                                                            absl::Time now) override {
    if (fail_reads_) return absl::UnavailableError("injected read failure");
    return inner_->GetIdempotency(key, now);
  }
  uint64_t origin() const override { return inner_->origin(); }

 private:
  CounterStore* inner_;
  std::atomic<bool> fail_reads_{false};
  std::atomic<bool> fail_commits_{false};
  std::atomic<int> commits_{0};
};

}  // namespace quotad::testing

#endif  // QUOTAD_TESTS_TESTING_FAULT_INJECTING_STORE_H_
