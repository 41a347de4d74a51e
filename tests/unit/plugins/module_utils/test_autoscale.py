# Copyright: OSS MLOps Platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The autoscaler's decisions: bin packing, flavor choice, limits, backoff, idle times and billing-aware release."""

from dataclasses import replace

import pytest
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale import (
    Failure,
    InFlight,
    Provider,
    decide,
    idle_times,
)
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale_packing import PendingPod
from ansible_collections.oss_mlops.multicloud.plugins.module_utils.autoscale_policy import (
    build_policy,
    merge_settings,
)

GIB = 2**30
NOW = 1_000_000.0
FLAVORS = [
    {"cloud": "verda", "name": "1V100", "cpu": 5, "memory": "20Gi", "gpu": 1, "gpu_model": "v100",
     "price_per_hour": 1.0, "billing_increment": "10m", "boot_time": "6m"},
    {"cloud": "verda", "name": "4V100", "cpu": 20, "memory": "80Gi", "gpu": 4, "gpu_model": "v100",
     "price_per_hour": 3.6, "billing_increment": "10m", "boot_time": "8m"},
    {"cloud": "cpouta", "name": "standard.large", "cpu": 4, "memory": "8Gi", "gpu": 0,
     "price_per_hour": 0.2, "billing_increment": "1h", "boot_time": "5m"},
]


def policy(**settings):
    return build_policy(merge_settings({"batching_window": "30s", **settings}, None), FLAVORS)


def gpu_pod(name, *, gpu=1, cpu=4, memory=16, age=120, model=None, cloud=None):
    return PendingPod("kubeflow", name, cpu, memory * GIB, gpu, NOW - age, gpu_model=model, cloud=cloud)


def cpu_pod(name, cpu=2, memory=4, age=120):
    return PendingPod("kubeflow", name, cpu, memory * GIB, 0, NOW - age)


def provider(name, *, flavor=("verda", "1V100"), busy=False, idle_for=None, billed_for=3600.0, ready=True,
             settings=None):
    chosen = policy(**(settings or {})).flavor(*flavor)
    return Provider(name=name, node=name, flavor=chosen, ready=ready, busy=busy,
                    idle_since=None if idle_for is None else NOW - idle_for, billing_start=NOW - billed_for)


def flavors_of(plan):
    return sorted(entry["flavor"] for entry in plan["scale_up"])


def test_one_gpu_pod_gets_cheapest_fit():
    plan = decide(policy(), [gpu_pod("train")], [], now=NOW)

    assert flavors_of(plan) == ["1V100"]
    assert plan["scale_up"][0]["pods"] == ["kubeflow/train"]
    assert plan["scale_up"][0]["reasons"]
    assert plan["scale_down"] == []


def test_four_gpu_pods_share_larger_flavor():
    pods = [gpu_pod(f"train-{index}") for index in range(4)]

    plan = decide(policy(), pods, [], now=NOW)

    assert flavors_of(plan) == ["4V100"]
    assert len(plan["scale_up"][0]["pods"]) == 4
    assert any("4V100" in reason and "compared" in reason for reason in plan["reasons"])


def test_five_gpu_pods_mix_flavors():
    pods = [gpu_pod(f"train-{index}") for index in range(5)]

    plan = decide(policy(), pods, [], now=NOW)

    assert flavors_of(plan) == ["1V100", "4V100"]


def test_cpu_pods_go_to_cpu_flavor():
    plan = decide(policy(), [cpu_pod("prep-1"), cpu_pod("prep-2")], [], now=NOW)

    assert flavors_of(plan) == ["standard.large"]
    assert len(plan["scale_up"][0]["pods"]) == 2


def test_gpu_model_selector_respected():
    plan = decide(policy(), [gpu_pod("train", model="a100")], [], now=NOW)

    assert plan["scale_up"] == []
    assert any("no flavor offers" in reason and "a100" in reason for reason in plan["reasons"])


