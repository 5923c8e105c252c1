"""The ``llm`` analyzer: emotion analysis by any OpenAI-compatible chat model, in affectkit's common schema.

Modes (one prompt template each, see :mod:`affectkit.llm.templates`):

- ``classify``: zero-shot ranked emotions over the label set (the software-developer study's zero-shot setting);
- ``describe``: open-vocabulary emotion words (AffectGPT / EMER), normalised through the Parrott/TONE vocabulary
  onto the label set; the raw words are kept in ``extra["emotion_words"]``, the unmappable ones in
  ``extra["unmapped_words"]``;
- ``hybrid``: HEF. A small model (``base``, the shipped ``default`` unless told otherwise) ranks the emotions; its
  top-k and the words that trigger them go into the prompt, and the LLM first picks one of those primary emotions,
  then considers the others.

Each row also gets, as asked for in ``outputs``: VAD (rated by the LLM on the 1-9 Self-Assessment Manikin scale,
stored on affectkit's -1..1 like every analyzer; ``--vad-scale 1..9`` gives the ratings back), intensity (0..1),
evidence spans (the LLM's quotes located in the input), the emotion cause and an explanation.

From the ranked emotions to the schema (our choice): each emotion word with score ``s`` adds ``s`` times its
label weights (:func:`affectkit.llm.words.label_weights`) to the distribution, which is then normalised; the
multi-label score of a label is the largest ``s`` that reaches it, decided on at 0.5. Open-vocabulary words carry
no score; their weights follow their rank, 1/r. In hybrid mode the primary emotion the LLM chose among the small
model's candidates gets half of the mass on top (``p = (p_scores + onehot(primary)) / 2``), so it ranks first and
is decided on; the other emotions share the rest by their scores.

Beyond rows: :meth:`LLMAnalyzer.cause` and :meth:`LLMAnalyzer.explain` answer for a given emotion (the cause task
of the software-developer study), :meth:`LLMAnalyzer.compare` says which of two texts has more of an attribute
(pairwise tasks), and :meth:`LLMAnalyzer.judge` grades an answer 0/1/2 for tasks that declare an LLM judge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from affectkit.analyzers.base import Analyzer
from affectkit.labels import LabelSet, get_labelset
from affectkit.llm.client import ChatClient, ChatResult, clip_message
from affectkit.llm.settings import LLMSettings, resolve_settings
from affectkit.llm.templates import PromptTemplate, RenderedPrompt, load_template
from affectkit.llm.words import label_weights, locate
from affectkit.ranking import parse_attribute
from affectkit.schema import BatchPrediction, Evidence
from affectkit.text import check_text
from affectkit.vad import CANONICAL, DIMENSIONS, convert

log = logging.getLogger(__name__)

LLM_VAD_SCALE = "1..9"  # the scale the prompts ask the LLM to rate on
DECISION_THRESHOLD = 0.5
EXTRA_KEYS = ("emotion_words", "unmapped_words", "usage", "repairs")


@dataclass
class Answer:
    """The LLM's answer to one question (a cause, an explanation, a comparison, a grade), or why there is none."""

    value: Any = None
    error: str | None = None
    explanation: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)


