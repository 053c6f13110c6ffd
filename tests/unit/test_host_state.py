"""What a provider process remembers is an object its face owns: two providers in one process share nothing, and a
test gives a Lifecycle its clients without patching any module."""

from pulumi_pcimage import waiter
from pulumi_pcimage.lifecycle import HostState, Lifecycle

from .fakeapi import FakeApi
from .test_provider import inputs


def test_a_lifecycle_uses_the_clients_of_the_state_it_is_given(monkeypatch):
    monkeypatch.setenv(waiter.POLL_SCALE_ENV, "0.0001")
    fake, made = FakeApi(), []

    def make_client(api_url, *, region, profile, role_arn, max_attempts):
        made.append((api_url, profile, max_attempts))
        return fake

    state = HostState(make_client=make_client)
    core = Lifecycle(state=state)
    checked = core.check({}, inputs(validate_on_preview=False)).inputs
    core.create(checked)
    core.read("hpc-base", checked)
    assert len(made) == 1, "one client per endpoint and identity, built once"
    assert [op for op, _, _ in fake.ops()][:1] == ["build_image"]
    assert state.client(made[0][0], None, None, None, made[0][2]) is fake


def test_two_states_share_nothing():
    one, other = HostState(), HostState()
    one.adopted("us-east-1", "hpc-base", "g1")
    one.remember_dryrun("key", ["a reason"])
    one.note("owner", "g1")
    assert (one.adopter("us-east-1", "hpc-base"), one.dryrun_answer("key"), one.replaced("owner", "g0")) == (
        "g1", ["a reason"], True)
    assert (other.adopter("us-east-1", "hpc-base"), other.dryrun_answer("key"), other.replaced("owner", "g0")) == (
        None, None, False)
