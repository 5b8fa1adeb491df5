// Usage meters: what every admitted request charged, per integration and per
// tier and UTC day, kept for the policy's meter_retention_days (400 by
// default) as the record sponsorship and fees stand on (AdminService.
// GetUsageReport, `quotactl report`).
//
// A meter is an ordinary counter (KeySpace::kCount, day buckets): charged in
// the admission's own WriteBatch (so it is exact and durable exactly when the
// admission is), listed in its idempotency record (so a Refund gives it
// back), replicated like every slot (older peers accept it as a
// calendar-month counter). No limit reads it and the request path never
// reads it: it is charged, not locked or cached.
//
// Identity-free: a meter names an integration_id or a tier, never a client.
// Its id hashes the name under a fixed public key, not the identity key, so a
// key rotation leaves a year of meters readable.
#ifndef QUOTAD_ADMISSION_METERS_H_
#define QUOTAD_ADMISSION_METERS_H_

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "quotad/storage/keys.h"

namespace quotad {

enum class MeterKind : uint8_t { kIntegration = 1, kTier = 2 };

// The counter of one meter. Stable across processes, nodes and key files.
CounterId MeterId(MeterKind kind, absl::string_view name);

// What an admitted request charges, besides its limits' counters: its tier's
// meter and, when it names one, its integration's.
absl::InlinedVector<CounterId, 2> MetersFor(absl::string_view tier,
                                            absl::string_view integration_id);

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_METERS_H_
