"""Agreement of the offline planner with TFVTG's recorded LLM decompositions on Charades-STA (3,720 queries).

Usage: python benchmarks/planner_agreement.py [path/to/tfvtg_llm_outputs.json] [--examples N] [--json]

Prints relationship agreement (single-query / sequentially / simultaneously), the confusion matrix
(rows = TFVTG's LLM, columns = offline planner), per-class precision/recall, and agreement on the number of
sub-queries (ids >= 1; 0 for single-query).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

from vidreason.tools.core.errors import InvalidQuestion
from vidreason.tools.planning.offline import parse_question
from vidreason.tools.planning.tfvtg import RELATIONSHIPS, plan_to_tfvtg

DEFAULT = Path(__file__).resolve().parents[2] / "shared/data/annotations/charades_sta/tfvtg_llm_outputs.json"


def _n_sub(resp: dict) -> int:
    if resp.get("relationship") == "single-query":
        return 0
    return sum(1 for q in resp.get("query_json") or [] if int(q.get("sub_query_id", 0)) >= 1)


def evaluate(path: Path) -> dict:
    data = json.loads(path.read_text())
    rows = []
    t0 = time.perf_counter()
    for vid, v in data.items():
        for sentence, ref in zip(v["sentences"], v["response"], strict=True):
            ref_rel = ref.get("relationship") if isinstance(ref, dict) else None
            ref_rel = ref_rel if ref_rel in RELATIONSHIPS else "single-query"
            try:
                ours = plan_to_tfvtg(parse_question(sentence))
            except InvalidQuestion:
                ours = {"relationship": "single-query", "query_json": []}
            rows.append(
                (
                    vid,
                    sentence,
                    ref_rel,
                    ours["relationship"],
                    _n_sub(ref) if ref_rel != "single-query" else 0,
                    _n_sub(ours),
                )
            )
    wall = time.perf_counter() - t0
    conf = Counter((r[2], r[3]) for r in rows)
    n = len(rows)
    agree = sum(r[2] == r[3] for r in rows)
    per_class = {}
    for c in RELATIONSHIPS:
        tp = conf[(c, c)]
        pred = sum(conf[(a, c)] for a in RELATIONSHIPS)
        gold = sum(conf[(c, b)] for b in RELATIONSHIPS)
        per_class[c] = {
            "gold": gold,
            "pred": pred,
            "precision": tp / pred if pred else 0.0,
            "recall": tp / gold if gold else 0.0,
        }
    multi_gold = sum(r[2] != "single-query" for r in rows)
    multi_pred = sum(r[3] != "single-query" for r in rows)
    multi_both = sum(r[2] != "single-query" and r[3] != "single-query" for r in rows)
    return {
        "queries": n,
        "relationship_agreement": agree / n,
        "confusion": {a: {b: conf[(a, b)] for b in RELATIONSHIPS} for a in RELATIONSHIPS},
        "per_class": per_class,
        "split_vs_single": {
            "precision": multi_both / multi_pred if multi_pred else 0.0,
            "recall": multi_both / multi_gold if multi_gold else 0.0,
        },
        "sub_query_count_agreement": sum(r[4] == r[5] for r in rows) / n,
        "sub_query_count_agreement_when_both_split": (
            sum(r[4] == r[5] for r in rows if r[2] != "single-query" and r[3] != "single-query") / multi_both
            if multi_both
            else 0.0
        ),
        "wall_s": wall,
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--examples", type=int, default=0, help="print N random disagreements")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.path.exists():
        sys.stderr.write(f"annotation file not found: {args.path}\n")
        return 2
    res = evaluate(args.path)
    rows = res.pop("rows")
    if args.json:
        sys.stdout.write(json.dumps(res, indent=1) + "\n")
        return 0
    out = [
        f"queries: {res['queries']}  (parse time {res['wall_s']:.2f} s)",
        f"relationship agreement: {res['relationship_agreement']:.3f}",
        "confusion (rows TFVTG LLM, cols offline):",
        "                " + "".join(f"{c:>16}" for c in RELATIONSHIPS),
    ]
    for a in RELATIONSHIPS:
        out.append(f"{a:>16}" + "".join(f"{res['confusion'][a][b]:>16}" for b in RELATIONSHIPS))
    for c, m in res["per_class"].items():
        out.append(f"{c:>16}: gold {m['gold']:4d} pred {m['pred']:4d} P {m['precision']:.3f} R {m['recall']:.3f}")
    sv = res["split_vs_single"]
    out.append(f"split vs single: P {sv['precision']:.3f} R {sv['recall']:.3f}")
    out.append(
        f"sub-query count agreement: {res['sub_query_count_agreement']:.3f} "
        f"(when both split: {res['sub_query_count_agreement_when_both_split']:.3f})"
    )
    if args.examples:
        bad = [r for r in rows if r[2] != r[3]]
        for r in random.Random(0).sample(bad, min(args.examples, len(bad))):
            out.append(f"  LLM {r[2]:>14} | offline {r[3]:>14} | {r[1]}")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
