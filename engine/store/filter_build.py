"""The neutral filter tree (`engine.filters`) as a backend's own Filter objects."""

from __future__ import annotations

from typing import Any

from engine.filters import NUM_PREFIX, Group, Match, Node, Range, Substring


class FilterBuilder:
    """Builds a backend's Filter from the neutral tree; `m` is the module holding the backend's classes."""

    def __init__(self, m: Any, range_cls: Any) -> None:
        self.m = m
        self.range_cls = range_cls

    def leaf(self, node: Node) -> Any:
        m = self.m
        if isinstance(node, Group):
            return self.group(node)
        if isinstance(node, Range):
            return m.FieldCondition(key=node.key,
                                    range=self.range_cls(gt=node.gt, lt=node.lt, gte=node.gte, lte=node.lte))
        if isinstance(node, Substring):
            return self.substring(node)
        assert isinstance(node, Match)
        strs = [v for v in node.values if isinstance(v, str)]
        ints = [v for v in node.values if isinstance(v, int) and not isinstance(v, bool)]
        bools = [v for v in node.values if isinstance(v, bool)]
        floats = [v for v in node.values if isinstance(v, float)]
        conds: list[Any] = []
        if strs:
            conds.append(m.FieldCondition(key=node.key, match=m.MatchAny(any=strs)))
        if ints:
            conds.append(m.FieldCondition(key=node.key, match=m.MatchAny(any=ints)))
        # Booleans and non-integral numbers match through the numeric mirror (qdrant-edge turns a bool
        # MatchValue into an integer and never matches a stored bool).
        for f in [float(b) for b in bools] + floats:
            conds.append(m.FieldCondition(key=f"{NUM_PREFIX}.{node.key}", range=self.range_cls(gte=f, lte=f)))
        return conds[0] if len(conds) == 1 else m.Filter(should=conds)

    def substring(self, node: Substring) -> Any:
        # Byte-wise substring match in both backends (MatchText would tokenise, and differently).
        return self.m.FieldCondition(key=node.key, match=self.m.MatchSubstring(node.text))

    def group(self, g: Group) -> Any:
        return self.m.Filter(
            must=[self.leaf(n) for n in g.must] or None,
            should=[self.leaf(n) for n in g.should] or None,
            must_not=[self.leaf(n) for n in g.must_not] or None,
        )

    def build(self, g: Group | None) -> Any:
        if g is None or g.is_empty():
            return None
        return self.group(g)
