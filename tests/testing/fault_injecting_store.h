// A CounterStore decorator that fails on demand, to test that storage
// failures become UNAVAILABLE and charge nothing.
#ifndef QUOTAD_TESTS_TESTING_FAULT_INJECTING_STORE_H_
#define QUOTAD_TESTS_TESTING_FAULT_INJECTING_STORE_H_

#include <atomic>
#include <functional>
#include <memory>

#include "absl/synchronization/notification.h"

#include "quotad/storage/counter_store.h"

namespace quotad::testing {

class FaultInjectingStore final : public CounterStore {
 public:
  explicit FaultInjectingStore(CounterStore* inner) : inner_(inner) {}

  void FailReads(bool fail) { fail_reads_ = fail; }
  void FailCommits(bool fail) { fail_commits_ = fail; }
  // Runs before every PutSlots (it may block, e.g. to hold a merge's write
  // open); a non-OK status fails that PutSlots. Set before use.
  void SetBeforePutSlots(std::function<absl::Status()> hook) { before_put_slots_ = std::move(hook); }
  // Runs before every CommitMany (it may block: a group commit held open).
  void SetBeforeCommit(std::function<void()> hook) { before_commit_ = std::move(hook); }
  // Holds the first CommitMany from now on open: notifies `writing` when it
  // starts, then waits for `release`; later commits pass without touching
  // them. The notifications must outlive that first commit.
  void HoldFirstCommit(absl::Notification* writing, absl::Notification* release) {
    auto first = std::make_shared<std::atomic<bool>>(true);
    SetBeforeCommit([first, writing, release] {
      if (!first->exchange(false)) return;
      writing->Notify();
      release->WaitForNotification();
    });
  }
  int commits() const { return commits_; }

  absl::StatusOr<std::vector<HourCount>> ReadBuckets(const CounterId& id,
                                                     uint32_t min_hour) override {
    if (fail_reads_) return absl::UnavailableError("injected read failure");
    return inner_->ReadBuckets(id, min_hour);
  }
  absl::StatusOr<std::vector<SlotValue>> ReadCounterSlots(const CounterId& id,
                                                         uint32_t min_hour) override {
    if (fail_reads_) return absl::UnavailableError("injected read failure");
    return inner_->ReadCounterSlots(id, min_hour);
  }
  absl::Status Commit(absl::Span<const CounterDelta> deltas,
                      const IdempotencyPut* idempotency) override {
    if (fail_commits_) return absl::UnavailableError("injected commit failure");
    ++commits_;
    return inner_->Commit(deltas, idempotency);
  }
  absl::Status CommitMany(absl::Span<const CounterDelta> deltas,
                          absl::Span<const IdempotencyPut> idempotency) override {
    if (before_commit_) before_commit_();
    if (fail_commits_) return absl::UnavailableError("injected commit failure");
    ++commits_;
    return inner_->CommitMany(deltas, idempotency);
  }
  absl::StatusOr<std::optional<std::string>> GetIdempotency(const IdentityHash& key,
                                                            absl::Time now) override {
    if (fail_reads_) return absl::UnavailableError("injected read failure");
    return inner_->GetIdempotency(key, now);
  }
  absl::StatusOr<std::vector<uint64_t>> GetSlots(absl::Span<const SlotKey> keys) override {
    if (fail_reads_) return absl::UnavailableError("injected read failure");
    return inner_->GetSlots(keys);
  }
  absl::Status PutSlots(absl::Span<const SlotValue> slots) override {
    if (before_put_slots_) {
      if (absl::Status s = before_put_slots_(); !s.ok()) return s;
    }
    if (fail_commits_) return absl::UnavailableError("injected commit failure");
    return inner_->PutSlots(slots);
  }
  absl::StatusOr<size_t> ScanSlots(absl::string_view prefix, uint32_t min_hour, uint32_t max_hour,
                                   absl::string_view start_after, size_t limit,
                                   const std::function<bool(const SlotValue&)>& fn) override {
    if (fail_reads_) return absl::UnavailableError("injected read failure");
    return inner_->ScanSlots(prefix, min_hour, max_hour, start_after, limit, fn);
  }
  absl::StatusOr<ScanProgress> ScanSlotRanges(
      absl::Span<const std::string> prefixes, uint32_t min_hour, uint32_t max_hour,
      absl::string_view start_after, size_t max_keys,
      const std::function<bool(const SlotValue&)>& fn) override {
    if (fail_reads_) return absl::UnavailableError("injected read failure");
    return inner_->ScanSlotRanges(prefixes, min_hour, max_hour, start_after, max_keys, fn);
  }
  void ReleaseIdleScans() override { inner_->ReleaseIdleScans(); }
  uint64_t origin() const override { return inner_->origin(); }

 private:
  CounterStore* inner_;
  std::atomic<bool> fail_reads_{false};
  std::atomic<bool> fail_commits_{false};
  std::atomic<int> commits_{0};
  std::function<absl::Status()> before_put_slots_;
  std::function<void()> before_commit_;
};

}  // namespace quotad::testing

#endif  // QUOTAD_TESTS_TESTING_FAULT_INJECTING_STORE_H_
