// Operator overrides (tiers, custom limits, bans) as replicated records.
//
// Each override is a last-writer-wins record "override/<id>" on the
// replication channel, so a ban set in one region applies in every region.
// Privacy: a single-address match is kept only as its keyed hash (`ip_hash`,
// id "ip/<hash>"): the raw address never reaches the records, the audit log
// or the logs; prefixes, names and patterns stay readable.
// The store keeps a compiled in-memory index (exact-address and name maps,
// prefixes longest first, User-Agent patterns) rebuilt whenever an override
// record changes locally or arrives from a peer; Find() is a few hash
// lookups, the prefixes and the User-Agent patterns, and a ban at any of
// those levels beats an override to any other tier. Expiry is checked at
// lookup time, so a temporary ban lifts on time everywhere without any
// message. Thread-safe.
#ifndef QUOTAD_ADMIN_OVERRIDE_STORE_H_
#define QUOTAD_ADMIN_OVERRIDE_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "quotad/common/clock.h"
#include "quotad/identity/identity_hasher.h"
#include "quotad/identity/ip_address.h"
#include "quotad/policy/override_source.h"
#include "quotad/replication/replicator.h"
#include "quotad/v1/admin.pb.h"
#include "re2/re2.h"

namespace quotad {

class OverrideStore final : public OverrideSource {
 public:
  static constexpr char kRecordPrefix[] = "override/";

  // `replicator`, `clock` and `hasher` (the identity key) are borrowed.
  // Registers itself as the replicator's record listener, and CheckRecord
  // as the check of the "override/" record kind.
  OverrideStore(Replicator* replicator, Clock* clock, const IdentityHasher* hasher);

  // Rebuilds the index from the stored records. Errors: Unavailable.
  absl::Status Reload();

  // Validates a stored-form `match` (no raw `ip`: see Stored) and returns
  // the override id it maps to, e.g. "cidr/203.0.113.0/24" (canonical form).
  // Errors: InvalidArgument naming the field ("match.cidr: ...").
  static absl::StatusOr<std::string> IdFor(const v1::Match& match);
  // `match` as it is stored: an `ip` becomes its `ip_hash`; others as given.
  // Errors: InvalidArgument for an unparsable address.
  absl::StatusOr<v1::Match> Stored(const v1::Match& match) const;
  // IdFor(Stored(match)): the id of an override as a caller names it.
  absl::StatusOr<std::string> IdOf(const v1::Match& match) const;

  // Whether `record` is a well-formed override record: the key names the id
  // its match maps to (and the id it carries); a tombstone needs a non-empty
  // id. Errors: InvalidArgument saying what differs.
  static absl::Status CheckRecord(const v1::ReplicatedRecord& record);

  // Stores (replacing an override with the same id) and replicates.
  absl::StatusOr<v1::Override> Put(v1::Override override_value);
  // Deletes by id; false if there was none. Errors: Unavailable.
  absl::StatusOr<bool> Delete(const std::string& id);
  // Live overrides, optionally only those to `tier`.
  absl::StatusOr<std::vector<v1::Override>> List(const std::string& tier);

  std::optional<OverrideDecision> Find(
      const ClientFacts& facts, absl::Time now,
      absl::FunctionRef<bool(absl::string_view tier)> is_ban) const override;

 private:
  struct Entry {
    OverrideDecision decision;
    absl::Time expires = absl::InfiniteFuture();
  };
  struct Index {
    absl::flat_hash_map<std::string, Entry> by_ip_hash;  // HashToHex(HashIp(address))
    std::vector<std::pair<Cidr, Entry>> by_cidr;    // longest prefix first
    absl::flat_hash_map<std::string, Entry> by_integration_id;
    absl::flat_hash_map<std::string, Entry> by_client_name;
    std::vector<std::pair<std::unique_ptr<RE2>, Entry>> by_user_agent;
  };

  Replicator* replicator_;
  Clock* clock_;
  const IdentityHasher* hasher_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Index> index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quotad

#endif  // QUOTAD_ADMIN_OVERRIDE_STORE_H_
