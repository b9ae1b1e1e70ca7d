/* The store's C API from C (compiled as C11, not C++) against a real mooncake_master:
 * store_c_test MASTER_ADDR METADATA_URL. Two handles (a writer and a reader, each contributing a
 * segment): put/get of bytes, zero-copy put_from/get_into and their batch forms, existence, size,
 * removal, the error codes of bad input, and the handle's hostname. Exit 0 when every check
 * passed. */
#define _POSIX_C_SOURCE 200809L
#include "mooncake/store/store_c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mooncake/version.h"

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

enum { kInvalidParams = -600, kObjectNotFound = -704, kBufferOverflow = -10 };

static void fill(unsigned char* bytes, size_t size, unsigned seed) {
  for (size_t i = 0; i < size; ++i) bytes[i] = (unsigned char)((i * 131u + seed * 7u) >> 3);
}

static mooncake_store_t open_store(const char* name, const char* master, const char* metadata) {
  mooncake_store_t store = mooncake_store_create();
  CHECK(store != NULL);
  int rc = mooncake_store_setup(store, name, metadata, 64u << 20, 32u << 20, "tcp", "", master);
  if (rc != 0) fprintf(stderr, "setup %s: %d\n", name, rc);
  CHECK(rc == 0);
  return store;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MASTER_ADDR METADATA_URL\n", argv[0]);
    return 2;
  }
  const char* master = argv[1];
  const char* metadata = argv[2];
  char prefix[64];
  snprintf(prefix, sizeof(prefix), "c-%ld", (long)getpid());

  /* Before setup: a clear refusal, not a crash. */
  mooncake_store_t idle = mooncake_store_create();
  CHECK(mooncake_store_health_check(idle) == 1);
  CHECK(mooncake_store_put(NULL, "k", "v", 1, NULL) == kInvalidParams);
  CHECK(mooncake_store_init_all(idle, "tcp", "", 0) == kInvalidParams);
  mooncake_store_set_etcd_tls_config(idle, "/nonexistent/ca.pem", NULL, NULL);
  CHECK(mooncake_store_setup(idle, "127.0.0.1", metadata, 16u << 20, 16u << 20, "tcp", "",
                             master) == -1012); /* NOT_SUPPORTED */
  mooncake_store_destroy(idle);
  mooncake_store_destroy(NULL);

  mooncake_store_t writer = open_store("127.0.0.1", master, metadata);
  mooncake_store_t reader = open_store("127.0.0.1", master, metadata);
  CHECK(mooncake_store_health_check(writer) == 0);
  CHECK(mooncake_store_init_all(writer, "tcp", "", 0) == 0);
  CHECK(mooncake_store_init_all(writer, "tcp", "", 1u << 20) == -1012);
  char host[128];
  CHECK(mooncake_store_get_hostname(writer, host, sizeof(host)) == 0);
  CHECK(strncmp(host, "127.0.0.1:", 10) == 0);
  CHECK(mooncake_store_get_hostname(writer, host, 3) == kInvalidParams);
  CHECK(strcmp(mooncake_store_version(), MOONCAKE_VERSION_STRING) == 0);

  /* Copying put, zero-copy get into registered memory. */
  const size_t size = 1u << 20;
  unsigned char* value = malloc(size);
  unsigned char* landing = malloc(size);
  fill(value, size, 1);
  char key[128];
  snprintf(key, sizeof(key), "%s/one", prefix);
  mooncake_replicate_config_t config = {1, 0, 0, NULL, 0};
  CHECK(mooncake_store_put(writer, key, value, size, &config) == 0);
  CHECK(mooncake_store_is_exist(reader, key) == 1);
  CHECK(mooncake_store_get_size(reader, key) == (int64_t)size);
  CHECK(mooncake_store_register_buffer(reader, landing, size) == 0);
  memset(landing, 0, size);
  CHECK(mooncake_store_get_into(reader, key, landing, size) == (int64_t)size);
  CHECK(memcmp(landing, value, size) == 0);
  CHECK(mooncake_store_get_into(reader, key, landing, size / 2) == kBufferOverflow);

  /* Zero-copy batch: put_from registered memory, get_into registered memory. */
  enum { kBatch = 8 };
  const size_t part = 64u << 10;
  unsigned char* source = malloc(part * kBatch);
  unsigned char* target = malloc(part * kBatch);
  CHECK(mooncake_store_register_buffer(writer, source, part * kBatch) == 0);
  CHECK(mooncake_store_register_buffer(reader, target, part * kBatch) == 0);
  char names[kBatch][128];
  const char* keys[kBatch];
  void* sources[kBatch];
  void* targets[kBatch];
  size_t sizes[kBatch];
  for (int i = 0; i < kBatch; ++i) {
    snprintf(names[i], sizeof(names[i]), "%s/batch-%d", prefix, i);
    keys[i] = names[i];
    sources[i] = source + (size_t)i * part;
    targets[i] = target + (size_t)i * part;
    sizes[i] = part;
    fill(source + (size_t)i * part, part, (unsigned)i + 10);
  }
  int put_results[kBatch];
  CHECK(mooncake_store_batch_put_from(writer, keys, sources, sizes, kBatch, NULL, put_results) ==
        0);
  for (int i = 0; i < kBatch; ++i) CHECK(put_results[i] == 0);
  int64_t get_results[kBatch];
  memset(target, 0, part * kBatch);
  CHECK(mooncake_store_batch_get_into(reader, keys, targets, sizes, kBatch, get_results) == 0);
  for (int i = 0; i < kBatch; ++i) CHECK(get_results[i] == (int64_t)part);
  CHECK(memcmp(source, target, part * kBatch) == 0);
  int exists[kBatch];
  CHECK(mooncake_store_batch_is_exist(reader, keys, kBatch, exists) == 0);
  for (int i = 0; i < kBatch; ++i) CHECK(exists[i] == 1);
  /* A null key inside a batch is refused as a whole. */
  const char* bad_keys[2] = {keys[0], NULL};
  CHECK(mooncake_store_batch_is_exist(reader, bad_keys, 2, exists) == kInvalidParams);

  /* A single put_from and removal. */
  snprintf(key, sizeof(key), "%s/from", prefix);
  CHECK(mooncake_store_put_from(writer, key, source, part, NULL) == 0);
  CHECK(mooncake_store_get_into(reader, key, target, part) == (int64_t)part);
  /* The get just leased the object; force removes it anyway. */
  CHECK(mooncake_store_remove(writer, key, 1) == 0);
  CHECK(mooncake_store_is_exist(reader, key) == 0);
  CHECK(mooncake_store_get_into(reader, key, target, part) == kObjectNotFound);
  char pattern[128];
  snprintf(pattern, sizeof(pattern), "^%s/batch-.*", prefix);
  CHECK(mooncake_store_remove_by_regex(writer, pattern, 1) == kBatch);
  CHECK(mooncake_store_batch_is_exist(reader, keys, kBatch, exists) == 0);
  for (int i = 0; i < kBatch; ++i) CHECK(exists[i] == 0);

  CHECK(mooncake_store_unregister_buffer(reader, landing) == 0);
  CHECK(mooncake_store_unregister_buffer(reader, target) == 0);
  CHECK(mooncake_store_unregister_buffer(writer, source) == 0);
  mooncake_store_destroy(reader);
  mooncake_store_destroy(writer);
  free(value);
  free(landing);
  free(source);
  free(target);
  if (failures == 0) printf("store_c_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
