/* The Transfer Engine's C API from C (compiled as C11, not C++): a target and an initiator engine
 * in one process over P2PHANDSHAKE on loopback. WRITE then READ 1 MiB through the API and compare,
 * the error codes of bad requests, and a notify. Exit 0 when every check passed. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mooncake/transfer_engine/transfer_engine_c.h"

static int failures = 0;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                          \
    }                                                                      \
  } while (0)

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Submits one request and waits for it; returns the final status. */
static int run_one(transfer_engine_t engine, int opcode, void *source, segment_id_t target,
                   uint64_t offset, uint64_t length) {
  batch_id_t batch = allocateBatchID(engine, 1);
  if (batch == INVALID_BATCH) return -1000;
  struct transfer_request request = {opcode, source, target, 0, offset, length};
  int rc = submitTransfer(engine, batch, &request, 1);
  if (rc != 0) {
    freeBatchID(engine, batch);
    return rc;
  }
  struct transfer_status status = {STATUS_WAITING, 0};
  double deadline = now_seconds() + 30;
  while (now_seconds() < deadline) {
    if (getTransferStatus(engine, batch, 0, &status) != 0) break;
    if (status.status == STATUS_COMPLETED || status.status == STATUS_FAILED) break;
  }
  freeBatchID(engine, batch);
  return status.status;
}

int main(void) {
  const size_t size = 1 << 20;
  setenv("MC_TCP_BIND_ADDRESS", "127.0.0.1", 1);
  transfer_engine_t target = createTransferEngine("P2PHANDSHAKE", "127.0.0.1", "", 0, 0);
  transfer_engine_t initiator = createTransferEngine("P2PHANDSHAKE", "127.0.0.1", "", 0, 0);
  CHECK(target != NULL && initiator != NULL);
  if (target == NULL || initiator == NULL) return 1;
  CHECK(installTransport(initiator, "tcp", NULL) != NULL);
  CHECK(installTransport(initiator, "carrier-pigeon", NULL) == NULL);
  CHECK(!supportFileBuffer(initiator));

  char name[128];
  CHECK(getLocalIpAndPort(target, name, sizeof(name)) == 0);
  char tiny[4];
  CHECK(getLocalIpAndPort(target, tiny, sizeof(tiny)) == -1);

  char *remote = malloc(size), *local = malloc(size), *back = malloc(size);
  for (size_t i = 0; i < size; ++i) local[i] = (char)(i * 131 + 7);
  memset(remote, 0, size);
  memset(back, 0, size);
  CHECK(registerLocalMemory(target, remote, size, "cpu:0", 1) == 0);
  buffer_entry_t mine[2] = {{local, size}, {back, size}};
  CHECK(registerLocalMemoryBatch(initiator, mine, 2, "cpu:0") == 0);
  CHECK(registerLocalMemory(initiator, local, size, "cpu:0", 1) == -7); /* ERR_ADDRESS_OVERLAPPED */

  segment_id_t peer = openSegment(initiator, name);
  CHECK(peer >= 0);
  CHECK(openSegment(initiator, "127.0.0.1:1") < 0);
  uint64_t base = (uint64_t)(uintptr_t)remote;
  CHECK(run_one(initiator, OPCODE_WRITE, local, peer, base, size) == STATUS_COMPLETED);
  CHECK(memcmp(remote, local, size) == 0);
  CHECK(run_one(initiator, OPCODE_READ, back, peer, base, size) == STATUS_COMPLETED);
  CHECK(memcmp(back, local, size) == 0);

  /* Bad requests: an unknown opcode, memory nobody registered, a range past the peer's buffer. */
  batch_id_t batch = allocateBatchID(initiator, 4);
  struct transfer_request bad = {7, local, peer, 0, base, 64};
  CHECK(submitTransfer(initiator, batch, &bad, 1) == -1); /* ERR_INVALID_ARGUMENT */
  freeBatchID(initiator, batch);
  char stray[64];
  CHECK(run_one(initiator, OPCODE_WRITE, stray, peer, base, sizeof(stray)) != STATUS_COMPLETED);
  CHECK(run_one(initiator, OPCODE_WRITE, local, peer, base + size - 16, 64) != STATUS_COMPLETED);
  CHECK(registerLocalFile(initiator, "/tmp/x", 10, NULL) == -303);

  /* A notify from the initiator arrives at the target. */
  notify_msg_t hello = {"initiator", "kv ready"};
  CHECK(genNotifyInEngine(initiator, (uint64_t)peer, hello) == 0);
  int count = 0;
  notify_msg_t *got = NULL;
  double deadline = now_seconds() + 10;
  while (got == NULL && now_seconds() < deadline) got = getNotifsFromEngine(target, &count);
  CHECK(got != NULL && count == 1);
  if (got != NULL) {
    CHECK(strcmp(got[0].name, "initiator") == 0 && strcmp(got[0].msg, "kv ready") == 0);
    CHECK(freeNotifsMsgBuf(got, count) == 0);
  }

  void *both[2] = {local, back};
  CHECK(unregisterLocalMemoryBatch(initiator, both, 2) == 0);
  CHECK(unregisterLocalMemory(target, remote) == 0);
  CHECK(closeSegment(initiator, peer) == 0);
  destroyTransferEngine(initiator);
  destroyTransferEngine(target);
  free(remote);
  free(local);
  free(back);
  if (failures == 0) printf("transfer_engine_c_test: every check passed\n");
  return failures == 0 ? 0 : 1;
}
