"""deploy/kubernetes: the NetworkPolicy that keeps per-commit suite pods off every network parses, is a
NetworkPolicy of the Kubernetes API (the client's own model takes it), selects exactly the label the suite
pods carry, and denies all ingress and egress."""

from __future__ import annotations

from pathlib import Path

import yaml

from assay_airflow.operators.container_suite import ISOLATION_LABEL

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "deploy" / "kubernetes" / "suite-network-policy.yaml"


def test_the_suite_network_policy_denies_all_traffic_of_the_suite_pods():
    (doc,) = list(yaml.safe_load_all(POLICY.read_text()))
    assert (doc["apiVersion"], doc["kind"]) == ("networking.k8s.io/v1", "NetworkPolicy")
    spec = doc["spec"]
    assert spec["podSelector"] == {"matchLabels": ISOLATION_LABEL}  # the label every suite pod carries
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
    assert spec["egress"] == [] and spec["ingress"] == []  # no rule: nothing allowed


def test_the_kubernetes_client_reads_it_as_a_network_policy():
    from kubernetes.client import ApiClient

    doc = yaml.safe_load(POLICY.read_text())
    # the client's own deserializer (what it does with an API server's answer), field names and types checked
    policy = ApiClient()._ApiClient__deserialize(doc, "V1NetworkPolicy")
    assert policy.spec.pod_selector.match_labels == ISOLATION_LABEL
    assert policy.spec.policy_types == ["Ingress", "Egress"] and policy.spec.egress == []
