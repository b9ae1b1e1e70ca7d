// Every RPC the master serves, as X(Name, Request, Response) with proto:: message types. The
// gRPC service, the fast RPC server and MasterClient are all generated from this list; its order
// is the fast RPC protocol's method number (index + 1), so new methods go at the end.
#pragma once

#include <string_view>

namespace mooncake::store {
// What a proof of the cluster secret is for on each of the master's RPC ports
// (common/auth/session_auth.h for gRPC, common/auth/stream_auth.h for fast RPC).
constexpr std::string_view kGrpcAuthLabel = "master-grpc";
constexpr std::string_view kFastRpcAuthLabel = "master-fast-rpc";
}  // namespace mooncake::store

#define MC_MASTER_METHODS(X)                                                               \
  X(Ping, PingRequest, PingResponse)                                                       \
  X(ServiceReady, Empty, ErrorResponse)                                                    \
  X(MountSegment, MountSegmentRequest, MountSegmentResponse)                               \
  X(ReMountSegment, ReMountSegmentRequest, ReMountSegmentResponse)                         \
  X(UnmountSegment, UnmountSegmentRequest, ErrorResponse)                                  \
  X(PutStart, PutStartRequest, PutStartResponse)                                           \
  X(PutEnd, KeyRequest, ErrorResponse)                                                     \
  X(PutRevoke, KeyRequest, ErrorResponse)                                                  \
  X(BatchPutStart, BatchPutStartRequest, BatchPutStartResponse)                            \
  X(BatchPutEnd, KeysRequest, ErrorsResponse)                                              \
  X(BatchPutRevoke, KeysRequest, ErrorsResponse)                                           \
  X(UpsertStart, PutStartRequest, PutStartResponse)                                        \
  X(UpsertEnd, KeyRequest, ErrorResponse)                                                  \
  X(UpsertRevoke, KeyRequest, ErrorResponse)                                               \
  X(BatchUpsertStart, BatchPutStartRequest, BatchPutStartResponse)                         \
  X(BatchUpsertEnd, KeysRequest, ErrorsResponse)                                           \
  X(BatchUpsertRevoke, KeysRequest, ErrorsResponse)                                        \
  X(GetReplicaList, KeyRequest, GetReplicaListResponse)                                    \
  X(BatchGetReplicaList, KeysRequest, BatchGetReplicaListResponse)                         \
  X(GetReplicaListByRegex, RegexRequest, GetReplicaListByRegexResponse)                    \
  X(ExistKey, KeyRequest, ExistKeyResponse)                                                \
  X(BatchExistKey, KeysRequest, BatchExistKeyResponse)                                     \
  X(Remove, KeyRequest, ErrorResponse)                                                     \
  X(BatchRemove, KeysRequest, ErrorsResponse)                                              \
  X(RemoveByRegex, RegexRequest, CountResponse)                                            \
  X(RemoveAll, RegexRequest, CountResponse)                                                \
  X(GetFastRpcPort, Empty, FastRpcPortResponse)                                            \
  X(Reserve, ReserveRequest, ReserveResponse)                                              \
  X(CommitReserved, CommitReservedRequest, CommitReservedResponse)                         \
  X(ReleaseReserved, ReleaseReservedRequest, ErrorResponse)                                \
  X(BatchReplicaClear, ReplicaClearRequest, KeysResponse)                                  \
  X(ReportUnreachable, ReportUnreachableRequest, ErrorResponse)                            \
  X(MountLocalDiskSegment, MountLocalDiskSegmentRequest, MountLocalDiskSegmentResponse)    \
  X(OffloadObjectHeartbeat, OffloadObjectHeartbeatRequest, OffloadObjectHeartbeatResponse) \
  X(NotifyOffloadSuccess, NotifyOffloadSuccessRequest, ErrorsResponse)                     \
  X(RegisterDiskReplicas, DiskObjectsRequest, ErrorsResponse)                              \
  X(BatchEvictDiskReplica, DiskObjectsRequest, ErrorResponse)                              \
  X(NotifyPromotionDone, NotifyPromotionRequest, ErrorResponse)                            \
  X(BatchCommitReserved, BatchCommitReservedRequest, BatchCommitReservedResponse)
