"""The Store contract for params whose text reads like another JSON type: the
strings ``"null"`` and ``"true"`` against JSON ``null`` and ``true``. Part of
:class:`~ragtrack.testing.store_contract.StoreContract`.
"""

from __future__ import annotations

from ragtrack.storage import Store


def _ids(store: Store, filter: str, order_by: str | None = None) -> list[str]:
    return [r.id for r in store.search_runs("p", filter, order_by)]


class ParamValuesContract:
    """A param is matched, sorted and grouped by the value it was logged with."""

    def test_string_null_and_true_are_not_json_null_and_true(self, store: Store) -> None:
        strings = store.create_run(project="p", config={"opt": "null", "flag": "true"}).id
        json_values = store.create_run(project="p", config={"opt": None, "flag": True}).id
        others = store.create_run(project="p", config={"opt": "x", "flag": False}).id
        logged = store.create_run(project="p").id
        store.log_params(logged, {"opt": "null", "flag": "false"})

        def found(filter: str) -> set[str]:
            return set(_ids(store, filter))

        # JSON null counts as missing; the string "null" is a value like any other.
        assert found("params.opt is null") == {json_values}
        assert found("params.opt is not null") == {strings, others, logged}
        assert found('params.opt = "null"') == {strings, logged}
        assert found('params.opt != "null"') == {others}
        assert found('params.opt in ("null", "x")') == {strings, others, logged}
        # true/false match booleans only; a string matches strings only.
        assert found("params.flag = true") == {json_values}
        assert found("params.flag = false") == {others}
        assert found("params.flag != true") == {strings, others, logged}
        assert found('params.flag = "true"') == {strings}
        assert found('params.flag in ("true", "false")') == {strings, logged}
        assert found("params.flag = 1") == {json_values}  # booleans count as 1 and 0
        # The string "null" sorts as a value, JSON null as missing (last).
        assert _ids(store, "params.opt is not null or params.opt is null", "params.opt")[-1] == (
            json_values
        )
        assert store.get_run(strings).config == {"opt": "null", "flag": "true"}
        assert store.get_run(json_values).config == {"opt": None, "flag": True}

    def test_groups_keep_string_null_apart_from_json_null(self, store: Store) -> None:
        for value in ("null", None, "null", True, "true"):
            store.create_run(project="p", config={"v": value})
        groups = store.aggregate_runs("p", "v", [])
        assert [(type(g.value).__name__, g.value, g.run_count) for g in groups] == [
            ("bool", True, 1),
            ("str", "null", 2),
            ("str", "true", 1),
            ("NoneType", None, 1),
        ]