class LLMAnalyzer(Analyzer):
    """Emotion analysis by a chat model behind an OpenAI-compatible API.

    >>> llm = affectkit.load("llm:qwen2.5:7b@http://localhost:11434/v1")            # doctest: +SKIP
    >>> llm.analyze("I finally got the job!", labels="ekman").emotions              # doctest: +SKIP
    """

    modality = "text"
    max_batch_chars = None  # one request per text: a batch's size does not add up anywhere, and slices would
    # cut the requests in flight at their ends

    def __init__(self, settings: LLMSettings | None = None, **kwargs: Any) -> None:
        self.settings = settings if settings is not None else resolve_settings(**kwargs)
        s = self.settings
        self.labelset: LabelSet = get_labelset(s.labels)
        self.client = ChatClient(s)
        self.templates: dict[str, PromptTemplate] = {
            name: load_template(name, s.prompts_dir) for name in (s.mode, "cause", "explain", "compare", "judge")}
        self._base: Analyzer | None = None
        self.name = self._name()

    @classmethod
    def from_spec(cls, arg: str, **kwargs: Any) -> "LLMAnalyzer":
        """Build from the part after ``llm:`` (``MODEL[@BASE_URL][?option=value&...]``) plus keyword options."""
        return cls(resolve_settings(arg, **kwargs))

    def _name(self) -> str:
        model = self.client._model or "llm"
        return f"llm:{model}" if self.settings.mode == "classify" else f"llm-{self.settings.mode}:{model}"

    # -- the Analyzer interface -------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        s = self.settings
        return {"name": self.name, "modality": self.modality, "labelset": self.labelset.name,
                "model": s.model, "mode": s.mode, "outputs": list(s.outputs), "max_emotions": s.max_emotions,
                "max_tokens": s.max_tokens, "temperature": s.temperature, "seed": s.seed,
                "structured": s.structured, "prompt": self.templates[s.mode].id,
                **({"base": s.base, "base_top_k": s.base_top_k} if s.mode == "hybrid" else {})}

    def native_labelset(self, labels: LabelSet | None = None) -> LabelSet:
        """An LLM is told the labels, so it answers in whatever label set it is asked for."""
        return labels if labels is not None else self.labelset

    def summary(self) -> dict[str, Any]:
        """Requests, retries, cache hits, tokens and seconds so far, and the structured-output form in use."""
        return {**self.client.totals.as_dict(), "structured_output": self.client.structured_format}

    def close(self) -> None:
        self.client.close()
        super().close()

    def predict_batch(self, items: list[Any], labels: LabelSet | None = None) -> BatchPrediction:
        target = labels if labels is not None else self.labelset
        mode = self.settings.mode
        prompts: list[RenderedPrompt | None]
        hints: list[dict[str, Any] | None] = [None] * len(items)
        errors: list[str | None] = [None] * len(items)
        if mode == "hybrid":
            hints, errors = self._base_hints(items, target)
        prompts = [None if err else self._analysis_prompt(text, target, hint)
                   for text, hint, err in zip(items, hints, errors)]
        sent = [i for i, p in enumerate(prompts) if p is not None]
        results: list[ChatResult | None] = [None] * len(items)
        for i, res in zip(sent, self.client.complete_many([p for p in prompts if p is not None])):
            results[i] = res
        self.name = self._name()
        return self._to_batch(items, target, results, errors, hints)

    # -- prompts ----------------------------------------------------------------------------------------------
    def _analysis_prompt(self, text: str, target: LabelSet, hint: dict[str, Any] | None) -> RenderedPrompt:
        s = self.settings
        labels = list(target.labels)
        variables: dict[str, Any] = {"text": text, "labels": labels, "label_list": ", ".join(labels),
                                     "max_emotions": s.max_emotions}
        if s.mode == "describe":
            variables["labels"] = None  # open vocabulary: no label enum anywhere in the schema
        if hint is not None:
            variables.update(hint)
        return self.templates[s.mode].render(variables, s.outputs)

    def _base_model(self) -> Analyzer:
        if self._base is None:
            from affectkit.analyzers import load

            self._base = load(self.settings.base)
        return self._base

    def _base_hints(self, items: list[str], target: LabelSet) -> tuple[list[dict[str, Any] | None], list[str | None]]:
        """HEF: the small model's top-k emotions on ``target`` and the words that trigger each one."""
        batch = self._base_model().analyze_batch(items, target)
        k = min(self.settings.base_top_k, len(target))
        hints: list[dict[str, Any] | None] = []
        errors: list[str | None] = []
        names = target.labels
        for i in range(len(items)):
            if batch.errors[i] or np.isnan(batch.dist[i]).any():
                hints.append(None)
                errors.append(f"base model {self.settings.base!r} failed: {batch.errors[i]}")
                continue
            order = np.argsort(-batch.dist[i], kind="stable")[:k]
            candidates = [names[j] for j in order]
            triggers: dict[str, list[str]] = {c: [] for c in candidates}
            for ev in (batch.evidence[i] if batch.evidence is not None else []):
                if ev.label in triggers and ev.text not in triggers[ev.label]:
                    triggers[ev.label].append(ev.text)
            lines = []
            for j, c in zip(order, candidates):
                words = ", ".join(f'"{w}"' for w in triggers[c]) or "no single trigger word"
                lines.append(f"- {c} (probability {batch.dist[i, j]:.2f}; triggered by {words})")
            hints.append({"candidates": candidates, "candidate_list": ", ".join(candidates),
                          "candidate_lines": "\n".join(lines), "base_emotions": candidates,
                          "base_triggers": triggers})
            errors.append(None)
        return hints, errors

    # -- replies to rows --------------------------------------------------------------------------------------
    def _to_batch(self, items: list[str], target: LabelSet, results: list[ChatResult | None],
                  errors: list[str | None], hints: list[dict[str, Any] | None]) -> BatchPrediction:
        n, k = len(items), len(target)
        out = BatchPrediction(target, np.full((n, k), np.nan), np.full((n, k), np.nan),
                              np.full(k, DECISION_THRESHOLD), np.full((n, 3), np.nan), CANONICAL.name,
                              np.full(n, np.nan), [[] for _ in range(n)], [None] * n, [None] * n,
                              errors=list(errors), model=self.name)
        extra: dict[str, list[Any]] = {key: [None] * n for key in EXTRA_KEYS}
        if self.settings.mode == "hybrid":
            extra["base_emotions"] = [h["base_emotions"] if h else None for h in hints]
            extra["primary_emotion"] = [None] * n
        for i, res in enumerate(results):
            if res is None:
                continue
            extra["usage"][i] = res.usage()
            extra["repairs"][i] = res.repairs or None
            if res.error is not None:
                out.errors[i] = res.error
                continue
            try:
                self._fill_row(out, extra, i, items[i], res.data or {}, target)
            except (KeyError, TypeError, ValueError) as e:  # a reply that validated but still makes no sense
                out.dist[i] = np.nan
                out.errors[i] = f"unusable reply: {type(e).__name__}: {e}"
        out.errors = [clip_message(e) if isinstance(e, str) else e for e in out.errors]
        out.extra = extra
        return out

    def _ranked_words(self, data: dict[str, Any]) -> list[tuple[str, float]]:
        if self.settings.mode == "describe":
            words = [str(w) for w in data.get("emotion_words", []) if str(w).strip()]
            return [(w, 1.0 / (r + 1)) for r, w in enumerate(words)]
        ranked = [(str(e["label"]), float(e.get("score", 1.0))) for e in data.get("emotions", [])
                  if isinstance(e, dict) and str(e.get("label", "")).strip()]
        primary = data.get("primary_emotion")
        if self.settings.mode == "hybrid" and primary:  # the primary emotion first, with its own score if listed
            own = next((s for w, s in ranked if w.lower() == str(primary).lower()), None)
            rest = [(w, s) for w, s in ranked if w.lower() != str(primary).lower()]
            ranked = [(str(primary), own if own is not None else max([s for _, s in rest], default=1.0))] + rest
        if ranked and sum(s for _, s in ranked) <= 0:  # listed as applying, all scored 0: fall back to rank
            ranked = [(w, 1.0 / (r + 1)) for r, (w, _) in enumerate(ranked)]
        return ranked

    def _fill_row(self, out: BatchPrediction, extra: dict[str, list[Any]], i: int, text: str,
                  data: dict[str, Any], target: LabelSet) -> None:
        assert out.scores is not None and out.vad is not None and out.intensity is not None
        assert out.evidence is not None and out.causes is not None and out.explanations is not None
        ranked = self._ranked_words(data)
        words = [w for w, _ in ranked]
        extra["emotion_words"][i] = words
        if "primary_emotion" in extra:
            extra["primary_emotion"][i] = data.get("primary_emotion")
        dist = np.zeros(len(target))
        scores = np.zeros(len(target))
        unmapped = []
        for word, s in ranked:
            weights = label_weights(word, target)
            if not weights:
                unmapped.append(word)
            for lab, w in weights:
                j = target.index(lab)
                dist[j] += max(s, 0.0) * w
                scores[j] = max(scores[j], min(max(s, 0.0), 1.0))
        extra["unmapped_words"][i] = unmapped
        primary = (label_weights(str(data.get("primary_emotion") or ""), target)
                   if self.settings.mode == "hybrid" else ())
        if primary and dist.sum() > 0:  # HEF: the chosen primary emotion holds half the mass, and ranks first
            dist = dist / dist.sum()
            for lab, w in primary:
                dist[target.index(lab)] += w
                scores[target.index(lab)] = max(scores[target.index(lab)], DECISION_THRESHOLD)
        if dist.sum() <= 0:
            out.errors[i] = (f"no emotion word of the reply maps onto {target.name}: {words}" if words
                             else "the reply names no emotion")
        else:
            out.dist[i] = dist / dist.sum()
            out.scores[i] = scores
        # only the outputs asked for, each checked against its range: a field the prompt did not ask for was not
        # validated against any schema, so it is ignored, and a number outside its scale is dropped with a note
        asked = set(self.settings.outputs)
        notes: list[str] = []
        if "vad" in asked:
            out.vad[i] = [convert(v, LLM_VAD_SCALE, CANONICAL) if v is not None else np.nan
                          for v in (_rating(data, d, 1.0, 9.0, notes) for d in DIMENSIONS)]
        if "intensity" in asked:
            x = _rating(data, "intensity", 0.0, 1.0, notes)
            out.intensity[i] = np.nan if x is None else x
        if "evidence" in asked:
            quotes = data.get("evidence")
            out.evidence[i] = self._evidence(text, quotes if isinstance(quotes, list) else [], target, out.dist[i])
        if "cause" in asked:
            out.causes[i] = _text_or_none(data.get("cause"))
        if "explanation" in asked:
            out.explanations[i] = _text_or_none(data.get("explanation"))
        if notes:
            extra["repairs"][i] = (extra["repairs"][i] or []) + notes

    def _evidence(self, text: str, quotes: list[Any], target: LabelSet, dist: np.ndarray) -> list[Evidence]:
        """Quotes located in the input; a quote that is not in the input is dropped (it is no evidence)."""
        found: list[Evidence] = []
        taken: set[tuple[int, int]] = set()
        for q in quotes:
            if not isinstance(q, dict) or not isinstance(q.get("quote"), str):
                continue
            span = locate(q["quote"], text, taken)
            if span is None:
                continue
            taken.add(span)
            weights = label_weights(str(q.get("emotion", "")), target)
            label = max(weights, key=lambda lw: lw[1])[0] if weights else None
            weight = float(dist[target.index(label)]) if label and not np.isnan(dist).any() else 0.0
            found.append(Evidence(text[span[0]:span[1]], span[0], span[1], label, weight))
        return found

    # -- questions beyond rows --------------------------------------------------------------------------------
    def _ask(self, template: str, variables: list[dict[str, Any]]) -> list[ChatResult]:
        return self.client.complete_many([self.templates[template].render(v) for v in variables])

    def cause(self, texts: "str | Sequence[str]", emotions: "str | Sequence[str]") -> "Answer | list[Answer]":
        """The phrase of each text that caused the given emotion (``Answer.value``), as in the emotion-cause task
        of the software-developer study (scored there with BLEU-2)."""
        return self._per_text("cause", "cause", texts, emotions)

    def explain(self, texts: "str | Sequence[str]", emotions: "str | Sequence[str]") -> "Answer | list[Answer]":
        """Why each text expresses the given emotion, grounded in its words (``Answer.value``)."""
        return self._per_text("explain", "explanation", texts, emotions)

    def _per_text(self, template: str, key: str, texts: Any, emotions: Any) -> "Answer | list[Answer]":
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        emotions = [emotions] * len(texts) if isinstance(emotions, str) else list(emotions)
        if len(emotions) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(emotions)} emotions")
        answers = [Answer() for _ in texts]
        ok = []
        for a, t in zip(answers, texts):
            _, a.error = check_text(t)
            if a.error is None:
                ok.append(a)
        todo = [{"text": t, "emotion": e} for a, t, e in zip(answers, texts, emotions) if a.error is None]
        for a, res in zip(ok, self._ask(template, todo)):
            a.usage, a.error = res.usage(), res.error
            if res.error is None:
                a.value = _text_or_none((res.data or {}).get(key))
        return answers[0] if single else answers

    def compare(self, text_a: str, text_b: str, attribute: str = "arousal", both_orders: bool = False) -> Answer:
        """Which text has more of ``attribute`` (``valence``, ``arousal``, ``dominance``, ``intensity``, a label
        such as ``anger``, or any phrase; a leading ``-`` asks for less). ``Answer.value`` is ``"A"`` or ``"B"``.

        With ``both_orders`` the pair is also asked in swapped order, which cancels the position bias of small
        models: two agreeing answers give that text, disagreeing ones give ``"tie"``.
        """
        return self.compare_many([(text_a, text_b)], attribute, both_orders)[0]

    def compare_many(self, pairs: Sequence[tuple[str, str]], attribute: str = "arousal",
                     both_orders: bool = False) -> list[Answer]:
        """:meth:`compare` for many pairs, sent concurrently."""
        name, less = parse_attribute(attribute)
        question = _question(name, self.templates["compare"].options.get("questions") or {})
        asks = list(pairs) + ([(b, a) for a, b in pairs] if both_orders else [])
        results = self._ask("compare", [{"text_a": a, "text_b": b, "question": question} for a, b in asks])
        answers = []
        for i in range(len(pairs)):
            first = _pick(results[i], flip=less)
            if both_orders:
                second = _pick(results[i + len(pairs)], flip=not less)
                usage = _sum_usage(first.usage, second.usage)
                if first.error is None and second.error is None and second.value != first.value:
                    first.value = "tie"
                elif first.error is not None:
                    first = second
                first.usage = usage
            answers.append(first)
        return answers

    def judge(self, question: str, reference: str, answer: str) -> Answer:
        """Grade ``answer`` against ``reference`` 0, 1 or 2 (EEmo-Bench's description judging). Only for evaluation
        tasks that declare an LLM judge."""
        res = self._ask("judge", [{"question": question, "reference": reference, "answer": answer}])[0]
        out = Answer(error=res.error, usage=res.usage())
        if res.error is None:
            score = (res.data or {}).get("score")
            if isinstance(score, (int, float)) and score in (0, 1, 2):
                out.value = int(score)
                out.explanation = _text_or_none((res.data or {}).get("reason"))
            else:
                out.error = f"invalid reply: score {score!r} is not 0, 1 or 2"
        return out


