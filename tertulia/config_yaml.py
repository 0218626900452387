"""community.yml read as YAML: the values, the line of every key, and a bound on what aliases expand to.

PyYAML's safe loader gives values only. Messages about the configuration name the line a key is on, so
the document is composed into nodes first (they carry their marks), checked, then constructed; `lines`
maps each key path (`("slack", "channels", "crisiss")`, `("goals", 0)`) to its 1-based line.

Aliases (`*name` repeating an `&name` anchor) cost nothing to parse, since the parser shares the node,
but everything after it (validation, copies, `model_dump`) walks the expanded tree, so ten levels of
ten aliases each ("billion laughs") is 10^10 values that exhaust memory. The expanded size is counted on
the shared nodes, in time linear in what was written, and a document over `MAX_EXPANDED_VALUES` is
refused before anything expands it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# A full community.yml (the example) is about 400 values; one with a hundred sources and policies a few
# thousand. 100,000 leaves room for any real file while validating at most that many values stays a
# fraction of a second and a few megabytes; a billion-laughs document is over it by orders of magnitude.
MAX_EXPANDED_VALUES = 100_000

KeyPath = tuple[str | int, ...]


class YamlRefused(ValueError):
    """The document is valid YAML but is not read: too large once aliases expand, or it refers to itself."""


class _MarkedLoader(yaml.SafeLoader):
    """The safe loader, noting where each alias is used so a refusal can point at the worst one."""

    def __init__(self, stream: str, name: str) -> None:
        super().__init__(stream)
        # PyYAML names a string source "<unicode string>" in its error marks; a person needs the file.
        self.name = name
        self.alias_uses: list[tuple[str, int, Node]] = []  # (anchor, 1-based line, the node it repeats)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if not self.check_event(AliasEvent):
            return super().compose_node(parent, index)
        event = self.peek_event()
        node = super().compose_node(parent, index)
        if node is not None:
            self.alias_uses.append((event.anchor, event.start_mark.line + 1, node))
        return node


@dataclass
class YamlDocument:
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    # Keys written twice in one mapping: (path of the key, first line, repeated line). YAML keeps the
    # last one silently; configuration should not.
    duplicates: list[tuple[KeyPath, int, int]] = field(default_factory=list)


def _expanded_sizes(root: Node) -> dict[int, int]:
    """Values each node stands for once aliases are expanded, by node id; raises on a cycle."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            line = node.start_mark.line + 1
            raise YamlRefused(f"line {line}: an alias refers to the value that contains it (a loop)")
        in_progress.add(key)
        total = 1
        if isinstance(node, MappingNode):
            for k, v in node.value:
                total += size(k) + size(v)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                total += size(item)
        in_progress.discard(key)
        sizes[key] = total
        return total

    size(root)
    return sizes


def _key_of(node: Node) -> str | None:
    return str(node.value) if isinstance(node, ScalarNode) else None


def _find_duplicates(root: Node, out: list[tuple[KeyPath, int, int]]) -> None:
    """Keys repeated in one mapping as written (before `<<` merges, whose keys may be overridden)."""
    seen_nodes: set[int] = set()

    def walk(node: Node, path: KeyPath) -> None:
        if id(node) in seen_nodes:  # an anchored node is checked once, where it is written
            return
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            first: dict[str, int] = {}
            for k, v in node.value:
                name = _key_of(k)
                if name is not None and name != "<<":
                    line = k.start_mark.line + 1
                    if name in first:
                        out.append(((*path, name), first[name], line))
                    else:
                        first[name] = line
                walk(v, (*path, name if name is not None else "?"))
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    walk(root, ())


def _record_lines(root: Node, lines: dict[KeyPath, int]) -> None:
    """Line of every key path; walked after construction, so `<<` merges are flattened into their maps."""

    def walk(node: Node, path: KeyPath) -> None:
        if isinstance(node, MappingNode):
            for k, v in node.value:
                name = _key_of(k)
                if name is None:
                    continue
                sub = (*path, name)
                lines.setdefault(sub, k.start_mark.line + 1)
                walk(v, sub)
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                sub = (*path, i)
                lines.setdefault(sub, item.start_mark.line + 1)
                walk(item, sub)

    walk(root, ())


def read_yaml(text: str, *, name: str = "<unicode string>", limit: int = MAX_EXPANDED_VALUES) -> YamlDocument:
    """Parse one YAML document with the safe loader; raises yaml.YAMLError or YamlRefused.

    `name` (the file's path) is what a syntax error's position names."""
    loader = _MarkedLoader(text, name)
    try:
        root = loader.get_single_node()
        if root is None:
            return YamlDocument(None)
        sizes = _expanded_sizes(root)
        total = sizes[id(root)]
        if total > limit:
            worst = max(loader.alias_uses, key=lambda use: sizes.get(id(use[2]), 0), default=None)
            where = f"; the largest alias is *{worst[0]} on line {worst[1]}" if worst else ""
            raise YamlRefused(
                f"it expands to {total:,} values through its aliases (*name repeating an &name anchor), "
                f"more than the {limit:,} a configuration may hold{where}. Write the values out, or use "
                "aliases only for small repeated settings: aliases of aliases multiply."
            )
        doc = YamlDocument(None)
        _find_duplicates(root, doc.duplicates)
        doc.data = loader.construct_document(root)
        _record_lines(root, doc.lines)
        return doc
    except RecursionError:
        raise YamlRefused("the document is nested too deeply to read") from None
    finally:
        loader.dispose()


def line_of(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    """Line of the longest prefix of `path` that is written in the file (a missing key: its parent's)."""
    for end in range(len(path), 0, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None
