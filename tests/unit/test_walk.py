"""The one walker of nested values (pulumi_pcimage.walk): what every rebuild of a nested value relies on."""

from pulumi_pcimage.walk import leaves, rebuild


def test_rebuild_opens_each_node_then_rebuilds_containers_and_leaves():
    boxed = {"a": ("box", [("box", 1), ("box", {"b": ("box", 2)})])}
    opened = rebuild(boxed, lambda leaf: leaf * 10, open=lambda node: node[1] if isinstance(node, tuple) else node,
                     containers=(dict, list))
    assert opened == {"a": [10, {"b": 20}]}


def test_tuples_become_lists_and_containers_can_be_wrapped():
    assert rebuild((1, (2, 3))) == [1, [2, 3]]
    wrapped = rebuild({"x": [1]}, str, mapping=lambda items: ("map", items), sequence=lambda items: ("seq", items))
    assert wrapped == ("map", {"x": ("seq", ["1"])})
    assert rebuild((1, 2), containers=(dict, list)) == (1, 2), "a tuple outside `containers` is a leaf"


def test_keep_unchanged_returns_the_very_same_containers_when_nothing_changed():
    value = {"a": [1, "x"], "b": {"c": "y"}}
    assert rebuild(value, keep_unchanged=True) is value
    changed = rebuild(value, lambda leaf: leaf.upper() if leaf == "y" else leaf, keep_unchanged=True)
    assert changed == {"a": [1, "x"], "b": {"c": "Y"}} and changed is not value and changed["a"] is value["a"]
    assert rebuild(value) is not value and rebuild(value) == value


def test_leaves_walks_without_recursion():
    deep: list = []
    node = deep
    for _ in range(10_000):
        node.append([])
        node = node[0]
    node.append("bottom")
    assert list(leaves(deep)) == ["bottom"]
    assert sorted(leaves({"a": [1, (2, {"b": 3})], "c": None}), key=str) == [1, 2, 3, None]
