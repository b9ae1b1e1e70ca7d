/* The Mooncake Store's C API, with upstream's names and semantics (store_c.h): a store handle
 * that is a client of mooncake_master, with the copying and zero-copy put/get calls. Plain C;
 * nothing is thrown across it. Every call returns what upstream's does: 0 (or a byte count, or
 * 1/0 for existence) on success and a negative error code on failure (the ErrorCode values of
 * mooncake/common/status.h: OBJECT_NOT_FOUND -704, INVALID_PARAMS -600, ...). A null handle is
 * INVALID_PARAMS. Strings are copied before a call returns; the caller keeps ownership of every
 * pointer it passes. One handle may be used from any number of threads.
 *
 * What this build does not have: etcd over TLS (mooncake_store_set_etcd_tls_config with any
 * file makes the next setup fail with NOT_SUPPORTED, -1012, and a log line that says so), and
 * init_all's extra segment: a handle has the one segment setup mounted, so init_all with a
 * mount_segment_size above 0 fails with NOT_SUPPORTED; with 0 it checks that setup ran. */
#ifndef MOONCAKE_STORE_C_H
#define MOONCAKE_STORE_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void* mooncake_store_t;

struct mooncake_replicate_config {
  size_t replica_num;
  int with_soft_pin;
  int with_hard_pin;
  const char** preferred_segments;
  size_t preferred_segments_count;
};
typedef struct mooncake_replicate_config mooncake_replicate_config_t;

/* Lifecycle. create returns NULL only when memory is short; destroy unmounts and frees. */
mooncake_store_t mooncake_store_create(void);
void mooncake_store_destroy(mooncake_store_t store);
void mooncake_store_set_etcd_tls_config(mooncake_store_t store, const char* ca_file,
                                        const char* cert_file, const char* key_file);
/* Python's MooncakeDistributedStore.setup: NULL protocol is "tcp", NULL master_server_addr is
 * "127.0.0.1:50051"; device_name is the RDMA device list (unused over TCP). */
int mooncake_store_setup(mooncake_store_t store, const char* local_hostname,
                         const char* metadata_server, uint64_t global_segment_size,
                         uint64_t local_buffer_size, const char* protocol, const char* device_name,
                         const char* master_server_addr);
int mooncake_store_init_all(mooncake_store_t store, const char* protocol, const char* device_name,
                            uint64_t mount_segment_size);
/* 0 healthy, 1 not set up, 2 master unreachable (Python's health_check). */
int mooncake_store_health_check(mooncake_store_t store);

/* Puts. config NULL: one replica, no pins. The _from forms write from memory registered with
 * mooncake_store_register_buffer; the batch form returns 0 once it ran and stores one result
 * per key in results_out. */
int mooncake_store_put(mooncake_store_t store, const char* key, const void* value, size_t size,
                       const mooncake_replicate_config_t* config);
int mooncake_store_put_from(mooncake_store_t store, const char* key, void* buffer, size_t size,
                            const mooncake_replicate_config_t* config);
int mooncake_store_batch_put_from(mooncake_store_t store, const char** keys, void** buffers,
                                  const size_t* sizes, size_t count,
                                  const mooncake_replicate_config_t* config, int* results_out);

/* Gets into registered memory: the object's size in bytes, or a negative code (BUFFER_OVERFLOW,
 * -10, when size is smaller than the object). The batch form returns 0 once it ran (each key's
 * result is in results_out) and a negative code only for bad arguments. */
int64_t mooncake_store_get_into(mooncake_store_t store, const char* key, void* buffer, size_t size);
int mooncake_store_batch_get_into(mooncake_store_t store, const char** keys, void** buffers,
                                  const size_t* sizes, size_t count, int64_t* results_out);

/* Existence (1 present, 0 absent, negative on error; the batch form returns 0 once it ran),
 * size, and this handle's segment name (written NUL-terminated into buf_out; INVALID_PARAMS when
 * buf_len is too small). */
int mooncake_store_is_exist(mooncake_store_t store, const char* key);
int mooncake_store_batch_is_exist(mooncake_store_t store, const char** keys, size_t count,
                                  int* results_out);
int64_t mooncake_store_get_size(mooncake_store_t store, const char* key);
int mooncake_store_get_hostname(mooncake_store_t store, char* buf_out, size_t buf_len);

/* Removal; the regex and remove-all forms return how many objects went. force: also objects
 * that are leased or pinned. */
int mooncake_store_remove(mooncake_store_t store, const char* key, int force);
int64_t mooncake_store_remove_by_regex(mooncake_store_t store, const char* pattern, int force);
int64_t mooncake_store_remove_all(mooncake_store_t store, int force);

/* Memory for the zero-copy calls. */
int mooncake_store_register_buffer(mooncake_store_t store, void* buffer, size_t size);
int mooncake_store_unregister_buffer(mooncake_store_t store, void* buffer);

/* This library's version ("0.1.0"; MOONCAKE_VERSION_STRING of mooncake/version.h). */
const char* mooncake_store_version(void);

#ifdef __cplusplus
}
#endif

#endif /* MOONCAKE_STORE_C_H */
