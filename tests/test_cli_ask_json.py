"""``vidreason ground/ask/trace --json`` through ``vidreason.agent.cli.main``."""

from __future__ import annotations

import json

from reason_helpers import TRAIN, cli_settings_args, line_spoken, quotes, shared_clip


def test_ground_ask_and_trace_json(capsys):
    from vidreason.agent.cli import main

    path, truth, cache = shared_clip()
    common = cli_settings_args(cache)
    assert main(["ground", str(path), TRAIN, "--json", *common]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["query"] == TRAIN and out["spans"]
    scores = [s["score"] for s in out["spans"]]
    assert scores == sorted(scores, reverse=True)
    best = out["spans"][0]
    assert truth[TRAIN][0] - 0.6 <= best["start"] < best["end"] <= truth[TRAIN][1] + 0.6

    assert main(["ask", str(path), "What does the speaker say about the train?", "--json", *common]) == 0
    ans = json.loads(capsys.readouterr().out)
    assert quotes(ans["text"], line_spoken(cache, path, truth[TRAIN])) and ans["trace_id"]
    assert all(truth[TRAIN][0] - 0.5 <= c["time"] <= truth[TRAIN][1] + 0.5 for c in ans["citations"])

    assert main(["trace", ans["trace_id"], "--json", "--redact", *common]) == 0
    tr = json.loads(capsys.readouterr().out)
    assert tr["trace_id"] == ans["trace_id"] and tr["redacted"] and tr["steps"][0]["node"] == "plan"

    assert main(["trace", "f" * 32, *common]) == 1
    assert "no trace" in capsys.readouterr().err
