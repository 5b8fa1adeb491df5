#include "quotad/admission/idempotency_records.h"

#include <optional>

#include "google/protobuf/io/coded_stream.h"

namespace quotad {

v1::IdempotencyRecord AdmissionRecord(
    int64_t cost, const CounterId& client,
    std::initializer_list<absl::Span<const CounterDelta>> charged) {
  v1::IdempotencyRecord record;
  record.set_cost(cost);
  record.set_client(client.Encode());
  for (absl::Span<const CounterDelta> list : charged) {
    for (const CounterDelta& d : list) {
      auto* c = record.add_charged();
      c->set_counter_id(d.id.Encode());
      c->set_hour(d.hour);
      c->set_amount(static_cast<int64_t>(d.amount));
    }
  }
  return record;
}

std::string SerializeRecordWithResponse(const v1::IdempotencyRecord& record,
                                        const v1::AcquireResponse& response) {
  using google::protobuf::io::CodedOutputStream;
  std::string out = record.SerializeAsString();
  const size_t size = response.ByteSizeLong();
  uint8_t header[1 + 5];  // tag + at most 5 varint bytes for a 32-bit length
  header[0] = static_cast<uint8_t>((v1::IdempotencyRecord::kResponseFieldNumber << 3) | 2);
  const uint8_t* header_end =
      CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(size), header + 1);
  out.append(reinterpret_cast<const char*>(header), static_cast<size_t>(header_end - header));
  const size_t offset = out.size();
  out.resize(offset + size);
  response.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data() + offset));
  return out;
}

absl::Status CheckSameClient(const v1::IdempotencyRecord& record, const LimitPlan& plan) {
  const std::string* stored = &record.client();
  if (stored->empty()) {
    if (record.charged().empty()) return absl::OkStatus();
    stored = &record.charged(0).counter_id();
  }
  const std::optional<CounterId> client = CounterId::Decode(*stored);
  if (!client || *client == plan.client || (plan.legacy_client && *client == *plan.legacy_client)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      "request_id: already used for another client (a request_id names one test of one client)");
}

}  // namespace quotad
