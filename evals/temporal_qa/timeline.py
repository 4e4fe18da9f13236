"""What a generated video holds, with exact times: spoken lines (voice, topic, key) and slides (title,
background; every slide change is a hard cut). Built by :mod:`.generate`, read by :mod:`.questions`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SpokenLine(BaseModel):
    index: int = Field(ge=0)
    start: float = Field(ge=0, description="first audible sample (s)")
    end: float = Field(ge=0, description="last audible sample (s)")
    text: str
    topic: str = Field(description="the searched word (the repeated word on repeat lines)")
    phrase: str = Field(description="how questions name the topic")
    key: str = Field(description="the word an answer quoting this line must contain")
    repeat: bool = Field(False, description="the topic is the video's repeated word")
    voice: str
    speaker: str = Field(description="SPEAKER_n: n-th voice heard in this video")
    slide: int = Field(ge=0)

    @property
    def span(self) -> tuple[float, float]:
        return (self.start, self.end)


class Slide(BaseModel):
    index: int = Field(ge=0)
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    title: str
    background: str

    @property
    def span(self) -> tuple[float, float]:
        return (self.start, self.end)


class Timeline(BaseModel):
    """One generated video's ground truth."""

    video: str = Field(description="path relative to the case file's folder")
    seed: int
    number: int = Field(ge=1, description="video number within the seed")
    attempt: int = Field(0, ge=0, description="re-rolls needed until the recognisers got every needed word")
    duration: float
    fps: int
    sample_rate: int
    lines: list[SpokenLine]
    slides: list[Slide]
    repeat_topic: str
    repeat_phrase: str
    absent_topic: str
    absent_phrase: str
    absent_title: str

    def lines_on(self, slide: int) -> list[SpokenLine]:
        return [ln for ln in self.lines if ln.slide == slide]

    @property
    def repeat_lines(self) -> list[SpokenLine]:
        return [ln for ln in self.lines if ln.repeat]

    @property
    def unique_lines(self) -> list[SpokenLine]:
        return [ln for ln in self.lines if not ln.repeat]
