#include "quotad/observability/near_limit.h"

#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace quotad {
namespace {

bool Recent(int64_t minute, int64_t now) {
  return minute <= now && now - minute < NearLimitTracker::kWindowMinutes;
}

}  // namespace

void NearLimitTracker::Ring::Add(int64_t at, int64_t delta) {
  const size_t slot = static_cast<size_t>(at % kWindowMinutes);
  if (minute[slot] != at) {
    minute[slot] = at;
    count[slot] = 0;
  }
  count[slot] += delta;
}

int64_t NearLimitTracker::Ring::Sum(int64_t now) const {
  int64_t sum = 0;
  for (size_t i = 0; i < minute.size(); ++i) {
    if (Recent(minute[i], now)) sum += count[i];
  }
  return sum;
}

std::string NearLimitTracker::RingKey(absl::string_view tier, Subject subject) {
  return absl::StrCat(tier, absl::string_view("\0", 1), static_cast<int>(subject));
}

void NearLimitTracker::OnDecision(const DecisionNote& note) {
  Note(Subject::kClient, note.tier, note.client.Prefix64(), note.client_near);
  if (note.pool) Note(Subject::kIntegration, note.tier, note.pool->Prefix64(), note.pool_near);
}

void NearLimitTracker::Note(Subject subject, absl::string_view tier, uint64_t id, bool near) {
  const int64_t now = absl::ToUnixSeconds(clock_->Now()) / 60;
  // Clients and integrations are different subjects even on equal keys.
  const uint64_t key = id ^ static_cast<uint64_t>(subject);
  Shard& shard = shards_[key % kShards];
  absl::MutexLock lock(&shard.mu);
  auto it = shard.near.find(key);
  if (it == shard.near.end() && !near) return;  // the common case
  if (it != shard.near.end()) {
    // Out of its last minute's count (if that still counts).
    Entry& old = it->second;
    if (Recent(old.minute, now)) shard.rings[RingKey(old.tier, old.subject)].Add(old.minute, -1);
    if (!near) {
      shard.near.erase(it);
      return;
    }
  } else {
    it = shard.near.try_emplace(key).first;
  }
  Entry& entry = it->second;
  entry.minute = now;
  entry.subject = subject;
  if (entry.tier != tier) entry.tier = std::string(tier);
  shard.rings[RingKey(tier, subject)].Add(now, 1);
}

std::vector<NearLimitTracker::Count> NearLimitTracker::Counts() {
  const int64_t now = absl::ToUnixSeconds(clock_->Now()) / 60;
  std::map<std::tuple<std::string, int>, int64_t> totals;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    if (shard.swept_minute != now) {
      // Subjects whose last decision left the hour no longer count.
      shard.swept_minute = now;
      absl::erase_if(shard.near, [&](const auto& e) { return !Recent(e.second.minute, now); });
    }
    for (const auto& [key, ring] : shard.rings) {
      const size_t split = key.find('\0');
      const int subject = key[split + 1] - '0';
      totals[{key.substr(0, split), subject}] += ring.Sum(now);
    }
  }
  std::vector<Count> out;
  for (const auto& [key, count] : totals) {
    out.push_back({std::get<0>(key), static_cast<Subject>(std::get<1>(key)), count});
  }
  return out;
}

}  // namespace quotad
