"""Data shops described by an upstream are checked like local ones (issue 19, item 10)."""
import pytest

from datacentre.shops import shop_from_remote

GOOD = {"id": "tunka-remote", "title": "Tunka", "version": "7",
        "columns": {"E": {"kind": "float", "dtype": "double"}, "Ev": {"kind": "int", "dtype": "int64"}}}


def test_a_well_formed_model_becomes_a_forwarded_shop():
    shop = shop_from_remote(GOOD)
    assert shop.upstream and shop.id == "tunka-remote" and list(shop.columns) == ["E", "Ev"]


@pytest.mark.parametrize("model, needle", [
    ({**GOOD, "id": "../etc"}, "no usable id"),
    ({**GOOD, "id": 7}, "no usable id"),
    ([GOOD], "no usable id"),
    ({**GOOD, "columns": {}}, "has no columns"),
    ({**GOOD, "description": "x" * 300_000}, "larger than"),
])
def test_a_malformed_model_is_refused_with_the_reason(model, needle):
    with pytest.raises(ValueError, match=needle):
        shop_from_remote(model)


def test_unusable_columns_are_hidden():
    shop = shop_from_remote({**GOOD, "columns": {**GOOD["columns"], "x; drop": {"kind": "float"},
                                                 "Odd": {"kind": "pointer"}, "Bad": "not a dict"}})
    assert list(shop.columns) == ["E", "Ev"]