def test_cloud_selector_respected():
    pod = PendingPod("kubeflow", "prep", 2, 4 * GIB, 0, NOW - 120, cloud="verda")

    plan = decide(policy(), [pod], [], now=NOW)

    assert [entry["cloud"] for entry in plan["scale_up"]] == ["verda"]


def test_young_pods_wait_for_batching_window():
    plan = decide(policy(), [gpu_pod("train", age=10)], [], now=NOW)

    assert plan["scale_up"] == []
    assert any("batching window" in reason for reason in plan["reasons"])


def test_in_flight_capacity_covers_pods():
    chosen = policy().flavor("verda", "4V100")

    plan = decide(policy(), [gpu_pod(f"train-{index}") for index in range(3)], [], in_flight=[InFlight(chosen, 1)],
                  now=NOW)

    assert plan["scale_up"] == []
    assert any("being provisioned or joined" in reason for reason in plan["reasons"])


def test_joining_node_covers_pods():
    joining = provider("verda-new", flavor=("verda", "4V100"), ready=False)

    plan = decide(policy(), [gpu_pod("train-1"), gpu_pod("train-2")], [joining], now=NOW)

    assert plan["scale_up"] == []


def test_idle_ready_provider_covers_pods():
    # A provider that just became Ready runs no pod yet; the scheduler will place the pending pod there.
    fresh = provider("verda-1", flavor=("verda", "4V100"), idle_for=0)

    plan = decide(policy(), [gpu_pod("train-1"), gpu_pod("train-2")], [fresh], now=NOW)

    assert plan["scale_up"] == []
    assert any("idle providers" in reason for reason in plan["reasons"])


def test_in_flight_covers_only_what_fits():
    chosen = policy().flavor("verda", "1V100")

    plan = decide(policy(), [gpu_pod("train-1"), gpu_pod("train-2")], [], in_flight=[InFlight(chosen, 1)], now=NOW)

    assert flavors_of(plan) == ["1V100"]
    assert len(plan["scale_up"][0]["pods"]) == 1


def test_max_providers_caps_scale_up():
    pods = [gpu_pod(f"train-{index}", gpu=4, cpu=16, memory=64) for index in range(3)]
    busy = provider("verda-1", busy=True)

    plan = decide(policy(max_providers=2), pods, [busy], now=NOW)

    assert len(plan["scale_up"]) == 1
    assert sum("max_providers 2 reached" in reason for reason in plan["reasons"]) == 2


def test_spend_limit_caps_scale_up():
    pods = [gpu_pod(f"train-{index}", gpu=4, cpu=16, memory=64) for index in range(2)]

    plan = decide(policy(max_spend_per_hour=5), pods, [], now=NOW)

    assert len(plan["scale_up"]) == 1
    assert any("above max_spend_per_hour 5.00" in reason for reason in plan["reasons"])


def test_spend_counts_running_providers():
    busy = provider("verda-1", flavor=("verda", "4V100"), busy=True)

    plan = decide(policy(max_spend_per_hour=4), [gpu_pod("train")], [busy], now=NOW)

    assert plan["scale_up"] == []
    assert any("spend would be 4.60/h" in reason for reason in plan["reasons"])


def test_backoff_skips_failed_flavor():
    pods = [gpu_pod(f"train-{index}") for index in range(4)]
    failure = Failure("verda", "4V100", NOW - 60, count=1)

    plan = decide(policy(), pods, [], failures=[failure], now=NOW)

    assert flavors_of(plan) == ["1V100"] * 4
    assert any("4V100 is in backoff" in reason for reason in plan["reasons"])


def test_backoff_doubles_and_caps():
    failure = Failure("verda", "1V100", NOW - 25 * 60, count=3)

    blocked = decide(policy(), [gpu_pod("train")], [], failures=[failure], now=NOW)
    capped = decide(policy(), [gpu_pod("train")], [],
                    failures=[Failure("verda", "1V100", NOW - 31 * 60, count=9)], now=NOW)

    # Three failures: 5 min doubled twice is 20 min, so 25 min later the flavor is usable again.
    assert flavors_of(blocked) == ["1V100"]
    # Nine failures would be 21 hours, but the backoff stops at 30 minutes.
    assert flavors_of(capped) == ["1V100"]


def test_backoff_blocks_within_window():
    failure = Failure("verda", "1V100", NOW - 15 * 60, count=3)

    plan = decide(policy(), [gpu_pod("train")], [], failures=[failure], now=NOW)

    # 20 minutes of backoff are not over, so the pod goes to the larger flavor.
    assert flavors_of(plan) == ["4V100"]


def test_pod_only_backed_off_flavor_stays_pending():
    failures = [Failure("verda", "1V100", NOW - 60), Failure("verda", "4V100", NOW - 60)]

    plan = decide(policy(), [gpu_pod("train")], [], failures=failures, now=NOW)

    assert plan["scale_up"] == []
    assert any("fits only flavors in backoff" in reason for reason in plan["reasons"])


def test_min_providers_adds_cheapest():
    plan = decide(policy(min_providers=1), [], [], now=NOW)

    assert flavors_of(plan) == ["standard.large"]
    assert "min_providers" in plan["scale_up"][0]["reasons"][0]


def test_idle_provider_marked_once():
    fresh = provider("verda-1")

    plan = decide(policy(), [], [fresh], now=NOW)

    assert plan["idle_marks"] == [{"provider": "verda-1", "node": "verda-1", "idle_since": NOW}]
    assert plan["scale_down"] == []


def test_pod_finished_after_mark_moves_it():
    settings = {"warm_pool": 0, "idle_time": "10m", "billing_aware": False}
    worked = replace(provider("verda-1", idle_for=900, settings=settings), last_finished=NOW - 120)

    plan = decide(policy(**settings), [], [worked], now=NOW)

    assert plan["idle_marks"] == [{"provider": "verda-1", "node": "verda-1", "idle_since": NOW - 120}]
    assert plan["scale_down"] == []


def test_pod_finished_before_mark_keeps_it():
    settings = {"warm_pool": 0, "idle_time": "10m", "billing_aware": False}
    rested = replace(provider("verda-1", idle_for=900, settings=settings), last_finished=NOW - 1000)

    plan = decide(policy(**settings), [], [rested], now=NOW)

    assert plan["idle_marks"] == []
    assert [entry["provider"] for entry in plan["scale_down"]] == ["verda-1"]


def test_busy_provider_mark_cleared():
    busy = provider("verda-1", busy=True, idle_for=600)

    plan = decide(policy(), [], [busy], now=NOW)

    assert plan["idle_clears"] == [{"provider": "verda-1", "node": "verda-1"}]
    assert plan["idle_marks"] == []


def test_idle_times_rank_warm_pool():
    idle = [provider(f"verda-{index}", idle_for=600 * (index + 1)) for index in range(3)]

    times = idle_times(policy(warm_pool=1, warm_idle_time="60m", idle_time="10m"), idle)

    # verda-0 went idle last, so it is the one warm provider.
    assert times == {"verda-0": 3600.0, "verda-1": 600.0, "verda-2": 600.0}


def test_surplus_idle_released_warm_kept():
    settings = {"warm_pool": 1, "warm_idle_time": "60m", "idle_time": "10m", "billing_aware": False}
    idle = [provider("verda-recent", idle_for=15 * 60, settings=settings),
            provider("verda-older", idle_for=20 * 60, settings=settings)]

    plan = decide(policy(**settings), [], idle, now=NOW)

    assert [entry["provider"] for entry in plan["scale_down"]] == ["verda-older"]
    assert [entry["provider"] for entry in plan["kept_idle"]] == ["verda-recent"]
    assert "idle time not reached" in plan["kept_idle"][0]["reasons"][-1]


