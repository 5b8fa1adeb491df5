// How an admitted Acquire's idempotency record is written, and what a
// stored one may be replayed for. Pure: no locks, no I/O.
#ifndef QUOTAD_ADMISSION_IDEMPOTENCY_RECORDS_H_
#define QUOTAD_ADMISSION_IDEMPOTENCY_RECORDS_H_

#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "quotad/admission/limit_plan.h"
#include "quotad/storage/counter_store.h"
#include "quotad/v1/quota.pb.h"
#include "quotad/v1/storage.pb.h"

namespace quotad {

// `record` (whose response field is unset) serialized with `response` as its
// response field, without copying the response into the record: protobuf's
// wire format lets a message field be appended as tag + length + bytes.
std::string SerializeRecordWithResponse(const v1::IdempotencyRecord& record,
                                        const v1::AcquireResponse& response);

// What an admission stores under its request_id (the response aside): its
// cost, its client, and every counter it charged, in the order given.
v1::IdempotencyRecord AdmissionRecord(
    int64_t cost, const CounterId& client,
    std::initializer_list<absl::Span<const CounterDelta>> charged);

// A request_id names one test of one client: its stored admission must have
// been decided for this client's key (under the current or, during a key
// rotation, the previous key). Records written before the key was stored
// name it as their first charged counter; records from before ids were
// bound (neither) pass.
absl::Status CheckSameClient(const v1::IdempotencyRecord& record, const LimitPlan& plan);

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_IDEMPOTENCY_RECORDS_H_
