"""Replica introspection, health_check and the ReplicateConfig fields upstream has, against a
real master (one started and stopped here for the health states)."""
import time

import pytest

from conftest import Cluster, make_store
from mooncake.store import (MooncakeDistributedStore, ReplicaDescriptor, ReplicaStatus,
                            ReplicateConfig, SoftPinAction)

INVALID_PARAMS = -600


def test_replica_descriptors(cluster):
    holder = make_store(cluster)
    writer = make_store(cluster)
    config = ReplicateConfig()
    config.replica_num = 2
    value = b"r" * 5000
    assert writer.put("desc/two", value, config) == 0
    replicas = writer.get_replica_desc("desc/two")
    assert len(replicas) == 2
    segments = {holder.get_hostname(), writer.get_hostname()}
    for replica in replicas:
        assert isinstance(replica, ReplicaDescriptor)
        assert replica.status == ReplicaStatus.COMPLETE
        assert replica.is_memory_replica() and not replica.is_disk_replica()
        descriptor = replica.get_memory_descriptor().buffer_descriptor
        assert descriptor.size == len(value)
        assert descriptor.buffer_address != 0
        assert descriptor.transport_endpoint in segments
        assert repr(descriptor).startswith(f"<Descriptor size={len(value)} buffer_address=")
        with pytest.raises(ValueError):
            replica.get_disk_descriptor()
    assert writer.get_replica_desc("desc/absent") == []
    assert writer.put("desc/one", b"1") == 0
    found = writer.batch_get_replica_desc(["desc/two", "desc/absent", "desc/one"])
    assert set(found) == {"desc/two", "desc/one"}  # absent keys are left out
    assert len(found["desc/two"]) == 2 and len(found["desc/one"]) == 1
    writer.remove_all(True)
    writer.close()
    holder.close()


def test_health_check_follows_the_master():
    own = Cluster()
    store = MooncakeDistributedStore()
    assert store.health_check() == 1  # not set up
    store = make_store(own)
    assert store.health_check() == 0
    own.stop()
    deadline = time.time() + 15
    while store.health_check() != 2 and time.time() < deadline:
        time.sleep(0.2)
    assert store.health_check() == 2
    store.close()
    assert store.health_check() == 1


def test_replicate_config_fields_upstream_has():
    config = ReplicateConfig()
    assert config.nof_replica_num == 0 and config.dfs_replica_num == 0
    assert config.group_ids is None and config.preferred_nof_segments == []
    config.nof_replica_num = 0  # defaults are accepted
    config.group_ids = []
    config.group_ids = None
    for field, value in (("nof_replica_num", 1), ("dfs_replica_num", 1),
                         ("group_ids", ["g1"]), ("preferred_nof_segments", ["nof0"])):
        with pytest.raises(ValueError, match=f"ReplicateConfig.{field}: .*not available"):
            setattr(config, field, value)


def test_soft_pin_rules_as_upstreams_master(store):
    config = ReplicateConfig()
    config.soft_pin_ttl_ms = 60000  # with PRESERVE (the default action)
    assert store.put("pin/preserve", b"x", config) == INVALID_PARAMS
    config.soft_pin_action = SoftPinAction.DISABLE
    assert store.put("pin/disable", b"x", config) == INVALID_PARAMS
    config.soft_pin_action = SoftPinAction.ENABLE
    assert store.put("pin/enable", b"x", config) == 0
    config.soft_pin_ttl_ms = 10 * 24 * 3600 * 1000  # above --max_kv_soft_pin_ttl (24 h)
    assert store.put("pin/too-long", b"x", config) == INVALID_PARAMS
    assert store.is_exist("pin/too-long") == 0


def test_remove_by_regex_keyword(store):
    assert store.put("rx/1", b"1") == 0
    assert store.put("rx/2", b"2") == 0
    assert store.remove_by_regex(regex_pattern="^rx/", force=True) == 2
    assert store.remove_by_regex(regex_pattern="([") == INVALID_PARAMS


def test_batch_replica_clear():
    own = Cluster(extra_flags=["--default_kv_lease_ttl=300"])  # short read leases
    holder = make_store(own)
    writer = make_store(own)
    config = ReplicateConfig()
    config.replica_num = 2
    for key in ("clr/a", "clr/b"):
        assert writer.put(key, b"v" * 3000, config) == 0
    assert writer.batch_replica_clear(["clr/a"], holder.get_hostname()) == ["clr/a"]
    replicas = writer.get_replica_desc("clr/a")  # grants a 300 ms lease
    assert [r.get_memory_descriptor().buffer_descriptor.transport_endpoint
            for r in replicas] == [writer.get_hostname()]
    assert writer.batch_replica_clear(["clr/a"]) == []  # leased: skipped
    # Another client's keys are not its to clear; absent keys are skipped.
    assert holder.batch_replica_clear(["clr/b", "clr/absent"]) == []
    deadline = time.time() + 10
    cleared = []
    while not cleared and time.time() < deadline:  # until the lease ends
        cleared = writer.batch_replica_clear(["clr/a"])
        time.sleep(0.05)
    assert cleared == ["clr/a"]
    assert writer.batch_replica_clear(["clr/b"]) == ["clr/b"]
    assert writer.is_exist("clr/a") == 0 and writer.is_exist("clr/b") == 0
    writer.close()
    holder.close()
    own.stop()
