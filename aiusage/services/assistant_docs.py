"""The onsite assistant's documents and how it picks the few that fit a question.

The corpus is the product's own public documentation, in the visitor's language where it has
one: the README's sections for users (English only), the Connect page's texts and snippets,
the privacy policy and the terms (filled with the configuration, exactly as published) and
the pricing page's texts and price table. Nothing private is in it: no account data, no key,
no configuration secret — whatever a question asks, the model has nothing else to tell.

Each document is cut into sections of at most `CHUNK_CHARS`; a question picks the best few
by BM25 keyword scoring (English words, Chinese character pairs), with a bonus for a pair of
the question's words found side by side ("Claude Code"). No embeddings, no other service."""

from __future__ import annotations

import functools
import itertools
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from aiusage.config import PROJECT_ROOT, get_settings
from aiusage.i18n import t
from aiusage.i18n.formatting import format_money, format_tokens
from aiusage.services import price_list

log = logging.getLogger("aiusage.assistant")

README = PROJECT_ROOT / "README.md"
# README sections for operators and developers, not for people using the service.
README_SKIP = frozenset(
    {"Two commands", "Operator CLI", "Configuration", "Layout", "Benchmark", "Scaling notes"}
)
CHUNK_CHARS = 900  # a section of a document at most (a paragraph longer than this stays whole)
MAX_SECTIONS = 4  # sent with a question
MAX_CONTEXT_CHARS = 8000  # all the sections sent with a question together

_K1, _B = 1.2, 0.75  # BM25's usual constants
TITLE_WEIGHT = 3  # a word of a section's title counts as this many in its text
_STOP = frozenset(
    """a an and are as at be but by can do does for from how i if in into is it its me my no
    not of on or our so than that the their them then there these they this to too up us use
    using was we what when where which who why will with would you your""".split()
)
# Chinese character pairs every question has (how, what, can, my, your …).
_STOP_ZH = frozenset("如何 怎么 怎样 什么 可以 能否 是否 你们 我们 我的 你的 请问 一个".split())
_WORDS = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def tokens(text: str) -> list[str]:
    """Search terms in order: lower-case English words (stop words out, a plural's "s" off)
    and, for Chinese, every pair of neighbouring characters (a lone one as itself)."""
    out: list[str] = []
    for match in _WORDS.finditer(text.lower()):
        word = match.group()
        if word[0] >= "\u3400":
            pairs = (word[i : i + 2] for i in range(max(1, len(word) - 1)))
            out.extend(pair for pair in pairs if pair not in _STOP_ZH)
        elif word not in _STOP:
            if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
                word = word[:-1]
            out.append(word)
    return out


