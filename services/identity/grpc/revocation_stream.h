// The server side of WatchRevocations: a grpc::ServerWriteReactor that subscribes to a
// RevocationSource (domain/revocations.h) and writes its batches to the stream, one write in
// flight at a time, without taking a handler thread. Batches that arrive while a write is in
// flight are queued, and merged into one message beyond a few, so a slow subscriber costs
// memory bounded by the events themselves and never blocks the source. The stream ends with the
// source's status (UNAVAILABLE when the replica loses the database or starts draining), or when
// the client goes away.
#ifndef SUITE_SERVICES_IDENTITY_GRPC_REVOCATION_STREAM_H_
#define SUITE_SERVICES_IDENTITY_GRPC_REVOCATION_STREAM_H_

#include <grpcpp/grpcpp.h>

#include "identity/v1/identity_service.grpc.pb.h"
#include "services/identity/domain/revocations.h"

namespace suite::identity {

// NewRevocationStream returns the reactor of one WatchRevocations call; it deletes itself when
// the call is done. A null `source` finishes the call UNAVAILABLE.
grpc::ServerWriteReactor<::identity::v1::WatchRevocationsResponse>* NewRevocationStream(
    grpc::CallbackServerContext* context, RevocationSource* source,
    const ::identity::v1::WatchRevocationsRequest& request);

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_GRPC_REVOCATION_STREAM_H_
