"""The READMEs: the two set-up commands, the links between the Chinese and the English one, and
the table of problem codes (issue 11 §4–5), which must list every code cardgen can emit and no
code it no longer has."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from click.testing import CliRunner

from cardgen.cli import cli
from tests.conftest import DATE, HEADER, household_rows, write_csv

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_EN = ROOT / "README.en.md"
PROBLEMS = ROOT / "docs" / "problems.md"  # the table of problem codes, linked from the README
PROBLEMS_EN = ROOT / "docs" / "problems.en.md"
SOURCE = ROOT / "cardgen"

# Codes built from a name, which no literal in the source spells out: `f"{field}.unknown"` in
# cardgen/data/validate.py (`_enum`) for the fields whose values decide the colour.
BUILT = {"f'{field}.unknown'": {"housing.unknown", "plan.unknown", "residence.unknown"}}

# Where a code stands as a positional argument: (callee, index of the argument).
POSITIONAL = {"Problem": 8, "note": 1, "Failure": 1}
CODE = re.compile(r"^[a-z][a-z_0-9]*(\.[a-z][a-z_0-9]*)*$")
SECTION_ZH = "## 问题代码"
SECTION_EN = "## Problem codes"
FENCE = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _text(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _exception_classes(trees: list[ast.Module]) -> set[str]:
    """The names of cardgen's exceptions that carry a code: CardgenError and its subclasses,
    and IdNumberError (its code becomes the problem's); their code is the second argument."""
    bases: dict[str, set[str]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {name for b in node.bases if (name := _name(b))}
    found = {"CardgenError", "IdNumberError"}
    while True:
        more = {name for name, of in bases.items() if of & found} - found
        if not more:
            return found
        found |= more


def source_codes() -> tuple[set[str], set[str]]:
    """Every code cardgen's source can emit, and the code expressions built from names."""
    trees = [ast.parse(path.read_text(encoding="utf-8"))
             for path in sorted(SOURCE.rglob("*.py"))]
    exceptions = _exception_classes(trees)
    codes: set[str] = set()
    built: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "code":
                        if isinstance(keyword.value, ast.JoinedStr):
                            built.add(ast.unparse(keyword.value))
                        elif (text := _text(keyword.value)) is not None:
                            codes.add(text)
                callee = _name(node.func)
                index = POSITIONAL.get(callee or "")
                if callee in exceptions:
                    index = 2 if callee == "DataRefused" else 1
                if index is not None and len(node.args) > index:
                    text = _text(node.args[index])
                    if text is not None and CODE.match(text):
                        codes.add(text)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {name for t in targets if (name := _name(t))}
                text = _text(node.value)
                if names & {"code", "CODE"} and text is not None:
                    codes.add(text)  # a class's default code; glyphs.CODE
                if any(n.endswith("_CODES") for n in names) and isinstance(node.value, ast.Dict):
                    codes |= {t for v in node.value.values if (t := _text(v)) is not None}
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if key is not None and _text(key) == "code" and _text(value) is not None:
                        codes.add(str(_text(value)))  # the web layer's JSON answers
    return {code for code in codes if CODE.match(code)}, built


def readme_codes(path: Path, heading: str) -> list[str]:
    """The codes in the first column of the tables of a README's section on codes."""
    text = path.read_text(encoding="utf-8")
    assert heading in text, f"{path.name} has no section {heading!r}"
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    found = []
    for line in section.splitlines():
        if line.startswith("|"):
            first = line.split("|")[1]
            found += re.findall(r"`([^`]+)`", first)
    return found


def test_the_source_codes_are_found() -> None:
    codes, built = source_codes()
    # one of each way a code is written, so that the collector cannot quietly go blind
    assert {"id.check_digit", "id.twice", "row.total", "column.duplicate", "glyph.missing",
            "colour.overrides_rules", "book.unreadable", "input", "web.method", "web.host",
            "internal", "data.household_errors"} <= codes
    assert built == set(BUILT), (
        "a code is built from a name in a way this test does not know; list the codes it "
        f"makes in BUILT: {sorted(built - set(BUILT))}")


def test_the_chinese_readme_lists_every_code_and_no_other() -> None:
    codes, _built = source_codes()
    codes |= set().union(*BUILT.values())
    listed = readme_codes(PROBLEMS, SECTION_ZH)
    assert sorted(set(listed)) == sorted(listed), "a code is listed twice"
    assert sorted(codes - set(listed)) == [], "codes the README's table does not list"
    assert sorted(set(listed) - codes) == [], "codes the README lists but the source lacks"


def test_the_readmes_link_to_the_documents_users_need() -> None:
    for readme, language in ((README, ""), (README_EN, ".en")):
        text = readme.read_text(encoding="utf-8")
        for document in (f"docs/{name}{language}.md"
                         for name in ("problems", "cli", "book", "templates")):
            assert f"]({document})" in text and (ROOT / document).is_file(), document


def test_the_english_readme_lists_the_same_codes() -> None:
    assert sorted(readme_codes(PROBLEMS_EN, SECTION_EN)) == \
        sorted(readme_codes(PROBLEMS, SECTION_ZH))


def test_the_built_codes_are_emitted(tmp_path: Path) -> None:
    rows = household_rows("H1", 房屋状态="别墅", 居住状态="旅居", 出租出售计划="也许")
    path = write_csv(tmp_path / "r.csv", rows, [*HEADER, "出租出售计划"])
    result = CliRunner().invoke(cli, ["validate", str(path), "--format", "json", "--date", DATE])
    emitted = {p["code"] for p in json.loads(result.output)["problems"]}
    assert set().union(*BUILT.values()) <= emitted


def test_both_readmes_give_the_two_setup_commands_and_link_to_each_other() -> None:
    chinese = README.read_text(encoding="utf-8")
    english = README_EN.read_text(encoding="utf-8")
    for text in (chinese, english):
        commands = "".join(FENCE.findall(text))
        assert "./setup.sh demo" in commands and "./setup.sh test" in commands
    top = chinese.split("\n## ", 1)[0]
    assert "(README.en.md)" in top, "README.md links to the English README at its top"
    assert "(README.md)" in english.split("\n## ", 1)[0]
    assert SECTION_ZH in chinese and SECTION_EN in english


# ---- docs/: what code, help and messages cite ----------------------------------------------

DOCS_REFERENCE = re.compile(r"docs/[\w.-]+(?:/[\w.-]+)*")


def _cited_docs(text: str) -> set[str]:
    return {found.rstrip(".") for found in DOCS_REFERENCE.findall(text)}


def test_every_docs_reference_in_the_code_help_and_messages_names_a_file() -> None:
    """What the source (docstrings, comments, messages, the desk's page), the translations
    and every command's --help cite under docs/ is in the repository, for both languages."""
    cited: dict[str, set[str]] = {}
    for path in sorted(SOURCE.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".po", ".js", ".toml", ".j2", ".html"}:
            for document in _cited_docs(path.read_text(encoding="utf-8")):
                cited.setdefault(document, set()).add(str(path.relative_to(ROOT)))
    runner = CliRunner()
    commands = [[name] for name in cli.commands]
    commands += [["book", "check"]]
    for lang in ("zh", "en"):
        for command in [[], *commands]:
            result = runner.invoke(cli, ["--lang", lang, *command, "--help"])
            assert result.exit_code == 0, result.output
            for document in _cited_docs(result.output):
                cited.setdefault(document, set()).add(" ".join(["--help", *command]))
    assert {"docs/cli.md", "docs/book.md", "docs/templates.md"} <= set(cited)
    missing = {document: places for document, places in cited.items()
               if not (ROOT / document).exists()}
    assert not missing


def test_the_source_cites_no_document_outside_the_repository() -> None:
    """The product spec (DOMAIN.md, cited as "DOMAIN §n") is not in the repository: the
    source cites docs/ and the README instead."""
    spec = "DOMAIN" + " §"
    cited = [str(path.relative_to(ROOT)) for path in sorted(SOURCE.rglob("*"))
             if path.is_file() and path.suffix in {".py", ".po", ".js", ".toml", ".j2", ".html"}
             and spec in path.read_text(encoding="utf-8")]
    assert not cited


def test_every_document_has_its_english_twin_and_they_link_to_each_other() -> None:
    for chinese in sorted((ROOT / "docs").glob("*.md")):
        if chinese.name.endswith(".en.md"):
            continue
        english = chinese.with_name(chinese.name.removesuffix(".md") + ".en.md")
        assert english.is_file(), english
        assert f"]({english.name})" in chinese.read_text(encoding="utf-8")
        assert f"]({chinese.name})" in english.read_text(encoding="utf-8")
