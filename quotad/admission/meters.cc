#include "quotad/admission/meters.h"

#include <memory>

#include "quotad/identity/identity_hasher.h"

namespace quotad {
namespace {

// A public key: meters are identity-free, and must outlive key rotations.
const IdentityHasher& MeterHasher() {
  static const IdentityHasher* const hasher =
      IdentityHasher::Create("quotad usage meters v1 (a public key)").value().release();
  return *hasher;
}

}  // namespace

CounterId MeterId(MeterKind kind, absl::string_view name) {
  const char tag = static_cast<char>(kind);
  return CounterId{KeySpace::kCount,
                   MeterHasher().Hash(IdentityDomain::kMeter, {absl::string_view(&tag, 1), name})};
}

absl::InlinedVector<CounterId, 2> MetersFor(absl::string_view tier,
                                            absl::string_view integration_id) {
  absl::InlinedVector<CounterId, 2> out = {MeterId(MeterKind::kTier, tier)};
  if (!integration_id.empty()) out.push_back(MeterId(MeterKind::kIntegration, integration_id));
  return out;
}

}  // namespace quotad
