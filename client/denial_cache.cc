#include "client/denial_cache.h"

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "quotad/rpc/unary.h"

namespace quotad::client {
namespace {

// Length-prefixed fields: no two requests share a key by concatenation.
std::string Key(const v1::AcquireRequest& r) {
  std::string key;
  for (const std::string* f : {&r.ip(), &r.user_agent(), &r.client_name(), &r.integration_id(),
                               &r.integration_tier(), &r.service()}) {
    absl::StrAppend(&key, f->size(), ":", *f, "|");
  }
  absl::StrAppend(&key, r.has_cost() ? r.cost() : 1);
  return key;
}

class DenialCachingConnection final : public QuotaConnection {
 public:
  DenialCachingConnection(std::shared_ptr<QuotaConnection> inner, DenialCacheOptions options)
      : inner_(std::move(inner)), options_(std::move(options)) {}

  absl::StatusOr<v1::AcquireResponse> Acquire(const v1::AcquireRequest& request) override {
    return Decide(request, [&] { return inner_->Acquire(request); });
  }
  absl::StatusOr<v1::AcquireResponse> Check(const v1::AcquireRequest& request) override {
    return Decide(request, [&] { return inner_->Check(request); });
  }
  absl::StatusOr<v1::RefundResponse> Refund(const v1::RefundRequest& request) override {
    return inner_->Refund(request);
  }

 private:
  struct Entry {
    v1::AcquireResponse response;
    absl::Time expires;   // of the entry (at most max_ttl)
    absl::Time retry_at;  // what the node's retry_after pointed at
  };

  template <typename Call>
  absl::StatusOr<v1::AcquireResponse> Decide(const v1::AcquireRequest& request, Call call) {
    std::string key = Key(request);
    if (auto hit = Lookup(key)) return *hit;
    absl::StatusOr<v1::AcquireResponse> answer = call();
    if (answer.ok() && !answer->allowed()) Remember(std::move(key), *answer);
    return answer;
  }

  std::optional<v1::AcquireResponse> Lookup(const std::string& key) {
    const absl::Time now = options_.now();
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    if (it->second.expires <= now) {
      entries_.erase(it);
      return std::nullopt;
    }
    v1::AcquireResponse response = it->second.response;
    if (response.has_retry_after()) {
      rpc::SetDuration(it->second.retry_at - now, response.mutable_retry_after());
    }
    return response;
  }

  void Remember(std::string key, const v1::AcquireResponse& response) {
    const absl::Time now = options_.now();
    absl::Duration ttl = options_.max_ttl;
    const absl::Time retry_at = now + rpc::FromDuration(response.retry_after());
    if (response.has_retry_after()) ttl = std::min(ttl, retry_at - now);
    if (ttl <= absl::ZeroDuration() || options_.max_entries == 0) return;
    absl::MutexLock lock(&mu_);
    if (entries_.size() >= options_.max_entries && !entries_.contains(key)) {
      // Full: sweep the expired entries, at most once a second (a sweep is
      // O(entries)); still full, the denial is simply not cached.
      if (now - last_sweep_ < absl::Seconds(1)) return;
      last_sweep_ = now;
      absl::erase_if(entries_, [&](const auto& e) { return e.second.expires <= now; });
      if (entries_.size() >= options_.max_entries) return;
    }
    entries_[std::move(key)] = Entry{response, now + ttl, retry_at};
  }

  const std::shared_ptr<QuotaConnection> inner_;
  const DenialCacheOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace

std::shared_ptr<QuotaConnection> MakeDenialCachingConnection(std::shared_ptr<QuotaConnection> inner,
                                                             DenialCacheOptions options) {
  return std::make_shared<DenialCachingConnection>(std::move(inner), std::move(options));
}

}  // namespace quotad::client
