#include "quotad/admin/override_store.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "quotad/common/logging.h"
#include "quotad/common/status_macros.h"

namespace quotad {
namespace {

absl::Time ExpiryOf(const v1::Override& o) {
  if (!o.has_expires_at()) return absl::InfiniteFuture();
  return absl::FromUnixSeconds(o.expires_at().seconds()) + absl::Nanoseconds(o.expires_at().nanos());
}

}  // namespace

absl::Status OverrideStore::CheckRecord(const v1::ReplicatedRecord& record) {
  const absl::string_view id = absl::string_view(record.key()).substr(strlen(kRecordPrefix));
  if (id.empty()) return absl::InvalidArgumentError("key: the override id is empty");
  if (record.deleted()) return absl::OkStatus();
  v1::Override value;
  if (!value.ParseFromString(record.value())) {
    return absl::InvalidArgumentError("value: not an Override");
  }
  QUOTAD_ASSIGN_OR_RETURN(const std::string match_id, IdFor(value.match()));
  if (match_id != id || value.id() != id) {
    return absl::InvalidArgumentError(absl::StrCat("key: names override '", id, "' but its match is '",
                                                   match_id, "' and its id '", value.id(), "'"));
  }
  return absl::OkStatus();
}

OverrideStore::OverrideStore(Replicator* replicator, Clock* clock, const IdentityHasher* hasher)
    : replicator_(replicator), clock_(clock), hasher_(hasher), index_(std::make_shared<Index>()) {
  replicator_->AddRecordKind(kRecordPrefix, &OverrideStore::CheckRecord);
  replicator_->SetRecordListener([this](const std::string& key) {
    if (!absl::StartsWith(key, kRecordPrefix)) return;
    if (absl::Status s = Reload(); !s.ok()) {
      QUOTAD_LOG(WARNING) << "override index not rebuilt: " << s;
    }
  });
}

absl::StatusOr<std::string> OverrideStore::IdFor(const v1::Match& match) {
  switch (match.target_case()) {
    case v1::Match::kIp:
      return absl::InvalidArgumentError("match.ip: single addresses are kept only as ip_hash");
    case v1::Match::kIpHash:
      if (match.ip_hash().size() != 32 ||
          match.ip_hash().find_first_not_of("0123456789abcdef") != std::string::npos) {
        return absl::InvalidArgumentError("match.ip_hash: must be 32 lowercase hex digits");
      }
      return absl::StrCat("ip/", match.ip_hash());
    case v1::Match::kCidr: {
      auto cidr = Cidr::Parse(match.cidr());
      if (!cidr.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("match.cidr: ", cidr.status().message()));
      }
      return absl::StrCat("cidr/", cidr->ToString());
    }
    case v1::Match::kClientName:
      if (match.client_name().empty() || match.client_name().size() > 1024) {
        return absl::InvalidArgumentError("match.client_name: must be 1..1024 bytes");
      }
      return absl::StrCat("client_name/", match.client_name());
    case v1::Match::kIntegrationId:
      if (match.integration_id().empty() || match.integration_id().size() > 1024) {
        return absl::InvalidArgumentError("match.integration_id: must be 1..1024 bytes");
      }
      return absl::StrCat("integration_id/", match.integration_id());
    case v1::Match::kUserAgentRegex: {
      if (match.user_agent_regex().empty() || match.user_agent_regex().size() > 1024) {
        return absl::InvalidArgumentError("match.user_agent_regex: must be 1..1024 bytes");
      }
      RE2::Options options;
      options.set_log_errors(false);
      RE2 re(match.user_agent_regex(), options);
      if (!re.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("match.user_agent_regex: bad RE2 pattern: ", re.error()));
      }
      return absl::StrCat("user_agent/", match.user_agent_regex());
    }
    case v1::Match::TARGET_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "match: one of ip, cidr, client_name, integration_id, user_agent_regex is required");
}

absl::Status OverrideStore::Reload() {
  auto index = std::make_shared<Index>();
  absl::Status scan = replicator_->ListRecords(kRecordPrefix, [&](const v1::ReplicatedRecord& r) {
    v1::Override o;
    if (!o.ParseFromString(r.value())) return true;
    Entry entry{{o.id(), o.tier(), o.daily_limit()}, ExpiryOf(o)};
    const v1::Match& m = o.match();
    switch (m.target_case()) {
      case v1::Match::kIpHash:
        index->by_ip_hash[m.ip_hash()] = entry;
        break;
      case v1::Match::kIp:  // never stored (CheckRecord refuses it)
        break;
      case v1::Match::kCidr:
        if (auto cidr = Cidr::Parse(m.cidr()); cidr.ok()) index->by_cidr.emplace_back(*cidr, entry);
        break;
      case v1::Match::kClientName:
        index->by_client_name[m.client_name()] = entry;
        break;
      case v1::Match::kIntegrationId:
        index->by_integration_id[m.integration_id()] = entry;
        break;
      case v1::Match::kUserAgentRegex: {
        RE2::Options options;
        options.set_log_errors(false);
        auto re = std::make_unique<RE2>(m.user_agent_regex(), options);
        if (re->ok()) index->by_user_agent.emplace_back(std::move(re), entry);
        break;
      }
      case v1::Match::TARGET_NOT_SET:
        break;
    }
    return true;
  });
  QUOTAD_RETURN_IF_ERROR(scan);
  std::stable_sort(index->by_cidr.begin(), index->by_cidr.end(),
                   [](const auto& a, const auto& b) { return a.first.prefix_len > b.first.prefix_len; });
  absl::MutexLock lock(&mu_);
  index_ = std::move(index);
  return absl::OkStatus();
}