def test_release_waits_for_increment_end():
    # Billed since 65 min ago in 10-min increments: the current increment ends in 5 min.
    idle = provider("verda-1", idle_for=20 * 60, billed_for=65 * 60)

    plan = decide(policy(warm_pool=0, idle_time="10m", release_margin="2m"), [], [idle], now=NOW)

    assert plan["scale_down"] == []
    kept = plan["kept_idle"][0]
    assert kept["release_at"] == NOW + 3 * 60
    assert "paid until" in kept["reasons"][-1]


def test_release_just_before_increment():
    # The current 10-min increment ends in 90 seconds, inside the 2-min margin.
    idle = provider("verda-1", idle_for=20 * 60, billed_for=68.5 * 60)

    plan = decide(policy(warm_pool=0, idle_time="10m", release_margin="2m"), [], [idle], now=NOW)

    assert [entry["provider"] for entry in plan["scale_down"]] == ["verda-1"]
    assert "next billed increment starts in 1.5 min" in plan["scale_down"][0]["reasons"][-1]


def test_hourly_billing_keeps_paid_hour():
    # Billed hourly since 70 min ago: the hour that started 10 min ago is paid, so the provider stays.
    idle = provider("cpouta-1", flavor=("cpouta", "standard.large"), idle_for=30 * 60, billed_for=70 * 60)

    plan = decide(policy(warm_pool=0, idle_time="10m", release_margin="2m"), [], [idle], now=NOW)

    assert plan["kept_idle"][0]["release_at"] == NOW + 48 * 60


def test_not_billing_aware_releases_at_idle_time():
    idle = provider("verda-1", idle_for=11 * 60, billed_for=65 * 60)

    plan = decide(policy(warm_pool=0, idle_time="10m", billing_aware=False), [], [idle], now=NOW)

    assert [entry["provider"] for entry in plan["scale_down"]] == ["verda-1"]


def test_min_providers_keeps_idle():
    idle = provider("verda-1", idle_for=3 * 3600)

    plan = decide(policy(warm_pool=0, billing_aware=False, min_providers=1), [], [idle], now=NOW)

    assert plan["scale_down"] == []
    assert "min_providers is 1" in plan["kept_idle"][0]["reasons"][-1]


def test_pending_pod_fitting_keeps_idle():
    idle = provider("verda-1", idle_for=3 * 3600)

    plan = decide(policy(warm_pool=0, billing_aware=False), [gpu_pod("train", age=5)], [idle], now=NOW)

    assert plan["scale_down"] == []
    assert "may still be scheduled there" in plan["kept_idle"][0]["reasons"][-1]


def test_unknown_flavor_never_released():
    idle = Provider(name="hand-made", node="hand-made", flavor=None, idle_since=NOW - 86400)

    plan = decide(policy(), [], [idle], now=NOW)

    assert plan["scale_down"] == []
    assert any("flavor is unknown" in reason for reason in plan["reasons"])


def test_scale_down_disabled_respected():
    idle = Provider(name="verda-1", node="verda-1", flavor=policy().flavor("verda", "1V100"),
                    idle_since=NOW - 86400, billing_start=NOW - 86400, scale_down_disabled=True)

    plan = decide(policy(), [], [idle], now=NOW)

    assert plan["scale_down"] == []
    assert any("scale-down is disabled" in reason for reason in plan["reasons"])


def test_nothing_to_do_says_so():
    plan = decide(policy(), [], [provider("verda-1", busy=True)], now=NOW)

    assert plan["scale_up"] == []
    assert plan["scale_down"] == []
    assert plan["reasons"] == ["nothing to do"]


@pytest.mark.parametrize("count", [1, 7, 13])
def test_packing_places_every_pod(count):
    pods = [gpu_pod(f"train-{index}") for index in range(count)] + [cpu_pod(f"prep-{index}") for index in range(3)]

    plan = decide(policy(max_providers=100), pods, [], now=NOW)

    placed = sorted(pod for entry in plan["scale_up"] for pod in entry["pods"])
    assert placed == sorted(pod.key for pod in pods)
