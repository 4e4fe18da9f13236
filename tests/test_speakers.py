"""Speaker diarization: our GE2E encoder against the reference implementation, clustering and the speaker-count
decision, speaker-labelled transcripts, speakers per hierarchy node, RTTM."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from vidreason.tools.core.errors import ModelUnavailable
from vidreason.tools.core.media import SpeakerTurn, Transcript, TranscriptSegment, Word
from vidreason.tools.index.hierarchy_build import speaker_seconds
from vidreason.tools.speech.clustering import cluster_embeddings, eigengap_count
from vidreason.tools.speech.diarization import DiarizationParams, Diarizer, region_windows, summarize
from vidreason.tools.speech.turns import label_transcript


def _encoder():
    from vidreason.tools.speech.ge2e import load_encoder

    try:
        return load_encoder()
    except ModelUnavailable as e:
        pytest.skip(str(e))


def _blobs(centres: int, per: int, dim: int = 32, spread: float = 0.35, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.abs(rng.standard_normal((centres, dim)))  # GE2E-like: all-positive vectors
    return np.concatenate([np.abs(c + spread * rng.standard_normal((per, dim))) for c in base])


# ---------------------------------------------------------------------------------------------- encoder
@pytest.mark.shared_data
def test_mel_features_and_embedding_match_the_reference_implementation(shared_data: Path) -> None:
    """The weights load into our module and give resemblyzer's embedding on a real clip (when resemblyzer
    itself imports: its webrtcvad dependency is broken on some setups)."""
    from vidreason.tools.speech.ge2e import mel_frames
    from vidreason.tools.speech.whisper import load_audio

    encoder = _encoder()
    wav = load_audio(shared_data / "audio" / "jfk.flac")[3 * 16000 : 5 * 16000]
    ours = encoder.forward_mels(mel_frames(wav))
    assert ours.shape == (256,) and np.linalg.norm(ours) == pytest.approx(1.0, abs=1e-5)
    try:
        import torch
        from resemblyzer import VoiceEncoder
        from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram
    except Exception as e:  # ImportError, or pkg_resources errors from webrtcvad
        pytest.skip(f"resemblyzer does not import here ({type(e).__name__}); weights-only check done")
    ref_mel = wav_to_mel_spectrogram(normalize_volume(wav, -30, increase_only=True))
    assert np.abs(ref_mel - mel_frames(wav)).max() <= 1e-5 * np.abs(ref_mel).max()
    with torch.no_grad():
        ref = VoiceEncoder("cpu", verbose=False)(torch.from_numpy(ref_mel[None])).numpy()[0]
    assert float(ref @ ours) > 0.99999


def test_weights_are_found_without_importing_resemblyzer(monkeypatch: pytest.MonkeyPatch) -> None:
    from vidreason.tools.speech import ge2e

    if importlib.util.find_spec("resemblyzer") is None:
        with pytest.raises(ModelUnavailable, match="pip install"):
            ge2e.weights_path()
        return
    import sys

    monkeypatch.delitem(sys.modules, "resemblyzer", raising=False)
    assert ge2e.weights_path().name == "pretrained.pt" and "resemblyzer" not in sys.modules


# ---------------------------------------------------------------------------------------------- clustering
def test_clustering_counts_speakers_and_honours_a_given_count() -> None:
    three = _blobs(3, 20)
    labels, centroids = cluster_embeddings(three, None, 6, 4)
    assert len(set(labels.tolist())) == 3 and centroids.shape[0] == 3
    for k in range(3):  # each blob is one cluster
        assert len(set(labels[k * 20 : (k + 1) * 20].tolist())) == 1
    assert len(set(cluster_embeddings(three, 2, 6, 4)[0].tolist())) == 2
    assert eigengap_count(three[:2], 6) == 1  # too few windows to split


def test_small_clusters_join_their_nearest_neighbour() -> None:
    """A cluster of fewer than ``min_windows`` windows (about 3 s of speech) is not a speaker of its own, so a
    short recording of one voice is not split into several."""
    x = _blobs(3, 3, spread=0.2)  # 3 clusters of 3 windows each
    labels, _ = cluster_embeddings(x, None, 6, 4)
    assert len(set(labels.tolist())) == 1
    labels, _ = cluster_embeddings(x, 3, 6, 4)  # a given count is kept
    assert len(set(labels.tolist())) == 3


def test_long_inputs_cluster_a_sample_and_assign_the_rest() -> None:
    x = _blobs(2, 600, seed=4)
    labels, centroids = cluster_embeddings(x, None, 6, 4, max_windows=200)
    assert labels.shape == (1200,) and centroids.shape[0] == 2
    assert (labels[:600] == labels[0]).mean() > 0.98 and (labels[600:] == labels[600]).mean() > 0.98


def test_region_windows_cover_regions() -> None:
    p = DiarizationParams()
    wins = region_windows(2.0, 6.1, p)
    assert (
        wins[0] == (2.0, 3.5)
        and wins[-1][1] == pytest.approx(6.1)
        and all(e - s == pytest.approx(1.5) for s, e in wins)
    )
    assert region_windows(1.0, 1.2, p) == [(pytest.approx(0.9), pytest.approx(1.3))]


# ---------------------------------------------------------------------------------------------- turns as data
def _transcript() -> Transcript:
    words = [
        Word(text="hello", start=0.0, end=0.4, probability=0.9),
        Word(text="there.", start=0.5, end=0.9, probability=0.8),
        Word(text="hi", start=1.1, end=1.4, probability=0.6),
        Word(text="again", start=1.5, end=1.9, probability=0.4),
    ]
    seg = TranscriptSegment(id=0, start=0.0, end=1.9, text="hello there. hi again", words=words, confidence=0.675)
    return Transcript(model="m", duration=3.0, segments=[seg, TranscriptSegment(id=1, start=2.2, end=2.8, text="ok")])


def test_label_transcript_splits_lines_at_speaker_changes() -> None:
    turns = [SpeakerTurn(start=0.0, end=1.0, speaker="A"), SpeakerTurn(start=1.0, end=3.0, speaker="B")]
    out = label_transcript(_transcript(), turns)
    assert [(s.id, s.speaker, s.text) for s in out.segments] == [
        (0, "A", "hello there."),
        (1, "B", "hi again"),
        (2, "B", "ok"),
    ]
    assert out.segments[1].start == 1.1 and out.segments[1].confidence == pytest.approx(0.5)
    assert [w.speaker for w in out.segments[0].words] == ["A", "A"]
    assert label_transcript(_transcript(), []).segments[0].speaker is None


def test_summarize_relabels_by_first_appearance_and_writes_rttm() -> None:
    turns = [
        SpeakerTurn(start=4.0, end=5.0, speaker="7"),
        SpeakerTurn(start=0.5, end=2.0, speaker="3"),
        SpeakerTurn(start=2.0, end=3.0, speaker="3"),
    ]
    d = summarize(turns, 6.0)
    assert [(t.start, t.end, t.speaker) for t in d.turns] == [(0.5, 3.0, "SPEAKER_00"), (4.0, 5.0, "SPEAKER_01")]
    assert d.num_speakers == 2 and d.speakers[0].seconds == 2.5 and d.speakers[1].turns == 1
    assert d.to_rttm("my clip").splitlines()[0] == "SPEAKER my_clip 1 0.500 2.500 <NA> <NA> SPEAKER_00 <NA> <NA>"
    assert speaker_seconds(d.turns, 2.5, 4.5) == {"SPEAKER_00": 0.5, "SPEAKER_01": 0.5}


# ---------------------------------------------------------------------------------------------- real audio
@pytest.mark.shared_data
def test_two_speaker_call_and_single_speaker_speech(shared_data: Path) -> None:
    """The phone call in the shared data has two speakers; JFK's short speech one (the small-cluster rule)."""
    encoder = _encoder()
    ref = json.loads((Path(__file__).parents[1] / "benchmarks/data/speech_refs/pyannote_sample.json").read_text())
    call = Diarizer(encoder).run(shared_data / "audio" / "pyannote_sample.wav")
    assert call.num_speakers == 2 and call.estimated
    label_of = {}
    for line in ref["segments"]:  # the long lines go to one label per person
        if line["end"] - line["start"] >= 2.0:
            mid = (line["start"] + line["end"]) / 2
            label_of.setdefault(line["speaker"], set()).add(
                next(t.speaker for t in call.turns if t.start <= mid <= t.end)
            )
    assert all(len(v) == 1 for v in label_of.values()) and len(set.union(*label_of.values())) == 2
    jfk = Diarizer(encoder).run(shared_data / "audio" / "jfk.flac")
    assert jfk.num_speakers == 1 and sum(s.seconds for s in jfk.speakers) > 6