def _question(attribute: str, questions: dict[str, str]) -> str:
    """The comparison question for an attribute, from the compare template's ``questions``."""
    import string

    template = questions.get(attribute) or questions.get("default") or "expresses more $attribute"
    return string.Template(template).safe_substitute(attribute=attribute)


def _pick(res: ChatResult, flip: bool) -> Answer:
    """The "A"/"B" answer of a comparison reply (swapped when ``flip``)."""
    out = Answer(error=res.error, usage=res.usage())
    if res.error is not None:
        return out
    data = res.data or {}
    raw = str(data.get("answer", "")).strip().strip(".\"'").upper()
    raw = raw.removeprefix("TEXT ").strip()
    if raw not in ("A", "B"):
        out.error = f"invalid reply: answer {data.get('answer')!r} is neither A nor B"
        return out
    out.value = {"A": "B", "B": "A"}[raw] if flip else raw
    out.explanation = _text_or_none(data.get("explanation"))
    return out


def _sum_usage(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key in ("prompt_tokens", "completion_tokens", "seconds", "attempts"):
        out[key] = round(a.get(key, 0) + b.get(key, 0), 3)
    out["cached"] = bool(a.get("cached")) and bool(b.get("cached"))
    return out


def _rating(data: dict[str, Any], name: str, low: float, high: float, notes: list[str]) -> float | None:
    """``data[name]`` as a finite number within ``low..high``; otherwise ``None``, and a note when a value was
    there (the parser drops out-of-range values of a shipped schema already: this also covers custom prompts)."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) \
            or not low <= value <= high:
        notes.append(clip_message(f"dropped {name}={value!r}: not a number within {low:g}..{high:g}", 200))
        return None
    return float(value)


def _text_or_none(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None