std::optional<OverrideDecision> OverrideStore::Find(
    const ClientFacts& facts, absl::Time now,
    absl::FunctionRef<bool(absl::string_view tier)> is_ban) const {
  std::shared_ptr<const Index> index;
  {
    absl::MutexLock lock(&mu_);
    index = index_;
  }
  // Most specific first; the first live ban is the answer, else the first
  // live override of any other tier.
  const Entry* found = nullptr;
  auto is_answer = [&](const Entry& e) {
    if (now >= e.expires) return false;
    if (is_ban(e.decision.tier)) return true;
    if (found == nullptr) found = &e;
    return false;
  };
  auto in_map = [&](const absl::flat_hash_map<std::string, Entry>& map, absl::string_view key) {
    auto it = map.find(key);
    return it != map.end() && is_answer(it->second) ? &it->second : nullptr;
  };
  const Entry* ban = nullptr;
  if (!index->by_ip_hash.empty()) {  // a hash per call only while a single address is listed
    ban = in_map(index->by_ip_hash, HashToHex(hasher_->HashIp(facts.ip)));
  }
  for (auto it = index->by_cidr.begin(); ban == nullptr && it != index->by_cidr.end(); ++it) {
    if (it->first.Contains(facts.ip) && is_answer(it->second)) ban = &it->second;
  }
  if (ban == nullptr && !facts.integration_id.empty()) {
    ban = in_map(index->by_integration_id, facts.integration_id);
  }
  if (ban == nullptr && !facts.client_name.empty()) {
    ban = in_map(index->by_client_name, facts.client_name);
  }
  const re2::StringPiece ua(facts.user_agent.data(), facts.user_agent.size());
  for (auto it = index->by_user_agent.begin(); ban == nullptr && it != index->by_user_agent.end();
       ++it) {
    if (now < it->second.expires && RE2::PartialMatch(ua, *it->first) && is_answer(it->second)) {
      ban = &it->second;
    }
  }
  if (ban != nullptr) return ban->decision;
  if (found != nullptr) return found->decision;
  return std::nullopt;
}

absl::StatusOr<v1::Match> OverrideStore::Stored(const v1::Match& match) const {
  if (match.target_case() != v1::Match::kIp) return match;
  auto ip = IpAddress::Parse(match.ip());
  if (!ip.ok()) return absl::InvalidArgumentError(absl::StrCat("match.ip: ", ip.status().message()));
  v1::Match stored;
  stored.set_ip_hash(HashToHex(hasher_->HashIp(*ip)));
  return stored;
}

absl::StatusOr<std::string> OverrideStore::IdOf(const v1::Match& match) const {
  QUOTAD_ASSIGN_OR_RETURN(const v1::Match stored, Stored(match));
  return IdFor(stored);
}

absl::StatusOr<v1::Override> OverrideStore::Put(v1::Override override_value) {
  QUOTAD_ASSIGN_OR_RETURN(*override_value.mutable_match(), Stored(override_value.match()));
  QUOTAD_ASSIGN_OR_RETURN(std::string id, IdFor(override_value.match()));
  override_value.set_id(id);
  const absl::Time expires = ExpiryOf(override_value);
  QUOTAD_RETURN_IF_ERROR(
      replicator_
          ->PutRecord(absl::StrCat(kRecordPrefix, id), override_value.SerializeAsString(), expires)
          .status());
  return override_value;
}

absl::StatusOr<bool> OverrideStore::Delete(const std::string& id) {
  const std::string key = absl::StrCat(kRecordPrefix, id);
  QUOTAD_ASSIGN_OR_RETURN(auto existing, replicator_->GetRecord(key));
  if (!existing.has_value()) return false;
  QUOTAD_RETURN_IF_ERROR(replicator_->DeleteRecord(key).status());
  return true;
}

absl::StatusOr<std::vector<v1::Override>> OverrideStore::List(const std::string& tier) {
  std::vector<v1::Override> out;
  const absl::Time now = clock_->Now();
  QUOTAD_RETURN_IF_ERROR(replicator_->ListRecords(kRecordPrefix, [&](const v1::ReplicatedRecord& r) {
    v1::Override o;
    if (o.ParseFromString(r.value()) && ExpiryOf(o) > now && (tier.empty() || o.tier() == tier)) {
      out.push_back(std::move(o));
    }
    return true;
  }));
  return out;
}

}  // namespace quotad
