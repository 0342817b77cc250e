import time
from support.compliance_checks import CHECK_IDS, FAULT_CHECK


def test_all(start_demo):
    for fault, expected in FAULT_CHECK.items():
        t = time.perf_counter()
        demo = start_demo(faults=(fault,))
        t1 = time.perf_counter()
        bad = {}
        for cid in CHECK_IDS:
            res = demo.run(cid)
            f = [r for r in res if r.status.value not in ("PASS", "NOT_APPLICABLE")]
            if f:
                bad[cid] = [(r.status.value, r.resource, r.message) for r in f]
        print(fault, expected, f"start {t1-t:.2f}s checks {time.perf_counter()-t1:.2f}s")
        for k, v in bad.items():
            print("   ", k, v[:3])
