"""API keys (hashing, storage, constant-time checks), the auth-off-only-on-loopback rule, and the rate limiter."""

import hashlib
import stat

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")

from affectkit.errors import AffectkitError  # noqa: E402
from affectkit.serve.app import check_auth_policy  # noqa: E402
from affectkit.serve.auth import KeyStore, add_key, hash_key, key_from_headers, new_key  # noqa: E402
from affectkit.serve.middleware import RateLimiter  # noqa: E402
from affectkit.serve.settings import is_loopback  # noqa: E402


def test_hash_key_is_sha256_hex_with_a_scheme_prefix():
    # SHA-256("abc") is the FIPS 180-2 test vector
    assert hash_key("abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_new_keys_are_long_random_and_distinct():
    keys = {new_key() for _ in range(200)}
    assert len(keys) == 200
    assert all(k.startswith("ak_") and len(k) == 3 + 43 for k in keys)  # 32 random bytes, URL-safe base64


def test_keystore_from_file_and_environment(tmp_path):
    f = tmp_path / "keys.txt"
    f.write_text(f"# team keys\nalice {hash_key('alpha-key')}\n\nbob   {hash_key('beta-key')}  # laptop\n")
    store = KeyStore.load(f, environ={"AFFECTKIT_API_KEY_HASHES": f"carol={hash_key('gamma-key')}"})
    assert len(store) == 3
    assert store.verify("alpha-key") == "alice"
    assert store.verify("beta-key") == "bob"
    assert store.verify("gamma-key") == "carol"
    for wrong in ("alpha-key ", "alpha", "", None, "sha256:" + hashlib.sha256(b"alpha-key").hexdigest()):
        assert store.verify(wrong) is None  # the digest itself is not a key


def test_keystore_refuses_plain_keys_and_bad_lines(tmp_path):
    f = tmp_path / "keys.txt"
    f.write_text("alice ak_the_key_itself\n")
    with pytest.raises(AffectkitError, match="never store the key itself"):
        KeyStore.load(f, environ={})
    f.write_text(f"alice bob {hash_key('x')}\n")
    with pytest.raises(AffectkitError, match=r"keys.txt:1: expected 'NAME sha256:HEX'"):
        KeyStore.load(f, environ={})
    f.write_text(f"alice {hash_key('x')}\nalice {hash_key('y')}\n")
    with pytest.raises(AffectkitError, match="unique"):
        KeyStore.load(f, environ={})
    with pytest.raises(AffectkitError, match="not found"):
        KeyStore.load(tmp_path / "missing.txt", environ={})
    with pytest.raises(AffectkitError, match="NAME=sha256:HEX"):
        KeyStore.load(None, environ={"AFFECTKIT_API_KEY_HASHES": hash_key("x")})


def test_add_key_appends_a_digest_to_a_private_file(tmp_path):
    f = tmp_path / "keys.txt"
    k1 = add_key(f, "alice")
    k2 = add_key(f, "bob")
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    text = f.read_text()
    assert k1 not in text and k2 not in text and hash_key(k1) in text
    store = KeyStore.load(f, environ={})
    assert store.verify(k1) == "alice" and store.verify(k2) == "bob"
    with pytest.raises(AffectkitError, match="already has a key named 'alice'"):
        add_key(f, "alice")
    with pytest.raises(AffectkitError, match="key name"):
        add_key(f, "no spaces allowed")


def test_key_from_headers():
    assert key_from_headers([(b"authorization", b"Bearer ak_123")]) == "ak_123"
    assert key_from_headers([(b"Authorization", b"bearer  ak_123 ")]) == "ak_123"
    assert key_from_headers([(b"x-api-key", b"ak_456")]) == "ak_456"
    assert key_from_headers([(b"authorization", b"Basic dXNlcjpwYXNz")]) is None
    assert key_from_headers([(b"authorization", b"Bearer ")]) is None
    assert key_from_headers([]) is None


def test_an_empty_x_api_key_does_not_hide_a_bearer_token():
    for empty in (b"", b"  "):
        headers = [(b"x-api-key", empty), (b"authorization", b"Bearer ak_123")]
        assert key_from_headers(headers) == "ak_123"
        assert key_from_headers(headers[::-1]) == "ak_123"
    assert key_from_headers([(b"x-api-key", b"")]) is None


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True),
                                           ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
                                           ("::", False), ("192.168.1.5", False), ("example.com", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_auth_may_be_off_only_on_loopback():
    none = KeyStore([])
    assert check_auth_policy(none, "127.0.0.1") is False
    with pytest.raises(AffectkitError, match="refusing to serve on 0.0.0.0 without API keys"):
        check_auth_policy(none, "0.0.0.0")
    store = KeyStore.load(None, environ={"AFFECTKIT_API_KEY_HASHES": f"a={hash_key('k')}"})
    assert check_auth_policy(store, "0.0.0.0") is True
    assert check_auth_policy(store, "127.0.0.1") is True  # keys given: auth on everywhere


def test_rate_limiter_token_bucket():
    now = [100.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]  # the burst
    assert limiter.acquire("a") == pytest.approx(0.5)  # one token comes back every 1/rate s
    assert limiter.acquire("b") == 0.0  # another client has its own bucket
    now[0] += 0.5
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") == pytest.approx(0.5)
    now[0] += 10  # refills up to the burst, no further
    assert [limiter.acquire("a") for _ in range(4)][-1] == pytest.approx(0.5)
    unlimited = RateLimiter(rate=0, burst=1)
    assert all(unlimited.acquire("a") == 0.0 for _ in range(1000))
