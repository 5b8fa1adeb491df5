#include "client/adaptive_throttle.h"

#include <algorithm>

#include "absl/random/distributions.h"

namespace quotad::client {

AdaptiveThrottle::Second& AdaptiveThrottle::Current() {
  const int64_t now = absl::ToUnixSeconds(clock_->Now());
  while (!seconds_.empty() && seconds_.front().at <= now - window_seconds_) {
    wanted_ -= seconds_.front().wanted;
    answered_ -= seconds_.front().answered;
    seconds_.pop_front();
  }
  if (seconds_.empty() || seconds_.back().at != now) seconds_.push_back({now});
  return seconds_.back();
}

double AdaptiveThrottle::Probability() const {
  const double wanted = static_cast<double>(wanted_);
  return std::max(0.0, (wanted - k_ * static_cast<double>(answered_)) / (wanted + 1));
}

bool AdaptiveThrottle::Admit(absl::BitGenRef gen) {
  absl::MutexLock lock(&mu_);
  Second& second = Current();
  // From the window's history, before this call joins it.
  const double refuse = Probability();
  ++second.wanted;
  ++wanted_;
  return refuse <= 0 || !absl::Bernoulli(gen, std::min(1.0, refuse));
}

void AdaptiveThrottle::Record(bool answered) {
  if (!answered) return;
  absl::MutexLock lock(&mu_);
  ++Current().answered;
  ++answered_;
}

double AdaptiveThrottle::RefusalProbability() {
  absl::MutexLock lock(&mu_);
  Current();
  return Probability();
}

}  // namespace quotad::client
