"""Request and response bodies of the REST API (the OpenAPI document is generated from these).

Responses carry :class:`affectkit.schema.Prediction` objects exactly as ``Prediction.to_dict()`` writes them,
the schema the Python API uses; the tabular formats (``csv``, ``jsonl``) are the rows ``affectkit analyze``
writes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, field_validator, model_validator

from affectkit.schema import Prediction
from affectkit.serve.encoding import check_fields

OutputFormat = Literal["json", "csv", "jsonl"]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: StrictStr | None = Field(None, description="A model this server serves (GET /v1/models); "
                                                      "default: the server's first model.")
    labels: StrictStr | None = Field(None, description="Label set of the output, e.g. ekman, plutchik, "
                                                       "parrott-2 (GET /v1/labelsets); default: the model's.")
    top_k: StrictInt = Field(3, ge=1, le=1000, description="How many ranked emotions each prediction lists.")
    vad_scale: StrictStr | None = Field(None, description="Scale of valence/arousal/dominance: -1..1 (default), "
                                                          "0..1, 1..5, 1..7, 1..9.")
    at_least_one_label: StrictBool = Field(False, description="Give every text at least its most probable label "
                                                              "(`affectkit analyze --at-least-one-label`), for "
                                                              "texts that all express some emotion.")
    fields: list[StrictStr] | None = Field(None, description="format=json: only these fields of each prediction "
                                                             "(e.g. [\"emotions\", \"valence\", \"error\"]); "
                                                             "default: all of them.",
                                           examples=[["emotions", "valence", "arousal", "error"]])

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: list[str] | None) -> list[str] | None:
        return check_fields(value)


class AnalyzeRequest(_Options):
    """One text (``text``) or many (``texts``)."""

    text: StrictStr | None = Field(None, description="One text.")
    texts: list[StrictStr] | None = Field(None, description="Many texts; predictions come back in this order.")
    format: OutputFormat = Field("json", description="json: predictions; csv or jsonl: the rows "
                                                     "`affectkit analyze` writes for a file with a text column.")
    escape_formulas: StrictBool = Field(True, description="format=csv: prefix text cells that start with = + - @ "
                                                          "(or a tab or CR) with a single quote, so that a "
                                                          "spreadsheet shows them instead of running them "
                                                          "(`affectkit analyze --csv-escape-formulas`).")

    @model_validator(mode="after")
    def _one_of_text_or_texts(self) -> "AnalyzeRequest":
        if (self.text is None) == (self.texts is None):
            raise ValueError("give either 'text' (one text) or 'texts' (a list of texts)")
        return self

    @property
    def items(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class RankRequest(_Options):
    """Texts to order by an affect attribute."""

    texts: list[StrictStr] = Field(..., description="The texts to rank.")
    by: StrictStr = Field(..., description="valence, arousal, dominance, intensity, a label of the output label "
                                           "set, labels joined by '+', or score:NAME; a leading '-' ranks "
                                           "ascending.", examples=["-valence", "sadness+grief"])


class AnalyzeResponse(BaseModel):
    model: str
    labelset: str
    predictions: list[Prediction]


class AnalyzeFileResponse(AnalyzeResponse):
    text_col: str
    texts: list[str | None] = Field(..., description="The text of each row, as read (null when unreadable).")


class RankedItem(BaseModel):
    rank: int = Field(..., description="1 = first.")
    index: int = Field(..., description="Position of the text in the request.")
    value: float | None = Field(..., description="The attribute's value (null when the text failed).")
    prediction: Prediction


class RankResponse(BaseModel):
    model: str
    labelset: str
    by: str
    ranking: list[RankedItem]


class ErrorResponse(BaseModel):
    detail: str | list[dict] = Field(..., description="What was wrong and how to fix it.")
