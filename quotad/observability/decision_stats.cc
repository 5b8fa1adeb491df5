#include "quotad/observability/decision_stats.h"

#include <algorithm>

namespace quotad {

void DecisionStats::Record(const std::string& tier, v1::Reason reason, bool shadow, bool allowed,
                           const std::string& integration) {
  const int64_t minute = absl::ToUnixSeconds(clock_->Now()) / 60;
  absl::MutexLock lock(&mu_);
  Minute& m = minutes_[static_cast<size_t>(minute % kMinutes)];
  if (m.index != minute) {
    m.index = minute;
    m.counts.clear();
  }
  ++m.counts[Key{tier, static_cast<int>(reason), shadow}];
  if (integration.empty()) return;
  const int64_t hour = minute / 60;
  Hour& h = hours_[static_cast<size_t>(hour % 24)];
  if (h.index != hour) {
    h.index = hour;
    h.integrations.clear();
  }
  auto it = h.integrations.find(integration);
  if (it == h.integrations.end()) {
    if (h.integrations.size() >= kMaxIntegrationsPerHour) return;
    it = h.integrations.emplace(integration, std::make_pair(0, 0)).first;
  }
  ++it->second.first;
  if (!allowed) ++it->second.second;
}

std::vector<v1::DecisionCount> DecisionStats::Decisions() const {
  const int64_t now = absl::ToUnixSeconds(clock_->Now()) / 60;
  absl::flat_hash_map<Key, v1::DecisionCount> rows;
  absl::MutexLock lock(&mu_);
  for (const Minute& m : minutes_) {
    if (m.index < 0 || m.index > now || now - m.index >= kMinutes) continue;
    for (const auto& [key, count] : m.counts) {
      v1::DecisionCount& row = rows[key];
      row.set_tier(std::get<0>(key));
      row.set_reason(static_cast<v1::Reason>(std::get<1>(key)));
      row.set_shadow(std::get<2>(key));
      row.set_last_day(row.last_day() + count);
      if (now - m.index < 60) row.set_last_hour(row.last_hour() + count);
      if (now - m.index < 1) row.set_last_minute(row.last_minute() + count);
    }
  }
  std::vector<v1::DecisionCount> out;
  for (auto& [key, row] : rows) out.push_back(std::move(row));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(a.tier(), static_cast<int>(a.reason()), a.shadow()) <
           std::make_tuple(b.tier(), static_cast<int>(b.reason()), b.shadow());
  });
  return out;
}

std::vector<v1::IntegrationCount> DecisionStats::TopIntegrations(size_t n, bool by_denials) const {
  const int64_t hour = absl::ToUnixSeconds(clock_->Now()) / 3600;
  absl::flat_hash_map<std::string, std::pair<int64_t, int64_t>> totals;
  {
    absl::MutexLock lock(&mu_);
    for (const Hour& h : hours_) {
      if (h.index < 0 || h.index > hour || hour - h.index >= 24) continue;
      for (const auto& [name, c] : h.integrations) {
        totals[name].first += c.first;
        totals[name].second += c.second;
      }
    }
  }
  return RankIntegrations(totals, by_denials, n);
}

std::vector<v1::IntegrationCount> RankIntegrations(
    const absl::flat_hash_map<std::string, std::pair<int64_t, int64_t>>& totals, bool by_denials,
    size_t n) {
  std::vector<v1::IntegrationCount> out;
  for (const auto& [name, c] : totals) {
    if (by_denials && c.second == 0) continue;
    v1::IntegrationCount row;
    row.set_integration(name);
    row.set_tests(c.first);
    row.set_denials(c.second);
    out.push_back(std::move(row));
  }
  std::sort(out.begin(), out.end(), [by_denials](const auto& a, const auto& b) {
    const int64_t ka = by_denials ? a.denials() : a.tests();
    const int64_t kb = by_denials ? b.denials() : b.tests();
    return ka != kb ? ka > kb : a.integration() < b.integration();
  });
  if (out.size() > n) out.resize(n);
  return out;
}

}  // namespace quotad
