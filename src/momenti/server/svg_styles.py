"""Inline styles of an SVG picture turned into presentation attributes.

Matplotlib writes an SVG's colours and strokes as `style="fill: #d55e00; stroke-width: 1.8"` attributes and one
`<style>*{stroke-linejoin: round; stroke-linecap: butt}</style>`. Opened as a document under a policy without
'unsafe-inline' the browser ignores both, and the plot comes out black. The same values as presentation
attributes (`fill="#d55e00" stroke-width="1.8"`) are not styles, so no policy governs them, and they draw the
same: a style attribute overrides the element's own attribute of that name, so it replaces it; the `*` rule
becomes attributes of the root `<svg>`, inherited by every element that sets no value of its own (matplotlib
sets these two nowhere else). A declaration with no presentation attribute of its name stays in a `style`
attribute (the policy then ignores it, as before this rewrite it would have too).
"""

from __future__ import annotations

import re

# SVG 1.1/2 presentation attributes (the properties that may be written as attributes).
PRESENTATION = frozenset({
    "alignment-baseline", "baseline-shift", "clip", "clip-path", "clip-rule", "color", "color-interpolation",
    "color-interpolation-filters", "color-rendering", "cursor", "direction", "display", "dominant-baseline",
    "fill", "fill-opacity", "fill-rule", "filter", "flood-color", "flood-opacity", "font-family", "font-size",
    "font-size-adjust", "font-stretch", "font-style", "font-variant", "font-weight", "image-rendering",
    "letter-spacing", "lighting-color", "marker-end", "marker-mid", "marker-start", "mask", "opacity", "overflow",
    "paint-order", "pointer-events", "shape-rendering", "stop-color", "stop-opacity", "stroke",
    "stroke-dasharray", "stroke-dashoffset", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit",
    "stroke-opacity", "stroke-width", "text-anchor", "text-decoration", "text-rendering", "transform-origin",
    "unicode-bidi", "vector-effect", "visibility", "word-spacing", "writing-mode",
})

_TAG = re.compile(rb"<[A-Za-z][^<>]*\sstyle=\"[^\"]*\"[^<>]*>")
_STYLE_ATTR = re.compile(rb"\sstyle=\"([^\"]*)\"")
_UNIVERSAL = re.compile(rb"<style[^>]*>\s*\*\s*\{([^{}]*)\}\s*</style>\s*")
_ROOT = re.compile(rb"<svg\b")


def _declarations(text: bytes) -> list[tuple[str, str]] | None:
    out = []
    for item in text.decode("utf-8", "replace").split(";"):
        if not item.strip():
            continue
        name, sep, value = item.partition(":")
        name, value = name.strip().lower(), value.strip()
        if not sep or not value or "!" in value or '"' in value or "<" in value:
            return None  # not a plain declaration: leave the attribute as it is
        out.append((name, value))
    return out


def _attributes(declarations: list[tuple[str, str]]) -> bytes:
    return b"".join(f' {name}="{value}"'.encode() for name, value in declarations)


def _without(tag: bytes, names: set[str]) -> bytes:
    for name in names:
        tag = re.sub(rb"\s" + re.escape(name.encode()) + rb"=(\"[^\"]*\"|'[^']*')", b"", tag)
    return tag


def _rewrite_tag(match: re.Match[bytes]) -> bytes:
    tag = match.group(0)
    style = _STYLE_ATTR.search(tag)
    assert style is not None
    declarations = _declarations(style.group(1))
    if declarations is None:
        return tag
    moved = [(n, v) for n, v in declarations if n in PRESENTATION]
    kept = [(n, v) for n, v in declarations if n not in PRESENTATION]
    rest = f' style="{"; ".join(f"{n}: {v}" for n, v in kept)}"'.encode() if kept else b""
    tag = tag[:style.start()] + rest + tag[style.end():]
    tag = _without(tag, {n for n, _ in moved})
    end = len(tag) - (2 if tag.endswith(b"/>") else 1)
    return tag[:end].rstrip() + _attributes(moved) + tag[end:]


def presentation_attributes(svg: bytes) -> bytes:
    """`svg` with its style attributes, and a lone `*{...}` style element, as presentation attributes."""
    universal = _UNIVERSAL.search(svg)
    if universal is not None:
        declarations = _declarations(universal.group(1))
        if declarations is not None and all(n in PRESENTATION for n, _ in declarations):
            root = _ROOT.search(svg, 0, universal.start())
            if root is not None:
                svg = svg[:universal.start()] + svg[universal.end():]
                svg = svg[:root.end()] + _attributes(declarations) + svg[root.end():]
    return _TAG.sub(_rewrite_tag, svg)
