"""A cluster with a secret (docs/SECURITY.md): the store and the admin endpoints work for
processes with MC_AUTH_SECRET, and refuse the rest."""
import os
import urllib.error
import urllib.request

import pytest

from conftest import Cluster, make_store
from mooncake import auth

SECRET = "python-auth-test-secret-0001"


@pytest.fixture
def secured(monkeypatch):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MC_AUTH_SECRET")}
    c = Cluster(env=dict(env, MC_AUTH_SECRET=SECRET))
    monkeypatch.delenv("MC_AUTH_SECRET_FILE", raising=False)
    monkeypatch.setenv("MC_AUTH_SECRET", SECRET)
    yield c
    c.stop()


def test_the_store_and_admin_work_with_the_secret_and_refuse_without(secured, monkeypatch):
    store = make_store(secured)
    assert store.put("py-auth-key", b"payload") == 0
    assert store.get("py-auth-key") == b"payload"
    keys_url = f"http://127.0.0.1:{secured.metrics_port}/get_all_keys"
    assert b"py-auth-key" in auth.urlopen(keys_url).read()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(keys_url, timeout=10)
    assert refused.value.code == 401
    assert refused.value.headers["WWW-Authenticate"].startswith("Mooncake ")
    with pytest.raises(urllib.error.HTTPError) as wrong:
        auth.urlopen(keys_url, secret=b"another-secret-0000000001")
    assert wrong.value.code == 401

    from mooncake.store import MooncakeDistributedStore
    monkeypatch.setenv("MC_AUTH_SECRET", "another-secret-0000000001")
    intruder = MooncakeDistributedStore()
    assert intruder.setup("127.0.0.1", secured.metadata, 16 << 20, 16 << 20, "tcp", "",
                          secured.master) != 0
    monkeypatch.delenv("MC_AUTH_SECRET")
    anonymous = MooncakeDistributedStore()
    assert anonymous.setup("127.0.0.1", secured.metadata, 16 << 20, 16 << 20, "tcp", "",
                           secured.master) != 0
    assert store.get("py-auth-key") == b"payload"
    store.close()


def test_a_short_secret_is_refused_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("MC_AUTH_SECRET", "short")
    with pytest.raises(ValueError, match="at least 16"):
        auth.load_secret()
