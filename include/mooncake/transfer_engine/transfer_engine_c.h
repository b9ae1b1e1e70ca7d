/* The Transfer Engine's C API, with upstream's names, types and semantics (transfer_engine_c.h:
 * what NVIDIA NIXL's Mooncake plugin and other C callers link). Plain C; every call returns 0 or
 * upstream's negative error code (the ErrorCode values of mooncake/common/status.h), never
 * throws, and copies what the char* arguments point to before it returns.
 *
 * What this build does not have: file buffers (supportFileBuffer is false; the file calls return
 * ERR_NOT_IMPLEMENTED, -303); transports are chosen by the engine itself, so installTransport
 * only checks the protocol name. */
#ifndef MOONCAKE_TRANSFER_ENGINE_C_H
#define MOONCAKE_TRANSFER_ENGINE_C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define segment_handle_t int32_t
#define segment_id_t int32_t
#define file_id_t uint32_t
#define batch_id_t uint64_t
#define LOCAL_SEGMENT (0)
#define INVALID_BATCH UINT64_MAX

#define OPCODE_READ (0)
#define OPCODE_WRITE (1)

struct transfer_request {
  int opcode;
  void* source;
  segment_id_t target_id;
  file_id_t file_id;
  uint64_t target_offset;
  uint64_t length;
};
typedef struct transfer_request transfer_request_t;

struct notify_msg {
  char* name;
  char* msg;
};
typedef struct notify_msg notify_msg_t;

#define STATUS_WAITING (0)
#define STATUS_PENDING (1)
#define STATUS_INVALID (2)
#define STATUS_CANCELED (3)
#define STATUS_COMPLETED (4)
#define STATUS_TIMEOUT (5)
#define STATUS_FAILED (6)

struct transfer_status {
  int status;
  uint64_t transferred_bytes;
};
typedef struct transfer_status transfer_status_t;

struct segment_desc {
  int type;
  union {
    struct {
      void* addr;
      uint64_t size;
      const char* location;
    } rdma;
    struct {
      const char* file_path;
      const char* subsystem_name;
      const char* proto;
      const char* ip;
      uint64_t port;
    } nvmeof;
  } desc_;
};
typedef struct segment_desc segment_desc_t;

struct buffer_entry {
  void* addr;
  size_t length;
};
typedef struct buffer_entry buffer_entry_t;

typedef void* transfer_engine_t;
typedef void* transport_t;

/* NULL on failure (the reason is logged). */
transfer_engine_t createTransferEngine(const char* metadata_conn_string,
                                       const char* local_server_name, const char* ip_or_host_name,
                                       uint64_t rpc_port, int auto_discover);
void destroyTransferEngine(transfer_engine_t engine);
/* "ip:port" into buf_out; -1 when it does not fit. */
int getLocalIpAndPort(transfer_engine_t engine, char* buf_out, size_t buf_len);

transport_t installTransport(transfer_engine_t engine, const char* proto, void** args);
int uninstallTransport(transfer_engine_t engine, const char* proto);

/* A segment id (>= 0), or a negative error code. */
segment_id_t openSegment(transfer_engine_t engine, const char* segment_name);
segment_id_t openSegmentNoCache(transfer_engine_t engine, const char* segment_name);
int closeSegment(transfer_engine_t engine, segment_id_t segment_id);
int removeLocalSegment(transfer_engine_t engine, const char* segment_name);
int syncSegmentCache(transfer_engine_t engine);

int registerLocalMemory(transfer_engine_t engine, void* addr, size_t length, const char* location,
                        int remote_accessible);
int unregisterLocalMemory(transfer_engine_t engine, void* addr);
int registerLocalMemoryBatch(transfer_engine_t engine, buffer_entry_t* buffer_list,
                             size_t buffer_len, const char* location);
int unregisterLocalMemoryBatch(transfer_engine_t engine, void** addr_list, size_t addr_len);

bool supportFileBuffer(transfer_engine_t engine);
int registerLocalFile(transfer_engine_t engine, const char* path, size_t size, file_id_t* id);
int unregisterLocalFile(transfer_engine_t engine, const char* path);

/* INVALID_BATCH on failure. */
batch_id_t allocateBatchID(transfer_engine_t engine, size_t batch_size);
int submitTransfer(transfer_engine_t engine, batch_id_t batch_id, struct transfer_request* entries,
                   size_t count);
/* submitTransfer, then notify_msg to the segment of the first entry's target. */
int submitTransferWithNotify(transfer_engine_t engine, batch_id_t batch_id,
                             struct transfer_request* entries, size_t count,
                             notify_msg_t notify_msg);
int getTransferStatus(transfer_engine_t engine, batch_id_t batch_id, size_t task_id,
                      struct transfer_status* status);
int freeBatchID(transfer_engine_t engine, batch_id_t batch_id);

/* The notifies received since the last call: a malloc'd array of *size entries (NULL when none),
 * released with freeNotifsMsgBuf. */
notify_msg_t* getNotifsFromEngine(transfer_engine_t engine, int* size);
int freeNotifsMsgBuf(notify_msg_t* msg, int size);
/* Sends notify_msg to the segment opened as target_id. */
int genNotifyInEngine(transfer_engine_t engine, uint64_t target_id, notify_msg_t notify_msg);

/* This library's version ("0.1.0"; MOONCAKE_VERSION_STRING of mooncake/version.h). */
const char* mooncake_transfer_engine_version(void);

#ifdef __cplusplus
}
#endif

#endif /* MOONCAKE_TRANSFER_ENGINE_C_H */