def _pairs(terms: Sequence[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(terms))


@dataclass(frozen=True)
class Section:
    """A piece of a document: where it comes from (shown to the model), its title, its text."""

    source: str
    title: str
    text: str
    terms: Counter[str] = field(init=False, repr=False, compare=False)
    pairs: frozenset[tuple[str, str]] = field(init=False, repr=False, compare=False)
    length: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        body = tokens(self.text)
        title = tokens(self.title)
        terms = Counter(body)
        for term in title:
            terms[term] += TITLE_WEIGHT
        object.__setattr__(self, "terms", terms)
        object.__setattr__(self, "pairs", frozenset(_pairs(body) | _pairs(title)))
        object.__setattr__(self, "length", max(1, len(body) + TITLE_WEIGHT * len(title)))


def chunked(source: str, title: str, blocks: Iterable[str]) -> list[Section]:
    """Blocks (paragraphs, code blocks) packed in order into sections of at most CHUNK_CHARS.
    A paragraph opening with bold text (a README sub-heading such as **Codex CLI**) starts a
    new section, titled with it."""
    sections: list[Section] = []
    current: list[str] = []
    current_title = title

    def flush() -> None:
        if current:
            sections.append(Section(source, current_title, "\n\n".join(current)))
            current.clear()

    for block in blocks:
        block = block.strip()
        if not block:
            continue
        lead = re.match(r"\*\*(.+?)\*\*", block)
        size = sum(len(b) + 2 for b in current)
        if lead or (current and size + len(block) > CHUNK_CHARS):
            flush()
            current_title = f"{title}: {lead.group(1).rstrip('.:')}" if lead else title
        current.append(block)
    flush()
    return sections


def _blocks(markdown: str) -> list[str]:
    """Paragraphs and fenced code blocks (a code block kept whole, blank lines and all)."""
    blocks: list[str] = []
    current: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            current.append(line)
            if not fenced:
                blocks.append("\n".join(current))
                current = []
            continue
        if not fenced and not line.strip():
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def readme_sections(text: str, site: str) -> list[Section]:
    """The README's sections for users, the example site replaced by this one."""
    text = text.replace("http://localhost:3000", site).replace("<site>", site)
    sections: list[Section] = []
    title, lines = "aiusage", list[str]()

    def flush() -> None:
        if title not in README_SKIP:
            sections.extend(chunked("README", title, _blocks("\n".join(lines))))

    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and re.match(r"#{1,3} ", line):
            flush()
            title, lines = line.lstrip("#").strip(), []
        else:
            lines.append(line)
    flush()
    return sections


def _readme(site: str) -> list[Section]:
    try:
        text = README.read_text(encoding="utf-8")
    except OSError:  # an installation without the source tree: the other documents remain
        log.warning("the assistant runs without the README (%s not readable)", README)
        return []
    return readme_sections(text, site)


def connect_sections(lang: str, site: str) -> list[Section]:
    """The Connect page (/dashboard/connect) as a signed-in user sees it, for any key."""
    source = "Connect page (/dashboard/connect)"
    key = "$AIUSAGE_API_KEY"
    snippets = [
        (
            "connect.claude_code",
            None,
            f'export ANTHROPIC_BASE_URL="{site}/api"\nexport ANTHROPIC_AUTH_TOKEN="{key}"\nclaude',
        ),
        (
            "connect.anthropic_python",
            None,
            f'anthropic.Anthropic(base_url="{site}/api", api_key=os.environ["AIUSAGE_API_KEY"])',
        ),
        (
            "connect.openai_python",
            None,
            f'OpenAI(base_url="{site}/api/v1", api_key=os.environ["AIUSAGE_API_KEY"])',
        ),
        (
            "connect.codex",
            "connect.codex_note",
            'model = "gpt-5"\nmodel_provider = "aiusage"\n\n[model_providers.aiusage]\n'
            f'name = "aiusage"\nbase_url = "{site}/api/v1"\nenv_key = "AIUSAGE_API_KEY"\n'
            'wire_api = "responses"',
        ),
        (
            "connect.cursor",
            "connect.cursor_note",
            f"Override OpenAI Base URL: {site}/api/v1\nOpenAI API Key: your aiusage key\n"
            "Models: claude-sonnet-4-5, gpt-5",
        ),
        (
            "connect.openai_claude",
            "connect.openai_claude_note",
            f'OpenAI(base_url="{site}/api/v1", …).chat.completions.create('
            'model="claude-sonnet-4-5", …)',
        ),
        (
            "connect.curl",
            None,
            f'curl {site}/api/v1/messages -H "x-api-key: {key}" '
            '-H "anthropic-version: 2023-06-01" -H "content-type: application/json" '
            '-d \'{"model": "claude-sonnet-4-5", "max_tokens": 256, "messages": '
            '[{"role": "user", "content": "Hello"}]}\'',
        ),
    ]
    title = t(lang, "nav.connect")
    sections = [
        Section(
            source,
            title,
            "\n\n".join(
                [
                    t(lang, "connect.intro"),
                    f"{t(lang, 'connect.anthropic_base')}: {site}/api",
                    f"{t(lang, 'connect.openai_base')}: {site}/api/v1",
                    f"{t(lang, 'connect.placeholder_note')} sk-aiu-…",
                    t(lang, "connect.key_note"),
                    'export AIUSAGE_API_KEY="paste-your-full-aiusage-key-here"',
                ]
            ),
        )
    ]
    for heading, note, code in snippets:
        parts = [t(lang, note)] if note else []
        sections.append(
            Section(source, f"{title}: {t(lang, heading)}", "\n\n".join([*parts, code]))
        )
    return sections


def legal_sections(lang: str) -> list[Section]:
    """The privacy policy and the terms, section by section, as the legal pages show them."""
    # The pages' own structure and figures, so the assistant quotes the published text.
    from aiusage.pages.legal import DOCUMENTS, facts, path

    values = facts()
    sections: list[Section] = []
    for doc, (title_key, parts) in DOCUMENTS.items():
        document = t(lang, title_key)
        source = f"{document} ({path(doc, lang)})"
        for heading, paragraphs, _bullets in parts:
            text = "\n\n".join(t(lang, key, **values) for key in paragraphs)
            title = f"{document}: {t(lang, heading)}" if heading else document
            sections.extend(chunked(source, title, [text]))
    return sections


def pricing_sections(lang: str) -> list[Section]:
    """The pricing page's texts, with the fee, the markup and the worked example."""
    fees = price_list.fees()
    cost, byok, credit = price_list.example_charges()
    unknown = price_list.unknown_model_rates()
    values = {
        "fee": price_list.percent(fees.service_fee_bps),
        "markup": price_list.percent(fees.markup_bps),
        "cost": format_money(cost, lang),
        "byok": format_money(byok, lang),
        "credit": format_money(credit, lang),
        "input": price_list.per_mtok(unknown.input, lang),
        "output": price_list.per_mtok(unknown.output, lang),
    }
    source = "Pricing page (/pricing)"
    title = t(lang, "pricing.title")

    def text(*keys: str) -> str:
        return "\n\n".join(t(lang, key, **values) for key in keys)

    return [
        Section(
            source,
            title,
            text("pricing.lead", "pricing.byok.h", "pricing.byok.body", "pricing.credit.h")
            + "\n\n"
            + text("pricing.credit.body", "pricing.example", "pricing.terms"),
        ),
        Section(
            source,
            f"{title}: {t(lang, 'pricing.table.h')}",
            text("pricing.table.note", "pricing.long_note", "pricing.tools", "pricing.unknown"),
        ),
    ]


async def price_table_sections(session: AsyncSession, lang: str) -> list[Section]:
    """Every model's rates from the price table (read now: the operator changes it)."""
    columns = [(name, t(lang, f"pricing.col.{name}")) for name in price_list.RATE_NAMES]
    sections: list[Section] = []
    for group in await price_list.price_list(session):
        lines = []
        for item in group.models:
            cells = price_list.rate_cells(item.rates, lang)
            lines.append(
                f"{item.model}: " + ", ".join(f"{label} {cells[n]}" for n, label in columns)
            )
            if item.long_rates is not None and item.long_threshold is not None:
                long_cells = price_list.rate_cells(item.long_rates, lang)
                tier = t(
                    lang, "pricing.long_tier", threshold=format_tokens(item.long_threshold, lang)
                )
                lines.append(
                    f"{item.model} ({tier}): "
                    + ", ".join(f"{label} {long_cells[n]}" for n, label in columns)
                )
        title = f"{t(lang, 'pricing.table.h')}: {group.name}"
        sections.extend(
            chunked("Pricing page (/pricing)", title, lines or [t(lang, "pricing.empty")])
        )
    return sections


@functools.lru_cache(maxsize=4)
def static_sections(lang: str) -> tuple[Section, ...]:
    """Everything but the price table, for one language (the configuration does not change
    while the process runs)."""
    site = get_settings().site_url.rstrip("/")
    return (
        *_readme(site),
        *connect_sections(lang, site),
        *pricing_sections(lang),
        *legal_sections(lang),
    )


async def corpus(session: AsyncSession, lang: str) -> list[Section]:
    return [*static_sections(lang), *await price_table_sections(session, lang)]


def _weights(query: str, context: str = "") -> dict[str, float]:
    """Terms of the question (weight 1) and of the conversation's previous question (0.5,
    so a follow-up such as "and with Codex?" keeps its subject)."""
    weights = dict.fromkeys(tokens(context), 0.5)
    weights.update(dict.fromkeys(tokens(query), 1.0))
    return weights


def ranked(
    sections: Sequence[Section], query: str, context: str = ""
) -> list[tuple[float, Section]]:
    """The sections matching the question, best first, with their scores (BM25 plus a bonus
    for each pair of the question's words found side by side)."""
    weights = _weights(query, context)
    if not weights or not sections:
        return []
    count = len(sections)
    average = sum(s.length for s in sections) / count
    frequency = Counter(term for s in sections for term in weights if term in s.terms)
    idf = {
        term: math.log(1 + (count - frequency[term] + 0.5) / (frequency[term] + 0.5))
        for term in weights
    }
    query_pairs = _pairs(tokens(query)) | _pairs(tokens(context))
    scored = []
    for section in sections:
        norm = _K1 * (1 - _B + _B * section.length / average)
        score = 0.0
        for term, weight in weights.items():
            tf = section.terms.get(term, 0)
            if tf:
                score += weight * idf[term] * tf * (_K1 + 1) / (tf + norm)
        for first, second in query_pairs & section.pairs:
            score += (idf[first] + idf[second]) / 2
        if score > 0:
            scored.append((score, section))
    scored.sort(key=lambda item: -item[0])
    return scored


def select(
    sections: Sequence[Section],
    query: str,
    context: str = "",
    *,
    limit: int = MAX_SECTIONS,
    budget: int = MAX_CONTEXT_CHARS,
) -> list[Section]:
    """The few best sections for a question that fit the context budget together."""
    chosen: list[Section] = []
    used = 0
    for _score, section in ranked(sections, query, context):
        size = len(section.text) + len(section.title)
        if used + size > budget:
            continue
        chosen.append(section)
        used += size
        if len(chosen) >= limit:
            break
    return chosen
