"""The import graph of quant, db, viewer and desktop has no cycle, not even one hidden by an
import inside a function or under ``if TYPE_CHECKING:`` (import-linter checks the layer contracts;
this checks what they cannot: cycles inside a layer)."""

from __future__ import annotations

import pytest

from tests.support.import_graph import import_cycles, module_graph


@pytest.mark.parametrize("type_checking", [False, True], ids=["runtime", "with-type-checking"])
def test_no_import_cycle(type_checking):
    graph = module_graph(type_checking=type_checking)
    assert len(graph) > 150  # the whole tree was read
    assert import_cycles(graph) == []


def test_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    assert sorted(import_cycles(graph)) == [["a", "b", "c"], ["d", "e"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []
